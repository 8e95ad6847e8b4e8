/**
 * multiproc/python: the same classes under Python's names, so ported code reads the same.
 *
 * Two rules. **Names**: methods get snake_case aliases on the shared prototypes (so an object revived
 * in a worker has them too, and `instanceof` holds across both faces); the aliases and their types
 * both come from one list, {@link PYTHON_NAMES}. **Calls**: positional arguments mean what they mean
 * in CPython's signature (`executor.shutdown(false)` is `wait=False`), and Python's keyword arguments
 * are a trailing options object (`shutdown(true, { cancel_futures: true })`). Classes whose call shapes
 * differ get a thin subclass that translates. Timeouts stay in milliseconds.
 */
import * as mp from './index.js';
import type { Task, PoolOptions, ProcessOptions, ResultCallbacks, Typecode } from './index.js';

export * from './index.js';

/**
 * snake_case name → camelCase member, per class: the single list from which both the runtime
 * aliases (below) and their types (the `declare module` at the end) are made, so they cannot drift.
 * `methods` are forwarding methods, `getters` read-only properties.
 */
export const PYTHON_NAMES = {
  Process: { methods: { is_alive: 'isAlive' }, getters: { exitcode: 'exitCode', ident: 'pid' } },
  Queue: {
    methods: {
      put_nowait: 'putNowait', get_nowait: 'getNowait', put_sync: 'putSync', get_sync: 'getSync',
      join_thread: 'joinThread', cancel_join_thread: 'cancelJoinThread',
    },
    getters: {},
  },
  JoinableQueue: { methods: { task_done: 'taskDone', join_sync: 'joinSync' }, getters: {} },
  SimpleQueue: { methods: { get_sync: 'getSync' }, getters: {} },
  Connection: {
    methods: {
      send_bytes: 'sendBytes', recv_bytes: 'recvBytes', recv_bytes_into: 'recvBytesInto', recv_sync: 'recvSync',
      recv_bytes_sync: 'recvBytesSync', recv_bytes_into_sync: 'recvBytesIntoSync', poll_sync: 'pollSync',
    },
    getters: {},
  },
  Lock: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync' }, getters: {} },
  RLock: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync' }, getters: {} },
  Semaphore: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync', get_value: 'getValue' }, getters: {} },
  Event: { methods: { is_set: 'isSet', wait_sync: 'waitSync' }, getters: {} },
  Condition: {
    methods: {
      acquire_sync: 'acquireSync', hold_sync: 'holdSync', notify_all: 'notifyAll', wait_for: 'waitFor',
      wait_sync: 'waitSync', wait_for_sync: 'waitForSync',
    },
    getters: {},
  },
  Barrier: { methods: { wait_sync: 'waitSync' }, getters: { n_waiting: 'nWaiting' } },
  RawSharedValue: { methods: { get_obj: 'getObj' }, getters: {} },
  SharedValue: { methods: { get_lock: 'getLock' }, getters: {} },
  Future: {
    methods: {
      add_done_callback: 'addDoneCallback', set_result: 'setResult', set_exception: 'setException',
      set_running_or_notify_cancel: 'setRunningOrNotifyCancel', result_now: 'resultNow', exception_now: 'exceptionNow',
    },
    getters: {},
  },
  // Manager proxies: the same names, still returning Promises.
  SemaphoreProxy: { methods: { get_value: 'getValue' }, getters: {} },
  EventProxy: { methods: { is_set: 'isSet' }, getters: {} },
  ConditionProxy: { methods: { notify_all: 'notifyAll', wait_for: 'waitFor' }, getters: {} },
  BarrierProxy: { methods: {}, getters: { n_waiting: 'nWaiting' } },
  QueueProxy: { methods: { put_nowait: 'putNowait', get_nowait: 'getNowait' }, getters: {} },
  JoinableQueueProxy: { methods: { task_done: 'taskDone' }, getters: {} },
  DictProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ListProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ValueProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ArrayProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
} as const;

type PythonNames = typeof PYTHON_NAMES;

