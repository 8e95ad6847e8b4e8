/**
 * Queue, JoinableQueue and SimpleQueue: Python's `multiprocessing` queues over one shared ring.
 *
 * A put is committed in order: when `put` returns (or its promise resolves) the item is in the queue,
 * or — in a process worker — on the ordered channel to the queue's creator, ahead of every later
 * operation of that worker on any primitive of the same creator. So after `await q.put(x); ev.set()`,
 * a consumer that sees the event can get `x`, while a process worker streams its puts without a round
 * trip each (Python's feeder thread does the same, without that ordering promise).
 *
 * Differences from Python that only make things safer: a value that cannot be serialised is refused
 * at `put` with SerializationError instead of being dropped by the feeder.
 */
import { setImmediate } from 'node:timers';
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { ConnectionClosedError, Empty, Full } from '../lib/base/errors.js';
import { normalizeTimeout } from '../lib/base/timeout.js';
import { decodeFrame, encodeValue, type Encoded } from './channel/codec.js';
import { QueueCore, QueueShape } from './channel/queue-core.js';
import { coreData, openCore, rebuild, rebuilt, type CoreData } from './reduction.js';
import { remoteRefOf } from './transport/expose.js';
import { LOCAL_OWNER } from './sync/owner.js';
import { ValueError } from './errors.js';

type Core = Pick<QueueCore,
  'put' | 'putSync' | 'putNowait' | 'putUnbounded' | 'get' | 'getSync' | 'getNowait' | 'qsize' | 'empty' | 'full' |
  'taskDone' | 'join' | 'joinSync' | 'reserve' | 'reserveNowait' | 'putReserved' | 'unreserve'> & {
  reserveSync(want: number, block: boolean, timeout: number | undefined, owner: string): number;
};
type Kind = 'Queue' | 'JoinableQueue' | 'SimpleQueue';

function checkMaxsize(maxsize: unknown): number {
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
    throw new TypeError(`maxsize must be an integer, got ${typeof maxsize === 'number' ? maxsize : typeof maxsize}`);
  }
  return maxsize;
}

function checkBlock(block: unknown): boolean {
  if (typeof block !== 'boolean') throw new TypeError(`block must be a boolean, got ${typeof block}`);
  return block;
}

/**
 * A process worker's puts into a bounded queue: room for a few items is reserved in one round trip,
 * then each put goes out without waiting (in order, batched). Unused room goes back as soon as the
 * producer pauses (the next turn of its event loop), so a paused producer never makes the queue look
 * full to others for long.
 */
class Credits {
  readonly #core: Core;
  readonly #want: number;
  #held = 0;
  #returning = false;
  /** A reservation asked for ahead of need (async puts), so a steady stream never waits for one. */
  #ahead: Promise<void> | null = null;

  constructor(core: Core, maxsize: number) {
    this.#core = core;
    this.#want = Math.max(1, Math.min(256, Math.floor(maxsize / 4)));
  }

