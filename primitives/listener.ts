/**
 * Python's `multiprocessing.connection.Listener` and `Client`: Connections over a TCP or Unix socket,
 * with the authkey challenge of the Manager's transport (auth.ts) when both sides give an authkey.
 */
import type * as Net from 'node:net';
import type { Server, Socket } from 'node:net';
import { builtin } from '../lib/base/builtin.js';
import { ConnectionClosedError, ValueError } from '../lib/base/errors.js';
import { connectionOf, type Connection } from './connection.js';
import { checkAuthkey, clientHandshake, serverHandshake, type Authkey } from './transport/auth.js';
import { openSocket } from './transport/connect-socket.js';
import { privateAddress, removePrivate } from './transport/private-dirs.js';
import { SocketEnd } from './channel/socket-end.js';
import { FrameSocket, HANDSHAKE_MAX_FRAME } from './transport/wire.js';

/** A Unix socket path, or a TCP `[host, port]` (Python's tuple) or `{ host, port }`. */
export type ListenerAddress = string | readonly [host: string, port: number] | { host: string; port: number };
/** Python's address families (AF_PIPE is Windows only). */
export type Family = 'AF_INET' | 'AF_INET6' | 'AF_UNIX';

export interface ListenerOptions {
  /** Default: from the address; with no address, 'AF_UNIX' (a fresh private socket), as Python on Linux. */
  family?: Family | null;
  /**
   * The socket's listen backlog. Default: the OS's usual (511), not Python's 1: this event loop accepts
   * between other work, and a client that finds the queue full waits a second to try again.
   */
  backlog?: number;
  /** With an authkey, accept() runs the challenge both ways; a client with another key is refused. */
  authkey?: Uint8Array | null;
}

export interface ClientOptions {
  family?: Family | null;
  /** Must be the Listener's authkey (both or neither have one). */
  authkey?: Uint8Array | null;
}

type Where = string | { host: string; port: number };

function familyOf(where: Where): Family {
  if (typeof where === 'string') return 'AF_UNIX';
  return builtin<typeof Net>('node:net').isIPv6(where.host) ? 'AF_INET6' : 'AF_INET';
}

function checkFamily(family: unknown): Family | null {
  if (family === undefined || family === null) return null;
  if (family !== 'AF_INET' && family !== 'AF_INET6' && family !== 'AF_UNIX') {
    throw new ValueError(`Family ${String(family)} is not recognized.`);
  }
  return family;
}

