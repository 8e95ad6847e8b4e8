/**
 * Queue, JoinableQueue and SimpleQueue: Python's `multiprocessing` queues over one shared ring.
 *
 * Differences from Python that only make things safer: a put is visible to consumers as soon as
 * it returns (no feeder thread), and a value that cannot be serialised is refused at `put` with
 * SerializationError instead of being dropped by the feeder.
 */
import { toHandle, type HandleDescriptor, type Runtime } from '../lib/base/codec/handles.js';
import { ConnectionClosedError, Empty, Full, SerializationError } from '../lib/base/errors.js';
import { normalizeTimeout } from '../lib/base/timeout.js';
import { decodeFrame, encodeValue } from './channel/codec.js';
import { QueueCore, QueueShape, type QueueMemory } from './channel/queue-core.js';
import { remoteTransport } from './channel/remote.js';

type Core = Pick<QueueCore, 'put' | 'putSync' | 'putNowait' | 'putUnbounded' | 'get' | 'getSync' | 'getNowait' | 'qsize' | 'empty' | 'full' | 'taskDone' | 'join' | 'joinSync'>;
type Kind = 'Queue' | 'JoinableQueue' | 'SimpleQueue';

/** Set while a worker revives a queue handle: the constructor then adopts this core. */
let reviving: { core: Core; memory: QueueMemory | null } | null = null;

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

/** What every queue class shares: the core, the per-handle closed flag, and travel to workers. */
abstract class QueueBase {
  /** @internal */
  protected readonly core: Core;
  /** @internal Shared memory (thread path); null for a handle revived in a process worker. */
  protected readonly memory: QueueMemory | null;
  readonly #maxsize: number;
  #closed = false;

  protected constructor(maxsize: number) {
    const r = reviving;
    reviving = null;
    this.#maxsize = maxsize > 0 ? maxsize : 0;
    if (r) {
      this.core = r.core;
      this.memory = r.memory;
    } else {
      const local = QueueCore.create(maxsize, (this as QueueBase).kind === 'JoinableQueue');
      this.core = local;
      this.memory = local.memory;
    }
  }

  protected abstract get kind(): Kind;

  /** The bound given at creation; 0 = unbounded. */
  get maxsize(): number {
    return this.#maxsize;
  }

  protected checkOpen(): void {
    if (this.#closed) throw new ConnectionClosedError(`${this.kind} is closed`);
  }

  protected encode(obj: unknown): ReturnType<typeof encodeValue> {
    this.checkOpen();
    return encodeValue(obj);
  }

  /** True once close() was called on this handle. */
  protected get isClosed(): boolean {
    return this.#closed;
  }

  /** Closes this handle: later put/get through it fail. Other holders are not affected (as Python). */
  close(): void {
    this.#closed = true;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.core.empty();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  [toHandle](target: Runtime): HandleDescriptor {
    if (this.#closed) throw new ConnectionClosedError(`cannot send a closed ${this.kind} to a worker`);
    if (target === 'thread') {
      if (!this.memory) throw new SerializationError(`a ${this.kind} received by a process worker cannot be passed on to a thread worker`);
      return { module: import.meta.url, type: this.kind, data: { memory: this.memory, maxsize: this.#maxsize } };
    }
    const remote = remoteTransport();
    if (!remote) throw new SerializationError(`${this.kind} cannot be sent to a process worker yet (process transport unavailable)`);
    return { module: import.meta.url, type: this.kind, data: { ref: remote.exposeCore(this.core, QueueShape), maxsize: this.#maxsize } };
  }

  protected get remote(): boolean {
    return this.memory === null;
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
   * Puts `obj`; resolves once it is visible to consumers. With `block` and no timeout, waits for
   * room; with a timeout (ms), rejects {@link Full} if there is still no room then; with
   * `block = false`, rejects Full at once. A value that cannot be serialised rejects
   * SerializationError and takes no slot.
   */
  async put(obj: T, block = true, timeout?: number | null): Promise<void> {
    const { kind, payload } = this.encode(obj);
    if (!(await this.core.put(kind, payload, checkBlock(block), normalizeTimeout(timeout)))) throw new Full();
  }

  /** Blocking twin of {@link put}. */
  putSync(obj: T, block = true, timeout?: number | null): void {
    const { kind, payload } = this.encode(obj);
    if (!this.core.putSync(kind, payload, checkBlock(block), normalizeTimeout(timeout))) throw new Full();
  }

  /** `put(obj, false)`, synchronously: throws {@link Full} when there is no room. */
  putNowait(obj: T): void {
    const { kind, payload } = this.encode(obj);
    if (this.maxsize === 0 && this.remote) {
      this.core.putUnbounded(kind, payload); // a process worker: batched, like Python's feeder thread
      return;
    }
    if (!this.core.putNowait(kind, payload)) throw new Full();
  }

  /**
   * Takes the next item. With `block` and no timeout, waits for one; with a timeout (ms), rejects
   * {@link Empty} if none came in time; with `block = false`, rejects Empty at once.
   */
  async get(block = true, timeout?: number | null): Promise<T> {
    this.checkOpen();
    const frame = await this.core.get(checkBlock(block), normalizeTimeout(timeout));
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

  /** True when a bounded queue holds `maxsize` items. */
  full(): boolean {
    return this.core.full();
  }

  /** Python's `join_thread()`: nothing is buffered on our side; it only checks that close() came first. */
  joinThread(): void {
    if (!this.isClosed) throw new Error(`${this.kind} not closed`);
  }

  /** Python's `cancel_join_thread()`: nothing to cancel, puts are never buffered locally. */
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
   * @throws RangeError('task_done() called too many times') — Python's ValueError.
   */
  taskDone(): void {
    if (!this.core.taskDone()) throw new RangeError('task_done() called too many times');
  }

  /** Resolves when every item ever put has been marked with taskDone(). */
  async join(): Promise<void> {
    await this.core.join();
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
    if (this.isClosed) throw new ConnectionClosedError('handle is closed');
  }

  /** Puts `obj` (never waits; visible at once). */
  put(obj: T): void {
    const { kind, payload } = this.encode(obj);
    this.core.putUnbounded(kind, payload);
  }

  /** Takes the next item, waiting for one. */
  async get(): Promise<T> {
    this.checkOpen();
    return decodeFrame((await this.core.get(true, undefined))!) as T;
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
  const Cls = classes[type as Kind];
  if (!Cls) throw new TypeError(`unknown handle type ${type}`);
  const d = data as { memory?: QueueMemory; ref?: unknown; maxsize: number };
  const make = (core: Core, memory: QueueMemory | null) => {
    reviving = { core, memory };
    try {
      return new Cls(d.maxsize);
    } finally {
      reviving = null;
    }
  };
  if (d.memory) return make(new QueueCore(d.memory), d.memory);
  return (async () => {
    const remote = remoteTransport();
    if (!remote) throw new SerializationError('process transport unavailable');
    return make(await remote.connectRemoteCore<Core>(d.ref, QueueShape), null);
  })();
}
