/**
 * How a synchronization primitive crosses to a worker: thread workers get the SharedArrayBuffer
 * of its core; process workers get a reference to the core exposed by this process's broker and
 * talk to it through a remote core. Facades never see which one they hold.
 *
 * The broker is a thread of its own (transport/broker-thread.ts) that rebuilds the core from its
 * shared memory, so process workers are served even while the creating thread blocks in a
 * `...Sync` call that only they can end.
 * When a process worker dies, the broker calls each core's `abandon(owner)`: its locks are freed
 * and its pending waits end (see wait.ts RemoteWaits).
 */
import type { Runtime } from '../../lib/base/codec/handles.js';
import { SerializationError } from '../../lib/base/errors.js';
import type { CoreShape } from '../transport/core.js';
import { exposeCore, type RemoteRef } from '../transport/expose.js';
import { connectRemoteCore } from '../transport/remote-core.js';

/** Where the broker thread finds the core classes (same extension as this module: .ts from sources). */
const CORES_MODULE = new URL(`./cores${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href;

/** The wire form of a core: its shared memory (threads) or a broker reference (processes). */
export interface CoreData {
  sab?: SharedArrayBuffer;
  remote?: RemoteRef;
}

/** A local core built on shared memory. */
interface SharedCore {
  readonly sab: SharedArrayBuffer;
}

function isSharedCore(core: object): core is SharedCore {
  return (core as Partial<SharedCore>).sab instanceof SharedArrayBuffer;
}

/**
 * The wire form of `core` for a worker of runtime `target`. Thread workers of the creator's process
 * share its memory; everything else gets the core's broker reference: a local core is hosted by
 * this thread's broker (started on first use), a remote core (this primitive was itself received
 * by a process worker) hands on its creator's reference, so every holder talks to the creator.
 */
export function coreData(core: object, shape: CoreShape, target: Runtime): CoreData {
  if (target === 'thread' && isSharedCore(core)) return { sab: core.sab };
  try {
    const shared = isSharedCore(core) ? { module: CORES_MODULE, exportName: core.constructor.name, memory: core.sab } : undefined;
    return { remote: exposeCore(core, shape, shared) };
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    throw new SerializationError(`a ${shape.kind} cannot be passed to a ${target} worker: ${(err as Error)?.message ?? err}`);
  }
}

/** Rebuilds a core from its wire form: local shared memory at once, a remote core once connected. */
export function openCore<C>(data: CoreData, shape: CoreShape, local: (sab: SharedArrayBuffer) => C): C | Promise<C> {
  if (data.sab instanceof SharedArrayBuffer) return local(data.sab);
  // In the creator's own thread this gives back the local core itself (the primitive came home).
  if (data.remote) return connectRemoteCore<C>(data.remote, shape);
  throw new TypeError(`cannot revive a ${shape.kind}: no shared memory and no remote reference`);
}

/** Runs `fn` with every value in `values` resolved, synchronously when none is a Promise. */
export function whenAll<T extends unknown[], R>(values: [...T], fn: (...resolved: { [K in keyof T]: Awaited<T[K]> }) => R): R | Promise<R> {
  if (values.some((v) => v instanceof Promise)) {
    return Promise.all(values).then((resolved) => fn(...(resolved as any)));
  }
  return fn(...(values as any));
}

/** A disposable guard that releases once: `using _ = lock.holdSync()`, `await using _ = await lock.hold()`. */
export interface LockGuard extends Disposable, AsyncDisposable {}

// Node defines these as Symbol.for('nodejs.*'); a vm context (Jest) may lack the Symbol properties.
const disposeKey: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);
const asyncDisposeKey: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/** What a guard releases: a lock, a semaphore, a condition. */
export interface Releasable {
  release(): void;
}

/** One object per guard (no closures): `holdSync()` sits on hot paths. */
class Guard implements LockGuard {
  #held: Releasable | null;

  constructor(held: Releasable) {
    this.#held = held;
  }

  [disposeKey](): void {
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      held.release();
    }
  }

  async [asyncDisposeKey](): Promise<void> {
    this[disposeKey]();
  }
}

/** A guard that calls `held.release()` once, on the first dispose. */
export function guard(held: Releasable): LockGuard {
  return new Guard(held);
}
