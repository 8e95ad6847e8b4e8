/**
 * What every Pool does whatever runs its tasks (Python's multiprocessing.Pool): apply/map/imap/starmap,
 * chunking, results in input order, callbacks, cancellation, progress, and the close/join/terminate
 * life cycle. The local Pool (lib/pool.ts) runs it on tinypool workers; the cluster Pool
 * (lib/cluster/) on BullMQ. Both hand their work to an Engine (lib/engine/engine.ts).
 */
import { AsyncResult, settleResult, type ResultCallbacks } from './async-result.js';
import { RunningCallbacks } from './callbacks.js';
import { ResultIterator } from './result-iterator.js';
import { encodeHandles, type HandleTarget } from './base/codec/handles.js';
import { movedBuffers } from './base/move.js';
import { warnClassInstanceOnce } from './base/codec/class-instances.js';
import { packNumbers, type ChunkResults } from './base/codec/pack.js';
import { AbortError, abortedBy, PoolStateError, SerializationError } from './base/errors.js';
import { unsendableValueError } from './base/codec/unserializable.js';
import { toTaskSpec, type Task, type TaskSpec } from './base/task.js';
import { checkArgs } from './options.js';
import { quietBrokenPipes } from './base/quiet-pipes.js';
import { CHUNK, HANDLES, PACKED, STAR, type Engine, type Job, type PoolStats } from './engine/engine.js';

export type { PoolStats, TimeSummary } from './engine/engine.js';

/** Options of the map family (after `chunksize`, or in its place). */
export interface MapOptions {
  /** Cancels the whole map: queued chunks are dropped, running ones stopped; it rejects with AbortError. */
  signal?: AbortSignal;
  /** Called on the caller's thread as items complete: `total` is undefined for an input of unknown size. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Options of `applyAsync`. */
export interface ApplyOptions<R> extends ResultCallbacks<R> {
  /** Cancels the call: dropped while queued, its worker replaced while running; rejects with AbortError. */
  signal?: AbortSignal;
}

/** Options of `mapAsync` / `starmapAsync`. */
export interface MapAsyncOptions<R> extends MapOptions, ResultCallbacks<R[]> {}

type IterableOf<T> = Iterable<T> | AsyncIterable<T>;

/** The options of a call given none: shared, so the hot path allocates nothing for them. */
const NO_OPTIONS: ApplyOptions<any> = Object.freeze({});

/** What `fn` resolves to, for a Task. */
type Returned<F> = F extends Task<any[], infer R> ? Awaited<R> : unknown;

/** How map items become calls: map/imap send items as they are (fn(item)); starmap spreads argument lists. */
interface CallStyle {
  flags: number;
  toItem(item: unknown): unknown;
}
const SINGLE: CallStyle = { flags: CHUNK, toItem: (item) => item };
const SPREAD: CallStyle = {
  flags: CHUNK | STAR,
  toItem(item) {
    if (item == null || typeof (item as any)[Symbol.iterator] !== 'function') {
      throw new TypeError(`starmap items must be argument arrays, got ${item === null ? 'null' : typeof item}`);
    }
    return Array.isArray(item) ? item : Array.from(item as Iterable<unknown>);
  },
};

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as any)[Symbol.asyncIterator] === 'function';
}

function collectSync<T>(iterable: Iterable<T>): T[] {
  if (iterable == null || typeof (iterable as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`the iterable argument is not iterable (got ${iterable === null ? 'null' : typeof iterable})`);
  }
  return Array.isArray(iterable) ? iterable : Array.from(iterable);
}

async function collect<T>(iterable: IterableOf<T>): Promise<T[]> {
  if (!isAsyncIterable(iterable)) return collectSync(iterable as Iterable<T>);
  const out: T[] = [];
  for await (const item of iterable as AsyncIterable<T>) out.push(item);
  return out;
}

