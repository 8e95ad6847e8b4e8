/**
 * The remote core: in a worker process, an object honouring the core contract (core.ts) whose
 * every method forwards to the real core in the creator's broker, through this thread's link.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import type { CoreShape } from '../kernel/core.js';
import { localCore, REMOTE_REF, type RemoteRef } from './expose.js';
import type { BeforeNext } from './link.js';
import { formatAddress, PROTOCOL_OBJECT } from './protocol.js';

const cores = new Map<string, Promise<object>>();

/** On a remote core: `core[BEFORE_NEXT](hook)` runs `hook` before this thread's next request to its broker (link.ts BeforeNext). */
export const BEFORE_NEXT: unique symbol = Symbol('multiproc.beforeNext') as any;
/** On a remote core: `await core[BARRIER]()` resolves once every earlier call of this thread to its broker has been applied. */
export const BARRIER: unique symbol = Symbol('multiproc.barrier') as any;
/** The same, blocking: `core[BARRIER_SYNC]()` returns once every earlier call of this thread to its broker has been applied. */
export const BARRIER_SYNC: unique symbol = Symbol('multiproc.barrierSync') as any;

/**
 * Returns a core for `ref`: the local core itself in the creator's own thread, else one remote
 * core per ref and thread (reviving the same ref twice gives the same object).
 * - waiting `m` → async call; `mSync` → blocking round trip running the real core's async `m`;
 * - immediate `m` → blocking round trip: returns the value or throws the remote error;
 * - `shape.fireAndForget` methods → queued in order, sent in batches, return undefined;
 * - `shape.packed` methods → the same, consecutive calls packed into one run (one call of the twin).
 */
export function connectRemoteCore<C = any>(ref: RemoteRef, shape: CoreShape): Promise<C> {
  const local = localCore(ref);
  if (local) return Promise.resolve(local as C);
  const key = `${formatAddress(ref.address)}#${ref.id}`;
  let core = cores.get(key);
  if (!core) {
    core = build(ref, shape);
    cores.set(key, core);
    core.catch(() => cores.delete(key));
  }
  return core as Promise<C>;
}

async function build(ref: RemoteRef, shape: CoreShape): Promise<object> {
  // The link (its I/O thread, sockets, auth) is loaded by the first remote core: a worker that never
  // gets a primitive from another process does not load it.
  const link = (await import('./link.js')).theLink();
  const broker = await link.broker(ref.address, ref.authkey, ref.pid);
  const id = ref.id;
  const core: Record<string | symbol, unknown> = {
    [REMOTE_REF]: ref,
    [BEFORE_NEXT]: (hook: BeforeNext) => link.beforeNext(broker, hook),
    [BARRIER]: () => link.call(broker, PROTOCOL_OBJECT, 'ping', []),
    [BARRIER_SYNC]: () => link.callSync(broker, PROTOCOL_OBJECT, 'ping', []),
  };
  for (const m of shape.waiting) {
    core[m] = (...args: unknown[]) => link.call(broker, id, m, args);
    core[`${m}Sync`] = (...args: unknown[]) => link.callSync(broker, id, m, args, true);
  }
  const fire = new Set(shape.fireAndForget ?? []);
  for (const m of shape.immediate) {
    core[m] = fire.has(m)
      ? (...args: unknown[]) => link.fire(broker, id, m, args)
      : (...args: unknown[]) => link.callSync(broker, id, m, args, false);
  }
  for (const [m, twin] of Object.entries(shape.packed ?? {})) {
    core[m] = (frame: Encoded, extra?: unknown) => link.firePacked(broker, id, twin, frame, extra);
  }
  return core;
}
