/**
 * The process path: `exposeCore` / `connectRemoteCore` from primitives/transport, behind one
 * function so the facades read the same for both transports.
 */
import type { CoreShape } from '../transport/core.js';
import { exposeCore } from '../transport/expose.js';
import { connectRemoteCore } from '../transport/remote-core.js';
import type { RemoteRef } from '../transport/expose.js';

export interface RemoteTransport {
  exposeCore(core: object, shape: CoreShape): unknown;
  connectRemoteCore<C>(ref: unknown, shape: CoreShape): Promise<C>;
}

/** Where the broker thread finds the core classes (same extension as this module: .ts from sources). */
const CORES_MODULE = new URL(`./cores${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href;

/** Pipe and Queue cores are all shared memory: the broker thread can rebuild and serve them. */
function sharedForm(core: object) {
  const memory = (core as { memory?: unknown }).memory;
  return memory === undefined ? undefined : { module: CORES_MODULE, exportName: core.constructor.name, memory };
}

const transport: RemoteTransport = {
  exposeCore: (core, shape) => exposeCore(core, shape, sharedForm(core)),
  connectRemoteCore: <C>(ref: unknown, shape: CoreShape) => connectRemoteCore<C>(ref as RemoteRef, shape),
};

/** The process transport. */
export function remoteTransport(): RemoteTransport | null {
  return transport;
}
