/**
 * The synchronization primitives (Python's multiprocessing.synchronize): Lock, RLock, Semaphore,
 * BoundedSemaphore, Event, Condition, Barrier. Each works the same in the main thread, in worker
 * threads (shared memory) and in worker processes (through the creating process's broker).
 */
export { Lock, RLock, Semaphore, BoundedSemaphore, Event } from './sync/locks.js';
export { Condition } from './sync/condition.js';
export { Barrier } from './sync/barrier.js';
export type { LockGuard } from './sync/guard.js';
