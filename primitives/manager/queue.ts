/**
 * The server-side Queue and JoinableQueue (Python's queue.Queue, which a Manager hosts). An item
 * put while a getter waits goes straight to that getter. A client that goes away has its waiting
 * gets dropped before they take anything, so no item is handed to a dead client.
 */
import { Empty, Full } from '../../lib/base/errors.js';
import { callerOwner } from './identity.js';
import type { Holder } from './holder.js';
import { ValueError } from './errors.js';
import { timeoutArg, WaitQueue } from './waiters.js';

/** O(1) push/shift, iterable (the sweep looks inside queued items for proxy references). */
class Fifo {
  private a: unknown[] = [];
  private head = 0;
  get length(): number {
    return this.a.length - this.head;
  }
  push(v: unknown): void {
    this.a.push(v);
  }
  shift(): unknown {
    const v = this.a[this.head];
    this.a[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.a.length) {
      this.a = this.a.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  *[Symbol.iterator](): Iterator<unknown> {
    for (let i = this.head; i < this.a.length; i++) yield this.a[i];
  }
}

export class QueueHolder implements Holder {
  readonly kind: string;
  private readonly maxsize: number;
  private readonly items = new Fifo();
  private readonly getters = new WaitQueue<unknown>();
  /** Blocked puts; each carries its item in `data`. */
  private readonly putters = new WaitQueue<void>();
  private unfinished = 0;
  private readonly joiners = new WaitQueue<void>();

  constructor(maxsize: unknown = 0, joinable = false) {
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) throw new TypeError(`maxsize must be an integer, got ${typeof maxsize}`);
    this.maxsize = maxsize <= 0 ? Infinity : maxsize;
    this.kind = joinable ? 'JoinableQueue' : 'Queue';
  }

  contents(): Iterable<unknown> {
    return this.items;
  }

  put(item: unknown, block: unknown = true, timeout?: unknown): void | Promise<void> {
    if (this.getters.length > 0 || this.items.length < this.maxsize) {
      this.accept(item);
      return;
    }
    const ms = timeoutArg(timeout);
    if (block === false || ms === 0) throw new Full();
    return this.putters.wait(callerOwner(), ms, () => {
      throw new Full();
    }, item);
  }
  putNowait(item: unknown): void | Promise<void> {
    return this.put(item, false);
  }
  get(block: unknown = true, timeout?: unknown): unknown {
    if (this.items.length > 0) {
      const item = this.items.shift();
      this.admitPutter();
      return item;
    }
    const ms = timeoutArg(timeout);
    if (block === false || ms === 0) throw new Empty();
    return this.getters.wait(callerOwner(), ms, () => {
      throw new Empty();
    });
  }
  getNowait(): unknown {
    return this.get(false);
  }
  qsize(): number {
    return this.items.length;
  }
  empty(): boolean {
    return this.items.length === 0;
  }
  full(): boolean {
    return this.items.length >= this.maxsize;
  }
  taskDone(): void {
    if (this.unfinished <= 0) throw new ValueError('task_done() called too many times');
    if (--this.unfinished === 0) for (const j of this.joiners.drain()) j.resolve();
  }
  join(): void | Promise<void> {
    if (this.unfinished === 0) return;
    return this.joiners.wait(callerOwner(), undefined, () => undefined);
  }

  /** An item enters the queue: to a waiting getter if there is one. */
  private accept(item: unknown): void {
    this.unfinished++;
    const getter = this.getters.shift();
    if (getter) getter.resolve(item);
    else this.items.push(item);
  }
  /** Room was made: the first blocked put gets in. */
  private admitPutter(): void {
    const putter = this.putters.shift();
    if (!putter) return;
    this.accept(putter.data);
    putter.resolve();
  }

  abandon(owner: string): void {
    this.getters.cancel(owner);
    this.putters.cancel(owner);
    this.joiners.cancel(owner);
  }
  dispose(): void {
    this.getters.dispose();
    this.putters.dispose();
    this.joiners.dispose();
  }
}