/** @internal The classes {@link PYTHON_NAMES} names, whose prototypes get the aliases. */
export const ALIASED_CLASSES = {
  Process: mp.Process, Queue: mp.Queue, JoinableQueue: mp.JoinableQueue, SimpleQueue: mp.SimpleQueue,
  Connection: mp.Connection, Lock: mp.Lock, RLock: mp.RLock, Semaphore: mp.Semaphore, Event: mp.Event,
  Condition: mp.Condition, Barrier: mp.Barrier, RawSharedValue: mp.RawSharedValue, SharedValue: mp.SharedValue,
  Future: mp.Future, SemaphoreProxy: mp.SemaphoreProxy, EventProxy: mp.EventProxy, ConditionProxy: mp.ConditionProxy,
  BarrierProxy: mp.BarrierProxy, QueueProxy: mp.QueueProxy, JoinableQueueProxy: mp.JoinableQueueProxy,
  DictProxy: mp.DictProxy, ListProxy: mp.ListProxy, ValueProxy: mp.ValueProxy, ArrayProxy: mp.ArrayProxy,
} satisfies { [K in keyof PythonNames]: { prototype: object } };

/** Defines `snake` on `proto` as a call of (or a getter for) `camel`, unless it already exists. */
function alias(proto: object, methods: Record<string, string>, getters: Record<string, string>): void {
  for (const [snake, camel] of Object.entries(methods)) {
    if (Object.prototype.hasOwnProperty.call(proto, snake)) continue;
    Object.defineProperty(proto, snake, {
      value: function (this: any, ...args: unknown[]) {
        return this[camel](...args);
      },
      writable: true, configurable: true,
    });
  }
  for (const [snake, camel] of Object.entries(getters)) {
    if (Object.prototype.hasOwnProperty.call(proto, snake)) continue;
    Object.defineProperty(proto, snake, { get(this: any) { return this[camel]; }, configurable: true });
  }
}

for (const [name, { methods, getters }] of Object.entries(PYTHON_NAMES)) {
  alias(ALIASED_CLASSES[name as keyof PythonNames].prototype, methods, getters);
}

/**
 * @internal This module's URL, left where the worker engines can find it without importing it: a
 * program that uses Python's names wants them on the objects its tasks receive too, so a worker
 * started while this is set imports this URL before its first task.
 */
(globalThis as any)[Symbol.for('multiproc.pythonNames')] = import.meta.url;

/** The alias members of class `K`, typed from the camelCase members of `C` they forward to. */
type Snake<C, M> = { [P in keyof M]: M[P] extends keyof C ? C[M[P]] : never };
type SnakeGetters<C, G> = { readonly [P in keyof G]: G[P] extends keyof C ? C[G[P]] : never };
/** @internal Python's names for class `K`, as members of `C` (its instance type). */
export type PythonAliases<C, K extends keyof PythonNames> =
  Snake<C, PythonNames[K]['methods']> & SnakeGetters<C, PythonNames[K]['getters']>;

/** Every camelCase member PYTHON_NAMES points to, that its class does not have (never, or a compile error below). */
type ValuesOf<T> = T[keyof T];
type MissingTargets = ValuesOf<{
  [K in keyof PythonNames]: Exclude<
    ValuesOf<PythonNames[K]['methods']> | ValuesOf<PythonNames[K]['getters']>,
    keyof (typeof ALIASED_CLASSES)[K]['prototype']
  >;
}>;
/** @internal the instance type of each class PYTHON_NAMES names. */
export type PythonAliasedInstances = { [K in keyof PythonNames]: (typeof ALIASED_CLASSES)[K]['prototype'] };
/** Every alias PYTHON_NAMES lists that its class's type lacks (its `declare module` entry is missing). */
type UntypedAliases = ValuesOf<{
  [K in keyof PythonNames]: Exclude<keyof PythonNames[K]['methods'] | keyof PythonNames[K]['getters'], keyof PythonAliasedInstances[K]>;
}>;
// Drift fails the build here, naming the culprit: a target its class lacks, or an alias with no type.
const everyAliasHasATarget: [MissingTargets] extends [never] ? true : MissingTargets = true;
const everyAliasIsTyped: [UntypedAliases] extends [never] ? true : UntypedAliases = true;
void everyAliasHasATarget;
void everyAliasIsTyped;

// ---------------------------------------------------------------------------------------------
// Calls: Python's positional parameters, then a keywords object.

/** Python's `f(**kwargs)` has no JavaScript twin: a non-empty `kwds`/`kwargs` is refused, not dropped. */
function checkNoKeywordArguments(kwds: unknown, what: string): void {
  if (kwds === undefined || kwds === null) return;
  if (typeof kwds !== 'object' || globalThis.Array.isArray(kwds) || Object.keys(kwds).length > 0) {
    throw new TypeError(
      `${what}: JavaScript functions take no keyword arguments, so kwds/kwargs must be empty; ` +
        'pass the values in args (an options object as the last argument, if the function reads one)',
    );
  }
}

