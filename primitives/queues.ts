/**
 * Queue, JoinableQueue and SimpleQueue: Python's `multiprocessing` queues over one shared ring.
 *
 * A put is committed in order: when `put` returns (or its promise resolves) the item is in the queue,
 * or — in a process worker — on the ordered channel to the queue's creator, ahead of every later
 * operation of that worker on any primitive of the same creator. So after `await q.put(x); ev.set()`,
 * a consumer that sees the event can get `x`, while a process worker streams its puts without a round
 * trip each (Python's feeder thread does the same, without that ordering promise).
 *
 * A get from a process worker fetches items ahead, one round trip per run of them
 * (channel/fetch-ahead.ts): they still count as queued until got, the report of what was got rides
 * ahead of the worker's next operation, and what it does not use goes back to the front of the queue
 * when it pauses, blocks, closes the queue, ends or dies.
 *
 * Differences from Python that only make things safer: a value that cannot be serialised is refused
 * at `put` with SerializationError instead of being dropped by the feeder.
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { ConnectionClosedError, Empty, Full } from '../lib/base/errors.js';
import { normalizeTimeout } from '../lib/base/timeout.js';
import { decodeFrame, encodeValue, type Encoded } from './channel/codec.js';
import { QueueCore, QueueShape } from './channel/queue-core.js';
import { Credits } from './channel/credits.js';
import { FetchAhead, type LendingCore } from './channel/fetch-ahead.js';
import { coreData, openCore, rebuild, rebuilt, type CoreData } from './transport/reduction.js';
import { remoteRefOf } from './transport/expose.js';
import { BEFORE_NEXT } from './transport/remote-core.js';
import { LOCAL_OWNER } from './kernel/owner.js';
import { ValueError } from '../lib/base/errors.js';

type Core = Pick<QueueCore,
  'put' | 'putSync' | 'putNowait' | 'putUnbounded' | 'get' | 'getSync' | 'getNowait' | 'qsize' | 'empty' | 'full' |
  'taskDone' | 'taskDoneAhead' | 'join' | 'joinSync' | 'reserve' | 'reserveNowait' | 'putReserved' | 'unreserve'> & {
  reserveSync(want: number, block: boolean, timeout: number | undefined, owner: string): number;
  [BEFORE_NEXT](hook: (blocking: boolean) => void): void;
};
type Kind = 'Queue' | 'JoinableQueue' | 'SimpleQueue';

function checkMaxsize(maxsize: unknown): number {
  // Python's keyword form, `Queue(maxsize=6)`, as an options object
  if (typeof maxsize === 'object' && maxsize !== null && Object.keys(maxsize).every((k) => k === 'maxsize')) {
    maxsize = (maxsize as { maxsize?: unknown }).maxsize ?? 0;
  }
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
    throw new TypeError(`maxsize must be an integer, got ${typeof maxsize === 'number' ? maxsize : typeof maxsize}`);
  }
  return maxsize;
}

/** What a put that needs no waiting returns (one settled promise serves them all). */
const DONE: Promise<void> = Promise.resolve();
const NONE: Promise<null> = Promise.resolve(null);

function checkBlock(block: unknown): boolean {
  if (typeof block !== 'boolean') throw new TypeError(`block must be a boolean, got ${typeof block}`);
  return block;
}

/** What every queue class shares: the core, the per-handle closed flag, the get path, and travel to workers. */
abstract class QueueBase {
  /** @internal */
  protected readonly core: Core;
  /** @internal A bounded queue's put path in a process worker; null elsewhere. */
  protected readonly credits: Credits | null;
  /** @internal True in a process worker: the core is remote. */
  protected readonly remote: boolean;
  /** A process worker's gets: items fetched ahead (null elsewhere: the ring is at hand). */
  readonly #ahead: FetchAhead | null;
  readonly #maxsize: number;
  #closed = false;
  /**
   * @internal Items this handle got and has not marked done yet: in a process worker, taskDone() for
   * one of them cannot be one too many, so it is streamed instead of a round trip.
   */
  protected gotUndone = 0;

