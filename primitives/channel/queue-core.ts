/**
 * The core of a Queue / JoinableQueue / SimpleQueue: one MessageRing shared by every producer
 * and consumer. `maxsize` bounds the number of items (Python's semaphore of slots); the byte
 * store itself grows, so an unbounded put never waits.
 *
 * Credits (bounded queues, producers in other processes): a remote producer reserves room for a few
 * items in one round trip (`reserve`), then puts them without waiting for any answer
 * (`putReserved`, fire-and-forget, applied in order). Reserved room counts as taken for everyone, as
 * the slots of Python's semaphore do for items still in its feeder thread; unused credits go back
 * when the producer pauses (`unreserve`) or ends (`abandon`).
 */
import type { CoreShape } from '../transport/core.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type Sleep, type WaitLoop, type WaitToken } from '../wait.js';
import { watchEnds } from '../worker-gone.js';
import { COUNT, DATA_SEQ, JOIN_SEQ, LOCK_R, LOCK_W, MessageRing, RESERVED, SPACE_SEQ, UNFINISHED, type Frame, type RingMemory } from './ring.js';

export const QueueShape = {
  kind: 'Queue',
  waiting: ['put', 'get', 'join', 'reserve'],
  immediate: ['putNowait', 'getNowait', 'qsize', 'empty', 'full', 'taskDone', 'putUnbounded', 'putReserved', 'unreserve', 'reserveNowait'],
  // Puts that cannot fail for want of room (unbounded, or into reserved room) and returning credits
  // need no answer: a process worker sends them in order, in batches (Python's feeder thread).
  fireAndForget: ['putUnbounded', 'putReserved', 'unreserve'],
} as const satisfies CoreShape;

export interface QueueMemory {
  ring: RingMemory;
  maxsize: number;
  joinable: boolean;
}

const NO_TOKEN: WaitToken = { cancelled: false, index: DATA_SEQ };

export class QueueCore {
  readonly memory: QueueMemory;
  readonly ring: MessageRing;
  /** Items allowed at once; Infinity when unbounded (Python's maxsize <= 0). */
  readonly #limit: number;
  readonly #joinable: boolean;
  readonly #waits = new RemoteWaits();
  /** Credits held by remote producers (this core's view: the broker's), so an ended one gives them back. */
  readonly #credits = new Map<string, number>();

  constructor(memory: QueueMemory) {
    this.memory = memory;
    this.ring = new MessageRing(memory.ring);
    this.#limit = memory.maxsize > 0 ? memory.maxsize : Infinity;
    this.#joinable = memory.joinable;
    watchEnds(this);
  }

  static create(maxsize: number, joinable: boolean): QueueCore {
    return new QueueCore({ ring: new MessageRing().memory, maxsize, joinable });
  }

  /** Whether the queue is bounded (a remote producer then needs credits). */
  get bounded(): boolean {
    return this.#limit !== Infinity;
  }

  // ---- put ----

