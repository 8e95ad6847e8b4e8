/** Python's `concurrent.futures`: the executors' positional parameters and `shutdown`, and `wait`. */
import * as mp from '../index.js';
import type { Task } from '../index.js';
import { either, isKeywords, keywords, splitPositional } from './arguments.js';

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
  const get = (snake: string, camel: string) => {
    // `initializer` and `initargs` have one spelling: a keyword given once is not "multiple values"
    const keyword = snake === camel ? kw[snake] ?? undefined : either(kw[snake] ?? undefined, kw[camel] ?? undefined, snake, what);
    return either(positional[snake] ?? undefined, keyword, snake, what);
  };
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

  /** Python 3.14's `terminate_workers()`. */
  terminate_workers(): Promise<void> {
    return this.terminateWorkers();
  }

  /** Python 3.14's `kill_workers()`. */
  kill_workers(): Promise<void> {
    return this.killWorkers();
  }
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
