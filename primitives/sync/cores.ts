/** Every sync core class by name, for the broker thread to rebuild a core from its shared memory. */
export { LockCore, RLockCore } from './lock-core.js';
export { SemaphoreCore } from './semaphore-core.js';
export { EventCore } from './event-core.js';
export { ConditionCore } from './condition-core.js';
export { BarrierCore } from './barrier-core.js';
