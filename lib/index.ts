/** multiproc: Python's multiprocessing for TypeScript on Node.js. The public face: re-exports only. */
export { Pool, type PoolOptions, type MapOptions, type ApplyOptions, type MapAsyncOptions, type PoolStats, type TimeSummary } from './pool.js';
export { BasePool } from './pool-base.js';
export { AsyncResult, type ResultCallbacks } from './async-result.js';
export { ResultIterator } from './result-iterator.js';
export { Process, activeChildren, type ProcessOptions } from './process.js';
export { setSpareWorkers } from './process-start.js';
export { task, isTaskRef, type Task, type TaskRef } from './base/task.js';
export { move } from './base/move.js';
export type { Timeout, TimeoutKeywords } from './base/timeout.js';
export { currentProcess, cpuCount, isMainThread, type ProcessInfo } from './base/context.js';
export { parentProcess, type ParentProcessInfo } from './base/context.js';
export {
  Executor, ThreadPoolExecutor, ProcessPoolExecutor,
  type ExecutorMapOptions, type ExecutorOptions, type ThreadPoolExecutorOptions, type ProcessPoolExecutorOptions,
  type ShutdownOptions, type RunOptions,
} from './executor.js';
export {
  Future, InvalidStateError, wait, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED,
  type ReturnWhen, type WaitOptions, type DoneAndNotDone,
} from './futures.js';
export type { Runtime, HandleSource, HandleDescriptor } from './base/codec/handles.js';
export * from './base/errors.js';
export * from '../primitives/index.js';
/** Python's multiprocessing.connection: `connection.wait`, `connection.Listener`, `connection.Client`. */
export * as connection from '../primitives/connection-api.js';
export { ProcessSentinel } from './process.js';
// The cluster Pool lives behind 'multiproc/cluster' only: its types name bullmq and ioredis (optional peers a
// TypeScript consumer may not have installed) and its code is not needed by a local program.
