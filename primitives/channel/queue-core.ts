/**
 * The core of a Queue / JoinableQueue / SimpleQueue: one MessageRing shared by every producer
 * and consumer. `maxsize` bounds the number of items (Python's semaphore of slots); the byte
 * store itself grows, so an unbounded put never waits.
 *
 * Credits (bounded queues, producers in other processes): a remote producer reserves room for a few
 * items in one round trip (`reserve`), then puts them without waiting for any answer
 * (`putReserved`, fire-and-forget, applied in order). Reserved room counts as taken for everyone, as
 * the slots of Python's semaphore do for items still in its feeder thread; unused credits go back
 * when the producer pauses (`unreserve`) or ends (`abandon`). Its puts arrive packed in runs
 * (`putPacked`, `putReservedPacked`: one copy into the ring per run).
 *
 * Lending (consumers in other processes): a remote consumer fetches a run of items ahead in one round
 * trip (`getPacked`); they count as in the queue (LENT: qsize, a bounded queue's room) until it
 * reports them got, and what it does not use goes back to the front (`settleLent`, `abandon`); see
 * lending.ts and fetch-ahead.ts.
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type Sleep, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';
import { checkPacked, type Packed } from '../kernel/frames.js';
import { Lending } from './lending.js';
import { ValueError } from '../../lib/base/errors.js';
import { COUNT, DATA_SEQ, JOIN_SEQ, LENT, LOCK_R, LOCK_W, MessageRing, RESERVED, SPACE_EAGER, SPACE_SEQ, SPACE_WAITERS, UNFINISHED, type Frame, type RingMemory } from './ring.js';

export const QueueShape = {
  kind: 'Queue',
  waiting: ['put', 'get', 'join', 'reserve', 'getPacked'],
  immediate: ['putNowait', 'getNowait', 'qsize', 'empty', 'full', 'taskDone', 'taskDoneAhead', 'unreserve', 'reserveNowait', 'settleLent'],
  // Returning credits, settling fetched-ahead items and marking got items done need no answer: sent
  // in order, in batches.
  fireAndForget: ['unreserve', 'settleLent', 'taskDoneAhead'],
  // Puts that cannot fail for want of room (unbounded, or into reserved room) need no answer either:
  // a process worker streams them, packed into runs (Python's feeder thread, with one copy per run).
  packed: { putUnbounded: 'putPacked', putReserved: 'putReservedPacked' },
} as const satisfies CoreShape;

/**
 * A remote producer blocked on a full bounded queue is woken when room for a batch of credits is
 * free (its low water mark), and at the latest after this many ms for any room: credits then come in
 * batches instead of one per item freed, without holding a put back for long.
 */
const LINGER_MS = 1;