function checkChunksize(chunksize: unknown): number | undefined {
  if (chunksize === undefined || chunksize === null) return undefined;
  if (typeof chunksize !== 'number' || !Number.isInteger(chunksize)) throw new TypeError(`chunksize must be an integer, got ${typeof chunksize === 'number' ? chunksize : typeof chunksize}`);
  if (chunksize < 1) throw new RangeError(`Chunksize must be 1+, not ${chunksize}`);
  return chunksize;
}

/** `(chunksize, opts)` or `(opts)`: the options object may stand in chunksize's place. */
function splitMapArgs<O extends MapOptions>(chunksize: unknown, opts: O | undefined): [number | undefined, O] {
  if (chunksize !== null && typeof chunksize === 'object') return [undefined, chunksize as O];
  const options = opts ?? ({} as O);
  if (typeof options !== 'object' || options === null) throw new TypeError(`map options must be an object, got ${typeof options}`);
  return [checkChunksize(chunksize), options];
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (typeof (signal as AbortSignal).addEventListener !== 'function' || typeof (signal as AbortSignal).aborted !== 'boolean') {
    throw new TypeError('signal must be an AbortSignal');
  }
  return signal as AbortSignal;
}

/** Whether a call's arguments (or a chunk's items) hold any object: if not, there is no handle or class instance to look for. */
function holdsObjects(list: unknown[], spread: boolean): boolean {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v === 'object' && v !== null) {
      if (!spread || !Array.isArray(v) || holdsObjects(v, false)) return true;
    }
  }
  return false;
}

/** A chunk's SerializationError names items by their place in the chunk: renamed by their place in the input. */
function renumberItems(err: SerializationError, base: number): SerializationError {
  const at = /^items\[(\d+)\]/.exec(err.path);
  if (!at) return err;
  const path = `items[${base + Number(at[1])}]${err.path.slice(at[0].length)}`;
  return new SerializationError(err.message.replace(err.path, path), path, { cause: err.cause });
}

/** What a job settles: an AsyncResult itself (applyAsync: no closure per call), or a callback. */
type SettleTarget = AsyncResult<any> | ((ok: boolean, value: unknown) => void);

function settleTarget(target: SettleTarget, ok: boolean, value: unknown): void {
  if (typeof target === 'function') target(ok, value);
  else target[settleResult](ok, value);
}

/**
 * One call or chunk as the engine gets it. A class, so a job is one object of one shape: thousands of
 * calls in flight (20k applyAsync before the first get()) cost the main thread's garbage collector
 * less than an object literal, a settle closure and its context per call.
 */
class PoolJob implements Job {
  // What the engine's core writes on every job it takes (lib/engine/core.ts), declared here so a job
  // keeps the shape it was made with.
  submitted = 0;
  items: number | undefined = undefined;
  done = false;
  sent = false;
  admitted = false;

  constructor(
    readonly spec: TaskSpec,
    public args: unknown,
    readonly flags: number,
    readonly target: SettleTarget,
    readonly signal: AbortSignal | undefined,
    readonly base: number | undefined,
    public transfer: ArrayBuffer[] | undefined,
    readonly group: object | undefined,
  ) {}

  settle(ok: boolean, value: unknown): void {
    settleTarget(this.target, ok, value);
  }
}

