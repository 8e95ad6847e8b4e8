/** multiproc: Python's multiprocessing for TypeScript on Node.js. The public face: re-exports only. */
export { Pool, type PoolOptions } from './pool.js';
export { AsyncResult, type ResultCallbacks } from './async-result.js';
export { ResultIterator } from './result-iterator.js';
export { Process, activeChildren, type ProcessOptions } from './process.js';
export { task, isTaskRef, type Task, type TaskRef } from './task.js';
export { currentProcess, cpuCount, isMainThread, type ProcessInfo } from './context.js';
export type { Runtime } from './codec/handles.js';
export * from './errors.js';
