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
interface Signature {
  params: readonly string[];
  /** Leading parameters a trailing object may stand in (`put(obj)`: a plain object is the item). */
  required: number;
}

const ACQUIRE: Signature = { params: ['block', 'timeout'], required: 0 };
const TIMEOUT: Signature = { params: ['timeout'], required: 0 };
const PUT: Signature = { params: ['obj', 'block', 'timeout'], required: 1 };
const WAIT_FOR: Signature = { params: ['predicate', 'timeout'], required: 1 };
const NOTIFY: Signature = { params: ['n'], required: 0 };

/** class → method → signature; a method inherited from a listed base is bound once. */
const SIGNATURES: [{ prototype: object; name: string }, Record<string, Signature>][] = [
  [mp.Lock, { acquire: ACQUIRE, acquireSync: ACQUIRE }],
  [mp.RLock, { acquire: ACQUIRE, acquireSync: ACQUIRE }],
  [mp.Semaphore, { acquire: ACQUIRE, acquireSync: ACQUIRE }],
  [mp.Condition, {
    acquire: ACQUIRE, acquireSync: ACQUIRE, wait: TIMEOUT, waitSync: TIMEOUT, waitFor: WAIT_FOR, waitForSync: WAIT_FOR,
    notify: NOTIFY,
  }],
  [mp.Event, { wait: TIMEOUT, waitSync: TIMEOUT }],
  [mp.Barrier, { wait: TIMEOUT, waitSync: TIMEOUT }],
  [mp.BoundedSemaphore, { acquire: ACQUIRE, acquireSync: ACQUIRE }],
  [mp.Queue, { put: PUT, putSync: PUT, get: ACQUIRE, getSync: ACQUIRE }],
  [mp.JoinableQueue, { put: PUT, putSync: PUT, get: ACQUIRE, getSync: ACQUIRE }],
  [mp.Connection, {
    poll: TIMEOUT, pollSync: TIMEOUT,
    recvBytes: { params: ['maxlength'], required: 0 }, recvBytesSync: { params: ['maxlength'], required: 0 },
    sendBytes: { params: ['buf', 'offset', 'size'], required: 1 },
    recvBytesInto: { params: ['buf', 'offset'], required: 1 }, recvBytesIntoSync: { params: ['buf', 'offset'], required: 1 },
  }],
  [mp.Process, { join: TIMEOUT }],
  [mp.AsyncResult, { get: TIMEOUT, wait: TIMEOUT }],
  [mp.ResultIterator, { next: TIMEOUT }],
  [mp.Future, { result: TIMEOUT, exception: TIMEOUT }],
  [mp.LockProxy, { acquire: ACQUIRE }],
  [mp.RLockProxy, { acquire: ACQUIRE }],
  [mp.SemaphoreProxy, { acquire: ACQUIRE }],
  [mp.BoundedSemaphoreProxy, { acquire: ACQUIRE }],
  [mp.EventProxy, { wait: TIMEOUT }],
  [mp.ConditionProxy, { acquire: ACQUIRE, wait: TIMEOUT, waitFor: WAIT_FOR, notify: NOTIFY }],
  [mp.BarrierProxy, { wait: TIMEOUT }],
  [mp.QueueProxy, { put: PUT, get: ACQUIRE }],
  [mp.JoinableQueueProxy, { put: PUT, get: ACQUIRE }],
];

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

for (const [cls, methods] of SIGNATURES) {
  for (const [method, sig] of Object.entries(methods)) {
    // bind where the method is defined, so a subclass (BoundedSemaphore, JoinableQueue) shares it
    let proto: any = cls.prototype;
    while (proto && !Object.prototype.hasOwnProperty.call(proto, method)) proto = Object.getPrototypeOf(proto);
    if (proto && proto !== Object.prototype) bindKeywords(proto, cls.name, method, sig);
  }
}
