/**
 * Lock and RLock state in shared memory (a futex-style mutex: 0 free, 1 held, 2 held with waiters).
 * Threads share the SharedArrayBuffer; process workers call the same core through the broker.
 * Both cores record the holder's owner number so Condition can check ownership and the broker can
 * free a lock whose holder died (`abandon`).
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { LockStateError } from '../../lib/base/errors.js';
import { LOCAL_NUMBER, LOCAL_OWNER, ownerNumber } from '../kernel/owner.js';
import { deadlineOf, RemoteWaits, runAsync, runSync, sleep, timeLeft, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';

const STATE = 0;
const OWNER = 1;
const COUNT = 2;

/** What Lock, RLock and Condition facades need from a lock core (local or remote). */
export interface LockCoreApi {
  /**
   * `reentrant = false` makes an RLock owner wait like anyone else: Condition.wait re-acquiring
   * while another async flow of the same thread holds the lock must not slip in as a recursion.
   */
  acquire(block: boolean, timeout: number | undefined, owner: string, reentrant?: boolean): Promise<boolean>;
  acquireSync(block: boolean, timeout: number | undefined, owner: string, reentrant?: boolean): boolean;
  release(owner: string): void;
  locked(): boolean;
  /** Whether `owner` holds the lock (Python's `_is_mine`). */
  isMine(owner: string): boolean;
  /** Releases the lock completely and returns the recursion level to restore (Condition.wait). */
  releaseAll(owner: string): number;
  /** After re-acquiring: sets the recursion level saved by releaseAll. */
  restore(owner: string, count: number): void;
  /**
   * `owner` (a worker thread or process) ended: its pending acquires end. A Lock it holds stays held
   * if it ended normally (Python: a Lock can be handed on) and is freed if it `died`; an RLock it
   * holds is always freed, since nobody else could release it.
   */
  abandon(owner: string, died?: boolean): void;
  /**
   * The shared lock word, on a core this thread reaches directly (a local core; a remote core has
   * none). Facades run the uncontended paths on it themselves (acquireLocal, releaseLocal) and
   * call the core for everything else.
   */
  readonly word?: Int32Array;
}

const lockMethods = {
  waiting: ['acquire'],
  immediate: ['release', 'locked', 'isMine', 'releaseAll', 'restore', 'abandon'],
} as const;
export const LockCoreShape: CoreShape = { kind: 'Lock', ...lockMethods };
export const RLockCoreShape: CoreShape = { kind: 'RLock', ...lockMethods };

// The word: [STATE, OWNER, COUNT]. Both cores keep OWNER (the holder's owner number, 0 = none)
// and COUNT (the holder's recursion level; always 1 for a Lock) up to date, so "this thread holds
// it once" reads the same for both and the facades' fast paths below serve Lock and RLock alike.
// The hot paths are kept small so the JIT inlines them into the caller's loop: one
// compareExchange to take a free lock, one exchange to free it, a notify only when the word says
// someone sleeps (2), and this thread's owner number without any lookup.

/** The owner number of `owner`: this thread's without a lookup. */
const numberOf = (owner: string): number => (owner === LOCAL_OWNER ? LOCAL_NUMBER : ownerNumber(owner));

/** Unlocks the mutex word and wakes one sleeper if there may be one. Returns the previous state. */
function unlock(s: Int32Array): number {
  const prev = Atomics.exchange(s, STATE, 0);
  if (prev === 2) Atomics.notify(s, STATE, 1);
  return prev;
}

/**
 * The uncontended acquire for this thread on a local core's word: takes the lock if it is free.
 * False means "ask the core" (held: a re-entry, a wait, a failed try).
 */
export function acquireLocal(s: Int32Array): boolean {
  if (Atomics.compareExchange(s, STATE, 0, 1) !== 0) return false;
  s[OWNER] = LOCAL_NUMBER;
  s[COUNT] = 1;
  return true;
}

/**
 * The common release for this thread on a local core's word: the lock is held once, by this
 * thread. False means "ask the core" (a recursion level above 1, another holder, not held).
 */
export function releaseLocal(s: Int32Array): boolean {
  if (s[OWNER] !== LOCAL_NUMBER || s[COUNT] !== 1) return false;
  s[OWNER] = 0;
  s[COUNT] = 0;
  const prev = Atomics.exchange(s, STATE, 0);
  if (prev !== 1) {
    if (prev === 2) Atomics.notify(s, STATE, 1);
    // A Lock may be released by any thread: one did so under our feet (the core would say the same).
    else throw new LockStateError('release unlocked lock');
  }
  return true;
}

/** The contended acquire, one loop for both drivers: mark the word contended, sleep until it changes. */
function* contended(s: Int32Array, timeout: number | undefined, token: WaitToken): WaitLoop<boolean> {
  const deadline = deadlineOf(timeout);
  let sl = null;
  for (;;) {
    if (token.cancelled) return false;
    // Mark the lock contended before sleeping so the holder's release knows to wake us.
    if (Atomics.exchange(s, STATE, 2) === 0) return true;
    const left = timeLeft(deadline);
    if (left === -1) return false;
    yield (sl = sleep(sl, s, STATE, 2, left));
  }
}

const LOCAL_TOKEN: WaitToken = { cancelled: false, index: STATE };

/** An async acquire that found the lock held: waits for it (or the timeout), and takes it for `me`. */
function waitToTake(waits: RemoteWaits, s: Int32Array, timeout: number | undefined, owner: string, me: number): Promise<boolean> {
  const token = waits.enter(owner, STATE);
  return runAsync(contended(s, timeout, token)).then((ok) => {
    waits.leave(owner, token);
    if (ok) {
      s[OWNER] = me;
      s[COUNT] = 1;
    }
    return ok;
  });
}