/** The address as the socket code takes it; TypeError for anything else. */
function toWhere(address: unknown, what: string): Where {
  if (typeof address === 'string') {
    if (address === '') throw new ValueError(`${what}: an empty Unix socket path`);
    return address;
  }
  const [host, port] = Array.isArray(address)
    ? address
    : typeof address === 'object' && address !== null
      ? [(address as any).host, (address as any).port]
      : [undefined, undefined];
  if (typeof host !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${what} must be a Unix socket path (string) or a TCP [host, port] / { host, port }, got ${JSON.stringify(address) ?? typeof address}`);
  }
  return { host, port };
}

function checkKey(authkey: unknown): Authkey | null {
  return authkey === undefined || authkey === null ? null : checkAuthkey(authkey);
}

function checkOptions(opts: unknown, keys: readonly string[], what: string): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object') throw new TypeError(`${what} options must be an object`);
  for (const k of Object.keys(opts)) if (!keys.includes(k)) throw new TypeError(`${what}: unexpected option '${k}' (takes ${keys.join(', ')})`);
  return opts as Record<string, unknown>;
}

/** A Python-style address: a path, or `[host, port]`. */
function pyAddress(where: Where): ListenerAddress {
  return typeof where === 'string' ? where : [where.host, where.port];
}

/** Wraps a socket in a Connection, after the challenge both ways when there is a key. */
async function connectionOver(socket: Socket, authkey: Authkey | null, side: 'server' | 'client'): Promise<Connection> {
  const frames = new FrameSocket(socket, { maxFrame: HANDSHAKE_MAX_FRAME });
  if (authkey !== null) {
    try {
      await (side === 'server' ? serverHandshake(frames, authkey) : clientHandshake(frames, authkey));
    } catch (err) {
      frames.end(); // the verdict (#FAILURE#) still reaches the peer
      throw err;
    }
  }
  return connectionOf(new SocketEnd(frames));
}

/**
 * Python's `multiprocessing.connection.Listener(address=None, family=None, backlog=1, authkey=None)`:
 * a bound socket whose `accept()` gives a {@link Connection} (the class Pipe() returns: send/recv/poll,
 * sendBytes/recvBytes; no blocking `*Sync` reads, and it cannot be passed to a worker).
 *
 * A Unix socket path is bound at once; a TCP address is bound as the event loop turns: `address`
 * then holds the real port, and `await listener.ready` waits for it (accept() does so itself). A
 * binding error (EADDRINUSE) rejects `ready` and every accept(). Idle, a Listener keeps nothing alive.
 */
export class Listener {
  readonly #server: Server;
  readonly #authkey: Authkey | null;
  readonly #dir: string | null;
  #where: Where;
  #bound = false;
  #bindError: Error | null = null;
  #ready: Promise<this> | null = null;
  #onBound: (() => void)[] = [];
  #closed = false;
  /** Connected sockets not yet accepted. */
  #incoming: Socket[] = [];
  #accepts: { resolve: (s: Socket) => void; reject: (e: Error) => void }[] = [];
  #lastAccepted: ListenerAddress | null = null;

  constructor(address?: ListenerAddress | null, options?: ListenerOptions | Family) {
    // Python's second positional argument is the family: `Listener(address, 'AF_INET')`
    const o = checkOptions(typeof options === 'string' ? { family: options } : options, ['family', 'backlog', 'authkey'], 'Listener()');
    let family = checkFamily(o.family);
    const backlog = o.backlog ?? 511;
    if (!Number.isInteger(backlog) || (backlog as number) < 0) throw new TypeError(`backlog must be an integer >= 0, got ${String(backlog)}`);
    this.#authkey = checkKey(o.authkey);
    let dir: string | null = null;
    let where: Where;
    if (address === undefined || address === null) {
      family ??= 'AF_UNIX';
      if (family === 'AF_UNIX') ({ dir, address: where } = privateAddress());
      else where = { host: family === 'AF_INET6' ? '::1' : '127.0.0.1', port: 0 };
    } else {
      where = toWhere(address, 'address');
      if (family !== null && family !== familyOf(where)) throw new ValueError(`address ${JSON.stringify(address)} is not of family ${family}`);
    }
    this.#dir = dir;
    this.#where = where;
    const server = (this.#server = builtin<typeof Net>('node:net').createServer({ noDelay: true } as any));
    server.on('connection', (socket) => this.#arrived(socket));
    server.on('error', (err) => this.#failed(err));
    server.once('listening', () => this.#listening());
    if (typeof where === 'string') server.listen({ path: where, backlog: backlog as number });
    else server.listen({ host: where.host, port: where.port, backlog: backlog as number });
    server.unref();
  }

  /**
   * The bound address: a Unix socket path, or `[host, port]` with the real port (Python's tuple).
   * A TCP port 0 is known once bound (`await listener.ready`); before that this throws.
   */
  get address(): ListenerAddress {
    if (this.#bindError) throw this.#bindError;
    if (typeof this.#where !== 'string' && !this.#bound && this.#where.port === 0) {
      throw new ValueError('the port is chosen when the socket is bound: await listener.ready before reading address');
    }
    return pyAddress(this.#where);
  }

  /** Python's `last_accepted`: the address the last accepted connection came from (null for Unix sockets). */
  get lastAccepted(): ListenerAddress | null {
    return this.#lastAccepted;
  }

  get last_accepted(): ListenerAddress | null {
    return this.#lastAccepted;
  }

  /** Resolves with this Listener once its socket is bound; rejects with the binding error (EADDRINUSE...). */
  get ready(): Promise<this> {
    return (this.#ready ??= new Promise<this>((resolve, reject) => {
      const settle = () => (this.#bindError ? reject(this.#bindError) : resolve(this));
      if (this.#bound || this.#bindError) settle();
      else this.#onBound.push(settle);
    }));
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #listening(): void {
    if (this.#closed) {
      this.#server.close(); // closed while the address was being looked up: it bound anyway
      return;
    }
    this.#bound = true;
    if (typeof this.#where !== 'string') {
      const info = this.#server.address();
      if (info && typeof info === 'object') this.#where = { host: info.address, port: info.port };
    }
    this.#settleBound();
  }

  #settleBound(): void {
    const waiting = this.#onBound;
    this.#onBound = [];
    for (const f of waiting) f();
  }

  #failed(err: Error): void {
    if (this.#bound) return; // a listening server reports per-connection trouble on the sockets
    const e = new ConnectionClosedError(`cannot listen on ${typeof this.#where === 'string' ? this.#where : `${this.#where.host}:${this.#where.port}`}: ${err.message}`);
    Object.defineProperty(e, 'cause', { value: err, configurable: true, writable: true });
    (e as any).code = (err as any).code;
    this.#bindError = e;
    for (const a of this.#accepts.splice(0)) a.reject(e);
    this.#settleBound();
    this.#release();
  }

  #arrived(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    // A reset before its FrameSocket listens must not be an uncaught 'error': that one sees the close.
    socket.on('error', () => {});
    const accept = this.#accepts.shift();
    if (accept) accept.resolve(socket);
    else {
      socket.pause();
      socket.unref();
      this.#incoming.push(socket);
      // reset before accept() (a paused socket that merely got the peer's FIN stays, with its data)
      socket.once('close', () => {
        const i = this.#incoming.indexOf(socket);
        if (i >= 0) this.#incoming.splice(i, 1);
      });
    }
    this.#refresh();
  }

  /** The server is ref'd only while an accept() waits (a pending promise keeps the program alive). */
  #refresh(): void {
    if (this.#closed) return;
    if (this.#accepts.length > 0) this.#server.ref();
    else this.#server.unref();
  }

  #nextSocket(): Promise<Socket> {
    const queued = this.#incoming.shift();
    if (queued) {
      queued.ref();
      queued.resume();
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      this.#accepts.push({ resolve, reject });
      this.#refresh();
    });
  }

  /**
   * Waits for a client and returns its Connection (Python's `accept()`). With an authkey, the
   * challenge runs both ways first; a client with another key makes this accept() reject with
   * AuthenticationError (the Listener keeps serving). On a closed Listener: ConnectionClosedError.
   */
  async accept(): Promise<Connection> {
    if (this.#closed) throw new ConnectionClosedError('listener is closed');
    if (this.#bindError) throw this.#bindError;
    const socket = await this.#nextSocket();
    this.#refresh();
    this.#lastAccepted = socket.remoteAddress !== undefined && socket.remotePort !== undefined ? [socket.remoteAddress, socket.remotePort] : null;
    return connectionOver(socket, this.#authkey, 'server');
  }

  /** Stops listening (Python's `close()`); pending accept() calls reject, accepted Connections stay open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new ConnectionClosedError('listener is closed');
    for (const a of this.#accepts.splice(0)) a.reject(err);
    for (const s of this.#incoming.splice(0)) s.destroy();
    if (!this.#bound && !this.#bindError) {
      this.#bindError = err; // closed before it was bound: `ready` answers, `address` says so
      this.#settleBound();
    }
    this.#release();
  }

  #release(): void {
    this.#server.close();
    this.#server.unref();
    if (this.#dir !== null) removePrivate(this.#dir);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  toString(): string {
    return `<Listener ${typeof this.#where === 'string' ? this.#where : `${this.#where.host}:${this.#where.port}`}${this.#closed ? ' closed' : ''}>`;
  }
}

/**
 * Python's `multiprocessing.connection.Client(address, family=None, authkey=None)`: connects to a
 * {@link Listener} and resolves with the Connection. Nothing listening there: ConnectionClosedError
 * ("cannot connect to ...: ECONNREFUSED"); a wrong authkey: AuthenticationError.
 */
export async function Client(address: ListenerAddress, options?: ClientOptions | Family): Promise<Connection> {
  const o = checkOptions(typeof options === 'string' ? { family: options } : options, ['family', 'authkey'], 'Client()');
  const family = checkFamily(o.family);
  const where = toWhere(address, 'address');
  if (family !== null && family !== familyOf(where)) throw new ValueError(`address ${JSON.stringify(address)} is not of family ${family}`);
  const authkey = checkKey(o.authkey);
  const socket = await openSocket(where);
  return connectionOver(socket, authkey, 'client');
}

