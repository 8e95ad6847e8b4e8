/**
 * The server-side Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier behind
 * Manager proxies: plain promises on the server's one thread, FIFO hand-off (a released lock goes
 * straight to the first waiter, so nobody barges). Ownership is the calling client thread
 * (`callerOwner()`); `abandon(owner)` runs when that client goes away: its locks are released and
 * its waits dropped, so a dead holder never wedges the others (beyond Python).
 */
import { BrokenBarrierError, LockStateError } from '../../lib/base/errors.js';
import { callerOwner } from './identity.js';
import type { Holder } from './holder.js';
import { timeoutArg, WaitQueue } from './waiters.js';

function countArg(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${typeof v}`);
  if (v < min) throw new RangeError(`${what} must be >= ${min}, got ${v}`);
  return v;
}

/** What Condition needs of its lock. */
export interface OwnedLock {
  acquireAs(owner: string, block: boolean, timeoutMs: number | undefined): boolean | Promise<boolean>;
  /** Releases completely; returns what `restore` needs. Throws if `owner` does not hold it. */
  releaseAllAs(owner: string, what: string): number;
  restoreAs(owner: string, saved: number): Promise<void> | void;
  isOwnedBy(owner: string): boolean;
  abandon(owner: string): void;
  locked(): boolean;
}

/** threading.Lock: any client may release it (as in Python); a gone holder releases it. */
export class LockHolder implements Holder, OwnedLock {
  readonly kind: string = 'Lock';
  protected owner: string | null = null;
  protected readonly waiters = new WaitQueue<boolean>();

  acquire(block: unknown = true, timeout?: unknown): boolean | Promise<boolean> {
    return this.acquireAs(callerOwner(), block !== false, timeoutArg(timeout));
  }
  acquireAs(owner: string, block: boolean, timeoutMs: number | undefined): boolean | Promise<boolean> {
    if (this.owner === null) {
      this.owner = owner;
      return true;
    }
    if (!block || timeoutMs === 0) return false;
    return this.waiters.wait(owner, timeoutMs, () => false);
  }
  release(): void {
    if (this.owner === null) throw new LockStateError('release unlocked lock');
    this.handOff();
  }
  protected handOff(): void {
    const next = this.waiters.shift();
    this.owner = next ? next.owner : null;
    next?.resolve(true);
  }
  locked(): boolean {
    return this.owner !== null;
  }
  isOwnedBy(owner: string): boolean {
    return this.owner === owner;
  }
  releaseAllAs(owner: string, what: string): number {
    // A plain Lock has no owner in Python; Condition only requires that it is held.
    if (this.owner === null) throw new LockStateError(`cannot ${what} on un-acquired lock`);
    void owner;
    this.handOff();
    return 1;
  }
  async restoreAs(owner: string, _saved?: number): Promise<void> {
    await this.acquireAs(owner, true, undefined);
  }
  abandon(owner: string): void {
    this.waiters.cancel(owner);
    if (this.owner === owner) this.handOff();
  }
  dispose(): void {
    this.waiters.dispose();
  }
}

/** threading.RLock: re-entrant per client thread; only the owner may release. */
export class RLockHolder extends LockHolder {
  override readonly kind = 'RLock';
  private count = 0;

  override acquireAs(owner: string, block: boolean, timeoutMs: number | undefined): boolean | Promise<boolean> {
    if (this.owner === owner) {
      this.count++;
      return true;
    }
    if (this.owner === null) {
      this.owner = owner;
      this.count = 1;
      return true;
    }
    if (!block || timeoutMs === 0) return false;
    return this.waiters.wait(owner, timeoutMs, () => false);
  }
  override release(): void {
    if (this.owner !== callerOwner()) throw new LockStateError('cannot release un-acquired lock');
    if (--this.count === 0) this.handOff();
  }
  protected override handOff(): void {
    const next = this.waiters.shift();
    this.owner = next ? next.owner : null;
    this.count = next ? 1 : 0;
    next?.resolve(true);
  }
  override releaseAllAs(owner: string, what: string): number {
    if (this.owner !== owner) throw new LockStateError(`cannot ${what} on un-acquired lock`);
    const saved = this.count;
    this.handOff();
    return saved;
  }
  override async restoreAs(owner: string, saved = 1): Promise<void> {
    await this.acquireAs(owner, true, undefined);
    this.count = saved;
  }
}

/** threading.Semaphore; `bounded` refuses a release past the initial value (BoundedSemaphore). */
export class SemaphoreHolder implements Holder {
  readonly kind: string;
  private value: number;
  private readonly initial: number;
  private readonly waiters = new WaitQueue<boolean>();

  constructor(value: unknown = 1, private readonly bounded = false) {
    this.kind = bounded ? 'BoundedSemaphore' : 'Semaphore';
    this.value = this.initial = countArg(value, 'semaphore initial value', 0);
  }

  acquire(block: unknown = true, timeout?: unknown): boolean | Promise<boolean> {
    if (this.value > 0) {
      this.value--;
      return true;
    }
    const ms = timeoutArg(timeout);
    if (block === false || ms === 0) return false;
    return this.waiters.wait(callerOwner(), ms, () => false);
  }
  release(n: unknown = 1): void {
    const count = countArg(n, 'n', 1);
    if (this.bounded && this.value + count > this.initial) throw new LockStateError('Semaphore released too many times');
    for (let i = 0; i < count; i++) {
      const next = this.waiters.shift();
      if (next) next.resolve(true);
      else this.value++;
    }
  }
  getValue(): number {
    return this.value;
  }
  locked(): boolean {
    return this.value === 0;
  }
  abandon(owner: string): void {
    this.waiters.cancel(owner);
  }
  dispose(): void {
    this.waiters.dispose();
  }
}

/** threading.Event. */
export class EventHolder implements Holder {
  readonly kind = 'Event';
  private flag = false;
  private readonly waiters = new WaitQueue<boolean>();

  set(): void {
    this.flag = true;
    for (const w of this.waiters.drain()) w.resolve(true);
  }
  clear(): void {
    this.flag = false;
  }
  isSet(): boolean {
    return this.flag;
  }
  wait(timeout?: unknown): boolean | Promise<boolean> {
    const ms = timeoutArg(timeout);
    if (this.flag || ms === 0) return this.flag;
    return this.waiters.wait(callerOwner(), ms, () => this.flag);
  }
  abandon(owner: string): void {
    this.waiters.cancel(owner);
  }
  dispose(): void {
    this.waiters.dispose();
  }
}

/** threading.Condition over a Lock or RLock of the same manager (default: a new RLock). */
export class ConditionHolder implements Holder {
  readonly kind = 'Condition';
  private readonly waiters = new WaitQueue<boolean>();

  constructor(readonly lock: LockHolder = new RLockHolder()) {}

  contents(): Iterable<unknown> {
    return [];
  }
  acquire(block: unknown = true, timeout?: unknown): boolean | Promise<boolean> {
    return this.lock.acquireAs(callerOwner(), block !== false, timeoutArg(timeout));
  }
  release(): void {
    this.lock.release();
  }
  locked(): boolean {
    return this.lock.locked();
  }
  /** Releases the lock, waits for notify (true) or the timeout (false), then re-acquires. */
  async wait(timeout?: unknown): Promise<boolean> {
    const owner = callerOwner();
    const ms = timeoutArg(timeout);
    const saved = this.lock.releaseAllAs(owner, 'wait');
    const notified = await this.waiters.wait(owner, ms, () => false);
    await this.lock.restoreAs(owner, saved);
    return notified;
  }
  notify(n: unknown = 1): void {
    this.checkOwned('notify');
    const count = countArg(n, 'n', 0);
    for (let i = 0; i < count; i++) {
      const w = this.waiters.shift();
      if (!w) break;
      w.resolve(true);
    }
  }
  notifyAll(): void {
    this.checkOwned('notify');
    for (const w of this.waiters.drain()) w.resolve(true);
  }
  private checkOwned(what: string): void {
    const owned = this.lock instanceof RLockHolder ? this.lock.isOwnedBy(callerOwner()) : this.lock.locked();
    if (!owned) throw new LockStateError(`cannot ${what} on un-acquired lock`);
  }
  abandon(owner: string): void {
    this.waiters.cancel(owner);
    this.lock.abandon(owner);
  }
  dispose(): void {
    this.waiters.dispose();
  }
}

/** threading.Barrier (no action: functions cannot be sent to the server). */
export class BarrierHolder implements Holder {
  readonly kind = 'Barrier';
  private readonly partiesN: number;
  private readonly defaultTimeout: number | undefined;
  private waiters = new WaitQueue<number>();
  private isBroken = false;

  constructor(parties: unknown, timeout?: unknown) {
    this.partiesN = countArg(parties, 'parties', 1);
    this.defaultTimeout = timeoutArg(timeout);
  }

  wait(timeout?: unknown): number | Promise<number> {
    if (this.isBroken) throw new BrokenBarrierError();
    const ms = timeout === undefined || timeout === null ? this.defaultTimeout : timeoutArg(timeout);
    const index = this.waiters.length;
    if (index + 1 === this.partiesN) {
      // The last party releases everyone; indices are arrival order, as Python's.
      const all = this.waiters.drain();
      all.forEach((w, i) => w.resolve(i));
      return index;
    }
    return this.waiters.wait(callerOwner(), ms, () => {
      this.breakAll();
      throw new BrokenBarrierError();
    });
  }
  /** Breaks the barrier: every waiter (and every later wait until reset) gets BrokenBarrierError. */
  abort(): void {
    this.breakAll();
  }
  reset(): void {
    this.breakAll();
    this.isBroken = false;
  }
  parties(): number {
    return this.partiesN;
  }
  nWaiting(): number {
    return this.waiters.length;
  }
  broken(): boolean {
    return this.isBroken;
  }
  private breakAll(): void {
    this.isBroken = true;
    for (const w of this.waiters.drain()) w.reject(new BrokenBarrierError());
  }
  /** A party that dies while waiting would hang the others forever: break the barrier instead. */
  abandon(owner: string): void {
    if (this.waiters.cancel(owner) > 0) this.breakAll();
  }
  dispose(): void {
    this.waiters.dispose();
  }
}
