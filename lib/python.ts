/**
 * multiproc/python: the same classes under Python's names, so ported code reads the same. The public
 * face: re-exports only.
 *
 * Two rules. **Names**: snake_case aliases of every method, made from one list (python/names.ts).
 * **Calls**: positional arguments mean what they mean in CPython's signatures (`executor.shutdown(false)`
 * is `wait=False`), and Python's keyword arguments are a trailing options object
 * (`shutdown(true, { cancel_futures: true })`). Classes whose call shapes differ get a thin subclass
 * that translates (python/pool.ts, process.ts, futures.ts). Timeouts stay in milliseconds.
 */
export * from './index.js';
export * from './python/names.js';
export { Array, Pipe } from './python/names.js'; // over the root's Array: this one also answers get_lock/get_obj
export { Pool, type PyPoolOptions, type PyCallbacks, type PyMapOptions, type PyMapKeywords, type PyApplyKeywords, type PyAsyncMapKeywords } from './python/pool.js';
// the root's classes, typed with Python's keyword forms (`q.get({ timeout })`, `lock.acquire({ block: false })`)
export {
  Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Queue, JoinableQueue, Manager,
  type LockProxy, type RLockProxy, type SemaphoreProxy, type BoundedSemaphoreProxy, type EventProxy, type ConditionProxy,
  type BarrierProxy, type QueueProxy, type JoinableQueueProxy,
} from './python/primitives.js';
export { get_logger, log_to_stderr, logging, SUBDEBUG, SUBWARNING, MultiprocessingLogger } from './python/logging.js';
export { Process, type PyProcessKeywords, type PyProcessOptions } from './python/process.js';
export {
  ThreadPoolExecutor, ProcessPoolExecutor, wait,
  type PyExecutorOptions, type PyShutdownKeywords, type DoneAndNotDoneFutures,
} from './python/futures.js';
// The Python-named cluster Pool is 'multiproc/python/cluster' (its types name the optional bullmq and ioredis).
export {
  set_start_method, get_start_method, get_all_start_methods, get_context, freeze_support, type StartMethod, type Context,
} from './python/context.js';