/** A progress callback that throws is reported, never breaks the pool (as Python's result handler does with callbacks). */
function progressReporter(onProgress: MapOptions['onProgress'], total: number | undefined): ((done: number) => void) | null {
  if (onProgress === undefined || onProgress === null) return null;
  if (typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  return (done) => {
    try {
      onProgress(done, total);
    } catch (err) {
      process.stderr.write(`multiproc: exception in onProgress:\n${(err as Error)?.stack ?? String(err)}\n`);
    }
  };
}

/** The Pool API over an Engine. */
export abstract class BasePool {
  readonly #engine: Engine;
  readonly #processes: number;
  readonly #target: HandleTarget;
  #state: 'running' | 'closed' | 'terminated' = 'running';
  readonly #iterators = new Set<WeakRef<ResultIterator<unknown>>>();
  /** Async callbacks still running: join() waits for them, as Python's join() follows its result handler. */
  readonly #runningCallbacks = new RunningCallbacks();
  readonly #trackCallback = this.#runningCallbacks.track;

  /** @internal */
  protected constructor(engine: Engine, processes: number, target: HandleTarget) {
    this.#engine = engine;
    this.#processes = processes;
    this.#target = target;
    quietBrokenPipes();
  }

  /** Number of workers (or, for a cluster, tasks in flight) the pool keeps. */
  get processes(): number {
    return this.#processes;
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new PoolStateError('Pool not running', 'ERR_POOL_NOT_RUNNING');
  }

  /** Encodes a call or chunk for the engine; a value that cannot cross settles that job (only) with the error. */
  #submit(spec: TaskSpec, args: unknown[], flags: number, target: SettleTarget, signal?: AbortSignal, base?: number, tryPacking = true, group?: object): void {
    if (this.#state === 'terminated') {
      settleTarget(target, false, new PoolStateError('Pool not running', 'ERR_POOL_NOT_RUNNING'));
      return;
    }
    if (tryPacking && flags & CHUNK && !(flags & STAR)) {
      const packed = packNumbers(args);
      if (packed) {
        this.#submitPacked(spec, packed, flags, target, signal, base, group);
        return;
      }
    }
    if (!holdsObjects(args, (flags & STAR) !== 0)) {
      this.#engine.submit(new PoolJob(spec, args, flags, target, signal, base, undefined, group));
      return;
    }
    warnClassInstanceOnce(args, flags & CHUNK || base !== undefined ? 'items' : 'args');
    let encoded: { value: unknown; found: boolean };
    try {
      // a chunk's items, or the one item a call stands for (imap with chunksize 1), are named by their place in the input
      encoded = encodeHandles(args, this.#target, flags & CHUNK || base !== undefined ? (i) => `items[${(base ?? 0) + i}]` : 'args');
    } catch (err) {
      // a primitive that cannot go where this pool's workers run, a getter or Proxy trap that threw while it
      // was read: that call fails, counted in stats() as a call that could not be sent
      const items = flags & CHUNK || base !== undefined;
      let error = unsendableValueError(err, args, items ? 'items' : 'args', this.#target === 'thread' ? 'thread' : 'process');
      // (encodeHandles names items by their place in the input already; the walk, by their place in the chunk)
      if (items && base && error !== err && error instanceof SerializationError) error = renumberItems(error, base);
      const job = new PoolJob(spec, args, flags, target, signal, base, undefined, group);
      if (this.#engine.refuse) this.#engine.refuse(job, error);
      else settleTarget(target, false, error);
      return;
    }
    // buffers marked with move() go to a thread without a copy; other workers get a copy as before
    const transfer = this.#target === 'thread' ? movedBuffers(args) : undefined;
    this.#engine.submit(new PoolJob(spec, encoded.value, encoded.found ? flags | HANDLES : flags, target, signal, base, transfer, group));
  }

  /** A chunk of items that are all numbers, already packed. */
  #submitPacked(spec: TaskSpec, packed: Float64Array, flags: number, target: SettleTarget, signal?: AbortSignal, base?: number, group?: object): void {
    if (this.#state === 'terminated') {
      settleTarget(target, false, new PoolStateError('Pool not running', 'ERR_POOL_NOT_RUNNING'));
      return;
    }
    this.#engine.submit(new PoolJob(spec, packed, flags | PACKED, target, signal, base, undefined, group));
  }

  /**
   * Calls `fn(...args)` in a worker and resolves with its result (Python's `apply`). `signal` cancels
   * the call as in `applyAsync`: rejects with AbortError (whose `cause` is the signal's reason).
   */
  apply<F extends Task>(fn: F, args?: unknown[], opts?: { signal?: AbortSignal }): Promise<Returned<F>>;
  apply<R>(fn: Task<any[], R>, args: unknown[] = [], opts?: { signal?: AbortSignal }): Promise<R> {
    try {
      if (opts !== undefined && opts !== null && typeof opts !== 'object') throw new TypeError(`apply options must be an object, got ${typeof opts}`);
      const signal = opts?.signal;
      return this.applyAsync<R>(fn, args, signal === undefined ? NO_OPTIONS : { signal }).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Calls `fn(...args)` in a worker; the AsyncResult settles when it is done (Python's `apply_async`). */
  applyAsync<R>(fn: Task<any[], R>, args: unknown[] = [], opts: ApplyOptions<Awaited<R>> = NO_OPTIONS): AsyncResult<Awaited<R>> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const argList = checkArgs(args);
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`applyAsync options must be an object, got ${typeof opts}`);
    const signal = opts === NO_OPTIONS ? undefined : checkSignal(opts.signal);
    const result = new AsyncResult<Awaited<R>>(opts, this.#trackCallback);
    this.#submit(spec, argList, 0, result, signal); // the job settles the result itself: no closure per call
    return result;
  }

  /** `fn(item)` for every item, in input order (Python's `map`). One failure rejects the whole map. */
  map<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | MapOptions, opts?: MapOptions): Promise<Awaited<R>[]> {
    try {
      return this.mapAsync<R>(fn, iterable, chunksize, opts).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `map` with an AsyncResult, callbacks and options (Python's `map_async`). */
  mapAsync<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | MapAsyncOptions<Awaited<R>>, opts?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(fn, iterable, chunksize, opts, SINGLE);
  }

  /** `fn(...args)` for every argument array, in input order (Python's `starmap`). */
  starmap<R>(fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number | MapOptions, opts?: MapOptions): Promise<Awaited<R>[]> {
    try {
      return this.starmapAsync<R>(fn, iterable, chunksize, opts).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `starmap` with an AsyncResult, callbacks and options (Python's `starmap_async`). */
  starmapAsync<R>(fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number | MapAsyncOptions<Awaited<R>>, opts?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(fn, iterable, chunksize, opts, SPREAD);
  }

  #mapAsync<R>(fn: Task, iterable: IterableOf<unknown>, chunksizeOrOpts: unknown, maybeOpts: MapAsyncOptions<R> | undefined, style: CallStyle): AsyncResult<R[]> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const [chunksize, opts] = splitMapArgs(chunksizeOrOpts, maybeOpts);
    const signal = checkSignal(opts.signal);
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new TypeError('onProgress must be a function');
    const result = new AsyncResult<R[]>(opts, this.#trackCallback);
    let settled = false;
    const onAbort = () => settle(false, abortedBy(signal!));
    const settle = (ok: boolean, value: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      result[settleResult](ok, value);
    };
    if (signal) {
      if (signal.aborted) {
        settle(false, abortedBy(signal));
        return result;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const start = (items: unknown[]) => this.#mapItems(spec, items, chunksize, style, settle, () => settled, signal, opts.onProgress);
    if (isAsyncIterable(iterable)) collect(iterable).then(start, (err) => settle(false, err));
    else start(collectSync(iterable as Iterable<unknown>));
    return result;
  }

  #mapItems(
    spec: TaskSpec, items: unknown[], chunksize: number | undefined, style: CallStyle, settle: Job['settle'],
    isSettled: () => boolean, signal: AbortSignal | undefined, onProgress: MapOptions['onProgress'],
  ): void {
    const n = items.length;
    const progress = progressReporter(onProgress, n);
    if (n === 0) {
      progress?.(0);
      return settle(true, []);
    }
    let argLists: unknown[];
    try {
      argLists = style === SINGLE ? items : items.map(style.toItem);
    } catch (err) {
      return settle(false, err);
    }
    const size = chunksize ?? Math.ceil(n / (4 * this.#processes));
    const out = new Array(n);
    let remaining = Math.ceil(n / size);
    let done = 0;
    for (let start = 0; start < n; start += size) {
      const end = Math.min(n, start + size);
      const onChunk: SettleTarget = (ok, value) => {
        if (isSettled()) return;
        if (!ok) return settle(false, value);
        const values = value as ChunkResults; // an Array, or a Float64Array of numbers
        for (let i = 0; i < values.length; i++) out[start + i] = values[i];
        done += values.length;
        progress?.(done);
        if (--remaining === 0) settle(true, out);
      };
      // numbers are packed straight from the input: no copy of the chunk as a list first
      const packed = style === SINGLE ? packNumbers(argLists, start, end) : null;
      if (packed) this.#submitPacked(spec, packed, style.flags, onChunk, signal, start);
      else this.#submit(spec, argLists.slice(start, end), style.flags, onChunk, signal, start, false); // packing was tried
    }
  }

  /** Results as they are ready, in input order; a lazy, bounded `for await` stream (Python's `imap`). */
  imap<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize: number | MapOptions = 1, opts?: MapOptions): ResultIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, opts, true);
  }

  /** Results in completion order (Python's `imap_unordered`). */
  imapUnordered<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize: number | MapOptions = 1, opts?: MapOptions): ResultIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, opts, false);
  }

  #iterate<R>(fn: Task, iterable: IterableOf<unknown>, chunksizeOrOpts: unknown, maybeOpts: MapOptions | undefined, ordered: boolean): ResultIterator<R> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const [chunksize = 1, opts] = splitMapArgs(chunksizeOrOpts, maybeOpts);
    const signal = checkSignal(opts.signal);
    const total = Array.isArray(iterable) ? iterable.length : undefined;
    // A tag on the loop's tasks, so leaving the loop early can drop those not started. Not a signal of its
    // own: tinypool gives a worker running a cancellable run no second run, so every imap batch would wait
    // for a round trip, and each would cost an AbortController and listeners. The user's signal, if any,
    // still stops them all.
    const group = {};
    const it = new ResultIterator<R>({
      source: iterable,
      ordered,
      chunksize,
      window: Math.max(1024, this.#processes * chunksize * 8),
      toItem: SINGLE.toItem,
      submit: (items, base, done) => this.#submit(spec, items, SINGLE.flags, done, signal, base, true, group),
      submitItem: (item, index, done) => this.#submit(spec, [item], 0, done, signal, index, true, group),
      signal,
      abortError: signal ? () => abortedBy(signal) : undefined,
      onProgress: progressReporter(opts.onProgress, total) ?? undefined,
      dropPending: () => this.#engine.dropQueued?.(group, new AbortError('dropped: the imap loop was left early')),
    });
    if (this.#iterators.size > 64) for (const ref of this.#iterators) if (!ref.deref()) this.#iterators.delete(ref);
    this.#iterators.add(new WeakRef(it as ResultIterator<unknown>));
    return it;
  }

  /** Counters and timings of the pool's work (piscina has them; Python does not). */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** No new tasks; outstanding tasks (and running imaps) finish, then the workers exit. */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closed';
    for (const ref of this.#iterators) ref.deref()?.unbound();
    this.#iterators.clear();
    this.#engine.close();
  }

  /** Stops the workers now; outstanding results reject with PoolStateError. */
  async terminate(): Promise<void> {
    this.#state = 'terminated';
    this.#iterators.clear();
    await this.#engine.terminate(new PoolStateError('Pool not running (terminated)', 'ERR_POOL_NOT_RUNNING'));
  }

  /** After close() or terminate(): resolves when every worker has exited and every async callback has finished. */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new PoolStateError('Pool is still running', 'ERR_POOL_RUNNING');
    await this.#engine.whenExited();
    await this.#runningCallbacks.finished();
  }

  /** `await using pool = new Pool()` terminates on leaving the block, as Python's with-block does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /** @internal ids (thread ids or pids) of the live workers, for tests and diagnostics. */
  get workerIds(): number[] {
    return this.#engine.workerIds;
  }
}
