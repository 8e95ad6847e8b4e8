/** Python's `multiprocessing.Pool`: CPython's positional parameters, then a keywords object. */
import * as mp from '../index.js';
import type { Task, PoolOptions, ResultCallbacks } from '../index.js';
import { checkNoKeywordArguments, either, isKeywords, keywords, splitPositional } from './arguments.js';

/** Python's callbacks: `(fn, args, kwds, callback, error_callback)`, or `{ callback, error_callback }` as keywords. */
export interface PyCallbacks<R> {
  callback?: ((result: R) => unknown) | null;
  error_callback?: ((error: Error) => unknown) | null;
}

/** Options beyond Python's: cancellation and progress, accepted with the keywords. */
export interface PyMapOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Keywords of `map` / `starmap` / `imap` / `imap_unordered`. */
export interface PyMapKeywords extends PyMapOptions {
  chunksize?: number | null;
}

/** Keywords of `apply_async`. */
export interface PyApplyKeywords<R> extends PyCallbacks<R> {
  signal?: AbortSignal;
}

/** Keywords of `map_async` / `starmap_async`. */
export interface PyAsyncMapKeywords<R> extends PyCallbacks<R>, PyMapKeywords {}

const POOL_PARAMETERS = ['processes', 'initializer', 'initargs', 'maxtasksperchild', 'context'];
const POOL_KEYWORDS = [
  'processes', 'initializer', 'initargs', 'maxtasksperchild', 'maxTasksPerChild', 'context', 'runtime', 'env', 'execArgv', 'resourceLimits',
] as const;

const CALLBACK_KEYWORDS = ['callback', 'error_callback', 'errorCallback'] as const;
const MAP_KEYWORDS = ['chunksize', 'signal', 'onProgress'] as const;

function callbacksOf<R>(kw: PyCallbacks<R> & ResultCallbacks<R>, callback: unknown, errorCallback: unknown, what: string): ResultCallbacks<R> {
  return {
    callback: (either(callback ?? undefined, kw.callback ?? undefined, 'callback', what) ?? undefined) as ResultCallbacks<R>['callback'],
    errorCallback: (either(errorCallback ?? undefined, kw.error_callback ?? kw.errorCallback ?? undefined, 'error_callback', what) ??
      undefined) as ResultCallbacks<R>['errorCallback'],
  };
}

/** `chunksize` positionally, or `{ chunksize, signal, onProgress }` as keywords; then the options for the base call. */
function mapArguments(chunksize: unknown, opts: unknown, what: string): [number | undefined, PyMapOptions | undefined] {
  if (isKeywords(chunksize)) {
    if (opts !== undefined) throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
    const { chunksize: size, ...rest } = keywords(chunksize, MAP_KEYWORDS, what);
    return [size ?? undefined, rest];
  }
  const rest = opts === undefined ? undefined : keywords(opts, ['signal', 'onProgress'] as const, what);
  return [(chunksize as number | null | undefined) ?? undefined, rest];
}