/** A plain options object (Python's keyword arguments), as opposed to a positional value. */
function isKeywords(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !globalThis.Array.isArray(value) && typeof (value as any)[Symbol.iterator] !== 'function' && !mp.isTaskRef(value);
}

/** Checks a keywords object against the names the call accepts (Python's "unexpected keyword argument"). */
function keywords<K extends string>(value: unknown, allowed: readonly K[], what: string): Partial<Record<K, any>> {
  if (value === undefined || value === null) return {};
  if (!isKeywords(value)) throw new TypeError(`${what}: expected an options object, got ${typeof value}`);
  for (const key of Object.keys(value)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw new TypeError(`${what} got an unexpected keyword argument '${key}' (accepted: ${allowed.join(', ')})`);
    }
  }
  return value as Partial<Record<K, any>>;
}

/** One parameter given both positionally and by keyword is Python's "got multiple values". */
function either<T>(positional: T | undefined, keyword: T | undefined, name: string, what: string): T | undefined {
  if (positional !== undefined && keyword !== undefined) throw new TypeError(`${what} got multiple values for argument '${name}'`);
  return positional !== undefined ? positional : keyword;
}

/** Python's callbacks: `(fn, args, kwds, callback, error_callback)`, or `{ callback, error_callback }` as keywords. */
export interface PyCallbacks<R> {
  callback?: ((result: R) => unknown) | null;
  error_callback?: ((error: Error) => unknown) | null;
}