  protected constructor(maxsize: number) {
    this.#maxsize = maxsize > 0 ? maxsize : 0;
    this.core = rebuilt<Core>() ?? (QueueCore.create(maxsize, (this as QueueBase).kind === 'JoinableQueue') as unknown as Core);
    this.remote = remoteRefOf(this.core) !== undefined;
    this.credits = this.remote && this.#maxsize > 0 ? new Credits(this.core, this.#maxsize) : null;
    this.#ahead = this.remote ? new FetchAhead(this.core as unknown as LendingCore) : null;
  }

  /** @internal The next item's frame if one is at hand (no waiting, no round trip); else null. */
  protected pollFrame(): Encoded | null {
    const ahead = this.#ahead;
    return ahead !== null ? (ahead.take() ?? null) : this.core.getNowait();
  }

  /** @internal After pollFrame() found nothing: waits for an item; null when none came in time (block false, or timeout). */
  protected waitFrame(block: boolean, timeout: number | undefined): Promise<Encoded | null> {
    if (this.#ahead !== null) return this.#ahead.fetch(block, timeout);
    return block && timeout !== 0 ? this.core.get(block, timeout, LOCAL_OWNER) : NONE;
  }

  /** @internal Blocking twin of {@link waitFrame}. */
  protected waitFrameSync(block: boolean, timeout: number | undefined): Encoded | null {
    if (this.#ahead !== null) return this.#ahead.fetchSync(block, timeout);
    return block && timeout !== 0 ? this.core.getSync(block, timeout) : null;
  }

  protected abstract get kind(): Kind;

  /** The bound given at creation; 0 = unbounded. */
  get maxsize(): number {
    return this.#maxsize;
  }

  protected checkOpen(): void {
    if (this.#closed) throw new ConnectionClosedError(`${this.kind} is closed`);
  }

  protected encode(obj: unknown): Encoded {
    this.checkOpen();
    return encodeValue(obj);
  }

  /** True once close() was called on this handle. */
  protected get isClosed(): boolean {
    return this.#closed;
  }

  /** Closes this handle: later put/get/empty through it fail. Other holders are not affected (as Python). */
  close(): void {
    this.#closed = true;
    this.#ahead?.giveBack();
  }

  /** Whether the queue holds no item. Throws once this handle is closed (Python reads its closed pipe). */
  empty(): boolean {
    this.checkOpen();
    return this.core.empty();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  [toHandle](target: HandleTarget): HandleDescriptor {
    if (this.#closed) throw new ConnectionClosedError(`cannot send a closed ${this.kind} to a worker`);
    const shape = { ...QueueShape, kind: this.kind };
    return { module: import.meta.url, type: this.kind, data: { core: coreData(this.core, shape, target), maxsize: this.#maxsize } };
  }
}

/**
 * Python's `multiprocessing.Queue(maxsize)`: FIFO per producer across any number of producers
 * and consumers, nothing lost or duplicated; `maxsize <= 0` means unbounded.
 */
export class Queue<T = any> extends QueueBase {
  constructor(maxsize: number | { maxsize?: number } = 0) {
    super(checkMaxsize(maxsize));
  }

  protected get kind(): Kind {
    return 'Queue';
  }

  /**
   * Puts `obj`; resolves once it is committed (see the module notes). With `block` and no timeout,
   * waits for room; with a timeout (ms), rejects {@link Full} if there is still no room then; with
   * `block = false`, rejects Full at once. A value that cannot be serialised rejects
   * SerializationError and takes no slot.
   */
  put(obj: T, block = true, timeout?: number | null): Promise<void> {
    let msg: Encoded;
    let wait: boolean;
    let ms: number | undefined;
    try {
      msg = this.encode(obj);
      wait = checkBlock(block);
      ms = normalizeTimeout(timeout);
      // A put that needs no answer (a process worker's stream) or finds room at once: no new promise.
      if (this.remote ? this.#streamed(msg) : this.core.putNowait(msg)) {
        this.credits?.topUp(); // async puts ask for more room ahead of need
        return DONE;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#putWaiting(msg, wait, ms);
  }

  async #putWaiting(msg: Encoded, wait: boolean, ms: number | undefined): Promise<void> {
    const credits = this.credits;
    if (credits === null) {
      if (!(await this.core.put(msg, wait, ms, LOCAL_OWNER))) throw new Full();
      return;
    }
    // A process worker out of credits: the reservation asked for ahead, else a new one.
    if (credits.ahead !== null) await credits.ahead;
    if (!credits.tryPut(msg)) this.#putReserving(await this.core.reserve(credits.want, wait, ms, LOCAL_OWNER), msg);
    credits.topUp();
  }

  /** A reservation gave `n` slots (0: no room, Full): `msg` takes the first, the rest are kept. */
  #putReserving(n: number, msg: Encoded): void {
    if (n === 0) throw new Full();
    this.credits!.took(n);
    this.credits!.tryPut(msg);
  }

  /** A put that needs no answer: unbounded, or into room already reserved. */
  #streamed(msg: Encoded): boolean {
    if (this.credits === null) {
      this.core.putUnbounded(msg);
      return true;
    }
    return this.credits.tryPut(msg);
  }

  /** Blocking twin of {@link put}. */
  putSync(obj: T, block = true, timeout?: number | null): void {
    const msg = this.encode(obj);
    const wait = checkBlock(block);
    const ms = normalizeTimeout(timeout);
    if (this.remote) {
      if (this.#streamed(msg)) return;
      this.#putReserving(this.core.reserveSync(this.credits!.want, wait, ms, LOCAL_OWNER), msg);
      return;
    }
    if (!this.core.putSync(msg, wait, ms)) throw new Full();
  }

  /** `put(obj, false)`, synchronously: throws {@link Full} when there is no room. */
  putNowait(obj: T): void {
    const msg = this.encode(obj);
    if (this.remote) {
      if (this.#streamed(msg)) return;
      this.#putReserving(this.core.reserveNowait(this.credits!.want, LOCAL_OWNER), msg);
      return;
    }
    if (!this.core.putNowait(msg)) throw new Full();
  }

  /**
   * Takes the next item. With `block` and no timeout, waits for one; with a timeout (ms), rejects
   * {@link Empty} if none came in time; with `block = false`, rejects Empty at once.
   */
  get(block = true, timeout?: number | null): Promise<T> {
    try {
      this.checkOpen();
      const wait = checkBlock(block);
      const ms = normalizeTimeout(timeout);
      const frame = this.pollFrame();
      if (frame !== null) {
        this.gotUndone++;
        return Promise.resolve(decodeFrame(frame) as T);
      }
      return this.#getWaiting(wait, ms);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #getWaiting(wait: boolean, ms: number | undefined): Promise<T> {
    const frame = await this.waitFrame(wait, ms);
    if (frame === null) throw new Empty();
    this.gotUndone++;
    return decodeFrame(frame) as T;
  }

  /** Blocking twin of {@link get}. */
  getSync(block = true, timeout?: number | null): T {
    this.checkOpen();
    const wait = checkBlock(block);
    const ms = normalizeTimeout(timeout);
    const frame = this.pollFrame() ?? this.waitFrameSync(wait, ms);
    if (frame === null) throw new Empty();
    this.gotUndone++;
    return decodeFrame(frame) as T;
  }

  /** `get(false)`, synchronously: throws {@link Empty} when there is nothing. */
  getNowait(): T {
    return this.getSync(false);
  }

  /** Items put and not yet taken. */
  qsize(): number {
    return this.core.qsize();
  }

  /** True when a bounded queue has no room left. */
  full(): boolean {
    return this.core.full();
  }

  /** Python's `join_thread()`: puts are never buffered beyond the ordered channel; it only checks that close() came first. */
  joinThread(): void {
    if (!this.isClosed) throw new Error(`${this.kind} not closed`);
  }

  /** Python's `cancel_join_thread()`: nothing to cancel. */
  cancelJoinThread(): void {}

  /** Async iteration is deliberately absent: a queue has no end. */
}

/** Python's `JoinableQueue`: a Queue whose consumers report `taskDone()`, so producers can `join()`. */
export class JoinableQueue<T = any> extends Queue<T> {
  constructor(maxsize: number | { maxsize?: number } = 0) {
    super(maxsize);
  }

  protected get kind(): Kind {
    return 'JoinableQueue';
  }

  /** taskDone() calls of this process worker not sent yet (they leave together, before its next request). */
  #doneAhead = 0;
  #doneHooked = false;
  /** A streamed taskDone() that failed (another caller called it too often): thrown by the next taskDone()/join(). */
  #doneFailed: unknown = null;

  /**
   * Marks one item taken from the queue as processed. In a process worker, the taskDone() calls for
   * items this handle got are counted and sent together, in order, ahead of its next request to the
   * queue's creator (or when it yields, finishes a task or exits), like its puts: no round trip each;
   * join() still waits for every one of them.
   * @throws ValueError('task_done() called too many times'), as Python.
   */
  taskDone(): void {
    this.#throwDoneFailed();
    if (this.remote && this.gotUndone > 0) {
      this.gotUndone--;
      if (this.#doneAhead++ === 0) this.#scheduleDone();
      return;
    }
    if (!this.core.taskDone()) throw new ValueError('task_done() called too many times');
  }

  #scheduleDone(): void {
    if (!this.#doneHooked) {
      this.#doneHooked = true;
      this.core[BEFORE_NEXT](this.#sendDone);
    }
    setImmediate(this.#sendDone).unref(); // it yields to its event loop: nothing else may come soon
  }

  readonly #sendDone = () => {
    this.#doneHooked = false;
    const n = this.#doneAhead;
    if (n === 0) return;
    this.#doneAhead = 0;
    try {
      this.core.taskDoneAhead(n);
    } catch (err) {
      this.#doneFailed ??= err;
    }
  };

  #throwDoneFailed(): void {
    const err = this.#doneFailed;
    if (err === null) return;
    this.#doneFailed = null;
    throw err;
  }

  /** Resolves when every item ever put has been marked with taskDone(). */
  async join(): Promise<void> {
    this.#throwDoneFailed();
    await this.core.join(LOCAL_OWNER);
  }

  /** Blocking twin of {@link join}. */
  joinSync(): void {
    this.#throwDoneFailed();
    this.core.joinSync();
  }
}

/** Python's `SimpleQueue`: unbounded; put never waits. */
export class SimpleQueue<T = any> extends QueueBase {
  constructor() {
    super(0);
  }

  protected get kind(): Kind {
    return 'SimpleQueue';
  }

  protected checkOpen(): void {
    if (this.isClosed) throw new ConnectionClosedError('handle is closed: the SimpleQueue was closed');
  }

  /** Puts `obj` (never waits; committed in order, as Queue.put). */
  put(obj: T): void {
    this.core.putUnbounded(this.encode(obj));
  }

  /** Takes the next item, waiting for one. */
  get(): Promise<T> {
    try {
      this.checkOpen();
      const frame = this.pollFrame();
      if (frame !== null) return Promise.resolve(decodeFrame(frame) as T);
      return this.waitFrame(true, undefined).then((f) => decodeFrame(f!) as T);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Blocking twin of {@link get}. */
  getSync(): T {
    this.checkOpen();
    return decodeFrame((this.pollFrame() ?? this.waitFrameSync(true, undefined))!) as T;
  }
}

const classes = { Queue, JoinableQueue, SimpleQueue } as const;

/** Revives a queue handle in a worker (called by the task codec). */
export function reviveHandle(type: string, data: unknown): QueueBase | Promise<QueueBase> {
  const Cls = Object.hasOwn(classes, type) ? classes[type as Kind] : undefined;
  if (!Cls) throw new TypeError(`unknown handle type ${type}`);
  const d = data as { core: CoreData; maxsize: number };
  const make = (core: Core) => rebuild(core, () => new Cls(d.maxsize));
  const core = openCore<Core>(d.core, { ...QueueShape, kind: type });
  return core instanceof Promise ? core.then(make) : make(core);
}

