/**
 * multiproc/python: the same classes under Python's names, so ported code reads the same.
 *
 * Methods get snake_case aliases on the shared prototypes (so an object revived in a worker has them too,
 * and `instanceof` holds across both faces); classes whose options or call shapes differ get a thin subclass
 * that translates (`maxtasksperchild`, `error_callback`, positional callbacks). Timeouts stay in milliseconds.
 */
import * as mp from './index.js';
import type { Task, PoolOptions, ProcessOptions, ResultCallbacks, Runtime } from './index.js';

export * from './index.js';

/** Defines `snake` on `proto` as a call of (or a getter for) `camel`, unless it already exists. */
function alias(proto: object, names: Record<string, string>, getters: Record<string, string> = {}): void {
  for (const [snake, camel] of Object.entries(names)) {
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

alias(mp.Process.prototype, { is_alive: 'isAlive' }, { exitcode: 'exitCode', ident: 'pid' });
alias(mp.Queue.prototype, { put_nowait: 'putNowait', get_nowait: 'getNowait', put_sync: 'putSync', get_sync: 'getSync', join_thread: 'joinThread' });
alias(mp.JoinableQueue.prototype, { task_done: 'taskDone', join_sync: 'joinSync' });
alias(mp.SimpleQueue.prototype, { get_sync: 'getSync' });
alias(mp.Connection.prototype, {
  send_bytes: 'sendBytes', recv_bytes: 'recvBytes', recv_bytes_into: 'recvBytesInto', recv_sync: 'recvSync',
  recv_bytes_sync: 'recvBytesSync', recv_bytes_into_sync: 'recvBytesIntoSync', poll_sync: 'pollSync',
});
for (const Cls of [mp.Lock, mp.RLock, mp.Semaphore, mp.BoundedSemaphore, mp.Condition]) {
  alias(Cls.prototype, { acquire_sync: 'acquireSync', hold_sync: 'holdSync' });
}
alias(mp.Semaphore.prototype, { get_value: 'getValue' });
alias(mp.Event.prototype, { is_set: 'isSet', wait_sync: 'waitSync' });
alias(mp.Condition.prototype, { notify_all: 'notifyAll', wait_for: 'waitFor', wait_sync: 'waitSync', wait_for_sync: 'waitForSync' });
alias(mp.Barrier.prototype, { wait_sync: 'waitSync' }, { n_waiting: 'nWaiting' });
alias(mp.RawSharedValue.prototype, { get_lock: 'getLock', get_obj: 'getObj' });
alias(mp.Future.prototype, {
  add_done_callback: 'addDoneCallback', set_result: 'setResult', set_exception: 'setException',
  set_running_or_notify_cancel: 'setRunningOrNotifyCancel',
});
// Manager proxies: the same names, still returning Promises.
alias(mp.SemaphoreProxy.prototype, { get_value: 'getValue' });
alias(mp.EventProxy.prototype, { is_set: 'isSet' });
alias(mp.ConditionProxy.prototype, { notify_all: 'notifyAll', wait_for: 'waitFor' });
alias(mp.BarrierProxy.prototype, {}, { n_waiting: 'nWaiting' });
alias(mp.QueueProxy.prototype, { put_nowait: 'putNowait', get_nowait: 'getNowait' });
alias(mp.JoinableQueueProxy.prototype, { task_done: 'taskDone' });
for (const Proxy of [mp.DictProxy, mp.ListProxy, mp.ValueProxy, mp.ArrayProxy]) {
  alias(Proxy.prototype, { compare_and_set: 'compareAndSet' });
}

/** Python's `Array(typecode, size_or_initializer, lock=True)`: the typed array also answers get_lock/get_obj. */
export const Array: typeof mp.Array = function Array(...args: Parameters<typeof mp.Array>) {
  const arr: any = (mp.Array as any)(...args);
  if (typeof arr.getLock === 'function') Object.defineProperty(arr, 'get_lock', { value: () => arr.getLock(), configurable: true });
  if (typeof arr.getObj === 'function') Object.defineProperty(arr, 'get_obj', { value: () => arr.getObj(), configurable: true });
  return arr;
} as any;

/** Python's callbacks: `(fn, args, { callback, error_callback })`, or positionally after `kwds` as Python's signature has them. */
export interface PyCallbacks<R> {
  callback?: (result: R) => void;
  error_callback?: (error: Error) => void;
}

function callbacks<R>(opts: unknown, callback?: unknown, errorCallback?: unknown): ResultCallbacks<R> {
  const o = (typeof opts === 'object' && opts !== null ? opts : {}) as PyCallbacks<R> & ResultCallbacks<R>;
  return {
    callback: (o.callback ?? callback) as ResultCallbacks<R>['callback'],
    errorCallback: (o.error_callback ?? o.errorCallback ?? errorCallback) as ResultCallbacks<R>['errorCallback'],
  };
}

export interface PyPoolOptions extends Omit<PoolOptions, 'maxTasksPerChild'> {
  maxtasksperchild?: number | null;
  maxTasksPerChild?: number;
}

/** Python's `multiprocessing.Pool(processes, initializer, initargs, maxtasksperchild)` — positional or as options. */
export class Pool extends mp.Pool {
  constructor(processes?: number | null | PyPoolOptions, initializer?: Task | null, initargs?: unknown[], maxtasksperchild?: number | null) {
    if (typeof processes === 'object' && processes !== null) {
      const { maxtasksperchild: mtpc, ...rest } = processes;
      super({ ...rest, maxTasksPerChild: rest.maxTasksPerChild ?? mtpc ?? undefined });
    } else {
      super({
        processes: processes ?? undefined, initializer: initializer ?? undefined, initargs,
        maxTasksPerChild: maxtasksperchild ?? undefined,
      });
    }
  }

  apply_async<R>(fn: Task<any[], R>, args: unknown[] = [], kwds?: PyCallbacks<Awaited<R>> | null, callback?: (r: Awaited<R>) => void, error_callback?: (e: Error) => void): mp.AsyncResult<Awaited<R>> {
    return this.applyAsync(fn, args, callbacks(kwds, callback, error_callback));
  }

  map_async<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize?: number | null, callback?: ((r: Awaited<R>[]) => void) | PyCallbacks<Awaited<R>[]>, error_callback?: (e: Error) => void): mp.AsyncResult<Awaited<R>[]> {
    const cbs = typeof callback === 'function' ? callbacks<Awaited<R>[]>(null, callback, error_callback) : callbacks<Awaited<R>[]>(callback, undefined, error_callback);
    return this.mapAsync(fn, iterable, chunksize ?? undefined, cbs);
  }

  starmap_async<R>(fn: Task<any[], R>, iterable: Iterable<unknown[]> | AsyncIterable<unknown[]>, chunksize?: number | null, callback?: ((r: Awaited<R>[]) => void) | PyCallbacks<Awaited<R>[]>, error_callback?: (e: Error) => void): mp.AsyncResult<Awaited<R>[]> {
    const cbs = typeof callback === 'function' ? callbacks<Awaited<R>[]>(null, callback, error_callback) : callbacks<Awaited<R>[]>(callback, undefined, error_callback);
    return this.starmapAsync(fn, iterable, chunksize ?? undefined, cbs);
  }

  imap_unordered<R>(fn: Task<[any], R>, iterable: Iterable<unknown> | AsyncIterable<unknown>, chunksize = 1): mp.ResultIterator<Awaited<R>> {
    return this.imapUnordered(fn, iterable, chunksize);
  }
}

/** Python's `Process(target=..., args=..., name=..., daemon=...)`; `kwargs` is not supported (JS has no keyword arguments). */
export class Process extends mp.Process {
  constructor(options: ProcessOptions & { group?: null }) {
    const { group: _group, ...rest } = options;
    super(rest);
  }
}
export interface Process {
  is_alive(): boolean;
  readonly exitcode: number | null;
  readonly ident: number | null;
}

export type PyExecutorOptions = {
  max_workers?: number | null;
  initializer?: Task;
  initargs?: unknown[];
  max_tasks_per_child?: number | null;
  thread_name_prefix?: string;
  runtime?: Runtime;
};

function executorOptions(opts: PyExecutorOptions & Record<string, unknown> = {}) {
  const { max_workers, max_tasks_per_child, thread_name_prefix, ...rest } = opts;
  return {
    ...rest,
    ...(max_workers !== undefined ? { maxWorkers: max_workers } : {}),
    ...(max_tasks_per_child !== undefined ? { maxTasksPerChild: max_tasks_per_child } : {}),
    ...(thread_name_prefix !== undefined ? { threadNamePrefix: thread_name_prefix } : {}),
  };
}

/** Python's `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer, initargs)`. */
export class ThreadPoolExecutor extends mp.ThreadPoolExecutor {
  constructor(max_workers?: number | null | PyExecutorOptions, options?: PyExecutorOptions) {
    if (typeof max_workers === 'object' && max_workers !== null) super(executorOptions(max_workers) as any);
    else super(max_workers, executorOptions(options) as any);
  }

  override shutdown(options: { wait?: boolean; cancel_futures?: boolean; cancelFutures?: boolean } = {}) {
    return super.shutdown({ wait: options.wait, cancelFutures: options.cancelFutures ?? options.cancel_futures });
  }
}

/** Python's `ProcessPoolExecutor(max_workers, initializer=..., initargs=..., max_tasks_per_child=...)`. */
export class ProcessPoolExecutor extends mp.ProcessPoolExecutor {
  constructor(max_workers?: number | null | PyExecutorOptions, options?: PyExecutorOptions) {
    if (typeof max_workers === 'object' && max_workers !== null) super(executorOptions(max_workers) as any);
    else super(max_workers, executorOptions(options) as any);
  }

  override shutdown(options: { wait?: boolean; cancel_futures?: boolean; cancelFutures?: boolean } = {}) {
    return super.shutdown({ wait: options.wait, cancelFutures: options.cancelFutures ?? options.cancel_futures });
  }
}

/** Python's `concurrent.futures.wait(fs, timeout, return_when)`; the result has `done` and `not_done`. */
export async function wait<T>(fs: Iterable<mp.Future<T>>, options: { timeout?: number | null; return_when?: mp.ReturnWhen; returnWhen?: mp.ReturnWhen } | number | null = {}) {
  const opts = typeof options === 'number' || options === null ? { timeout: options } : options;
  const res = await mp.wait(fs, { timeout: opts.timeout, returnWhen: opts.returnWhen ?? opts.return_when });
  return { done: res.done, not_done: res.notDone, notDone: res.notDone };
}

export const as_completed = mp.asCompleted;
export const cpu_count = mp.cpuCount;
export const current_process = mp.currentProcess;
export const active_children = mp.activeChildren;

/** Python's names for the broken-executor errors. */
export const BrokenProcessPool = mp.BrokenPoolError;
export const BrokenExecutor = mp.BrokenPoolError;

// Declaration merging: the aliases defined above, for TypeScript.
declare module './index.js' {
  interface Queue<T> {
    put_nowait(obj: T): void;
    get_nowait(): T;
    put_sync(obj: T, block?: boolean, timeout?: number | null): void;
    get_sync(block?: boolean, timeout?: number | null): T;
  }
  interface JoinableQueue<T> {
    task_done(): void;
  }
  interface Connection<T> {
    send_bytes(buf: ArrayBufferView | ArrayBuffer, offset?: number, size?: number | null): void;
    recv_bytes(maxLength?: number | null): Promise<Uint8Array>;
    recv_bytes_into(buf: ArrayBufferView | ArrayBuffer, offset?: number): Promise<number>;
  }
  interface Semaphore {
    get_value(): number;
  }
  interface Event {
    is_set(): boolean;
  }
  interface Condition {
    notify_all(): void;
    wait_for(predicate: () => unknown, timeout?: number | null): Promise<unknown>;
  }
  interface Barrier {
    readonly n_waiting: number;
  }
  interface Future<T> {
    add_done_callback(fn: (future: Future<T>) => void): void;
  }
}
