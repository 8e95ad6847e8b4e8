/** Pool: Python's multiprocessing.Pool over our worker engine, on threads (default) or child processes. */
import type { ResourceLimits } from 'node:worker_threads';
import { AsyncResult, settleResult, type ResultCallbacks } from './async-result.js';
import { ResultIterator } from './result-iterator.js';
import { Scheduler, type Job } from './engine/scheduler.js';
import { encodeHandles, type Runtime } from './base/codec/handles.js';
import { PoolStateError } from './base/errors.js';
import { toTaskSpec, type Task, type TaskSpec } from './base/task.js';
import { cpuCount } from './base/context.js';
import { checkArgs, checkCount, checkOptionalTask, checkRuntime } from './options.js';
import { CHUNK, HANDLES, PACKED, STAR } from './worker/protocol.js';
import { packNumbers, type ChunkResults } from './base/codec/pack.js';

export interface PoolOptions {
  /** Number of workers; default `os.availableParallelism()`. */
  processes?: number;
  /** Runs once in each new worker before any task. */
  initializer?: Task;
  initargs?: unknown[];
  /** Replace a worker after this many tasks (a map chunk counts as one). */
  maxTasksPerChild?: number;
  /** `'thread'` (worker_threads, default) or `'process'` (child processes). */
  runtime?: Runtime;
  /** Environment of the workers, on top of `process.env`. */
  env?: Record<string, string | undefined>;
  /** Node flags for the workers. */
  execArgv?: string[];
  /** Heap limits (threads; `maxOldGenerationSizeMb` also for processes). */
  resourceLimits?: ResourceLimits;
}

type IterableOf<T> = Iterable<T> | AsyncIterable<T>;

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

async function collect<T>(iterable: IterableOf<T>): Promise<T[]> {
  if (iterable != null && typeof (iterable as any)[Symbol.asyncIterator] === 'function') {
    const out: T[] = [];
    for await (const item of iterable as AsyncIterable<T>) out.push(item);
    return out;
  }
  return collectSync(iterable as Iterable<T>);
}

function collectSync<T>(iterable: Iterable<T>): T[] {
  if (iterable == null || typeof (iterable as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`the iterable argument is not iterable (got ${iterable === null ? 'null' : typeof iterable})`);
  }
  return Array.isArray(iterable) ? iterable : Array.from(iterable);
}

function checkChunksize(chunksize: unknown, name = 'chunksize'): number | undefined {
  if (chunksize === undefined || chunksize === null) return undefined;
  if (typeof chunksize !== 'number' || !Number.isInteger(chunksize)) throw new TypeError(`${name} must be an integer`);
  if (chunksize < 1) throw new RangeError(`Chunksize must be 1+, not ${chunksize}`);
  return chunksize;
}

export class Pool {
  readonly #processes: number;
  readonly #runtime: Runtime;
  readonly #scheduler: Scheduler;
  #state: 'running' | 'closed' | 'terminated' = 'running';
  readonly #iterators = new Set<WeakRef<ResultIterator<unknown>>>();

