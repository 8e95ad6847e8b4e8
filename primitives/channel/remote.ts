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

const transport: RemoteTransport = {
  exposeCore,
  connectRemoteCore: <C>(ref: unknown, shape: CoreShape) => connectRemoteCore<C>(ref as RemoteRef, shape),
};

/** The process transport. */
export function remoteTransport(): RemoteTransport | null {
  return transport;
}
