/**
 * The Pool on a cluster of hosts (Ray's `ray.util.multiprocessing.Pool`, on BullMQ and Redis): the same
 * API as the local Pool (lib/pool-base.ts), with an engine that sends the work through Redis to the hosts
 * running `multiproc worker`.
 */
import type * as Fs from 'node:fs';
import { builtin } from '../base/builtin.js';
import { BasePool, type ApplyOptions, type MapAsyncOptions, type MapOptions } from '../pool-base.js';
import type { ResultIterator } from '../result-iterator.js';
import type { Timeout } from '../base/timeout.js';
import { AsyncResult as AsyncResultClass, settleResult, type AsyncResult } from '../async-result.js';
import type { Task } from '../base/task.js';
import { AbortError, TimeoutError } from '../base/errors.js';
import { checkCount } from '../options.js';
import { checkConnection, type ClusterConnection } from './connection.js';
import { ClusterEngine, JOB_TTL_MS, type HostStats } from './engine.js';
import { deriveKeys } from './signing.js';

export type { ClusterConnection, RedisConnectionOptions } from './connection.js';

/** Tasks in flight from one client when `processes` is not given. */
export const DEFAULT_IN_FLIGHT = 32;

export interface ClusterPoolOptions {
  /** Where Redis is: `redis://host:6379` (`rediss://` for TLS), or ioredis options (password, tls, ...). */
  connection: ClusterConnection;
  /** The BullMQ queue the worker hosts serve; default `'multiproc'`. */
  queue?: string;
  /** The cluster's secret: jobs are signed and encrypted with it; hosts refuse others. Never sent. */
  authkey: Uint8Array;
  /** Tasks (jobs: a map chunk counts once) this client keeps in Redis at once; default 32. */
  processes?: number;
  /** Times a task runs again after the host running it died (default 1); then it rejects with WorkerLostError. */
  retries?: number;
  /**
   * How long a job stays valid, in ms (default 1 hour, at least 1000): hosts refuse it afterwards, and a job
   * still waiting at half this age is withdrawn and sent again, sealed anew. It bounds how long someone with
   * Redis access can replay a copied job (docs/cluster.md, "Threat model"), and how long a dead client's
   * work stays in Redis.
   */
  jobLifetime?: number;
}

/** Checks a queue name: BullMQ's keys use ':' as a separator. */
export function checkQueueName(queue: unknown): string {
  if (queue === undefined || queue === null) return 'multiproc';
  if (typeof queue !== 'string' || queue === '') throw new TypeError(`queue must be a non-empty string, got ${JSON.stringify(queue)}`);
  if (queue.includes(':')) throw new TypeError(`queue must not contain ':', got ${JSON.stringify(queue)}`);
  return queue;
}

/** The shortest authkey accepted: a key, not a password (`openssl rand -hex 32` makes one of 64). */
export const MIN_AUTHKEY_BYTES = 32;

/**
 * Checks an authkey: a Uint8Array of at least 32 bytes. Every job names its key by an id that can be
 * checked offline, so a short or guessable key (a password) would let anyone who can read Redis find it,
 * and then run code on every host.
 */
export function checkAuthkey(authkey: unknown): Uint8Array {
  if (!(authkey instanceof Uint8Array)) {
    throw new TypeError(`authkey must be a Uint8Array (e.g. readAuthkey(file)), got ${authkey === null ? 'null' : typeof authkey}`);
  }
  if (authkey.length < MIN_AUTHKEY_BYTES) {
    throw new RangeError(
      `authkey must be at least ${MIN_AUTHKEY_BYTES} random bytes, got ${authkey.length}: a short key can be guessed offline from any job ` +
      'in Redis. Make one with `openssl rand -hex 32 > cluster.key` and read it with readAuthkey()',
    );
  }
  return authkey;
}

/**
 * Reads an authkey file as `multiproc worker --authkey-file` does: its bytes, less one trailing newline
 * (so `openssl rand -hex 32 > cluster.key` makes a key both sides read the same). A file that its group or
 * others may read draws a warning (`MultiprocClusterWarning`): whoever reads it can run code on the hosts.
 */
