/**
 * The Manager's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier, Queue and
 * JoinableQueue are the very cores the primitives use (primitives/sync/, primitives/channel/), living in the manager
 * process's memory, as CPython's SyncManager registers `threading.Lock` itself behind a proxy. Each
 * class here only adapts a core to calls from the wire: it checks the arguments (they come from a
 * client), and passes the calling client's identity as the owner, so ownership (RLock, Condition)
 * and the end of a client (abandon) work exactly as for a process worker served by a broker.
 *
 * What clients may call is declared with each type (proxies.ts, sync-proxies.ts): the server's
 * adapter exposes only those names, so `abandon` stays the server's own.
 */
import { currentClient } from '../transport/server.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { Empty, Full, ValueError } from '../../lib/base/errors.js';
import { normalizeTimeout } from '../../lib/base/timeout.js';
import { BarrierCore } from '../sync/barrier-core.js';
import { ConditionCore } from '../sync/condition-core.js';
import { EventCore } from '../sync/event-core.js';
import { LockCore, RLockCore } from '../sync/lock-core.js';
import { SemaphoreCore } from '../sync/semaphore-core.js';
import { QueueCore } from '../channel/queue-core.js';
import type { LockCoreApi } from '../sync/lock-core.js';
import { conditionNotify, conditionWait, notifyCount } from '../sync/condition.js';
import { barrierWait } from '../sync/barrier.js';
import type { Encoded } from '../../lib/base/codec/message.js';

/** The calling client's owner id, given by the server per connection (valid in the synchronous part of a call). */
function caller(): string {
  return currentClient()?.owner ?? LOCAL_OWNER;
}

/** A timeout from the wire: undefined/null = forever, negative = 0, anything but a number: TypeError. */
function ms(timeout: unknown): number | undefined {
  return normalizeTimeout(timeout as number | null | undefined);
}

