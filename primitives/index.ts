/** The IPC primitives and the Manager: re-exports only. Each concept lives in its own module. */
export { Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier, type LockGuard } from './synchronize.js';
export {
  Value, Array, RawValue, RawArray, SharedValue, RawSharedValue,
  type SharedArray, type Typecode, type ValueOf, type SharedOptions,
} from './sharedctypes.js';
export { Pipe, Connection } from './connection.js';
export { BufferTooShort, KeyError, IndexError, ValueError, AttributeError } from '../lib/base/errors.js';
export { Queue, JoinableQueue, SimpleQueue } from './queues.js';
export {
  Manager, BaseProxy, DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy,
  LockProxy, RLockProxy, SemaphoreProxy, BoundedSemaphoreProxy, EventProxy, ConditionProxy, BarrierProxy,
  QueueProxy, JoinableQueueProxy,
  type ManagerOptions, type RegisterOptions, type Address, type NamespaceAttrs, type DictKey, type Op,
} from './manager/index.js';