/** Options beyond Python's (SPEC): cancellation and progress, accepted with the keywords. */
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
  constructor(processes?: number | null | PyPoolOptions, initializer?: Task | null, initargs?: unknown[] | null, maxtasksperchild?: number | null, context?: unknown) {
    void context; // Python's start-method context: every worker here starts fresh, as with 'spawn'
    if (isKeywords(processes)) {
      if (initializer != null || initargs != null || maxtasksperchild != null) {
        throw new TypeError('Pool() takes positional arguments or one options object, not both');
      }
      const { maxtasksperchild: mtpc, context: _context, ...rest } = processes as PyPoolOptions;
      super({ ...rest, maxTasksPerChild: either(rest.maxTasksPerChild, mtpc ?? undefined, 'maxtasksperchild', 'Pool()') });
    } else {
      super({
        processes: (processes as number | null | undefined) ?? undefined, initializer: initializer ?? undefined, initargs: initargs ?? undefined,
        maxTasksPerChild: maxtasksperchild ?? undefined,
      });
    }
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

/** Keywords of Python's `Process(...)`: its keyword-only `daemon`, and our runtime settings. */
export type PyProcessKeywords = Omit<ProcessOptions, 'target' | 'args' | 'name'> & { daemon?: boolean | null };

/** The keyword form: `new Process({ target, args, name, daemon })`. */
export type PyProcessOptions = Omit<ProcessOptions, 'daemon'> & { group?: null; kwargs?: Record<string, never> | null; daemon?: boolean | null };

/**
 * Python's `Process(group=None, target=None, name=None, args=(), kwargs={}, *, daemon=None)` —
 * positional (`new Process(null, fn, 'name', [1])`, keywords last: `{ daemon: true }`), or one
 * options object (`new Process({ target: fn, args: [1] })`). `kwargs` must be empty.
 */
export class Process extends mp.Process {
  constructor(
    group?: null | PyProcessOptions, target?: Task | null, name?: string | null, args?: unknown[] | null,
    kwargs?: Record<string, never> | null, options?: PyProcessKeywords | null,
  ) {
    if (isKeywords(group)) {
      if (target != null || name != null || args != null || kwargs != null || options != null) {
        throw new TypeError('Process() takes positional arguments or one options object, not both');
      }
      const { group: g, kwargs: kw, daemon, ...rest } = group as PyProcessOptions;
      if (g != null) throw new TypeError('group argument must be None for now');
      checkNoKeywordArguments(kw, 'Process()');
      super({ ...rest, daemon: daemon ?? undefined });
      return;
    }
    if (group != null) throw new TypeError('group argument must be None for now');
    checkNoKeywordArguments(kwargs, 'Process()');
    const kw = keywords(options, ['daemon', 'runtime', 'env', 'execArgv', 'resourceLimits'] as const, 'Process()');
    super({ ...kw, target: target as Task, name: name ?? undefined, args: args ?? undefined, daemon: kw.daemon ?? undefined });
  }
}

export type PyExecutorOptions = {
  max_workers?: number | null;
  initializer?: Task | null;
  initargs?: unknown[] | null;
  max_tasks_per_child?: number | null;
  thread_name_prefix?: string | null;
  /** Python's `mp_context`: ignored (process workers always start fresh, as with 'spawn'). */
  mp_context?: unknown;
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: import('node:worker_threads').ResourceLimits;
};

const EXECUTOR_KEYWORDS = [
  'max_workers', 'initializer', 'initargs', 'max_tasks_per_child', 'thread_name_prefix', 'mp_context',
  'env', 'execArgv', 'resourceLimits', 'maxWorkers', 'maxTasksPerChild', 'threadNamePrefix',
] as const;

function executorOptions(kw: Record<string, any>, positional: Record<string, unknown>, what: string) {
  const get = (snake: string, camel: string) =>
    either(positional[snake] ?? undefined, either(kw[snake] ?? undefined, kw[camel] ?? undefined, snake, what), snake, what);
  return {
    maxWorkers: get('max_workers', 'maxWorkers') as number | undefined,
    initializer: get('initializer', 'initializer') as Task | undefined,
    initargs: get('initargs', 'initargs') as unknown[] | undefined,
    maxTasksPerChild: get('max_tasks_per_child', 'maxTasksPerChild') as number | undefined,
    threadNamePrefix: get('thread_name_prefix', 'threadNamePrefix') as string | undefined,
    env: kw.env, execArgv: kw.execArgv, resourceLimits: kw.resourceLimits,
  };
}

/** An executor's options from Python's positional parameters `names` and a keywords object; `foreign` is the other executor's keyword. */
function executorArguments(what: string, names: string[], values: unknown[], foreign: 'max_tasks_per_child' | 'thread_name_prefix') {
  const [positional, kw] = splitPositional(values, names, what);
  const { maxTasksPerChild, threadNamePrefix, ...common } = executorOptions(keywords(kw, EXECUTOR_KEYWORDS, what), positional, what);
  const own = foreign === 'max_tasks_per_child' ? { threadNamePrefix } : { maxTasksPerChild };
  if ((foreign === 'max_tasks_per_child' ? maxTasksPerChild : threadNamePrefix) !== undefined) {
    throw new TypeError(`${what} got an unexpected keyword argument '${foreign}'`);
  }
  // leave out what was not given: the executor's defaults apply
  return Object.fromEntries(Object.entries({ ...common, ...own }).filter(([, v]) => v !== undefined)) as mp.ThreadPoolExecutorOptions & mp.ProcessPoolExecutorOptions;
}

/** Python's `shutdown(wait=True, *, cancel_futures=False)`: `shutdown(false)`, `shutdown(true, { cancel_futures: true })`, or `shutdown({ wait, cancel_futures })`. */
export type PyShutdownKeywords = { wait?: boolean; cancel_futures?: boolean; cancelFutures?: boolean };

/** Calls the executor's `shutdown` with Python's arguments translated; bad ones reject. */
function pythonShutdown(shutdown: (o: mp.ShutdownOptions) => Promise<void>, self: mp.Executor, wait: unknown, options: unknown): Promise<void> {
  try {
    return shutdown.call(self, shutdownOptions(wait, options));
  } catch (err) {
    return Promise.reject(err);
  }
}

function shutdownOptions(wait: unknown, options: unknown): mp.ShutdownOptions {
  const what = 'shutdown()';
  if (isKeywords(wait)) {
    if (options !== undefined) throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
    const kw = keywords(wait, ['wait', 'cancel_futures', 'cancelFutures'] as const, what);
    return { wait: kw.wait ?? true, cancelFutures: either(kw.cancel_futures, kw.cancelFutures, 'cancel_futures', what) ?? false };
  }
  if (wait !== undefined && typeof wait !== 'boolean') throw new TypeError(`${what}: wait must be a boolean, got ${typeof wait}`);
  const kw = keywords(options, ['cancel_futures', 'cancelFutures'] as const, what);
  return { wait: wait ?? true, cancelFutures: either(kw.cancel_futures, kw.cancelFutures, 'cancel_futures', what) ?? false };
}

/**
 * Python's `ThreadPoolExecutor(max_workers=None, thread_name_prefix='', initializer=None, initargs=())`
 * — positional, or options (`{ max_workers, thread_name_prefix, initializer, initargs }`) after any of them.
 */
export class ThreadPoolExecutor extends mp.ThreadPoolExecutor {
  constructor(
    max_workers?: number | null | PyExecutorOptions, thread_name_prefix?: string | null | PyExecutorOptions,
    initializer?: Task | null | PyExecutorOptions, initargs?: unknown[] | null | PyExecutorOptions, options?: PyExecutorOptions,
  ) {
    super(executorArguments('ThreadPoolExecutor()', ['max_workers', 'thread_name_prefix', 'initializer', 'initargs'],
      [max_workers, thread_name_prefix, initializer, initargs, options], 'max_tasks_per_child'));
  }

  /** Python's `shutdown(wait=True, *, cancel_futures=False)`. */
  override shutdown(wait?: boolean | PyShutdownKeywords, options?: { cancel_futures?: boolean; cancelFutures?: boolean }): Promise<void> {
    return pythonShutdown(super.shutdown, this, wait, options);
  }
}

/**
 * Python's `ProcessPoolExecutor(max_workers=None, mp_context=None, initializer=None, initargs=(), *,
 * max_tasks_per_child=None)` — positional, with the keywords (`{ max_tasks_per_child }`) last, or options
 * after any positional (`new ProcessPoolExecutor(2, { initializer })`). `mp_context` is accepted and ignored.
 */
export class ProcessPoolExecutor extends mp.ProcessPoolExecutor {
  constructor(
    max_workers?: number | null | PyExecutorOptions, mp_context?: unknown, initializer?: Task | null | PyExecutorOptions,
    initargs?: unknown[] | null | PyExecutorOptions, options?: PyExecutorOptions,
  ) {
    super(executorArguments('ProcessPoolExecutor()', ['max_workers', 'mp_context', 'initializer', 'initargs'],
      [max_workers, mp_context, initializer, initargs, options], 'thread_name_prefix'));
  }

  /** Python's `shutdown(wait=True, *, cancel_futures=False)`. */
  override shutdown(wait?: boolean | PyShutdownKeywords, options?: { cancel_futures?: boolean; cancelFutures?: boolean }): Promise<void> {
    return pythonShutdown(super.shutdown, this, wait, options);
  }
}

/**
 * Splits `(p1, p2, ..., keywords?)`: positionals up to the first options object (which must be
 * the last argument given), by Python's parameter names.
 */
function splitPositional(values: unknown[], names: string[], what: string): [Record<string, unknown>, unknown] {
  const positional: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // a plain object is the keywords; a task() reference is a positional initializer
    if (i === names.length || isKeywords(v)) {
      if (values.slice(i + 1).some((rest) => rest !== undefined)) {
        throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
      }
      return [positional, v];
    }
    positional[names[i]] = v;
  }
  return [positional, undefined];
}

