/**
 * How a synchronization primitive crosses to a worker: thread workers get the SharedArrayBuffer
 * of its core; process workers get a reference to the core exposed by this process's broker and
 * talk to it through a remote core. Facades never see which one they hold.
 */
import type { Runtime } from '../../lib/codec/handles.js';
import { SerializationError } from '../../lib/errors.js';
import type { CoreShape } from '../transport/core.js';

/** The wire form of a core: its shared memory (threads) or a broker reference (processes). */
export interface CoreData {
  sab?: SharedArrayBuffer;
  remote?: unknown;
}

/** A local core built on shared memory. */
interface SharedCore {
  readonly sab: SharedArrayBuffer;
}

function isSharedCore(core: object): core is SharedCore {
  return (core as Partial<SharedCore>).sab instanceof SharedArrayBuffer;
}

export function coreData(core: object, shape: CoreShape, target: Runtime): CoreData {
  if (target === 'thread' && isSharedCore(core)) return { sab: core.sab };
  throw new SerializationError(
    `a ${shape.kind} cannot be passed to a process worker yet (the process broker is not available)`,
  );
}

/** Rebuilds a core from its wire form: local shared memory at once, a remote core once connected. */
export function openCore<C>(data: CoreData, shape: CoreShape, local: (sab: SharedArrayBuffer) => C): C | Promise<C> {
  if (data.sab instanceof SharedArrayBuffer) return local(data.sab);
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

export function guard(release: () => void): LockGuard {
  let held = true;
  const dispose = () => {
    if (held) {
      held = false;
      release();
    }
  };
  return { [disposeKey]: dispose, [asyncDisposeKey]: async () => dispose() };
}