  constructor(options?: number | PoolOptions) {
    const opts: PoolOptions = typeof options === 'number' || options === undefined || options === null ? { processes: options ?? undefined } : options;
    if (typeof opts !== 'object') throw new TypeError(`Pool options must be a number or an object, got ${typeof opts}`);
    this.#processes = checkCount(opts.processes, 'processes') ?? cpuCount();
    const maxTasksPerChild = checkCount(opts.maxTasksPerChild, 'maxTasksPerChild');
    checkOptionalTask(opts.initializer, 'initializer');
    const initargs = checkArgs(opts.initargs, 'initargs');
    this.#runtime = checkRuntime(opts.runtime);
    let initializer: { spec: TaskSpec; args: unknown; flags: number } | undefined;
    if (opts.initializer) {
      const enc = encodeHandles(initargs, this.#runtime);
      initializer = { spec: toTaskSpec(opts.initializer, 'initializer'), args: enc.value, flags: enc.found ? HANDLES : 0 };
    }
    this.#scheduler = new Scheduler({
      processes: this.#processes, maxTasksPerChild, initializer, runtime: this.#runtime,
      env: opts.env, execArgv: opts.execArgv, resourceLimits: opts.resourceLimits, namePrefix: 'PoolWorker',
    });
  }

  /** Number of workers the pool keeps. */
  get processes(): number {
    return this.#processes;
  }

  /** `'thread'` or `'process'`. */
  get runtime(): Runtime {
    return this.#runtime;
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new PoolStateError('Pool not running', 'ERR_POOL_NOT_RUNNING');
  }

  #submit(spec: TaskSpec, args: unknown, flags: number, settle: Job['settle']): void {
    if (this.#state === 'terminated') {
      settle(false, new PoolStateError('Pool not running', 'ERR_POOL_NOT_RUNNING'));
      return;
    }
    if (flags & CHUNK) {
      const packed = packNumbers(args as unknown[]);
      if (packed) {
        this.#scheduler.submit({ spec, args: packed, flags: flags | PACKED, settle });
        return;
      }
    }
    const enc = encodeHandles(args, this.#runtime);
    this.#scheduler.submit({ spec, args: enc.value, flags: enc.found ? flags | HANDLES : flags, settle });
  }

  /** Calls `fn(...args)` in a worker and resolves with its result (Python's `apply`). */
  apply<F extends Task>(fn: F, args?: unknown[]): Promise<Returned<F>>;
  apply<R>(fn: Task<any[], R>, args: unknown[] = []): Promise<R> {
    try {
      return this.applyAsync<R>(fn, args).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Calls `fn(...args)` in a worker; the AsyncResult settles when it is done. */
  applyAsync<R>(fn: Task<any[], R>, args: unknown[] = [], opts: ResultCallbacks<Awaited<R>> = {}): AsyncResult<Awaited<R>> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const argList = checkArgs(args);
    const result = new AsyncResult<Awaited<R>>(opts);
    this.#submit(spec, argList, 0, (ok, value) => result[settleResult](ok, value));
    return result;
  }

  /** `fn(item)` for every item, in input order (Python's `map`). One failure rejects the whole map. */
  map<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number): Promise<Awaited<R>[]> {
    try {
      return this.mapAsync<R>(fn, iterable, chunksize).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  mapAsync<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number, opts: ResultCallbacks<Awaited<R>[]> = {}): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(fn, iterable, chunksize, opts, SINGLE);
  }

  /** `fn(...args)` for every argument array, in input order (Python's `starmap`). */
  starmap<R>(fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number): Promise<Awaited<R>[]> {
    try {
      return this.starmapAsync<R>(fn, iterable, chunksize).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  starmapAsync<R>(fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number, opts: ResultCallbacks<Awaited<R>[]> = {}): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(fn, iterable, chunksize, opts, SPREAD);
  }

  #mapAsync<R>(fn: Task, iterable: IterableOf<unknown>, chunksize: number | undefined, opts: ResultCallbacks<R[]>, style: CallStyle): AsyncResult<R[]> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const size = checkChunksize(chunksize);
    const result = new AsyncResult<R[]>(opts);
    const settle = (ok: boolean, value: unknown) => result[settleResult](ok, value);
    const isAsync = iterable != null && typeof (iterable as any)[Symbol.asyncIterator] === 'function';
    if (isAsync) {
      collect(iterable).then((items) => this.#mapItems(spec, items, size, style, settle), (err) => settle(false, err));
    } else {
      this.#mapItems(spec, collectSync(iterable as Iterable<unknown>), size, style, settle);
    }
    return result;
  }

  #mapItems(spec: TaskSpec, items: unknown[], chunksize: number | undefined, style: CallStyle, settle: Job['settle']): void {
    const n = items.length;
    if (n === 0) return settle(true, []);
    let argLists: unknown[];
    try {
      argLists = style === SINGLE ? items : items.map(style.toItem);
    } catch (err) {
      return settle(false, err);
    }
    const size = chunksize ?? Math.ceil(n / (4 * this.#processes));
    const out = new Array(n);
    let remaining = Math.ceil(n / size);
    let failed = false;
    for (let start = 0; start < n; start += size) {
      const chunk = argLists.slice(start, start + size);
      this.#submit(spec, chunk, style.flags, (ok, value) => {
        if (failed) return;
        if (!ok) {
          failed = true;
          return settle(false, value);
        }
        const values = value as ChunkResults; // an Array, or a Float64Array of numbers
        for (let i = 0; i < values.length; i++) out[start + i] = values[i];
        if (--remaining === 0) settle(true, out);
      });
    }
  }

  /** Results as they are ready, in input order; a lazy, bounded `for await` stream (Python's `imap`). */
  imap<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize = 1): ResultIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, true);
  }

  /** Results in completion order (Python's `imap_unordered`). */
  imapUnordered<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize = 1): ResultIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, false);
  }

  #iterate<R>(fn: Task, iterable: IterableOf<unknown>, chunksize: number, ordered: boolean): ResultIterator<R> {
    this.#checkRunning();
    const spec = toTaskSpec(fn);
    const size = checkChunksize(chunksize) ?? 1;
    const it = new ResultIterator<R>({
      source: iterable,
      ordered,
      chunksize: size,
      window: Math.max(1024, this.#processes * size * 8),
      toItem: SINGLE.toItem,
      submit: (items, done) => this.#submit(spec, items, SINGLE.flags, done),
    });
    if (this.#iterators.size > 64) for (const ref of this.#iterators) if (!ref.deref()) this.#iterators.delete(ref);
    this.#iterators.add(new WeakRef(it as ResultIterator<unknown>));
    return it;
  }

  /** No new tasks; outstanding tasks (and running imaps) finish, then the workers exit. */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closed';
    for (const ref of this.#iterators) ref.deref()?.unbound();
    this.#iterators.clear();
    this.#scheduler.close();
  }

  /** Stops the workers now; outstanding results reject with PoolStateError. */
  async terminate(): Promise<void> {
    this.#state = 'terminated';
    this.#iterators.clear();
    await this.#scheduler.terminate(new PoolStateError('Pool not running (terminated)', 'ERR_POOL_NOT_RUNNING'));
  }

  /** After close() or terminate(): resolves when every worker has exited. */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new PoolStateError('Pool is still running', 'ERR_POOL_RUNNING');
    await this.#scheduler.whenExited();
  }

  /** `await using pool = new Pool()` terminates on leaving the block, as Python's with-block does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /** @internal ids (thread ids or pids) of the live workers, for tests and diagnostics. */
  get workerIds(): number[] {
    return this.#scheduler.workerIds;
  }
}