/** A non-recursive lock: any thread may release it (as Python's multiprocessing.Lock). */
export class LockCore implements LockCoreApi {
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(12)) {
    this.memory = sab;
    this.#s = new Int32Array(sab);
    watchEnds(this);
  }

  get word(): Int32Array {
    return this.#s;
  }

  acquireSync(block: boolean, timeout: number | undefined, owner: string): boolean {
    const s = this.#s;
    if (Atomics.compareExchange(s, STATE, 0, 1) === 0 || (block && timeout !== 0 && runSync(contended(s, timeout, LOCAL_TOKEN)))) {
      s[OWNER] = numberOf(owner);
      s[COUNT] = 1;
      return true;
    }
    return false;
  }

  acquire(block: boolean, timeout: number | undefined, owner: string): Promise<boolean> {
    const s = this.#s;
    if (Atomics.compareExchange(s, STATE, 0, 1) === 0) {
      s[OWNER] = ownerNumber(owner);
      s[COUNT] = 1;
      return Promise.resolve(true);
    }
    if (!block || timeout === 0) return Promise.resolve(false);
    return waitToTake(this.#waits, s, timeout, owner, ownerNumber(owner));
  }

  release(_owner?: string): void {
    const s = this.#s;
    s[OWNER] = 0;
    s[COUNT] = 0;
    const prev = Atomics.exchange(s, STATE, 0);
    if (prev !== 1) {
      if (prev === 2) Atomics.notify(s, STATE, 1);
      else throw new LockStateError('release unlocked lock');
    }
  }

  locked(): boolean {
    return Atomics.load(this.#s, STATE) !== 0;
  }

  isMine(owner: string): boolean {
    const s = this.#s;
    return Atomics.load(s, STATE) !== 0 && s[OWNER] === ownerNumber(owner);
  }

  releaseAll(owner: string): number {
    if (!this.isMine(owner)) throw new LockStateError('cannot release un-acquired lock');
    this.release(owner);
    return 1;
  }

  restore(_owner: string, _count: number): void {}

  abandon(owner: string, died = true): void {
    this.#waits.cancel(owner, this.#s);
    if (died && this.isMine(owner)) this.release(owner);
  }
}

/** A recursive lock: only its owner releases it, once per acquire. */
export class RLockCore implements LockCoreApi {
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(12)) {
    this.memory = sab;
    this.#s = new Int32Array(sab);
    watchEnds(this);
  }

  get word(): Int32Array {
    return this.#s;
  }

  acquireSync(block: boolean, timeout: number | undefined, owner: string, reentrant = true): boolean {
    const s = this.#s;
    const me = numberOf(owner);
    if (Atomics.compareExchange(s, STATE, 0, 1) === 0) {
      s[OWNER] = me;
      s[COUNT] = 1;
      return true;
    }
    return this.#heldSync(s, me, block, timeout, reentrant);
  }

  /** acquireSync when the word was not free: a re-entry, or a wait. */
  #heldSync(s: Int32Array, me: number, block: boolean, timeout: number | undefined, reentrant: boolean): boolean {
    // Only this thread ever stores `me`, so a plain read is enough to recognise a re-entry.
    if (s[OWNER] === me && reentrant) {
      s[COUNT]++;
      return true;
    }
    if (Atomics.compareExchange(s, STATE, 0, 1) === 0 || (block && timeout !== 0 && runSync(contended(s, timeout, LOCAL_TOKEN)))) {
      s[OWNER] = me;
      s[COUNT] = 1;
      return true;
    }
    return false;
  }

  acquire(block: boolean, timeout: number | undefined, owner: string, reentrant = true): Promise<boolean> {
    const s = this.#s;
    const me = ownerNumber(owner);
    if (s[OWNER] === me && reentrant) {
      s[COUNT]++;
      return Promise.resolve(true);
    }
    if (Atomics.compareExchange(s, STATE, 0, 1) === 0) {
      s[OWNER] = me;
      s[COUNT] = 1;
      return Promise.resolve(true);
    }
    if (!block || timeout === 0) return Promise.resolve(false);
    return waitToTake(this.#waits, s, timeout, owner, me);
  }

  release(owner: string): void {
    const s = this.#s;
    if (s[OWNER] !== numberOf(owner)) throw new LockStateError('cannot release un-acquired lock');
    if (--s[COUNT] > 0) return;
    s[OWNER] = 0;
    if (Atomics.exchange(s, STATE, 0) === 2) Atomics.notify(s, STATE, 1);
  }

  locked(): boolean {
    return Atomics.load(this.#s, STATE) !== 0;
  }

  isMine(owner: string): boolean {
    return this.#s[OWNER] === ownerNumber(owner);
  }

  /** The recursion level of `owner` (0 if it does not hold the lock). */
  count(owner: string): number {
    return this.isMine(owner) ? this.#s[COUNT] : 0;
  }

  releaseAll(owner: string): number {
    const s = this.#s;
    if (!this.isMine(owner)) throw new LockStateError('cannot release un-acquired lock');
    const count = s[COUNT];
    s[COUNT] = 0;
    s[OWNER] = 0;
    unlock(s);
    return count;
  }

  restore(owner: string, count: number): void {
    if (this.isMine(owner)) this.#s[COUNT] = count;
  }

  /** An RLock is freed whenever its owner ends (normally or not): nobody else could release it. */
  abandon(owner: string, _died = true): void {
    this.#waits.cancel(owner, this.#s);
    if (this.isMine(owner)) this.releaseAll(owner);
  }
}

registerCoreClass(LockCore, import.meta.url);
registerCoreClass(RLockCore, import.meta.url);
