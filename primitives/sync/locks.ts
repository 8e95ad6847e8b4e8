/**
 * Lock, RLock, Semaphore, BoundedSemaphore and Event: the public classes (facades). Each holds a
 * core — shared memory in this process and its threads, a remote core in a process worker — and
 * calls it with this thread's owner id. Python's multiprocessing.synchronize, method for method.
 */
import { toHandle, type HandleDescriptor, type HandleSource, type HandleTarget } from '../../lib/base/codec/handles.js';
import { normalizeTimeout } from '../../lib/base/timeout.js';
import { LockStateError } from '../../lib/base/errors.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { acquireLocal, LockCore, LockCoreShape, releaseLocal, RLockCore, RLockCoreShape, type LockCoreApi } from './lock-core.js';
import { SemaphoreCore, SemaphoreCoreShape, type SemaphoreCoreApi } from './semaphore-core.js';
import { EventCore, EventCoreShape, type EventCoreApi } from './event-core.js';
import { coreData, openCore, rebuild, rebuilt, type CoreData } from '../transport/reduction.js';
import { guard, type LockGuard } from './guard.js';

const MODULE = import.meta.url;

/** Promise-returning methods report bad arguments as rejections, not throws. */
function rejectOn<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `acquire({ timeout: 100 })` must not read the object as a truthy `block` and wait forever. */
function checkBlock(block: unknown): void {
  if (typeof block !== 'boolean') throw new TypeError(`block must be a boolean, got ${block === null ? 'null' : typeof block}`);
}

const timeoutOf = (block: boolean, timeout: number | null | undefined) => {
  checkBlock(block);
  return block && timeout !== undefined ? normalizeTimeout(timeout) : undefined;
};

/** Shared by Lock and RLock: the same methods over a different core. */
abstract class LockBase implements HandleSource {
  readonly #core: LockCoreApi;
  /** The core's shared word when this thread reaches it directly (not a remote core), else null. */
  readonly #word: Int32Array | null;
  readonly #type: 'Lock' | 'RLock';
  /** acquire() calls of this thread still waiting: a release() meanwhile is a missing `await` (see release). */
  #waiting = 0;

  constructor(type: 'Lock' | 'RLock', core: LockCoreApi) {
    this.#core = core;
    this.#word = core.word ?? null;
    this.#type = type;
  }

  /** @internal The core, for Condition. */
  static coreOf(lock: LockBase): LockCoreApi {
    return lock.#core;
  }

  /**
   * Acquires the lock. Resolves true once held; false if `block` is false and the lock is taken,
   * or if `timeout` ms passed first. Never blocks the event loop.
   */
  acquire(block = true, timeout?: number | null): Promise<boolean> {
    if (typeof block !== 'boolean') return rejectOn(() => checkBlock(block) as never);
    // A free lock is taken at once, on the shared word; everything else is the core's business.
    const s = this.#word;
    if (timeout === undefined && s !== null && acquireLocal(s)) return Promise.resolve(true);
    this.#waiting++;
    const done = () => void this.#waiting--;
    const acquired = rejectOn(() => this.#core.acquire(block, timeoutOf(block, timeout), LOCAL_OWNER));
    acquired.then(done, done);
    return acquired;
  }

  /** Like {@link acquire}, but blocks the calling thread (for worker code). */
  acquireSync(block = true, timeout?: number | null): boolean {
    checkBlock(block);
    if (timeout !== undefined) return this.#core.acquireSync(block, timeoutOf(block, timeout), LOCAL_OWNER);
    const s = this.#word;
    return (s !== null && acquireLocal(s)) || this.#core.acquireSync(block, undefined, LOCAL_OWNER);
  }

  /** Releases the lock; throws LockStateError if it is not held (RLock: not held by this thread). */
  release(): void {
    const s = this.#word;
    if (s !== null && releaseLocal(s)) return;
    // Python's `lock.acquire()` blocks; ours returns a promise. Ported without `await`, the release that
    // follows would free another holder's Lock (or fail as "release unlocked lock" in a process worker).
    if (this.#waiting > 0 && !this.#core.isMine(LOCAL_OWNER)) {
      throw new LockStateError(
        `release() of a ${this.#type} not held here while an acquire() made here is still waiting: ` +
        'await lock.acquire() before the critical section (or use acquireSync() / holdSync() in worker code)',
      );
    }
    this.#core.release(LOCAL_OWNER);
  }

  /** Whether some thread or process holds the lock. */
  locked(): boolean {
    return this.#core.locked();
  }

  /** Acquires (waiting as long as it takes) and returns a guard: `await using _ = await lock.hold()`. */
  async hold(): Promise<LockGuard> {
    const s = this.#word;
    if (s === null || !acquireLocal(s)) await this.#core.acquire(true, undefined, LOCAL_OWNER);
    return guard(this);
  }

  /** Acquires, blocking the thread, and returns a guard: `using _ = lock.holdSync()`. */
  holdSync(): LockGuard {
    const s = this.#word;
    if (s === null || !acquireLocal(s)) this.#core.acquireSync(true, undefined, LOCAL_OWNER);
    return guard(this);
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    const shape = this.#type === 'Lock' ? LockCoreShape : RLockCoreShape;
    return { module: MODULE, type: this.#type, data: coreData(this.#core, shape, target) };
  }

  toString(): string {
    return `<${this.#type}(${this.locked() ? 'locked' : 'unlocked'})>`;
  }
}

/** Python's multiprocessing.Lock: a non-recursive lock any thread or process may release. */
export class Lock extends LockBase {
  constructor() {
    super('Lock', rebuilt<LockCoreApi>() ?? new LockCore());
  }
}

/** Python's multiprocessing.RLock: re-entrant for its owner thread, released once per acquire. */
export class RLock extends LockBase {
  constructor() {
    super('RLock', rebuilt<LockCoreApi>() ?? new RLockCore());
  }
}

/** @internal The core of a Lock or RLock (for Condition); throws TypeError for anything else. */
export function lockCoreOf(lock: unknown, what: string): LockCoreApi {
  if (!(lock instanceof LockBase)) throw new TypeError(`${what} must be a Lock or an RLock`);
  return LockBase.coreOf(lock);
}

function checkValue(value: unknown, cls: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${cls} value must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  }
  if (value < 0) throw new RangeError(`semaphore initial value must be >= 0, got ${value}`);
  if (value > 0x7fffffff) throw new RangeError(`semaphore initial value must be <= ${0x7fffffff}, got ${value}`);
  return value;
}

/** Python's multiprocessing.Semaphore: a counter; acquire takes one, waiting while it is 0. */
export class Semaphore implements HandleSource {
  readonly #core: SemaphoreCoreApi;

