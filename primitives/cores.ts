/**
 * Every core class by name. A core is the whole state of a primitive, in shared memory; a worker
 * thread rebuilds one with `new Cores[name](memory)`, and so does the broker thread that serves
 * process workers (see reduction.ts).
 */
export { LockCore, RLockCore } from './sync/lock-core.js';
export { SemaphoreCore } from './sync/semaphore-core.js';
export { EventCore } from './sync/event-core.js';
export { ConditionCore } from './sync/condition-core.js';
export { BarrierCore } from './sync/barrier-core.js';
export { PipeEndCore } from './channel/pipe-core.js';
export { QueueCore } from './channel/queue-core.js';
export { CtypeCore } from './sharedctypes-core.js';
