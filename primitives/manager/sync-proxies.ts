/**
 * Proxies of the Manager's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier,
 * Queue and JoinableQueue: the SPEC primitives' method names, every one async. Timeouts are in
 * milliseconds (undefined/null: forever; negative: 0). A lock whose holder disconnects or dies is
 * released by the server, and the next waiter proceeds.
 */
import { BaseProxy, call, decodeItem, encodeItem, registerProxyKind } from './proxy-base.js';
import type { Encoded } from '../../lib/base/codec/message.js';

/** Runs `fn`, turning a synchronous throw (an item that cannot be encoded) into a rejection. */
function rejecting<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** acquire/release/locked/hold, shared by the lock-like proxies. */
abstract class AcquirerProxy extends BaseProxy {
  /** Resolves true once acquired; false if `block` is false or `timeout` ms passed first. */
  acquire(block = true, timeout?: number | null): Promise<boolean> {
    return call(this, 'acquire', [block, timeout ?? undefined]);
  }
  /** LockStateError if not held (RLock: not held by this thread). */
  release(): Promise<void> {
    return call(this, 'release', []);
  }
  locked(): Promise<boolean> {
    return call(this, 'locked', []);
  }
  /** `await using _ = await lock.hold()`: acquires now, releases at the end of the block. */
  async hold(): Promise<AsyncDisposable> {
    await this.acquire();
    return { [Symbol.asyncDispose]: () => this.release() };
  }
}

/** threading.Lock on the manager: any client may release it, as in Python. */
export class LockProxy extends AcquirerProxy {
  static override readonly kind = 'Lock';
}

/** threading.RLock on the manager: re-entrant per client thread. */
export class RLockProxy extends AcquirerProxy {
  static override readonly kind = 'RLock';
}

export class SemaphoreProxy extends AcquirerProxy {
  static override readonly kind: string = 'Semaphore';
  /** Releases `n` (default 1); a BoundedSemaphore past its initial value rejects LockStateError. */
  override release(n = 1): Promise<void> {
    return call(this, 'release', n === 1 ? [] : [n]);
  }
  getValue(): Promise<number> {
    return call(this, 'getValue', []);
  }
}

export class BoundedSemaphoreProxy extends SemaphoreProxy {
  static override readonly kind = 'BoundedSemaphore';
}

export class EventProxy extends BaseProxy {
  static override readonly kind = 'Event';
  set(): Promise<void> {
    return call(this, 'set', []);
  }
  clear(): Promise<void> {
    return call(this, 'clear', []);
  }
  isSet(): Promise<boolean> {
    return call(this, 'isSet', []);
  }
  /** Resolves the flag: true once set, false if `timeout` ms passed first. */
  wait(timeout?: number | null): Promise<boolean> {
    return call(this, 'wait', timeout === undefined || timeout === null ? [] : [timeout]);
  }
}

export class ConditionProxy extends AcquirerProxy {
  static override readonly kind = 'Condition';
  /** Releases the lock, waits for notify (true) or the timeout (false), re-acquires. */
  wait(timeout?: number | null): Promise<boolean> {
    return call(this, 'wait', timeout === undefined || timeout === null ? [] : [timeout]);
  }
  /**
   * Waits until `predicate()` is truthy (evaluated here, in the caller, as Python's proxy does),
   * re-checking after each notify; resolves its last value (falsy if `timeout` ms passed).
   */
  async waitFor<R>(predicate: () => R | Promise<R>, timeout?: number | null): Promise<R> {
    let result = await predicate();
    const deadline = timeout === undefined || timeout === null ? undefined : Date.now() + Math.max(0, timeout);
    while (!result) {
      let wait: number | undefined;
      if (deadline !== undefined) {
        wait = deadline - Date.now();
        if (wait <= 0) break;
      }
      await this.wait(wait);
      result = await predicate();
    }
    return result;
  }
  notify(n = 1): Promise<void> {
    return call(this, 'notify', [n]);
  }
  notifyAll(): Promise<void> {
    return call(this, 'notifyAll', []);
  }
}

export class BarrierProxy extends BaseProxy {
  static override readonly kind = 'Barrier';
  /** Resolves this party's arrival index (0 ... parties-1); BrokenBarrierError if broken, reset or timed out. */
  wait(timeout?: number | null): Promise<number> {
    return call(this, 'wait', timeout === undefined || timeout === null ? [] : [timeout]);
  }
  abort(): Promise<void> {
    return call(this, 'abort', []);
  }
  reset(): Promise<void> {
    return call(this, 'reset', []);
  }
  /** `await b.parties`. */
  get parties(): Promise<number> {
    return call(this, 'parties', []);
  }
  get nWaiting(): Promise<number> {
    return call(this, 'nWaiting', []);
  }
  get broken(): Promise<boolean> {
    return call(this, 'broken', []);
  }
}

/** queue.Queue on the manager. */
export class QueueProxy<T = any> extends BaseProxy {
  static override readonly kind: string = 'Queue';
  /** Resolves once the item is in the queue; Full if `block` is false or `timeout` ms passed first. */
  put(item: T, block = true, timeout?: number | null): Promise<void> {
    return rejecting(() => call(this, 'put', [encodeItem(this, item), block, timeout ?? undefined]));
  }
  /** Resolves the next item; Empty if `block` is false or `timeout` ms passed first. */
  get(block = true, timeout?: number | null): Promise<T> {
    return call<Encoded>(this, 'get', [block, timeout ?? undefined]).then((frame) => decodeItem(this, frame) as T);
  }
  putNowait(item: T): Promise<void> {
    return rejecting(() => call(this, 'putNowait', [encodeItem(this, item)]));
  }
  getNowait(): Promise<T> {
    return call<Encoded>(this, 'getNowait', []).then((frame) => decodeItem(this, frame) as T);
  }
  qsize(): Promise<number> {
    return call(this, 'qsize', []);
  }
  empty(): Promise<boolean> {
    return call(this, 'empty', []);
  }
  full(): Promise<boolean> {
    return call(this, 'full', []);
  }
}

export class JoinableQueueProxy<T = any> extends QueueProxy<T> {
  static override readonly kind = 'JoinableQueue';
  /** ValueError if called more times than items were put. */
  taskDone(): Promise<void> {
    return call(this, 'taskDone', []);
  }
  /** Resolves once every item put has been marked done. */
  join(): Promise<void> {
    return call(this, 'join', []);
  }
}

for (const C of [LockProxy, RLockProxy, SemaphoreProxy, BoundedSemaphoreProxy, EventProxy, ConditionProxy, BarrierProxy, QueueProxy, JoinableQueueProxy]) {
  registerProxyKind(C.kind, C as any);
}