  constructor(value = 1) {
    this.#core = rebuilt<SemaphoreCoreApi>() ?? new SemaphoreCore({ value: checkValue(value, new.target.name), bound: new.target === BoundedSemaphore ? value : -1 });
  }

  /** Takes one unit; resolves false if `block` is false and none is left, or on timeout. */
  acquire(block = true, timeout?: number | null): Promise<boolean> {
    return rejectOn(() => this.#core.acquire(block, timeoutOf(block, timeout), LOCAL_OWNER));
  }

  /** Like {@link acquire}, but blocks the calling thread. */
  acquireSync(block = true, timeout?: number | null): boolean {
    return this.#core.acquireSync(block, timeoutOf(block, timeout), LOCAL_OWNER);
  }

  /** Gives one unit back (BoundedSemaphore: LockStateError past the initial value). */
  release(): void {
    this.#core.release();
  }

  /** The current counter. */
  getValue(): number {
    return this.#core.getValue();
  }

  async hold(): Promise<LockGuard> {
    await this.#core.acquire(true, undefined, LOCAL_OWNER);
    return guard(this);
  }

  holdSync(): LockGuard {
    this.#core.acquireSync(true, undefined, LOCAL_OWNER);
    return guard(this);
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    return { module: MODULE, type: this.constructor.name, data: coreData(this.#core, SemaphoreCoreShape, target) };
  }

  toString(): string {
    return `<${this.constructor.name}(value=${this.getValue()})>`;
  }
}

/** Python's multiprocessing.BoundedSemaphore: releasing past the initial value throws LockStateError. */
export class BoundedSemaphore extends Semaphore {}

/** Python's multiprocessing.Event: a flag threads and processes can wait for. */
export class Event implements HandleSource {
  readonly #core: EventCoreApi;

  constructor() {
    this.#core = rebuilt<EventCoreApi>() ?? new EventCore();
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    this.#core.set();
  }

  /** Clears the flag. */
  clear(): void {
    this.#core.clear();
  }

  isSet(): boolean {
    return this.#core.isSet();
  }

  /** Resolves true once the flag is set (at once if it is), false if `timeout` ms pass first. */
  wait(timeout?: number | null): Promise<boolean> {
    return rejectOn(() => this.#core.wait(normalizeTimeout(timeout), LOCAL_OWNER));
  }

  /** Like {@link wait}, but blocks the calling thread. */
  waitSync(timeout?: number | null): boolean {
    return this.#core.waitSync(normalizeTimeout(timeout), LOCAL_OWNER);
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    return { module: MODULE, type: 'Event', data: coreData(this.#core, EventCoreShape, target) };
  }

  toString(): string {
    return `<Event(${this.isSet() ? 'set' : 'unset'})>`;
  }
}

const kinds = {
  Lock: { shape: LockCoreShape, make: () => new Lock() },
  RLock: { shape: RLockCoreShape, make: () => new RLock() },
  Semaphore: { shape: SemaphoreCoreShape, make: () => new Semaphore() },
  BoundedSemaphore: { shape: SemaphoreCoreShape, make: () => new BoundedSemaphore() },
  Event: { shape: EventCoreShape, make: () => new Event() },
} as const;

/** Revives a primitive sent to this worker (see lib/base/codec/handles.ts). */
export function reviveHandle(type: string, data: unknown): unknown {
  const kind = Object.hasOwn(kinds, type) ? kinds[type as keyof typeof kinds] : undefined;
  if (!kind) throw new TypeError(`unknown synchronization primitive '${type}'`);
  const core = openCore<object>(data as CoreData, kind.shape);
  const build = (c: object) => rebuild<object, unknown>(c, kind.make);
  return core instanceof Promise ? core.then(build) : build(core);
}