/** The most a consumer may fetch ahead in one run (items, bytes beyond the first item). */
const MAX_LEND = 4096;
const MAX_LEND_BYTES = 1024 * 1024;

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
  /** Items fetched ahead by remote consumers, kept until they say they got them. */
  readonly #lending: Lending;
  /** Room a remote producer's reservation waits for (see LINGER_MS); Credits asks for as much. */
  readonly #lowWater: number;

  constructor(memory: QueueMemory) {
    this.memory = memory;
    this.ring = new MessageRing(memory.ring);
    this.#limit = memory.maxsize > 0 ? memory.maxsize : Infinity;
    this.#joinable = memory.joinable;
    this.#lending = new Lending(this.ring, () => this.#freed());
    this.#lowWater = this.#limit === Infinity ? 1 : Math.max(1, Math.min(256, Math.floor(this.#limit / 4)));
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

  /** Room for one more item, counting reserved room and items lent (fetched ahead) as taken. */
  #room(): number {
    return this.#limit - this.ring.load(COUNT) - this.ring.load(RESERVED) - this.ring.load(LENT);
  }

  #push(msg: Frame): void {
    const ring = this.ring;
    ring.lock(LOCK_W);
    try {
      this.#countUnfinished(1, () => ring.pushLocked(msg));
    } finally {
      ring.unlock(LOCK_W);
    }
    ring.published();
  }

  #pushRun(run: Packed): void {
    const ring = this.ring;
    ring.lock(LOCK_W);
    try {
      this.#countUnfinished(run.count, () => ring.pushPackedLocked(run));
    } finally {
      ring.unlock(LOCK_W);
    }
    ring.published();
  }

  /**
   * A JoinableQueue counts `n` unfinished tasks BEFORE `push` makes them gettable (as Python's put):
   * a consumer in another thread may get one and call taskDone() the moment it is in the ring, and
   * readers do not take LOCK_W. A push that throws (too big) takes the count back.
   */
  #countUnfinished(n: number, push: () => void): void {
    if (!this.#joinable) return push();
    const ctl = this.ring.ctl;
    Atomics.add(ctl, UNFINISHED, n);
    try {
      push();
    } catch (err) {
      if (Atomics.sub(ctl, UNFINISHED, n) === n) this.ring.bump(JOIN_SEQ);
      throw err;
    }
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

  /** Takes up to `want` slots, but only a batch worth a remote producer's round trip (see LINGER_MS). */
  #takeBatch(want: number): number {
    return this.#room() >= Math.min(want, this.#lowWater) ? this.#take(want) : 0;
  }

  /** Room was freed: wakes putters that want any room, or all of them once a batch is free. */
  #freed(): void {
    const ring = this.ring;
    if (ring.load(SPACE_WAITERS) === 0) return;
    if (ring.load(SPACE_EAGER) > 0 || this.#room() >= this.#lowWater) ring.bump(SPACE_SEQ);
  }

  /**
   * Waits for room, then takes up to `want` slots: one loop for every put form and `reserve`. An eager
   * waiter (every put) takes any room at once; a remote producer's reservation waits for a batch, at
   * most LINGER_MS, then takes any room.
   */
  *#slots(want: number, timeout: number | undefined, token: WaitToken, eager = true): WaitLoop<number> {
    const ring = this.ring;
    const deadline = deadlineOf(timeout);
    let sl: Sleep | null = null;
    for (let slept = false; ; slept = true) {
      const seq = ring.spaceWillWait(eager);
      try {
        const n = eager || slept ? this.#take(want) : this.#takeBatch(want);
        if (n > 0) return n;
        const left = timeLeft(deadline);
        if (left === -1 || token.cancelled) return 0;
        yield (sl = sleep(sl, ring.ctl, SPACE_SEQ, seq, eager ? left : Math.min(left ?? LINGER_MS, LINGER_MS)));
      } finally {
        ring.spaceDoneWaiting(eager);
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

  /** putUnbounded for a packed run of items (a process worker's stream of puts). */
  putPacked(bytes: Uint8Array, count: number): void {
    if (this.bounded) throw new TypeError('putPacked: the queue is bounded (put into reserved room)');
    if (!checkPacked(bytes, count)) throw new TypeError('putPacked: malformed run');
    this.#pushRun({ bytes, count });
  }

  // ---- credits (remote producers of a bounded queue) ----

  #credit(owner: string, n: number): void {
    const left = (this.#credits.get(owner) ?? 0) + n;
    if (left > 0) this.#credits.set(owner, left);
    else this.#credits.delete(owner);
  }

  /** Waits for room (as put does), then reserves up to `want` slots for `owner`; 0 on timeout. */
  async reserve(want: number, block: boolean, timeout: number | undefined, owner: string): Promise<number> {
    let n = block && timeout !== 0 ? this.#takeBatch(want) : this.#take(want);
    if (n === 0 && block && timeout !== 0) {
      const token = this.#waits.enter(owner, SPACE_SEQ);
      try {
        n = await runAsync(this.#slots(want, timeout, token, false));
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

  /** putReserved for a packed run of items. */
  putReservedPacked(bytes: Uint8Array, count: number, owner: string): void {
    if (!checkPacked(bytes, count)) throw new TypeError('putReservedPacked: malformed run');
    this.#credit(owner, -count);
    if (this.#limit !== Infinity) Atomics.sub(this.ring.ctl, RESERVED, count);
    this.#pushRun({ bytes, count });
  }

  /** `owner` gives back `n` reserved slots it will not use. */
  unreserve(n: number, owner: string): void {
    const held = this.#credits.get(owner) ?? 0;
    const back = Math.min(n, held);
    if (back <= 0) return;
    this.#credit(owner, -back);
    Atomics.sub(this.ring.ctl, RESERVED, back);
    this.#freed();
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
    if (out !== null) this.#freed();
    return out;
  }

  /** Waits for an item, then takes with `take` (one item, or a run lent ahead): one loop for every get form. */
  *#get<T>(timeout: number | undefined, token: WaitToken, take: () => T | null): WaitLoop<T | null> {
    const ring = this.ring;
    const deadline = deadlineOf(timeout);
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.readerWillWait();
      try {
        // A cancelled (ended) getter takes nothing: no item is handed to a worker that is gone.
        if (token.cancelled) return null;
        const out = take();
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
    return drive(runAsync, this.#waits, owner, DATA_SEQ, (token) => this.#get(timeout, token, this.#takeOne));
  }

  readonly #takeOne = () => this.#tryGet();

  getSync(block = true, timeout?: number): Frame | null {
    const out = this.#tryGet();
    if (out !== null || !block || timeout === 0) return out;
    return runSync(this.#get(timeout, NO_TOKEN, this.#takeOne));
  }

  // ---- fetching ahead (remote consumers) ----

  /** Lends up to `max` items to `owner` as one run; null when the queue is empty. */
  #lend(max: number, owner: string): Packed | null {
    const ring = this.ring;
    if (ring.load(COUNT) === 0) return null;
    let run: Packed | null = null;
    ring.lock(LOCK_R);
    try {
      if (ring.load(COUNT) > 0) run = ring.takePackedLocked(max, MAX_LEND_BYTES, LENT);
    } finally {
      ring.unlock(LOCK_R);
    }
    if (run !== null) this.#lending.lend(owner, run);
    return run;
  }

  /**
   * A remote consumer's get: first reports `consumed` items of what it was lent as got, then lends it
   * up to `max` items (waiting for one as get does); null when it timed out (or `block` is false) with
   * the queue empty. The consumer returns them one by one from its own get().
   */
  async getPacked(max: number, block: boolean, timeout: number | null | undefined, owner: string, consumed = 0): Promise<Packed | null> {
    this.#lending.ack(owner, consumed);
    const ms = timeout ?? undefined; // a remote caller sends null for no timeout (JSON has no undefined)
    const n = Math.max(1, Math.min(MAX_LEND, max | 0));
    const out = this.#lend(n, owner);
    if (out !== null || !block || ms === 0) return out;
    return drive(runAsync, this.#waits, owner, DATA_SEQ, (token) => this.#get(ms, token, () => this.#lend(n, owner)));
  }

  /** `owner` got `consumed` more of the items it was lent; with `giveBack`, the rest go back to the front. */
  settleLent(consumed: number, giveBack: boolean, owner: string): void {
    this.#lending.ack(owner, consumed);
    if (giveBack) this.#lending.giveBack(owner);
  }

  getNowait(): Frame | null {
    return this.#tryGet();
  }

  // ---- queries ----

  /** Items put and not yet got (items fetched ahead by a consumer count until it got them). */
  qsize(): number {
    return this.ring.load(COUNT) + this.ring.load(LENT);
  }

  empty(): boolean {
    return this.qsize() === 0;
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

  /**
   * `n` taskDone() calls of a process worker for items it got, streamed like puts (no answer awaited).
   * The worker had the items, so they were counted unfinished; only another caller's extra taskDone()
   * can make this fail, and then (as with any streamed call) the worker's next call on this queue throws.
   */
  taskDoneAhead(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`taskDoneAhead: a count >= 1 expected, got ${n}`);
    const ctl = this.ring.ctl;
    for (;;) {
      const left = Atomics.load(ctl, UNFINISHED);
      const take = Math.min(n, Math.max(0, left));
      if (Atomics.compareExchange(ctl, UNFINISHED, left, left - take) !== left) continue;
      if (take > 0 && left === take) this.ring.bump(JOIN_SEQ);
      if (take < n) throw new ValueError('task_done() called too many times');
      return;
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

  /** `owner` (a worker) ended: its waits end, its unused credits go back, and so do the items it fetched ahead and did not get. */
  abandon(owner: string, _died = true): void {
    this.#waits.cancel(owner, this.ring.ctl);
    const held = this.#credits.get(owner) ?? 0;
    if (held > 0) this.unreserve(held, owner);
    this.#lending.giveBack(owner);
  }
}

registerCoreClass(QueueCore, import.meta.url);