export function readAuthkey(file: string): Uint8Array {
  const bytes = builtin<typeof Fs>('node:fs').readFileSync(file);
  const mode = builtin<typeof Fs>('node:fs').statSync(file).mode;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    process.emitWarning(
      `the authkey file ${file} may be read by its group or others (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${file}\``,
      'MultiprocClusterWarning',
    );
  }
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return new Uint8Array(bytes.subarray(0, end));
}

/**
 * A Pool whose tasks run on worker hosts (`npx multiproc worker --connection redis://...`).
 *
 * ```ts
 * await using pool = new Pool({ connection: 'redis://10.0.0.5:6379', authkey: readAuthkey('cluster.key') });
 * const squares = await pool.map(task(import.meta.url, 'square'), range, 1000);
 * ```
 *
 * Differences from the local Pool (docs/cluster.md): a task whose host dies runs again on another host
 * (at most `retries` times), so tasks should be safe to run twice; `processes` counts tasks in flight, not
 * workers; each task costs a Redis round trip, so map with chunks.
 */
export class Pool extends BasePool {
  readonly #queue: string;
  readonly #engine: ClusterEngine;

  constructor(options: ClusterPoolOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`cluster Pool options must be an object with connection and authkey, got ${options === null ? 'null' : typeof options}`);
    }
    if (options.connection === undefined) throw new TypeError('connection is required (e.g. "redis://host:6379")');
    const connection = checkConnection(options.connection);
    const queue = checkQueueName(options.queue);
    const authkey = checkAuthkey(options.authkey);
    const processes = checkCount(options.processes, 'processes', { max: 1_000_000 }) ?? DEFAULT_IN_FLIGHT;
    const retries = options.retries ?? 1;
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
      throw new RangeError(`retries must be an integer >= 0, got ${String(retries)}`);
    }
    const jobLifetime = options.jobLifetime ?? JOB_TTL_MS;
    if (typeof jobLifetime !== 'number' || !Number.isInteger(jobLifetime) || jobLifetime < 1000) {
      throw new RangeError(`jobLifetime must be an integer number of ms >= 1000, got ${String(jobLifetime)}`);
    }
    const engine = new ClusterEngine({ connection, queue, keys: deriveKeys(authkey), window: processes, retries, jobLifetime });
    super(engine, processes, 'remote');
    this.#engine = engine;
    this.#queue = queue;
  }

  /** The BullMQ queue this pool sends its tasks to. */
  get queue(): string {
    return this.#queue;
  }

  /** Each worker host that answered this pool: its name, pid, the tasks it ran (a map chunk counts its items) and when it last answered. */
  hosts(): HostStats[] {
    return this.#engine.hosts();
  }

  /**
   * Calls `fn(...args)` on a worker host and resolves with its result (Python's `apply`). `signal` cancels
   * it, `timeout` (ms) bounds it: either way the host stops the task and its worker is free again.
   */
  override apply<F extends Task>(fn: F, args?: unknown[], opts?: ClusterApplyOptions<Awaited<Returned<F>>>): Promise<Returned<F>>;
  override apply<R>(fn: Task<any[], R>, args: unknown[] = [], opts: ClusterApplyOptions<Awaited<R>> = {}): Promise<R> {
    try {
      return this.applyAsync<R>(fn, args, opts).get() as Promise<R>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * `apply` with an AsyncResult and callbacks (Python's `apply_async`). With `timeout`, a call not done in
   * that many milliseconds rejects with TimeoutError, and its host stops it as `signal` does (unlike
   * `get(timeout)`, which leaves the task running).
   */
  override applyAsync<R>(fn: Task<any[], R>, args: unknown[] = [], opts: ClusterApplyOptions<Awaited<R>> = {}): AsyncResult<Awaited<R>> {
    if (typeof opts !== 'object' || opts === null || opts.timeout === undefined || opts.timeout === null) return super.applyAsync(fn, args, opts);
    if (typeof opts.timeout !== 'number' || Number.isNaN(opts.timeout)) throw new TypeError(`timeout must be a number of milliseconds, got ${typeof opts.timeout}`);
    const ms = Math.max(0, opts.timeout); // a negative timeout is 0, as everywhere in multiproc
    const limit = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, limit.signal]) : limit.signal;
    const result = super.applyAsync(fn, args, { ...opts, signal });
    const timer = setTimeout(() => limit.abort(new TimeoutError(`the call did not finish within ${ms} ms`)), ms);
    timer.unref(); // the pending call keeps the program alive, not this
    void result.wait().finally(() => clearTimeout(timer));
    return result;
  }

  /** `fn(item)` for every item, in input order (Python's `map`); with `timeout` (ms) the whole map is bounded, as in `mapAsync`. */
  override map<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize?: number | ClusterMapOptions<Awaited<R>>, opts?: ClusterMapOptions<Awaited<R>>): Promise<Awaited<R>[]> {
    try {
      return this.mapAsync<R>(fn, iterable, chunksize, opts).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `fn(...args)` for every argument array (Python's `starmap`); `timeout` as in `map`. */
  override starmap<R>(fn: Task<any[], R>, iterable: Iterable<unknown[]> | AsyncIterable<unknown[]>, chunksize?: number | ClusterMapOptions<Awaited<R>>, opts?: ClusterMapOptions<Awaited<R>>): Promise<Awaited<R>[]> {
    try {
      return this.starmapAsync<R>(fn, iterable, chunksize, opts).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `map` with an AsyncResult (Python's `map_async`); with `timeout` (ms), the whole map rejects with TimeoutError in time and its hosts stop its tasks. */
  override mapAsync<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize?: number | ClusterMapOptions<Awaited<R>>, opts?: ClusterMapOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#timed<Awaited<R>[]>(chunksize, opts, (c, o) => super.mapAsync<R>(fn, iterable, c as number | undefined, o));
  }

  /** `starmap` with an AsyncResult (Python's `starmap_async`); `timeout` as in `mapAsync`. */
  override starmapAsync<R>(fn: Task<any[], R>, iterable: Iterable<unknown[]> | AsyncIterable<unknown[]>, chunksize?: number | ClusterMapOptions<Awaited<R>>, opts?: ClusterMapOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#timed<Awaited<R>[]>(chunksize, opts, (c, o) => super.starmapAsync<R>(fn, iterable, c as number | undefined, o));
  }

  /**
   * Results as they are ready, in input order (Python's `imap`); with `timeout` (ms) the whole loop is
   * bounded: when it passes, the next step rejects with TimeoutError and the hosts stop the loop's tasks
   * (`next(ms)` bounds one step instead, and leaves the tasks running).
   */
  override imap<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize?: number | ClusterImapOptions, opts?: ClusterImapOptions): ResultIterator<Awaited<R>> {
    return this.#timedLoop(chunksize, opts, (c, o) => super.imap<R>(fn, iterable, c as number | undefined, o));
  }

  /** Results in completion order (Python's `imap_unordered`); `timeout` as in `imap`. */
  override imapUnordered<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize?: number | ClusterImapOptions, opts?: ClusterImapOptions): ResultIterator<Awaited<R>> {
    return this.#timedLoop(chunksize, opts, (c, o) => super.imapUnordered<R>(fn, iterable, c as number | undefined, o));
  }

  /**
   * Runs an imap with its `timeout` as an extra signal: the loop's AbortError (its cause our TimeoutError)
   * becomes that TimeoutError. The timer goes when the loop ends, so it cannot end a finished loop.
   */
  #timedLoop<T>(chunksize: unknown, opts: ClusterImapOptions | undefined, run: (chunksize: unknown, opts: MapOptions | undefined) => ResultIterator<T>): ResultIterator<T> {
    const limit = timeLimit(chunksize, opts);
    if (!limit) return run(chunksize, opts);
    const it = run(...limit.args(limit.rest));
    limit.arm();
    const next = it.next.bind(it);
    const leave = it.return.bind(it);
    it.next = async (stepTimeout?: Timeout) => {
      try {
        const step = await next(stepTimeout);
        if (step.done) limit.stop();
        return step;
      } catch (err) {
        const seen = limit.error(err);
        if (seen !== err) limit.stop();
        throw seen; // one item's error, or next(ms)'s own TimeoutError: the loop goes on
      }
    };
    it.return = () => {
      limit.stop();
      return leave();
    };
    return it;
  }

  /**
   * Runs a map with its `timeout` as an extra signal: the map's own AbortError (its cause our TimeoutError)
   * becomes that TimeoutError, for the caller and the callbacks.
   */
  #timed<T>(chunksize: unknown, opts: ClusterMapOptions<any> | undefined, run: (chunksize: unknown, opts: ClusterMapOptions<any> | undefined) => AsyncResult<T>): AsyncResult<T> {
    const limit = timeLimit(chunksize, opts);
    if (!limit) return run(chunksize, opts);
    const { callback, errorCallback, ...rest } = limit.rest;
    const inner = run(...limit.args(rest));
    const outer = new AsyncResultClass<T>({ callback, errorCallback } as ResultCallbacksOf<T>);
    limit.arm();
    inner.get().then(
      (value) => outer[settleResult](true, value),
      (err) => outer[settleResult](false, limit.error(err)),
    ).finally(limit.stop);
    return outer;
  }
}

