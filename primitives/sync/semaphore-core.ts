/**
 * Semaphore state in shared memory: the counter, a count of sleepers (so release only pays for a
 * wake-up when someone sleeps) and the bound of a BoundedSemaphore (-1 when unbounded).
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { LockStateError } from '../../lib/base/errors.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';

const VALUE = 0;
const SLEEPERS = 1;
const BOUND = 2;

export interface SemaphoreCoreApi {
  /** `owner`: the caller's ownerId(), so a remote waiter that dies can be abandoned. */
  acquire(block: boolean, timeout: number | undefined, owner?: string): Promise<boolean>;
  acquireSync(block: boolean, timeout: number | undefined, owner?: string): boolean;
  release(): void;
  getValue(): number;
}

export const SemaphoreCoreShape: CoreShape = {
  kind: 'Semaphore',
  waiting: ['acquire'],
  immediate: ['release', 'getValue'],
};

function tryTake(s: Int32Array): boolean {
  for (;;) {
    const v = Atomics.load(s, VALUE);
    if (v <= 0) return false;
    if (Atomics.compareExchange(s, VALUE, v, v - 1) === v) return true;
  }
}

export class SemaphoreCore implements SemaphoreCoreApi {
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  /** `bound` = the BoundedSemaphore's initial value; -1 for a plain Semaphore. */
  constructor(init: { value: number; bound: number } | SharedArrayBuffer) {
    if (init instanceof SharedArrayBuffer) {
      this.memory = init;
      this.#s = new Int32Array(init);
    } else {
      this.memory = new SharedArrayBuffer(12);
      this.#s = new Int32Array(this.memory);
      this.#s[VALUE] = init.value;
      this.#s[BOUND] = init.bound;
    }
    watchEnds(this);
  }

  /** One loop for both drivers: announce the sleeper, re-check, sleep until VALUE changes. */
  *#acquire(timeout: number | undefined, token: WaitToken): WaitLoop<boolean> {
    const s = this.#s;
    const deadline = deadlineOf(timeout);
    let sl = null;
    for (;;) {
      const left = timeLeft(deadline);
      if (left === -1 || token.cancelled) return false;
      // Announce the sleeper before re-checking: release() adds first and reads SLEEPERS after,
      // so either it sees us or we see its increment (all sequentially consistent).
      Atomics.add(s, SLEEPERS, 1);
      try {
        if (tryTake(s)) return true;
        yield (sl = sleep(sl, s, VALUE, 0, left));
      } finally {
        Atomics.sub(s, SLEEPERS, 1);
      }
      // A cancelled waiter takes nothing: abandon() woke every sleeper, so no release is lost.
      if (!token.cancelled && tryTake(s)) return true;
    }
  }

  acquireSync(block: boolean, timeout: number | undefined, owner?: string): boolean {
    if (tryTake(this.#s)) return true;
    if (!block || timeout === 0) return false;
    return drive(runSync, this.#waits, owner, VALUE, (token) => this.#acquire(timeout, token));
  }

  acquire(block: boolean, timeout: number | undefined, owner?: string): Promise<boolean> {
    if (tryTake(this.#s)) return Promise.resolve(true);
    if (!block || timeout === 0) return Promise.resolve(false);
    return drive(runAsync, this.#waits, owner, VALUE, (token) => this.#acquire(timeout, token));
  }

  /** `owner` ended: its pending acquires end (units it holds are not returned, as in Python). */
  abandon(owner: string, _died = true): void {
    this.#waits.cancel(owner, this.#s);
  }

  release(): void {
    const s = this.#s;
    const bound = s[BOUND];
    if (bound >= 0) {
      for (;;) {
        const v = Atomics.load(s, VALUE);
        if (v >= bound) throw new LockStateError('semaphore or lock released too many times');
        if (Atomics.compareExchange(s, VALUE, v, v + 1) === v) break;
      }
    } else {
      Atomics.add(s, VALUE, 1);
    }
    if (Atomics.load(s, SLEEPERS) > 0) Atomics.notify(s, VALUE, 1);
  }

  getValue(): number {
    return Atomics.load(this.#s, VALUE);
  }
}

registerCoreClass(SemaphoreCore, import.meta.url);
