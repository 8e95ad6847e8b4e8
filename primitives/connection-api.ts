/**
 * Python's `multiprocessing.connection`, exported from the root as the namespace `connection`
 * (`connection.wait`, `connection.Listener`, `connection.Client`): the root's own `wait` is
 * concurrent.futures'. Re-exports only; the socket code loads at the first Listener/Client.
 */
export { wait } from './connection-wait.js';
export { Listener, Client, type ListenerAddress, type ListenerOptions, type ClientOptions, type Family } from './listener.js';
export { Connection, Pipe } from './connection.js';
export { AuthenticationError, BufferTooShort } from '../lib/base/errors.js';

/** Python's `multiprocessing.connection.families`: the address families Listener/Client take here. */
export const families: readonly ('AF_INET' | 'AF_UNIX')[] = Object.freeze(['AF_INET', 'AF_UNIX'] as const);