/** Calls `map` / `starmap` of the base with Python's chunksize-or-keywords translated; bad ones reject. */
function callMap<T>(method: (...args: any[]) => Promise<T>, self: object, what: string, head: unknown[], chunksize: unknown, opts: unknown): Promise<T> {
  try {
    const [size, rest] = mapArguments(chunksize, opts, what);
    return callBase(method, self, [...head, size, rest]);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Calls a base Pool method with its options argument (signal, onProgress) passed through as given:
 * the facade translates Python's arguments and leaves the rest to the Pool.
 */
function callBase<T>(method: (...args: any[]) => T, self: object, args: unknown[]): T {
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return method.apply(self, args);
}

export interface PyPoolOptions extends Omit<PoolOptions, 'maxTasksPerChild'> {
  maxtasksperchild?: number | null;
  maxTasksPerChild?: number;
  /** Python's `context`: ignored (workers are always started fresh, as with 'spawn'). */
  context?: unknown;
}

type IterableOf<T> = Iterable<T> | AsyncIterable<T>;
type Returned<F> = F extends Task<any[], infer R> ? Awaited<R> : unknown;

/**
 * Python's `multiprocessing.Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None,
 * context=None)` — positional, or one options object. Methods take Python's positional parameters,
 * then a keywords object (`pool.map(f, xs, { chunksize: 10 })`).
 */
export class Pool extends mp.Pool {
  constructor(
    processes?: number | null | PyPoolOptions, initializer?: Task | null | PyPoolOptions, initargs?: unknown[] | null | PyPoolOptions,
    maxtasksperchild?: number | null | PyPoolOptions, context?: unknown,
  ) {
    // Python's `Pool(4, initializer=f, initargs=(1,))`: positionals, then the keywords object after any of them
    const what = 'Pool()';
    const [positional, kwObject] = splitPositional([processes, initializer, initargs, maxtasksperchild, context], POOL_PARAMETERS, what);
    const { maxtasksperchild: mtpc, maxTasksPerChild, context: _context, processes: p, initializer: i, initargs: a, ...rest } =
      keywords(kwObject, POOL_KEYWORDS, what) as PyPoolOptions;
    super({
      ...rest,
      processes: either(positional.processes ?? undefined, p ?? undefined, 'processes', what) as number | undefined,
      initializer: either(positional.initializer ?? undefined, i ?? undefined, 'initializer', what) as Task | undefined,
      initargs: either(positional.initargs ?? undefined, a ?? undefined, 'initargs', what) as unknown[] | undefined,
      maxTasksPerChild: either(
        positional.maxtasksperchild ?? undefined, either(mtpc ?? undefined, maxTasksPerChild, 'maxtasksperchild', what), 'maxtasksperchild', what,
      ) as number | undefined,
    });
  }

  /**
   * Python's `apply(func, args=(), kwds={})`. `kwds` holds keyword arguments for `func` in Python;
   * JavaScript has none, so it must be empty (or hold only our `signal`).
   */
  override apply<F extends Task>(fn: F, args?: unknown[], kwds?: { signal?: AbortSignal } | null): Promise<Returned<F>> {
    let opts: { signal?: AbortSignal } | undefined;
    try {
      opts = applyKeywords(kwds, 'apply()');
    } catch (err) {
      return Promise.reject(err);
    }
    return callBase(super.apply, this, [fn, args, opts]) as Promise<Returned<F>>;
  }

  /**
   * Python's `apply_async(func, args=(), kwds={}, callback=None, error_callback=None)`. The third
   * argument may also be the keywords `{ callback, error_callback, signal }`.
   */
  apply_async<R>(
    fn: Task<any[], R>, args: unknown[] = [], kwds?: PyApplyKeywords<Awaited<R>> | null,
    callback?: ((r: Awaited<R>) => unknown) | null, error_callback?: ((e: Error) => unknown) | null,
  ): mp.AsyncResult<Awaited<R>> {
    const what = 'apply_async()';
    const { signal, ...kw } = keywords(kwds, [...CALLBACK_KEYWORDS, 'signal'] as const, what);
    const opts = { ...callbacksOf(kw, callback, error_callback, what), ...(signal !== undefined ? { signal } : {}) };
    return this.applyAsync(fn, args, opts);
  }

  /** Python's `map(func, iterable, chunksize=None)`. */
  override map<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | null | PyMapKeywords, opts?: PyMapOptions): Promise<Awaited<R>[]> {
    return callMap(super.map<R>, this, 'map()', [fn, iterable], chunksize, opts);
  }

  /** Python's `map_async(func, iterable, chunksize=None, callback=None, error_callback=None)`; keywords may follow any positional. */
  map_async<R>(
    fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | null | PyAsyncMapKeywords<Awaited<R>[]>,
    callback?: ((r: Awaited<R>[]) => unknown) | null | PyAsyncMapKeywords<Awaited<R>[]>, error_callback?: ((e: Error) => unknown) | null,
  ): mp.AsyncResult<Awaited<R>[]> {
    const [size, opts] = asyncMapArguments<Awaited<R>[]>(chunksize, callback, error_callback, 'map_async()');
    return callBase(this.mapAsync<R>, this, [fn, iterable, size, opts]);
  }

  /** Python's `starmap(func, iterable, chunksize=None)`. */
  override starmap<R>(fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number | null | PyMapKeywords, opts?: PyMapOptions): Promise<Awaited<R>[]> {
    return callMap(super.starmap<R>, this, 'starmap()', [fn, iterable], chunksize, opts);
  }

  /** Python's `starmap_async(func, iterable, chunksize=None, callback=None, error_callback=None)`. */
  starmap_async<R>(
    fn: Task<any[], R>, iterable: IterableOf<unknown[]>, chunksize?: number | null | PyAsyncMapKeywords<Awaited<R>[]>,
    callback?: ((r: Awaited<R>[]) => unknown) | null | PyAsyncMapKeywords<Awaited<R>[]>, error_callback?: ((e: Error) => unknown) | null,
  ): mp.AsyncResult<Awaited<R>[]> {
    const [size, opts] = asyncMapArguments<Awaited<R>[]>(chunksize, callback, error_callback, 'starmap_async()');
    return callBase(this.starmapAsync<R>, this, [fn, iterable, size, opts]);
  }

  /** Python's `imap(func, iterable, chunksize=1)`. */
  override imap<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | null | PyMapKeywords, opts?: PyMapOptions): mp.ResultIterator<Awaited<R>> {
    const [size, rest] = mapArguments(chunksize, opts, 'imap()');
    return callBase(super.imap<R>, this, [fn, iterable, size ?? 1, rest]);
  }

  /** Python's `imap_unordered(func, iterable, chunksize=1)`. */
  imap_unordered<R>(fn: Task<[any], R>, iterable: IterableOf<unknown>, chunksize?: number | null | PyMapKeywords, opts?: PyMapOptions): mp.ResultIterator<Awaited<R>> {
    const [size, rest] = mapArguments(chunksize, opts, 'imap_unordered()');
    return callBase(this.imapUnordered<R>, this, [fn, iterable, size ?? 1, rest]);
  }
}