/** What Python's `concurrent.futures.wait` returns: `done, not_done = wait(fs)` is `const [done, not_done] = await wait(fs)`. */
export type DoneAndNotDoneFutures<T> = [done: Set<mp.Future<T>>, not_done: Set<mp.Future<T>>] & {
  done: Set<mp.Future<T>>;
  not_done: Set<mp.Future<T>>;
  notDone: Set<mp.Future<T>>;
};

/**
 * Python's `concurrent.futures.wait(fs, timeout=None, return_when=ALL_COMPLETED)`: positional, or
 * keywords (`{ timeout, return_when }`) after `fs` or after the timeout. The result destructures as
 * Python's named tuple (`const [done, not_done] = ...`) and has `done` / `not_done`.
 */
export async function wait<T>(
  fs: Iterable<mp.Future<T>>, timeout?: number | null | { timeout?: number | null; return_when?: mp.ReturnWhen; returnWhen?: mp.ReturnWhen },
  return_when?: mp.ReturnWhen | { return_when?: mp.ReturnWhen; returnWhen?: mp.ReturnWhen },
): Promise<DoneAndNotDoneFutures<T>> {
  const what = 'wait()';
  let ms: number | null | undefined;
  let when: mp.ReturnWhen | undefined;
  if (isKeywords(timeout)) {
    if (return_when !== undefined) throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
    const kw = keywords(timeout, ['timeout', 'return_when', 'returnWhen'] as const, what);
    ms = kw.timeout;
    when = either(kw.return_when, kw.returnWhen, 'return_when', what);
  } else {
    ms = timeout as number | null | undefined;
    if (isKeywords(return_when)) {
      const kw = keywords(return_when, ['return_when', 'returnWhen'] as const, what);
      when = either(kw.return_when, kw.returnWhen, 'return_when', what);
    } else when = return_when as mp.ReturnWhen | undefined;
  }
  const res = await mp.wait(fs, { timeout: ms, returnWhen: when });
  return Object.assign([res.done, res.notDone] as [Set<mp.Future<T>>, Set<mp.Future<T>>], {
    done: res.done, not_done: res.notDone, notDone: res.notDone,
  });
}

