/**
 * Condition: Python's multiprocessing.Condition over a Lock or RLock (default: a new RLock).
 * The waiting list lives in its own core (see condition-core.ts); the lock keeps its own core, so
 * a Condition built on a user's lock shares that lock with everyone else who holds it.
 */
import { toHandle, type HandleDescriptor, type HandleSource, type HandleTarget } from '../../lib/base/codec/handles.js';
import { LockStateError } from '../../lib/base/errors.js';
import { normalizeTimeout } from '../../lib/base/timeout.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { Lock, RLock, lockCoreOf, reviveHandle as reviveLock } from './locks.js';
import type { LockCoreApi } from './lock-core.js';
import { ConditionCore, ConditionCoreShape, type ConditionCoreApi } from './condition-core.js';
import { coreData, openCore, rebuild, rebuilt, whenAll, type CoreData } from '../transport/reduction.js';
import type { LockGuard } from './guard.js';
import { deadlineOf, timeLeft } from '../kernel/wait.js';

const MODULE = import.meta.url;

type Parts = { core: ConditionCoreApi; lock: Lock | RLock };

/**
 * Condition.wait for `owner`, written once for this thread's Condition and the Manager's: take a
 * ticket and release the lock fully (remembering an RLock's recursion level), wait for a notify or
 * the timeout, re-acquire, restore. `driver` is the sync or async way to wait and re-acquire.
 */
export function conditionWait(lock: LockCoreApi, core: ConditionCoreApi, owner: string, ms: number | undefined): Promise<boolean> {
  const { ticket, saved } = enterWait(lock, core, owner);
  return core.wait(ticket, ms, owner).finally(async () => {
    await lock.acquire(true, undefined, owner, false);
    lock.restore(owner, saved);
  });
}

/** The blocking twin of {@link conditionWait}. */
export function conditionWaitSync(lock: LockCoreApi, core: ConditionCoreApi, owner: string, ms: number | undefined): boolean {
  const { ticket, saved } = enterWait(lock, core, owner);
  try {
    return core.waitSync(ticket, ms, owner);
  } finally {
    lock.acquireSync(true, undefined, owner, false);
    lock.restore(owner, saved);
  }
}

function enterWait(lock: LockCoreApi, core: ConditionCoreApi, owner: string): { ticket: number; saved: number } {
  if (!lock.isMine(owner)) throw new LockStateError('cannot wait on un-acquired lock');
  const ticket = core.register(owner);
  return { ticket, saved: lock.releaseAll(owner) };
}

/** Condition.notify(n) for `owner` (n = -1: all); LockStateError unless `owner` holds the lock. */
export function conditionNotify(lock: LockCoreApi, core: ConditionCoreApi, owner: string, n: number): void {
  if (!lock.isMine(owner)) throw new LockStateError('cannot notify on un-acquired lock');
  if (n !== 0) core.notify(n);
}

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** notify(n)'s count: a number of waiters (Infinity = all, as -1); at most 0 wakes nobody. */
export function notifyCount(n: unknown): number {
  if (typeof n !== 'number' || Number.isNaN(n)) throw new TypeError(`notify: n must be a number, got ${typeof n}`);
  return n === Infinity ? -1 : n > 0 ? Math.floor(n) : 0;
}

/** Python's multiprocessing.Condition. */
export class Condition implements HandleSource {
  readonly #lock: Lock | RLock;
  readonly #lockCore: LockCoreApi;
  readonly #core: ConditionCoreApi;

  /** `lock`: the Lock or RLock to use; a new RLock by default (as Python). */
  constructor(lock?: Lock | RLock | null) {
    const parts = rebuilt<Parts>();
    this.#lock = parts?.lock ?? lock ?? new RLock();
    this.#lockCore = lockCoreOf(this.#lock, 'Condition lock');
    this.#core = parts?.core ?? new ConditionCore();
  }

  acquire(block = true, timeout?: number | null): Promise<boolean> {
    return this.#lock.acquire(block, timeout);
  }

  acquireSync(block = true, timeout?: number | null): boolean {
    return this.#lock.acquireSync(block, timeout);
  }

  release(): void {
    this.#lock.release();
  }

  hold(): Promise<LockGuard> {
    return this.#lock.hold();
  }

  holdSync(): LockGuard {
    return this.#lock.holdSync();
  }

  /**
   * Releases the lock, waits for a notify (or `timeout` ms), re-acquires the lock. Resolves false
   * on timeout, true otherwise. Rejects LockStateError if this thread does not hold the lock.
   */
  async wait(timeout?: number | null): Promise<boolean> {
    return conditionWait(this.#lockCore, this.#core, LOCAL_OWNER, normalizeTimeout(timeout));
  }

  /** Like {@link wait}, but blocks the calling thread. */
  waitSync(timeout?: number | null): boolean {
    return conditionWaitSync(this.#lockCore, this.#core, LOCAL_OWNER, normalizeTimeout(timeout));
  }

  /**
   * Waits until `predicate()` is truthy (checked first, then after each wake-up) or `timeout` ms
   * pass; resolves the last predicate result (Python's wait_for). The predicate may be async.
   */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, timeout?: number | null): Promise<T> {
    if (typeof predicate !== 'function') throw new TypeError('waitFor: predicate must be a function');
    const deadline = deadlineOf(normalizeTimeout(timeout));
    let result = await predicate();
    while (!result) {
      const left = timeLeft(deadline);
      if (left === -1) break;
      await this.wait(left);
      result = await predicate();
    }
    return result;
  }

  /** Like {@link waitFor}, but blocks the calling thread; the predicate must be synchronous. */
  waitForSync<T>(predicate: () => T, timeout?: number | null): T {
    if (typeof predicate !== 'function') throw new TypeError('waitForSync: predicate must be a function');
    const deadline = deadlineOf(normalizeTimeout(timeout));
    let result = predicate();
    if (isThenable(result)) throw new TypeError('waitForSync: the predicate returned a Promise; use waitFor');
    while (!result) {
      const left = timeLeft(deadline);
      if (left === -1) break;
      this.waitSync(left);
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters. Throws LockStateError if this thread does not hold the lock. */
  notify(n = 1): void {
    conditionNotify(this.#lockCore, this.#core, LOCAL_OWNER, notifyCount(n));
  }

  /** Wakes every waiter. Throws LockStateError if this thread does not hold the lock. */
  notifyAll(): void {
    conditionNotify(this.#lockCore, this.#core, LOCAL_OWNER, -1);
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    return {
      module: MODULE,
      type: 'Condition',
      data: { lock: this.#lock[toHandle](target), core: coreData(this.#core, ConditionCoreShape, target) },
    };
  }

  toString(): string {
    return `<Condition(${this.#lock}, ${this.#core.waiters()})>`;
  }
}

/** Revives a Condition sent to this worker, with its lock. */
export function reviveHandle(type: string, data: unknown): unknown {
  if (type !== 'Condition') throw new TypeError(`unknown condition type '${type}'`);
  const { lock, core } = data as { lock: HandleDescriptor; core: CoreData };
  const parts = [
    reviveLock(lock.type, lock.data) as Lock | RLock | Promise<Lock | RLock>,
    openCore<ConditionCoreApi>(core, ConditionCoreShape),
  ] as const;
  return whenAll([...parts], (l, c) => rebuild<Parts, Condition>({ lock: l, core: c }, () => new Condition()));
}