  /** Room for one more item, counting reserved room as taken. */
  #room(): number {
    return this.#limit - this.ring.load(COUNT) - this.ring.load(RESERVED);
  }

  #push(msg: Frame): void {
    const ring = this.ring;
    ring.lock(LOCK_W);
    try {
      ring.pushLocked(msg);
      if (this.#joinable) Atomics.add(ring.ctl, UNFINISHED, 1);
    } finally {
      ring.unlock(LOCK_W);
    }
    ring.published();
  }

  /** Takes `want` (at least 1) slots if there is room; returns how many it took, 0 if none. */
  #take(want: number): number {
    const ring = this.ring;
    if (this.#limit === Infinity) return want;
    ring.lock(LOCK_W);
    try {
      // only writers add items or reservations, and they hold LOCK_W: this check cannot go stale
      const room = this.#room();
      if (room <= 0) return 0;
      const n = Math.min(want, room);
      Atomics.add(ring.ctl, RESERVED, n);
      return n;
    } finally {
      ring.unlock(LOCK_W);
    }
  }

  /** Waits for room, then takes up to `want` slots: one loop for every put form and `reserve`. */
  *#slots(want: number, timeout: number | undefined, token: WaitToken): WaitLoop<number> {
    const ring = this.ring;
    const deadline = deadlineOf(timeout);
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.spaceWillWait();
      try {
        const n = this.#take(want);
        if (n > 0) return n;
        const left = timeLeft(deadline);
        if (left === -1 || token.cancelled) return 0;
        yield (sl = sleep(sl, ring.ctl, SPACE_SEQ, seq, left));
      } finally {
        ring.spaceDoneWaiting();
      }
    }
  }

  /** Puts into room taken by #take/#slots. */
  #putTaken(msg: Frame): void {
    if (this.#limit !== Infinity) Atomics.sub(this.ring.ctl, RESERVED, 1);
    this.#push(msg);
  }

  /** Puts one item; false when it timed out (or `block` is false) with the queue full. */
  async put(msg: Frame, block = true, timeout?: number, owner?: string): Promise<boolean> {
    if (this.#take(1) === 0) {
      if (!block || timeout === 0) return false;
      if ((await drive(runAsync, this.#waits, owner, SPACE_SEQ, (token) => this.#slots(1, timeout, token))) === 0) return false;
    }
    this.#putTaken(msg);
    return true;
  }

  putSync(msg: Frame, block = true, timeout?: number): boolean {
    if (this.#take(1) === 0 && (!block || timeout === 0 || runSync(this.#slots(1, timeout, NO_TOKEN)) === 0)) return false;
    this.#putTaken(msg);
    return true;
  }

  putNowait(msg: Frame): boolean {
    if (this.#take(1) === 0) return false;
    this.#putTaken(msg);
    return true;
  }

  /** Put into an unbounded queue: never waits, so a remote caller need not wait for the answer. */
  putUnbounded(msg: Frame): void {
    this.#push(msg);
  }

  // ---- credits (remote producers of a bounded queue) ----

  #credit(owner: string, n: number): void {
    const left = (this.#credits.get(owner) ?? 0) + n;
    if (left > 0) this.#credits.set(owner, left);
    else this.#credits.delete(owner);
  }

  /** Waits for room (as put does), then reserves up to `want` slots for `owner`; 0 on timeout. */
  async reserve(want: number, block: boolean, timeout: number | undefined, owner: string): Promise<number> {
    let n = this.#take(want);
    if (n === 0 && block && timeout !== 0) {
      const token = this.#waits.enter(owner, SPACE_SEQ);
      try {
        n = await runAsync(this.#slots(want, timeout, token));
        if (token.cancelled && n > 0) {
          // the producer ended while we waited: nobody will use this room
          Atomics.sub(this.ring.ctl, RESERVED, n);
          this.ring.bump(SPACE_SEQ);
          return 0;
        }
      } finally {
        this.#waits.leave(owner, token);
      }
    }
    this.#credit(owner, n);
    return n;
  }

  /** reserve() without waiting. */
  reserveNowait(want: number, owner: string): number {
    const n = this.#take(want);
    this.#credit(owner, n);
    return n;
  }

  /** Puts one item into room `owner` reserved. */
  putReserved(msg: Frame, owner: string): void {
    this.#credit(owner, -1);
    this.#putTaken(msg);
  }

  /** `owner` gives back `n` reserved slots it will not use. */
  unreserve(n: number, owner: string): void {
    const held = this.#credits.get(owner) ?? 0;
    const back = Math.min(n, held);
    if (back <= 0) return;
    this.#credit(owner, -back);
    Atomics.sub(this.ring.ctl, RESERVED, back);
    this.ring.consumed();
  }

  // ---- get ----

  #tryGet(): Frame | null {
    const ring = this.ring;
    if (ring.load(COUNT) === 0) return null;
    let out: Frame | null = null;
    ring.lock(LOCK_R);
    try {
      if (ring.load(COUNT) > 0) out = ring.takeLocked();
    } finally {
      ring.unlock(LOCK_R);
    }
    if (out !== null) ring.consumed();
    return out;
  }

  *#get(timeout: number | undefined, token: WaitToken): WaitLoop<Frame | null> {
    const ring = this.ring;
    const deadline = deadlineOf(timeout);
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.readerWillWait();
      try {
        // A cancelled (ended) getter takes nothing: no item is handed to a worker that is gone.
        if (token.cancelled) return null;
        const out = this.#tryGet();
        if (out !== null) return out;
        const left = timeLeft(deadline);
        if (left === -1) return null;
        yield (sl = sleep(sl, ring.ctl, DATA_SEQ, seq, left));
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  /** Takes one item; null when it timed out (or `block` is false) with the queue empty. */
  async get(block = true, timeout?: number, owner?: string): Promise<Frame | null> {
    const out = this.#tryGet();
    if (out !== null || !block || timeout === 0) return out;
    return drive(runAsync, this.#waits, owner, DATA_SEQ, (token) => this.#get(timeout, token));
  }

  getSync(block = true, timeout?: number): Frame | null {
    const out = this.#tryGet();
    if (out !== null || !block || timeout === 0) return out;
    return runSync(this.#get(timeout, NO_TOKEN));
  }

  getNowait(): Frame | null {
    return this.#tryGet();
  }

  // ---- queries ----

  qsize(): number {
    return this.ring.load(COUNT);
  }

  empty(): boolean {
    return this.ring.load(COUNT) === 0;
  }

  /** No room for another item (reserved room counts as taken, as Python's semaphore). */
  full(): boolean {
    return this.#room() <= 0;
  }

  // ---- JoinableQueue ----

  /** One item finished; false when no task was unfinished (the facade throws Python's ValueError). */
  taskDone(): boolean {
    const ctl = this.ring.ctl;
    for (;;) {
      const left = Atomics.load(ctl, UNFINISHED);
      if (left <= 0) return false;
      if (Atomics.compareExchange(ctl, UNFINISHED, left, left - 1) === left) {
        if (left === 1) this.ring.bump(JOIN_SEQ);
        return true;
      }
    }
  }

  *#join(token: WaitToken): WaitLoop<void> {
    const ring = this.ring;
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.joinWillWait();
      try {
        if (ring.load(UNFINISHED) === 0 || token.cancelled) return;
        yield (sl = sleep(sl, ring.ctl, JOIN_SEQ, seq, undefined));
      } finally {
        ring.joinDoneWaiting();
      }
    }
  }

  async join(owner?: string): Promise<void> {
    if (this.ring.load(UNFINISHED) === 0) return;
    return drive(runAsync, this.#waits, owner, JOIN_SEQ, (token) => this.#join(token));
  }

  joinSync(): void {
    if (this.ring.load(UNFINISHED) !== 0) runSync(this.#join(NO_TOKEN));
  }

  /** `owner` (a worker) ended: its waits end, its unused credits go back. */
  abandon(owner: string, _died = true): void {
    this.#waits.cancel(owner, this.ring.ctl);
    const held = this.#credits.get(owner) ?? 0;
    if (held > 0) this.unreserve(held, owner);
  }
}