function count(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${typeof v}`);
  if (v < min) throw new RangeError(`${what} must be >= ${min}, got ${v}`);
  return v;
}

function isFrame(v: unknown): v is Encoded {
  return typeof v === 'number' || (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && v[1] instanceof Uint8Array);
}

/** What every hosted core shares: the core, and abandon (a client gone: its holds and waits end). */
abstract class Hosted<C extends { abandon(owner: string, died?: boolean): void }> {
  /** @internal */
  readonly core: C;
  constructor(core: C) {
    this.core = core;
  }
  abandon(owner: string, died?: boolean): void {
    this.core.abandon(owner, died);
  }
}

/**
 * Python's truthy `block`; but an object there is a ported keywords call (`acquire({ timeout: 10 })`) whose
 * timeout would be lost, and the wait would never end: refused, naming it.
 */
function waits(block: unknown): boolean {
  if (typeof block === 'object' && block !== null) throw new TypeError('block must be a boolean, got object');
  return block !== false;
}

/** threading.Lock / RLock: any client may release a Lock; an RLock only its owner. */
export class HostedLock extends Hosted<LockCoreApi & { abandon(owner: string, died?: boolean): void }> {
  constructor(kind: 'Lock' | 'RLock') {
    super(kind === 'Lock' ? new LockCore() : new RLockCore());
  }
  acquire(block: unknown = true, timeout?: unknown): boolean | Promise<boolean> {
    const wait = waits(block);
    return this.core.acquire(wait, wait ? ms(timeout) : undefined, caller());
  }
  release(): void {
    this.core.release(caller());
  }
  locked(): boolean {
    return this.core.locked();
  }
}

/** threading.Semaphore / BoundedSemaphore. */
export class HostedSemaphore extends Hosted<SemaphoreCore> {
  constructor(kind: 'Semaphore' | 'BoundedSemaphore', value: unknown = 1) {
    const v = count(value, 'semaphore initial value', 0);
    super(new SemaphoreCore({ value: v, bound: kind === 'BoundedSemaphore' ? v : -1 }));
  }
  acquire(block: unknown = true, timeout?: unknown): Promise<boolean> {
    const wait = waits(block);
    return this.core.acquire(wait, wait ? ms(timeout) : undefined, caller());
  }
  /** Python 3.9's release(n). */
  release(n: unknown = 1): void {
    const times = count(n, 'n', 1);
    for (let i = 0; i < times; i++) this.core.release();
  }
  getValue(): number {
    return this.core.getValue();
  }
  locked(): boolean {
    return this.core.getValue() === 0;
  }
}

/** threading.Event. */
export class HostedEvent extends Hosted<EventCore> {
  constructor() {
    super(new EventCore());
  }
  set(): void {
    this.core.set();
  }
  clear(): void {
    this.core.clear();
  }
  isSet(): boolean {
    return this.core.isSet();
  }
  wait(timeout?: unknown): Promise<boolean> {
    return this.core.wait(ms(timeout), caller());
  }
}

/** threading.Condition over a Lock or RLock of the same manager (default: a new RLock). */
export class HostedCondition extends Hosted<ConditionCore> {
  readonly #lock: HostedLock;
  constructor(lock?: HostedLock) {
    super(new ConditionCore());
    this.#lock = lock ?? new HostedLock('RLock');
  }
  acquire(block: unknown = true, timeout?: unknown): boolean | Promise<boolean> {
    return this.#lock.acquire(block, timeout);
  }
  release(): void {
    this.#lock.release();
  }
  locked(): boolean {
    return this.#lock.locked();
  }
  wait(timeout?: unknown): Promise<boolean> {
    return conditionWait(this.#lock.core, this.core, caller(), ms(timeout));
  }
  notify(n: unknown = 1): void {
    conditionNotify(this.#lock.core, this.core, caller(), notifyCount(n));
  }
  notifyAll(): void {
    conditionNotify(this.#lock.core, this.core, caller(), -1);
  }
  override abandon(owner: string, died?: boolean): void {
    super.abandon(owner, died);
    this.#lock.core.abandon(owner, died);
  }
}

/** threading.Barrier (no action: functions cannot be sent to the server). */
export class HostedBarrier extends Hosted<BarrierCore> {
  readonly #parties: number;
  readonly #timeout: number | undefined;
  constructor(parties: unknown, timeout?: unknown) {
    const n = count(parties, 'parties', 1);
    super(new BarrierCore(n));
    this.#parties = n;
    this.#timeout = ms(timeout);
  }
  wait(timeout?: unknown): Promise<number> {
    return barrierWait(this.core, this.#parties, caller(), timeout === undefined || timeout === null ? this.#timeout : ms(timeout), null);
  }
  abort(): void {
    this.core.abort();
  }
  reset(): void {
    this.core.reset();
  }
  parties(): number {
    return this.#parties;
  }
  nWaiting(): number {
    return this.core.nWaiting();
  }
  broken(): boolean {
    return this.core.broken();
  }
}

/**
 * queue.Queue / JoinableQueue: items arrive already encoded by the proxy (the message codec), so
 * the server stores bytes and never decodes a user's value.
 */
export class HostedQueue extends Hosted<QueueCore> {
  constructor(kind: 'Queue' | 'JoinableQueue', maxsize: unknown = 0) {
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) throw new TypeError(`maxsize must be an integer, got ${typeof maxsize}`);
    super(QueueCore.create(maxsize, kind === 'JoinableQueue'));
  }
  async put(msg: unknown, block: unknown = true, timeout?: unknown): Promise<void> {
    if (!isFrame(msg)) throw new TypeError('put: malformed item');
    const wait = waits(block);
    if (!(await this.core.put(msg, wait, wait ? ms(timeout) : undefined, caller()))) throw new Full();
  }
  putNowait(msg: unknown): void {
    if (!isFrame(msg)) throw new TypeError('putNowait: malformed item');
    if (!this.core.putNowait(msg)) throw new Full();
  }
  async get(block: unknown = true, timeout?: unknown): Promise<Encoded> {
    const wait = waits(block);
    const frame = await this.core.get(wait, wait ? ms(timeout) : undefined, caller());
    if (frame === null) throw new Empty();
    return frame;
  }
  getNowait(): Encoded {
    const frame = this.core.getNowait();
    if (frame === null) throw new Empty();
    return frame;
  }
  qsize(): number {
    return this.core.qsize();
  }
  empty(): boolean {
    return this.core.empty();
  }
  full(): boolean {
    return this.core.full();
  }
  taskDone(): void {
    if (!this.core.taskDone()) throw new ValueError('task_done() called too many times');
  }
  join(): Promise<void> {
    return this.core.join(caller());
  }
}
