/**
 * Python's keyword arguments on the primitives' blocking methods: `q.get({ timeout: 100 })` is
 * `q.get(timeout=0.1)`, `sem.acquire({ block: false })` is `acquire(block=False)`. Ported code writes
 * these all the time (`res.get(timeout=1)`, `cond.wait_for(pred, timeout=...)`, `cond.notify(n=2)`),
 * and without this an options object landed in a positional slot: `acquire({ timeout })` read it as
 * `block` and waited forever. Installed on the shared prototypes, as the snake_case aliases are, so
 * an object a worker receives binds keywords too.
 */
import * as mp from '../index.js';
import { isKeywords, keywords } from './arguments.js';

/** A method's positional parameters by Python's names, and how many come before the optional ones. */
export interface Signature {
  params: readonly string[];
  /** Leading parameters a trailing object may stand in (`put(obj)`: a plain object is the item). */
  required: number;
}

const ACQUIRE = { params: ['block', 'timeout'], required: 0 } as const satisfies Signature;
const TIMEOUT = { params: ['timeout'], required: 0 } as const satisfies Signature;
const PUT = { params: ['obj', 'block', 'timeout'], required: 1 } as const satisfies Signature;
const WAIT_FOR = { params: ['predicate', 'timeout'], required: 1 } as const satisfies Signature;
const NOTIFY = { params: ['n'], required: 0 } as const satisfies Signature;
const MAXLENGTH = { params: ['maxlength'], required: 0 } as const satisfies Signature;
const BUF_OFFSET = { params: ['buf', 'offset'], required: 1 } as const satisfies Signature;

/**
 * class → method → signature: the single list from which both the runtime binding (below) and the
 * types of the keyword forms (python/keyword-types.ts) are made. A method inherited from a listed
 * base is bound once.
 */
export const KEYWORD_SIGNATURES = {
  Lock: { acquire: ACQUIRE, acquireSync: ACQUIRE },
  RLock: { acquire: ACQUIRE, acquireSync: ACQUIRE },
  Semaphore: { acquire: ACQUIRE, acquireSync: ACQUIRE },
  BoundedSemaphore: { acquire: ACQUIRE, acquireSync: ACQUIRE },
  Condition: {
    acquire: ACQUIRE, acquireSync: ACQUIRE, wait: TIMEOUT, waitSync: TIMEOUT, waitFor: WAIT_FOR, waitForSync: WAIT_FOR,
    notify: NOTIFY,
  },
  Event: { wait: TIMEOUT, waitSync: TIMEOUT },
  Barrier: { wait: TIMEOUT, waitSync: TIMEOUT },
  Queue: { put: PUT, putSync: PUT, get: ACQUIRE, getSync: ACQUIRE },
  JoinableQueue: { put: PUT, putSync: PUT, get: ACQUIRE, getSync: ACQUIRE },
  Connection: {
    poll: TIMEOUT, pollSync: TIMEOUT, recvBytes: MAXLENGTH, recvBytesSync: MAXLENGTH,
    sendBytes: { params: ['buf', 'offset', 'size'], required: 1 }, recvBytesInto: BUF_OFFSET, recvBytesIntoSync: BUF_OFFSET,
  },
  Process: { join: TIMEOUT },
  AsyncResult: { get: TIMEOUT, wait: TIMEOUT },
  ResultIterator: { next: TIMEOUT },
  Future: { result: TIMEOUT, exception: TIMEOUT },
  LockProxy: { acquire: ACQUIRE },
  RLockProxy: { acquire: ACQUIRE },
  SemaphoreProxy: { acquire: ACQUIRE },
  BoundedSemaphoreProxy: { acquire: ACQUIRE },
  EventProxy: { wait: TIMEOUT },
  ConditionProxy: { acquire: ACQUIRE, wait: TIMEOUT, waitFor: WAIT_FOR, notify: NOTIFY },
  BarrierProxy: { wait: TIMEOUT },
  QueueProxy: { put: PUT, get: ACQUIRE },
  JoinableQueueProxy: { put: PUT, get: ACQUIRE },
} as const satisfies Record<string, Record<string, Signature>>;

/** The classes {@link KEYWORD_SIGNATURES} names. */
const KEYWORD_CLASSES = {
  Lock: mp.Lock, RLock: mp.RLock, Semaphore: mp.Semaphore, BoundedSemaphore: mp.BoundedSemaphore, Condition: mp.Condition,
  Event: mp.Event, Barrier: mp.Barrier, Queue: mp.Queue, JoinableQueue: mp.JoinableQueue, Connection: mp.Connection,
  Process: mp.Process, AsyncResult: mp.AsyncResult, ResultIterator: mp.ResultIterator, Future: mp.Future,
  LockProxy: mp.LockProxy, RLockProxy: mp.RLockProxy, SemaphoreProxy: mp.SemaphoreProxy,
  BoundedSemaphoreProxy: mp.BoundedSemaphoreProxy, EventProxy: mp.EventProxy, ConditionProxy: mp.ConditionProxy,
  BarrierProxy: mp.BarrierProxy, QueueProxy: mp.QueueProxy, JoinableQueueProxy: mp.JoinableQueueProxy,
} satisfies { [K in keyof typeof KEYWORD_SIGNATURES]: { prototype: object; name: string } };

const BOUND = Symbol('multiproc.keywordsBound');

/** Replaces `proto[method]` by one that moves a trailing keywords object's values to their positions. */
function bindKeywords(proto: any, className: string, method: string, sig: Signature): void {
  const original = proto[method];
  if (typeof original !== 'function' || original[BOUND]) return;
  const what = `${className}.${method}()`;
  const bound = function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    if (args.length <= sig.required || !isKeywords(args[last])) return original.apply(this, args);
    const kw = keywords(args[last], sig.params, what);
    const positional = args.slice(0, last);
    sig.params.forEach((name, i) => {
      if (!(name in kw)) return;
      if (positional[i] !== undefined) throw new TypeError(`${what} got multiple values for argument '${name}'`);
      positional[i] = kw[name];
    });
    return original.apply(this, positional);
  };
  Object.defineProperty(bound, BOUND, { value: true });
  Object.defineProperty(bound, 'name', { value: method });
  Object.defineProperty(proto, method, { value: bound, writable: true, configurable: true });
}

for (const [name, methods] of Object.entries(KEYWORD_SIGNATURES)) {
  const cls = KEYWORD_CLASSES[name as keyof typeof KEYWORD_CLASSES];
  for (const [method, sig] of Object.entries(methods)) {
    // bind where the method is defined, so a subclass (BoundedSemaphore, JoinableQueue) shares it
    let proto: any = cls.prototype;
    while (proto && !Object.prototype.hasOwnProperty.call(proto, method)) proto = Object.getPrototypeOf(proto);
    if (proto && proto !== Object.prototype) bindKeywords(proto, cls.name, method, sig);
  }
}
