/** The Manager: a server process holding shared objects, and their proxies. Re-exports only. */
export { Manager, type ManagerOptions, type Typecode, type Address } from './manager.js';
export type { RegisterOptions } from './custom.js';
export { BaseProxy } from './proxy-base.js';
export {
  DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy, type NamespaceAttrs, type DictKey, type Op,
} from './proxies.js';
export {
  LockProxy, RLockProxy, SemaphoreProxy, BoundedSemaphoreProxy, EventProxy, ConditionProxy, BarrierProxy, QueueProxy,
  JoinableQueueProxy,
} from './sync-proxies.js';
export { KeyError, IndexError, ValueError, AttributeError } from '../../lib/base/errors.js';
