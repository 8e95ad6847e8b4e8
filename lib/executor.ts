/**
 * ThreadPoolExecutor and ProcessPoolExecutor: Python's concurrent.futures executors on the Pool's engine.
 *
 * Every call goes to the engine at once; the engine admits at most `maxSent` of them at a time (the
 * workers, plus one for process pools, as Python's EXTRA_QUEUED_CALLS) and sends only those, so that
 * everything waiting behind stays cancellable (withdrawn from the engine), and `running()` means the
 * call is admitted: a worker holds it or takes it next.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { TinypoolEngine } from './engine/tinypool-engine.js';
import { encodeHandles, type Runtime } from './base/codec/handles.js';
import { movedBuffers } from './base/move.js';
import { unsendableValueError } from './base/codec/unserializable.js';
import { BrokenPoolError, PoolStateError, WorkerLostError } from './base/errors.js';
import { Future, onCancel, trackCallbacks } from './futures.js';
import { RunningCallbacks } from './callbacks.js';
import { toTaskSpec, type Task, type TaskSpec } from './base/task.js';
import { cpuCount, checkNotBootstrapping } from './base/context.js';
import { checkArgs, checkCount, checkOptionalTask } from './options.js';
import { normalizeTimeout } from './base/timeout.js';
import { CHUNK, HANDLES, STAR, type Job } from './engine/engine.js';
import { quietBrokenPipes } from './base/quiet-pipes.js';

/** Options of {@link Executor.map}. */
export interface ExecutorMapOptions {
  /** Milliseconds from the call to `map()`; an item not ready by then throws `TimeoutError`. */
  timeout?: number | null;
  /** Calls sent to a worker together (default 1). Larger chunks save round trips for tiny calls. */
  chunksize?: number;
  /**
   * Read the iterables lazily, keeping at most this many calls (chunks) submitted ahead of the
   * consumer (Python 3.14): for an endless or huge input. Without it, every item is submitted at once.
   */
  buffersize?: number | null;
}

/** Options common to both executors. */
export interface ExecutorOptions {
  /** Runs once in each new worker before any call; if it throws, the executor is broken. */
  initializer?: Task;
  initargs?: unknown[];
  /** Environment of the workers, on top of `process.env`. */
  env?: Record<string, string | undefined>;
  /** Node flags for the workers. */
  execArgv?: string[];
  /** Heap limits of each worker. */
  resourceLimits?: ResourceLimits;
}

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolExecutorOptions extends ExecutorOptions {
  /** Worker threads; default `min(32, cpuCount() + 4)`, as Python. */
  maxWorkers?: number | null;
  /** Names the workers `<prefix>-1`, `<prefix>-2`, ... (see `currentProcess().name`). */
  threadNamePrefix?: string;
}

/** Options of {@link ProcessPoolExecutor}. */
export interface ProcessPoolExecutorOptions extends ExecutorOptions {
  /** Child processes; default `cpuCount()`. */
  maxWorkers?: number | null;
  /** Replace a worker process after this many calls (a map chunk counts as one). */
  maxTasksPerChild?: number | null;
}

/** Options of {@link Executor.shutdown}. */
export interface ShutdownOptions {
  /** Resolve only once every pending call has finished and the workers have exited (default true). */
  wait?: boolean;
  /** Cancel the calls that have not started yet (default false). */
  cancelFutures?: boolean;
}

/** A call: its future, and the engine's job for it. */
interface WorkItem {
  future: Future<any>;
  job: Job;
}

/** Options of {@link Executor.run}. */
export interface RunOptions {
  /**
   * Cancels the call (beyond Python): while queued it is dropped, while running its worker is
   * replaced; either way the future fails with AbortError, whose `cause` is `signal.reason`.
   */
  signal?: AbortSignal;
}

interface Settings {
  runtime: Runtime;
  maxWorkers: number;
  extraQueued: number;
  namePrefix: string;
  maxTasksPerChild?: number;
  options: ExecutorOptions;
}