/**
 * A call's `timeout` option (in the first options slot or the second) as an extra abort signal; null when
 * it has none. `args` are the call's arguments with the signal in place of the timeout, `arm()` starts the
 * timer once the call is made, `error()` turns the call's AbortError by this limit into its TimeoutError.
 */
function timeLimit<O extends { timeout?: number; signal?: AbortSignal }>(chunksize: unknown, opts: O | undefined) {
  const inFirst = chunksize !== null && typeof chunksize === 'object';
  const options = (inFirst ? chunksize : opts) as O | undefined;
  if (typeof options !== 'object' || options === null || options.timeout === undefined || options.timeout === null) return null;
  const { timeout, ...rest } = options;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`);
  const ms = Math.max(0, timeout);
  const limit = new AbortController();
  const signal = rest.signal ? AbortSignal.any([rest.signal, limit.signal]) : limit.signal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    rest,
    args: <P extends object>(passed: P): [unknown, (P & { signal: AbortSignal }) | undefined] =>
      inFirst ? [{ ...passed, signal }, undefined] : [chunksize, { ...passed, signal }],
    arm: () => {
      timer = setTimeout(() => limit.abort(new TimeoutError(`the call did not finish within ${ms} ms`)), ms);
      timer.unref(); // what is pending keeps the program alive, not this
    },
    stop: () => clearTimeout(timer),
    error: (err: unknown): unknown =>
      err instanceof AbortError && err.cause === limit.signal.reason && err.cause !== undefined ? err.cause : err,
  };
}

type ResultCallbacksOf<T> = ConstructorParameters<typeof AsyncResultClass<T>>[0];

/** Options of a cluster `map`/`mapAsync`/`starmap`/`starmapAsync`: the local ones, and `timeout`. */
export interface ClusterMapOptions<R> extends MapAsyncOptions<R> {
  /** Milliseconds the whole map may take; then it rejects with TimeoutError and its hosts stop its tasks. */
  timeout?: number;
}

/** Options of a cluster `imap`/`imapUnordered`: the local ones, and `timeout`. */
export interface ClusterImapOptions extends MapOptions {
  /** Milliseconds the whole loop may take; then its next step rejects with TimeoutError and its hosts stop its tasks. */
  timeout?: number;
}

/** What a task resolves to. */
type Returned<F> = F extends Task<any[], infer R> ? Awaited<R> : unknown;

/** Options of a cluster `apply`/`applyAsync`: the local ones, and `timeout`. */
export interface ClusterApplyOptions<R> extends ApplyOptions<R> {
  /** Milliseconds the call may take; then it rejects with TimeoutError and its host stops it. */
  timeout?: number;
}