  /** Puts into reserved room if some is held; false if the caller must reserve first. */
  tryPut(msg: Encoded): boolean {
    if (this.#held === 0) return false;
    this.#held--;
    this.#core.putReserved(msg, LOCAL_OWNER);
    return true;
  }

  /** Took `n` slots: keeps the rest for the next puts, gives them back at the next pause. */
  took(n: number): void {
    this.#held += n;
    if (this.#returning || this.#held === 0) return;
    this.#returning = true;
    setImmediate(() => {
      this.#returning = false;
      if (this.#held > 0) {
        const n = this.#held;
        this.#held = 0;
        this.#core.unreserve(n, LOCAL_OWNER);
      }
    }).unref();
  }

  get want(): number {
    return this.#want;
  }

  /** For async puts: when half the credits are spent, asks for more without waiting (no room: none). */
  topUp(): void {
    if (this.#ahead !== null || this.#held * 2 > this.#want) return;
    this.#ahead = this.#core.reserve(this.#want - this.#held, false, undefined, LOCAL_OWNER).then(
      (n) => {
        this.#ahead = null;
        this.took(n);
      },
      () => {
        this.#ahead = null; // the next put asks again and reports the failure
      },
    );
  }

  /** The reservation asked for ahead, if any (an async put out of credits waits for it first). */
  get ahead(): Promise<void> | null {
    return this.#ahead;
  }
}

/** What every queue class shares: the core, the per-handle closed flag, and travel to workers. */
abstract class QueueBase {
  /** @internal */
  protected readonly core: Core;
  /** @internal A bounded queue's put path in a process worker; null elsewhere. */
  protected readonly credits: Credits | null;
  /** @internal True in a process worker: the core is remote. */
  protected readonly remote: boolean;
  readonly #maxsize: number;
  #closed = false;

  protected constructor(maxsize: number) {
    this.#maxsize = maxsize > 0 ? maxsize : 0;
    this.core = rebuilt<Core>() ?? (QueueCore.create(maxsize, (this as QueueBase).kind === 'JoinableQueue') as unknown as Core);
    this.remote = remoteRefOf(this.core) !== undefined;
    this.credits = this.remote && this.#maxsize > 0 ? new Credits(this.core, this.#maxsize) : null;
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
  constructor(maxsize = 0) {
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
  async put(obj: T, block = true, timeout?: number | null): Promise<void> {
    const msg = this.encode(obj);
    const wait = checkBlock(block);
    const ms = normalizeTimeout(timeout);
    if (this.remote) {
      const credits = this.credits;
      if (credits === null) {
        this.core.putUnbounded(msg);
        return;
      }
      if (!credits.tryPut(msg)) {
        if (credits.ahead !== null) await credits.ahead;
        if (!credits.tryPut(msg)) {
          const n = await this.core.reserve(credits.want, wait, ms, LOCAL_OWNER);
          if (n === 0) throw new Full();
          credits.took(n);
          credits.tryPut(msg);
        }
      }
      credits.topUp();
      return;
    }
    if (!(await this.core.put(msg, wait, ms, LOCAL_OWNER))) throw new Full();
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
      const n = this.core.reserveSync(this.credits!.want, wait, ms, LOCAL_OWNER);
      if (n === 0) throw new Full();
      this.credits!.took(n);
      this.credits!.tryPut(msg);
      return;
    }
    if (!this.core.putSync(msg, wait, ms)) throw new Full();
  }

  /** `put(obj, false)`, synchronously: throws {@link Full} when there is no room. */
  putNowait(obj: T): void {
    const msg = this.encode(obj);
    if (this.remote) {
      if (this.#streamed(msg)) return;
      const n = this.core.reserveNowait(this.credits!.want, LOCAL_OWNER);
      if (n === 0) throw new Full();
      this.credits!.took(n);
      this.credits!.tryPut(msg);
      return;
    }
    if (!this.core.putNowait(msg)) throw new Full();
  }

  /**
   * Takes the next item. With `block` and no timeout, waits for one; with a timeout (ms), rejects
   * {@link Empty} if none came in time; with `block = false`, rejects Empty at once.
   */
  async get(block = true, timeout?: number | null): Promise<T> {
    this.checkOpen();
    const frame = await this.core.get(checkBlock(block), normalizeTimeout(timeout), LOCAL_OWNER);
    if (frame === null) throw new Empty();
    return decodeFrame(frame) as T;
  }

  /** Blocking twin of {@link get}. */
  getSync(block = true, timeout?: number | null): T {
    this.checkOpen();
    const frame = this.core.getSync(checkBlock(block), normalizeTimeout(timeout));
    if (frame === null) throw new Empty();
    return decodeFrame(frame) as T;
  }

  /** `get(false)`, synchronously: throws {@link Empty} when there is nothing. */
  getNowait(): T {
    this.checkOpen();
    const frame = this.core.getNowait();
    if (frame === null) throw new Empty();
    return decodeFrame(frame) as T;
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
  constructor(maxsize = 0) {
    super(maxsize);
  }

  protected get kind(): Kind {
    return 'JoinableQueue';
  }

  /**
   * Marks one item taken from the queue as processed.
   * @throws ValueError('task_done() called too many times'), as Python.
   */
  taskDone(): void {
    if (!this.core.taskDone()) throw new ValueError('task_done() called too many times');
  }

  /** Resolves when every item ever put has been marked with taskDone(). */
  async join(): Promise<void> {
    await this.core.join(LOCAL_OWNER);
  }

  /** Blocking twin of {@link join}. */
  joinSync(): void {
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
  async get(): Promise<T> {
    this.checkOpen();
    return decodeFrame((await this.core.get(true, undefined, LOCAL_OWNER))!) as T;
  }

  /** Blocking twin of {@link get}. */
  getSync(): T {
    this.checkOpen();
    return decodeFrame(this.core.getSync(true, undefined)!) as T;
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