const initializerUrl = new URL(`./executor/worker-init${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
const initializerSpec: TaskSpec = { kind: 'mod', url: initializerUrl, name: 'runInitializer' };

let executorCounter = 0;

function isPlainOptions(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as any)[Symbol.iterator] !== 'function';
}

/** Python's `zip(*iterables)`: stops at the shortest. */
function* zip(iterables: Iterable<unknown>[]): Generator<unknown[]> {
  const its = iterables.map((it) => it[Symbol.iterator]());
  for (;;) {
    const row: unknown[] = [];
    for (const it of its) {
      const step = it.next();
      if (step.done) return;
      row.push(step.value);
    }
    yield row;
  }
}

/**
 * The base of both executors (Python's `concurrent.futures.Executor`): submit calls, map over
 * iterables, shut down.
 */
export abstract class Executor {
  readonly #settings: Settings;
  #engine: TinypoolEngine | null = null;
  /** Calls submitted and not done: queued in the engine, or running. */
  readonly #items = new Set<WorkItem>();
  #shutdown = false;
  #closed = false;
  #broken: string | null = null;
  /** terminateWorkers()/killWorkers() stopped the workers: their exits do not break the executor. */
  #forced = false;
  #resolveClosed!: () => void;
  readonly #whenClosed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
  /** Async done callbacks still running: shutdown({ wait: true }) waits for them too. */
  readonly #runningCallbacks = new RunningCallbacks();
  readonly #trackCallback = this.#runningCallbacks.track;

  /** @internal */
  protected constructor(settings: Settings) {
    this.#settings = settings;
  }

  /** The number of workers the executor uses at most. */
  get maxWorkers(): number {
    return this.#settings.maxWorkers;
  }

  /** @internal ids (thread ids or pids) of the live workers, for tests and diagnostics. */
  get workerIds(): number[] {
    return this.#engine?.workerIds ?? [];
  }

  /**
   * Schedules `fn(...args)` and returns a {@link Future} for its result. Throws `BrokenPoolError` if
   * the executor is broken, and `PoolStateError` ("cannot schedule new futures after shutdown")
   * after `shutdown()`, as Python raises at once.
   */
  submit<A extends unknown[], R>(fn: Task<A, R>, ...args: A): Future<Awaited<R>> {
    this.#checkOpen();
    return this.#submit(toTaskSpec(fn), args, 0);
  }

  /**
   * `submit` with its arguments as a list and options: `executor.run(fn, [a, b], { signal })`.
   * Aborting the signal cancels the call even once it runs (its worker is replaced): the future fails
   * with AbortError. (Python's `Future.cancel()` only reaches calls still queued; `cancel()` works here too.)
   */
  run<A extends unknown[], R>(fn: Task<A, R>, args?: A, options: RunOptions = {}): Future<Awaited<R>> {
    this.#checkOpen();
    const spec = toTaskSpec(fn);
    const argList = checkArgs(args);
    if (typeof options !== 'object' || options === null) throw new TypeError(`run() options must be an object, got ${typeof options}`);
    const signal = options.signal;
    if (signal !== undefined && (typeof signal?.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
      throw new TypeError('signal must be an AbortSignal');
    }
    return this.#submit(spec, argList, 0, signal);
  }

  #checkOpen(): void {
    if (this.#broken !== null) throw new BrokenPoolError(this.#broken);
    if (this.#shutdown) throw new PoolStateError('cannot schedule new futures after shutdown', 'ERR_POOL_NOT_RUNNING');
  }

  #submit(spec: TaskSpec, args: unknown, flags: number, signal?: AbortSignal): Future<any> {
    const future = new Future<any>();
    future[trackCallbacks] = this.#trackCallback;
    let enc: { value: unknown; found: boolean };
    try {
      enc = encodeHandles(args, this.#settings.runtime);
    } catch (err) {
      future.setRunningOrNotifyCancel();
      // this call only: a primitive that cannot go to these workers, a getter or Proxy trap that threw
      future.setException(unsendableValueError(err, args, 'args', this.#settings.runtime));
      return future;
    }
    const transfer = this.#settings.runtime === 'thread' ? movedBuffers(args) : undefined;
    // the engine sends it when a worker is free (a signal drops it while queued, stops it while running)
    const job: Job = {
      spec, args: enc.value, flags: enc.found ? flags | HANDLES : flags, signal,
      transfer, // buffers marked with move(): transferred to a thread worker
      onAdmit: () => {
        if (!future.done()) future.setRunningOrNotifyCancel(); // (a broken executor already failed it)
      },
      settle: (ok, value) => this.#settle(item, ok, value),
    };
    const item: WorkItem = { future, job };
    this.#items.add(item);
    future[onCancel] = () => {
      // Only a queued future can be cancelled: the engine drops it; wait()/asCompleted() are told at once.
      this.#items.delete(item);
      this.#engine?.withdraw(job);
      future.setRunningOrNotifyCancel();
    };
    this.#engineOrStart().submit(job);
    return future;
  }

  #engineOrStart(): TinypoolEngine {
    if (this.#engine) return this.#engine;
    const { runtime, maxWorkers, maxTasksPerChild, namePrefix, options } = this.#settings;
    let initializer: { spec: TaskSpec; args: unknown; flags: number } | undefined;
    if (options.initializer) {
      const enc = encodeHandles([toTaskSpec(options.initializer, 'initializer'), options.initargs ?? [], runtime], runtime);
      initializer = { spec: initializerSpec, args: enc.value, flags: enc.found ? HANDLES : 0 };
    }
    // Workers start on the first submit, not in the constructor: an unused executor costs nothing.
    checkNotBootstrapping();
    quietBrokenPipes();
    this.#engine = new TinypoolEngine({
      processes: maxWorkers, maxTasksPerChild, initializer, runtime, namePrefix,
      env: options.env, execArgv: options.execArgv, resourceLimits: options.resourceLimits,
      onWorkerLost: (error) => this.#workerLost(error),
      maxSent: maxWorkers + this.#settings.extraQueued,
    });
    return this.#engine;
  }

  #settle(item: WorkItem, ok: boolean, value: unknown): void {
    if (!this.#items.delete(item)) return; // already failed by #breakExecutor
    if (!item.future.running()) item.future.setRunningOrNotifyCancel(); // dropped while queued (its signal)
    if (!ok && this.#breaks(value)) {
      const err = value instanceof BrokenPoolError ? value : new BrokenPoolError(undefined, { cause: value });
      this.#breakExecutor(err, item);
      return;
    }
    if (ok) item.future.setResult(value);
    else item.future.setException(value);
  }

  /** A dead process worker, or any worker whose initializer failed, breaks the executor (as in Python). */
  #breaks(error: unknown): boolean {
    return error instanceof BrokenPoolError || (this.#settings.runtime === 'process' && error instanceof WorkerLostError);
  }

  /** A worker exited unasked, perhaps idle: for a process pool (or a failed initializer) that breaks the executor. */
  #workerLost(error: unknown): void {
    if (this.#broken !== null || this.#forced || !this.#breaks(error)) return;
    this.#breakExecutor(error instanceof BrokenPoolError ? error : new BrokenPoolError(undefined, { cause: error }), null);
  }

  #breakExecutor(err: BrokenPoolError, first: WorkItem | null): void {
    const kind = this.#settings.runtime;
    this.#broken = err.message.startsWith(`A ${kind} initializer failed`)
      ? err.message
      : 'A child process terminated abruptly, the process pool is not usable anymore';
    first?.future.setException(err);
    const rest = [...this.#items];
    this.#items.clear();
    for (const item of rest) item.future.setException(err);
    void this.#engine?.terminate(err);
    this.#closeWhenDrained();
  }

  /** After shutdown: the engine runs what it holds, then lets the workers exit. */
  #closeWhenDrained(): void {
    if (!this.#shutdown || this.#closed) return;
    this.#closed = true;
    this.#engine?.close();
    this.#resolveClosed();
  }

  /**
   * `fn` over the items of `iterables` zipped (shortest wins), like Python's `Executor.map`: every
   * call is submitted now, and the results come back as an async iterator in input order. With
   * `timeout`, an item not ready `timeout` ms after this call throws `TimeoutError`. A failing call
   * throws its error at its position. Leaving the loop early cancels the calls not yet started.
   */
  map<R>(fn: Task<any[], R>, ...iterables: [...Iterable<unknown>[], ExecutorMapOptions] | Iterable<unknown>[]): AsyncGenerator<Awaited<R>, void, undefined> {
    let opts: ExecutorMapOptions = {};
    let sources = iterables as unknown[];
    if (sources.length > 0 && isPlainOptions(sources[sources.length - 1])) {
      opts = sources[sources.length - 1] as ExecutorMapOptions;
      sources = sources.slice(0, -1);
    }
    const ms = normalizeTimeout(opts.timeout);
    const deadline = ms === undefined ? undefined : performance.now() + ms;
    const chunksize = checkCount(opts.chunksize, 'chunksize') ?? 1;
    if (sources.length === 0) throw new TypeError('map() must have at least one iterable');
    for (const s of sources) {
      if (s == null || typeof (s as any)[Symbol.iterator] !== 'function') {
        throw new TypeError(`map() arguments must be iterable, got ${s === null ? 'null' : typeof s}`);
      }
    }
    const buffersize = checkBuffersize(opts.buffersize);
    this.#checkOpen();
    const spec = toTaskSpec(fn);
    const calls = this.#calls(spec, zip(sources as Iterable<unknown>[]), chunksize);
    if (buffersize !== undefined) return lazyResults(calls, buffersize, deadline, chunksize > 1);
    return results([...calls], deadline, chunksize > 1);
  }

  /** Submits a call (or a chunk of `chunksize` calls) per step, as the consumer pulls. */
  *#calls(spec: TaskSpec, rows: Iterator<unknown[]>, chunksize: number): Generator<Future<any>, void, undefined> {
    for (;;) {
      if (chunksize === 1) {
        const step = rows.next();
        if (step.done) return;
        this.#checkOpen(); // a lazy map after shutdown fails as submit() would
        yield this.#submit(spec, step.value, 0);
        continue;
      }
      const chunk: unknown[][] = [];
      while (chunk.length < chunksize) {
        const step = rows.next();
        if (step.done) break;
        chunk.push(step.value);
      }
      if (chunk.length === 0) return;
      this.#checkOpen();
      yield this.#submit(spec, chunk, CHUNK | STAR);
      if (chunk.length < chunksize) return;
    }
  }

  /**
   * Stops taking calls (Python's `Executor.shutdown`). Calls already submitted still run, unless
   * `cancelFutures` cancels those not started. With `wait` (the default) resolves once they have
   * finished and the workers have exited. Calling it again is harmless.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new TypeError('shutdown() options must be an object');
    const { wait = true, cancelFutures = false } = options;
    this.#shutdown = true;
    if (cancelFutures) for (const item of [...this.#items]) item.future.cancel(); // running ones refuse
    this.#closeWhenDrained();
    if (!wait) return;
    await this.#whenClosed;
    await this.#engine?.whenExited();
    await this.#runningCallbacks.finished();
  }

  /**
   * @internal Python 3.14's terminate_workers()/kill_workers(): shuts down cancelling the queued
   * calls, signals every worker, and fails the running calls with BrokenPoolError (their worker is gone).
   */
  protected async stopWorkers(signal: NodeJS.Signals): Promise<void> {
    this.#forced = true;
    void Executor.prototype.shutdown.call(this, { wait: false, cancelFutures: true }); // not a subclass's Python-style shutdown
    const engine = this.#engine;
    if (!engine) return;
    for (const pid of engine.workerIds) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    const err = new BrokenPoolError(`A child process was stopped by ${signal === 'SIGKILL' ? 'kill_workers()' : 'terminate_workers()'}; the process pool is not usable anymore`);
    const running = [...this.#items]; // the queued ones were cancelled
    this.#items.clear();
    for (const item of running) item.future.setException(err);
    await engine.terminate(err);
  }

  /** `await using executor = new ThreadPoolExecutor()` shuts down and waits on leaving the block, as Python's with-block does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }
}

function checkBuffersize(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`buffersize must be None or an integer, got ${typeof value === 'number' ? value : typeof value}`);
  if (value < 1) throw new RangeError(`buffersize must be None or > 0, got ${value}`);
  return value;
}

/**
 * The results of map() with a buffersize (Python 3.14): `buffersize` calls are submitted now, and one
 * more each time the consumer takes a result, so the input is read no faster than it is consumed.
 */
function lazyResults(calls: Generator<Future<any>>, buffersize: number, deadline: number | undefined, chunked: boolean): AsyncGenerator<any, void, undefined> {
  const ahead: Future<any>[] = [];
  const submitNext = (): boolean => {
    const step = calls.next();
    if (step.done) return false;
    ahead.push(step.value);
    return true;
  };
  while (ahead.length < buffersize && submitNext());
  return (async function* () {
    try {
      while (ahead.length > 0) {
        submitNext();
        yield* resultOf(ahead.shift()!, deadline, chunked);
      }
    } finally {
      for (const f of ahead) f.cancel();
      calls.return(undefined); // leaving early stops reading the input
    }
  })();
}

/** One step of map(): the result of `f` (a chunk's items, one by one), waited for until `deadline`; on failure `f` is cancelled. */
async function* resultOf(f: Future<any>, deadline: number | undefined, chunked: boolean): AsyncGenerator<any, void, undefined> {
  const left = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
  let value: unknown;
  try {
    value = await f.result(left);
  } catch (err) {
    f.cancel();
    throw err;
  }
  if (chunked) yield* value as unknown[];
  else yield value;
}

/** The results of map(): waits for each future in turn; on error, timeout or early exit, cancels the rest. */
async function* results(futures: Future<any>[], deadline: number | undefined, chunked: boolean): AsyncGenerator<any, void, undefined> {
  let i = 0;
  try {
    for (; i < futures.length; i++) {
      yield* resultOf(futures[i], deadline, chunked);
    }
  } finally {
    for (; i < futures.length; i++) futures[i].cancel();
  }
}

function optionsOf<O extends { maxWorkers?: number | null }>(maxWorkers: unknown, options: unknown, what: string): O {
  if (isPlainOptions(maxWorkers) && options === undefined) return maxWorkers as O;
  if (options !== undefined && options !== null && typeof options !== 'object') throw new TypeError(`${what} options must be an object`);
  if (maxWorkers !== undefined && maxWorkers !== null && typeof maxWorkers !== 'number') {
    throw new TypeError(`max_workers must be a number, got ${typeof maxWorkers}`);
  }
  return { ...(options as O), maxWorkers: (maxWorkers as number | null | undefined) ?? (options as O | undefined)?.maxWorkers };
}

function checkMaxWorkers(value: unknown): number | undefined {
  if (typeof value === 'number' && value <= 0) throw new RangeError('max_workers must be greater than 0');
  return checkCount(value, 'maxWorkers');
}

function checkCommon<O extends ExecutorOptions>(opts: O): O {
  checkOptionalTask(opts.initializer, 'initializer');
  checkArgs(opts.initargs, 'initargs');
  return opts;
}

/**
 * Runs calls on a pool of worker threads (Python's `concurrent.futures.ThreadPoolExecutor`).
 * Workers start on the first submit. `new ThreadPoolExecutor(4)` or `new ThreadPoolExecutor({ maxWorkers: 4, initializer })`.
 */
export class ThreadPoolExecutor extends Executor {
  constructor(maxWorkers?: number | null | ThreadPoolExecutorOptions, options?: Omit<ThreadPoolExecutorOptions, 'maxWorkers'>) {
    const opts = checkCommon(optionsOf<ThreadPoolExecutorOptions>(maxWorkers, options, 'ThreadPoolExecutor'));
    const workers = checkMaxWorkers(opts.maxWorkers) ?? Math.min(32, cpuCount() + 4);
    if (opts.threadNamePrefix !== undefined && typeof opts.threadNamePrefix !== 'string') {
      throw new TypeError('threadNamePrefix must be a string');
    }
    const n = executorCounter++;
    super({
      runtime: 'thread', maxWorkers: workers, extraQueued: 0,
      namePrefix: opts.threadNamePrefix || `ThreadPoolExecutor-${n}`, options: opts,
    });
  }
}

/**
 * Runs calls in a pool of child processes (Python's `concurrent.futures.ProcessPoolExecutor`).
 * A worker process that dies breaks the executor: pending futures and later submits fail with
 * `BrokenPoolError`. `new ProcessPoolExecutor(2, { initializer, initargs, maxTasksPerChild })`.
 */
export class ProcessPoolExecutor extends Executor {
  constructor(maxWorkers?: number | null | ProcessPoolExecutorOptions, options?: Omit<ProcessPoolExecutorOptions, 'maxWorkers'>) {
    const opts = checkCommon(optionsOf<ProcessPoolExecutorOptions>(maxWorkers, options, 'ProcessPoolExecutor'));
    const workers = checkMaxWorkers(opts.maxWorkers) ?? cpuCount();
    const maxTasksPerChild = checkCount(opts.maxTasksPerChild, 'maxTasksPerChild');
    const n = executorCounter++;
    super({
      runtime: 'process', maxWorkers: workers, extraQueued: 1, maxTasksPerChild,
      namePrefix: `ProcessPoolExecutor-${n}`, options: opts,
    });
  }

  /**
   * Stops every worker process now with SIGTERM (Python 3.14's `terminate_workers()`): the executor is
   * shut down, calls not started are cancelled, running ones fail with `BrokenPoolError`. Resolves once
   * the workers have exited.
   */
  terminateWorkers(): Promise<void> {
    return this.stopWorkers('SIGTERM');
  }

  /** As {@link ProcessPoolExecutor.terminateWorkers}, with SIGKILL (Python 3.14's `kill_workers()`). */
  killWorkers(): Promise<void> {
    return this.stopWorkers('SIGKILL');
  }
}