/** `apply`'s `kwds`: empty, or our `signal` alone. */
function applyKeywords(kwds: unknown, what: string): { signal?: AbortSignal } | undefined {
  if (kwds === undefined || kwds === null) return undefined;
  if (isKeywords(kwds) && Object.keys(kwds as object).every((k) => k === 'signal')) {
    return Object.keys(kwds as object).length > 0 ? (kwds as { signal?: AbortSignal }) : undefined;
  }
  checkNoKeywordArguments(kwds, what);
  return undefined;
}

function asyncMapArguments<R>(chunksize: unknown, callback: unknown, errorCallback: unknown, what: string): [number | undefined, ResultCallbacks<R> & PyMapOptions] {
  const all = ['chunksize', 'signal', 'onProgress', ...CALLBACK_KEYWORDS] as const;
  let size: number | undefined;
  let kw: PyAsyncMapKeywords<R> & ResultCallbacks<R> = {};
  let cb: unknown = callback;
  let ecb: unknown = errorCallback;
  if (isKeywords(chunksize)) {
    if (callback != null || errorCallback != null) throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
    kw = keywords(chunksize, all, what);
    size = kw.chunksize ?? undefined;
    cb = ecb = undefined;
  } else {
    size = (chunksize as number | null | undefined) ?? undefined;
    if (isKeywords(callback)) {
      if (errorCallback != null) throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
      kw = keywords(callback, all.filter((k) => k !== 'chunksize'), what);
      cb = ecb = undefined;
    }
  }
  const { signal, onProgress } = kw;
  return [size, { ...callbacksOf<R>(kw, cb, ecb, what), ...(signal !== undefined ? { signal } : {}), ...(onProgress !== undefined ? { onProgress } : {}) }];
}