/** Python's `Array(typecode, size_or_initializer, *, lock=True)`: the typed array also answers get_lock/get_obj. */
export const Array: typeof mp.Array = function Array(...args: Parameters<typeof mp.Array>) {
  const arr: any = (mp.Array as any)(...args);
  if (typeof arr.getLock === 'function') Object.defineProperty(arr, 'get_lock', { value: () => arr.getLock(), configurable: true });
  if (typeof arr.getObj === 'function') Object.defineProperty(arr, 'get_obj', { value: () => arr.getObj(), configurable: true });
  return arr;
} as any;

/** Python's `as_completed(fs, timeout=None)`. */
export const as_completed = mp.asCompleted;
export const cpu_count = mp.cpuCount;
export const current_process = mp.currentProcess;
export const active_children = mp.activeChildren;

/** Python's names for the broken-executor errors. */
export const BrokenProcessPool = mp.BrokenPoolError;
export const BrokenThreadPool = mp.BrokenPoolError;
export const BrokenExecutor = mp.BrokenPoolError;

// Declaration merging: the aliases of PYTHON_NAMES, for TypeScript (each class names its own entry).
declare module './index.js' {
  interface Process extends PythonAliases<Process, 'Process'> {}
  interface Queue<T> extends PythonAliases<Queue<T>, 'Queue'> {}
  interface JoinableQueue<T> extends PythonAliases<JoinableQueue<T>, 'JoinableQueue'> {}
  interface SimpleQueue<T> extends PythonAliases<SimpleQueue<T>, 'SimpleQueue'> {}
  interface Connection<T> extends PythonAliases<Connection<T>, 'Connection'> {}
  interface Lock extends PythonAliases<Lock, 'Lock'> {}
  interface RLock extends PythonAliases<RLock, 'RLock'> {}
  interface Semaphore extends PythonAliases<Semaphore, 'Semaphore'> {}
  interface Event extends PythonAliases<Event, 'Event'> {}
  interface Condition extends PythonAliases<Condition, 'Condition'> {}
  interface Barrier extends PythonAliases<Barrier, 'Barrier'> {}
  interface RawSharedValue<T extends Typecode = Typecode> extends PythonAliases<RawSharedValue<T>, 'RawSharedValue'> {}
  interface SharedValue<T extends Typecode = Typecode> extends PythonAliases<SharedValue<T>, 'SharedValue'> {}
  interface Future<T> extends PythonAliases<Future<T>, 'Future'> {}
  interface SemaphoreProxy extends PythonAliases<SemaphoreProxy, 'SemaphoreProxy'> {}
  interface EventProxy extends PythonAliases<EventProxy, 'EventProxy'> {}
  interface ConditionProxy extends PythonAliases<ConditionProxy, 'ConditionProxy'> {}
  interface BarrierProxy extends PythonAliases<BarrierProxy, 'BarrierProxy'> {}
  interface QueueProxy<T> extends PythonAliases<QueueProxy<T>, 'QueueProxy'> {}
  interface JoinableQueueProxy<T> extends PythonAliases<JoinableQueueProxy<T>, 'JoinableQueueProxy'> {}
  interface DictProxy<V> extends PythonAliases<DictProxy<V>, 'DictProxy'> {}
  interface ListProxy<T> extends PythonAliases<ListProxy<T>, 'ListProxy'> {}
  interface ValueProxy<T extends number | bigint = number> extends PythonAliases<ValueProxy<T>, 'ValueProxy'> {}
  interface ArrayProxy<T extends number | bigint = number> extends PythonAliases<ArrayProxy<T>, 'ArrayProxy'> {}
}
