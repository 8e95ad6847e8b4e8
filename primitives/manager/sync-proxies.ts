/**
 * The Manager's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier, Queue and
 * JoinableQueue, each declared once (the server side is the primitives' own cores, adapted in
 * hosted.ts, built as hosting.ts says): the primitives' method names, every one async. Timeouts are in milliseconds
 * (undefined/null: forever; negative: 0). A lock whose holder disconnects or dies is released by
 * the server, and the next waiter proceeds.
 */
import { BaseProxy, call } from './proxy-base.js';
import { declareType, type Exposure } from './declare.js';

/** acquire/release/locked/hold, shared by the lock-like proxies. */
interface AcquirerProxy extends BaseProxy {
  /** Resolves true once acquired; false if `block` is false or `timeout` ms passed first. */
  acquire(block?: boolean, timeout?: number | null): Promise<boolean>;
  /** LockStateError if not held (RLock: not held by this thread). */
  release(): Promise<void>;
  locked(): Promise<boolean>;
  /** `await using _ = await lock.hold()`: acquires now, releases at the end of the block. */
  hold(): Promise<AsyncDisposable>;
}

abstract class AcquirerBase extends BaseProxy {
  async hold(): Promise<AsyncDisposable> {
    await call(this, 'acquire', []);
    return { [Symbol.asyncDispose]: () => call(this, 'release', []) };
  }
}

const ACQUIRER = { acquire: 'call', release: 'call', locked: 'call' } as const satisfies Record<string, Exposure>;

/** threading.Lock on the manager: any client may release it, as in Python. */
export interface LockProxy extends AcquirerProxy {}
export const LockProxy = declareType<LockProxy, AcquirerBase>({
  typeid: 'Lock', base: AcquirerBase, exposed: ACQUIRER,
});

/** threading.RLock on the manager: re-entrant per client thread. */
export interface RLockProxy extends AcquirerProxy {}
export const RLockProxy = declareType<RLockProxy, AcquirerBase>({
  typeid: 'RLock', base: AcquirerBase, exposed: ACQUIRER,
});

export interface SemaphoreProxy extends AcquirerProxy {
  /** Releases `n` (default 1); a BoundedSemaphore past its initial value rejects LockStateError. */
  release(n?: number): Promise<void>;
  getValue(): Promise<number>;
}
const SEMAPHORE = { ...ACQUIRER, getValue: 'call' } as const;
export const SemaphoreProxy = declareType<SemaphoreProxy, AcquirerBase>({
  typeid: 'Semaphore', base: AcquirerBase, exposed: SEMAPHORE,
});

export interface BoundedSemaphoreProxy extends SemaphoreProxy {}
export const BoundedSemaphoreProxy = declareType<BoundedSemaphoreProxy, SemaphoreProxy>({
  typeid: 'BoundedSemaphore',
  base: SemaphoreProxy,
  exposed: SEMAPHORE,
});

export interface EventProxy extends BaseProxy {
  set(): Promise<void>;
  clear(): Promise<void>;
  isSet(): Promise<boolean>;
  /** Resolves the flag: true once set, false if `timeout` ms passed first. */
  wait(timeout?: number | null): Promise<boolean>;
}
export const EventProxy = declareType<EventProxy>({
  typeid: 'Event', exposed: { set: 'call', clear: 'call', isSet: 'call', wait: 'call' },
});

export interface ConditionProxy extends AcquirerProxy {
  /** Releases the lock, waits for notify (true) or the timeout (false), re-acquires. */
  wait(timeout?: number | null): Promise<boolean>;
  /**
   * Waits until `predicate()` is truthy (evaluated here, in the caller, as Python's proxy does),
   * re-checking after each notify; resolves its last value (falsy if `timeout` ms passed).
   */
  waitFor<R>(predicate: () => R | Promise<R>, timeout?: number | null): Promise<R>;
  notify(n?: number): Promise<void>;
  notifyAll(): Promise<void>;
}

abstract class ConditionBase extends AcquirerBase {
  async waitFor<R>(predicate: () => R | Promise<R>, timeout?: number | null): Promise<R> {
    let result = await predicate();
    const deadline = timeout === undefined || timeout === null ? undefined : Date.now() + Math.max(0, timeout);
    while (!result) {
      let wait: number | undefined;
      if (deadline !== undefined) {
        wait = deadline - Date.now();
        if (wait <= 0) break;
      }
      await call(this, 'wait', [wait]);
      result = await predicate();
    }
    return result;
  }
}

export const ConditionProxy = declareType<ConditionProxy, ConditionBase>({
  typeid: 'Condition',
  base: ConditionBase,
  exposed: { ...ACQUIRER, wait: 'call', notify: 'call', notifyAll: 'call' },
});

export interface BarrierProxy extends BaseProxy {
  /** Resolves this party's arrival index (0 ... parties-1); BrokenBarrierError if broken, reset or timed out. */
  wait(timeout?: number | null): Promise<number>;
  abort(): Promise<void>;
  reset(): Promise<void>;
  /** `await b.parties`. */
  readonly parties: Promise<number>;
  readonly nWaiting: Promise<number>;
  readonly broken: Promise<boolean>;
}
export const BarrierProxy = declareType<BarrierProxy>({
  typeid: 'Barrier',
  exposed: { wait: 'call', abort: 'call', reset: 'call', parties: 'getter', nWaiting: 'getter', broken: 'getter' },
});

/** queue.Queue on the manager. */
export interface QueueProxy<T = any> extends BaseProxy {
  /** Resolves once the item is in the queue; Full if `block` is false or `timeout` ms passed first. */
  put(item: T, block?: boolean, timeout?: number | null): Promise<void>;
  /** Resolves the next item; Empty if `block` is false or `timeout` ms passed first. */
  get(block?: boolean, timeout?: number | null): Promise<T>;
  putNowait(item: T): Promise<void>;
  getNowait(): Promise<T>;
  qsize(): Promise<number>;
  empty(): Promise<boolean>;
  full(): Promise<boolean>;
}
const QUEUE = {
  put: 'itemIn', get: 'itemOut', putNowait: 'itemIn', getNowait: 'itemOut', qsize: 'call', empty: 'call', full: 'call',
} as const;
export const QueueProxy = declareType<QueueProxy>({
  typeid: 'Queue', exposed: QUEUE,
});

export interface JoinableQueueProxy<T = any> extends QueueProxy<T> {
  /** ValueError if called more times than items were put. */
  taskDone(): Promise<void>;
  /** Resolves once every item put has been marked done. */
  join(): Promise<void>;
}
export const JoinableQueueProxy = declareType<JoinableQueueProxy, QueueProxy>({
  typeid: 'JoinableQueue',
  base: QueueProxy,
  exposed: { ...QUEUE, taskDone: 'call', join: 'call' },
});
