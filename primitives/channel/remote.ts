/**
 * The process path, when the transport is present: `exposeCore` / `connectRemoteCore` from
 * primitives/transport. Kept behind one function so the facades do not care whether it exists.
 */
import type { CoreShape } from '../transport/core.js';

export interface RemoteTransport {
  exposeCore(core: object, shape: CoreShape): unknown;
  connectRemoteCore<C>(ref: unknown, shape: CoreShape): Promise<C>;
}

let transport: RemoteTransport | null = null;

/** The process transport, or null until it is wired in. */
export function remoteTransport(): RemoteTransport | null {
  return transport;
}
