/**
 * Condition state in shared memory: a ring of waiter tickets.
 *
 * A waiter takes a ticket while holding the condition's lock, releases the lock and sleeps on its
 * own cell. notify(n) (also under the lock) walks tickets from the oldest and flips the first n
 * cells still waiting to "notified"; a waiter that times out flips its cell to "cancelled" itself,
 * so notify skips it. Both flips are compare-and-swap on the same cell, so each waiter is either
 * woken or timed out, never both, and a notify never wakes a waiter that arrived after it — with
 * no blocking hand-shake in notify (Python's notify waits for the woken; ours is immediate).
 *
 * A cell holds `lap << 2 | state`, where lap is the ticket's round of the ring, so a cell reused by
 * a later ticket is never mistaken for the earlier one.
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';
import { ownerNumber } from '../kernel/owner.js';

const HEAD = 0; // oldest ticket notify has not passed yet
const TAIL = 1; // next ticket to hand out
const HEADER = 2;
/** Most waiters one Condition can hold at once. */
export const CONDITION_CAPACITY = 1024;
/** Owner numbers of the tickets' waiters start here (so a waiter that ends can give its ticket up). */
const OWNERS = HEADER + CONDITION_CAPACITY;
const MASK = CONDITION_CAPACITY - 1;
const LAP_SHIFT = 10;

const WAITING = 0;
const NOTIFIED = 1;
const CANCELLED = 2;

export interface ConditionCoreApi {
  /** Takes a ticket for `owner`; call while holding the lock, before releasing it. */
  register(owner: string): number;
  /** `owner`: the caller's ownerId(), so a remote waiter that dies can be abandoned. */
  wait(ticket: number, timeout: number | undefined, owner?: string): Promise<boolean>;
  waitSync(ticket: number, timeout: number | undefined, owner?: string): boolean;
  /** Wakes up to `n` waiters (all for n = -1); returns how many. Call while holding the lock. */
  notify(n: number): number;
  /** How many tickets are still waiting (for tests and repr). */
  waiters(): number;
}

export const ConditionCoreShape: CoreShape = {
  kind: 'Condition',
  waiting: ['wait'],
  immediate: ['register', 'notify', 'waiters'],
};

const cellOf = (ticket: number) => HEADER + (ticket & MASK);
const waitingValue = (ticket: number) => (((ticket >>> LAP_SHIFT) & 0xfffff) << 2) | WAITING;

export class ConditionCore implements ConditionCoreApi {
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer((HEADER + 2 * CONDITION_CAPACITY) * 4)) {
    this.memory = sab;
    this.#s = new Int32Array(sab);
    watchEnds(this);
  }

  register(owner: string): number {
    const s = this.#s;
    let head = s[HEAD];
    const tail = s[TAIL];
    if (((tail - head) | 0) >= CONDITION_CAPACITY) {
      // Drop cancelled tickets at the front; if the ring is still full, it really is.
      while (head !== tail && (Atomics.load(s, cellOf(head)) & 3) === CANCELLED) head = (head + 1) | 0;
      s[HEAD] = head;
      if (((tail - head) | 0) >= CONDITION_CAPACITY) {
        throw new RangeError(`a Condition holds at most ${CONDITION_CAPACITY} waiters at once`);
      }
    }
    Atomics.store(s, OWNERS + (tail & MASK), ownerNumber(owner));
    Atomics.store(s, cellOf(tail), waitingValue(tail));
    Atomics.store(s, TAIL, (tail + 1) | 0);
    return tail;
  }

  /** After a wake-up or timeout: true if notified; on timeout cancels the ticket (or finds it notified). */
  #settle(ticket: number, timedOut: boolean): boolean | undefined {
    const s = this.#s;
    const cell = cellOf(ticket);
    const waiting = waitingValue(ticket);
    // Anything but our own "waiting" value means notify flipped it (and the cell may since be reused).
    if (Atomics.load(s, cell) !== waiting) return true;
    if (!timedOut) return undefined;
    return Atomics.compareExchange(s, cell, waiting, waiting | CANCELLED) !== waiting;
  }

  /** One loop for both drivers: sleep on the ticket's cell until notified, or time out. */
  *#wait(ticket: number, timeout: number | undefined, token: WaitToken): WaitLoop<boolean> {
    const s = this.#s;
    const deadline = deadlineOf(timeout);
    let sl = null;
    for (;;) {
      const left = timeLeft(deadline);
      // A cancelled (ended) waiter times out: its ticket is skipped by later notifies. If a notify
      // reached it first, that notify is spent (Python's notify would wait for it forever).
      const done = this.#settle(ticket, left === -1 || token.cancelled);
      if (done !== undefined) return done;
      yield (sl = sleep(sl, s, cellOf(ticket), waitingValue(ticket), left));
    }
  }

  waitSync(ticket: number, timeout: number | undefined, owner?: string): boolean {
    return drive(runSync, this.#waits, owner, cellOf(ticket), (token) => this.#wait(ticket, timeout, token));
  }

  wait(ticket: number, timeout: number | undefined, owner?: string): Promise<boolean> {
    return drive(runAsync, this.#waits, owner, cellOf(ticket), (token) => this.#wait(ticket, timeout, token));
  }

  /** `owner` (a worker thread or process) ended: its tickets are given up, its pending waits end. */
  abandon(owner: string, _died = true): void {
    const s = this.#s;
    const me = ownerNumber(owner);
    for (let t = s[HEAD]; t !== s[TAIL]; t = (t + 1) | 0) {
      if (Atomics.load(s, OWNERS + (t & MASK)) !== me) continue;
      const waiting = waitingValue(t);
      Atomics.compareExchange(s, cellOf(t), waiting, waiting | CANCELLED);
    }
    this.#waits.cancel(owner, s);
  }

  notify(n: number): number {
    const s = this.#s;
    let head = s[HEAD];
    const tail = s[TAIL];
    let woken = 0;
    while (head !== tail && (n < 0 || woken < n)) {
      const cell = cellOf(head);
      const waiting = waitingValue(head);
      if (Atomics.compareExchange(s, cell, waiting, waiting | NOTIFIED) === waiting) {
        Atomics.notify(s, cell);
        woken++;
      }
      head = (head + 1) | 0;
    }
    s[HEAD] = head;
    return woken;
  }

  waiters(): number {
    const s = this.#s;
    let count = 0;
    for (let t = s[HEAD]; t !== s[TAIL]; t = (t + 1) | 0) {
      if (Atomics.load(s, cellOf(t)) === waitingValue(t)) count++;
    }
    return count;
  }
}

registerCoreClass(ConditionCore, import.meta.url);
