/**
 * The synchronisation primitives, queues and Manager under the Python face: the root's classes
 * (the same objects at run time: `instanceof` holds across both faces), typed with Python's keyword
 * forms, `lock.acquire({ timeout: 100 })`, `q.put(x, { block: false })`, `ev.wait({ timeout })`.
 */
import * as mp from '../index.js';
import type { KeywordClass, WithKeywords } from './keyword-types.js';
// the runtime binding of the keyword forms these types describe
import './keywords.js';

export type Lock = WithKeywords<mp.Lock, 'Lock'>;
export const Lock = mp.Lock as KeywordClass<typeof mp.Lock, Lock>;
export type RLock = WithKeywords<mp.RLock, 'RLock'>;
export const RLock = mp.RLock as KeywordClass<typeof mp.RLock, RLock>;
export type Semaphore = WithKeywords<mp.Semaphore, 'Semaphore'>;
export const Semaphore = mp.Semaphore as KeywordClass<typeof mp.Semaphore, Semaphore>;
export type BoundedSemaphore = WithKeywords<mp.BoundedSemaphore, 'BoundedSemaphore'>;
export const BoundedSemaphore = mp.BoundedSemaphore as KeywordClass<typeof mp.BoundedSemaphore, BoundedSemaphore>;
export type Condition = WithKeywords<mp.Condition, 'Condition'>;
export const Condition = mp.Condition as KeywordClass<typeof mp.Condition, Condition>;
export type Event = WithKeywords<mp.Event, 'Event'>;
export const Event = mp.Event as KeywordClass<typeof mp.Event, Event>;
export type Barrier = WithKeywords<mp.Barrier, 'Barrier'>;
export const Barrier = mp.Barrier as KeywordClass<typeof mp.Barrier, Barrier>;

export type Queue<T = any> = WithKeywords<mp.Queue<T>, 'Queue'>;
export const Queue = mp.Queue as unknown as {
  new <T = any>(...args: ConstructorParameters<typeof mp.Queue>): Queue<T>;
  prototype: Queue<any>;
};
export type JoinableQueue<T = any> = WithKeywords<mp.JoinableQueue<T>, 'JoinableQueue'>;
export const JoinableQueue = mp.JoinableQueue as unknown as {
  new <T = any>(...args: ConstructorParameters<typeof mp.JoinableQueue>): JoinableQueue<T>;
  prototype: JoinableQueue<any>;
};

export type LockProxy = WithKeywords<mp.LockProxy, 'LockProxy'>;
export type RLockProxy = WithKeywords<mp.RLockProxy, 'RLockProxy'>;
export type SemaphoreProxy = WithKeywords<mp.SemaphoreProxy, 'SemaphoreProxy'>;
export type BoundedSemaphoreProxy = WithKeywords<mp.BoundedSemaphoreProxy, 'BoundedSemaphoreProxy'>;
export type EventProxy = WithKeywords<mp.EventProxy, 'EventProxy'>;
export type ConditionProxy = WithKeywords<mp.ConditionProxy, 'ConditionProxy'>;
export type BarrierProxy = WithKeywords<mp.BarrierProxy, 'BarrierProxy'>;
export type QueueProxy<T = any> = WithKeywords<mp.QueueProxy<T>, 'QueueProxy'>;
export type JoinableQueueProxy<T = any> = WithKeywords<mp.JoinableQueueProxy<T>, 'JoinableQueueProxy'>;

/**
 * The root's Manager, with its factories typed to resolve proxies that have Python's keyword forms
 * (`await (await manager.Queue()).get({ timeout: 100 })`). A subclass, not a re-typed alias, so a
 * `class MyManager extends Manager` and `manager[name](...)` over a union of names type-check; the
 * overrides only narrow the return types (the keyword forms are bound at run time by keywords.ts).
 */
export class Manager extends mp.Manager {
  override Lock(): Promise<LockProxy> { return super.Lock() as Promise<any>; }
  override RLock(): Promise<RLockProxy> { return super.RLock() as Promise<any>; }
  override Semaphore(...args: Parameters<mp.Manager['Semaphore']>): Promise<SemaphoreProxy> { return super.Semaphore(...args) as Promise<any>; }
  override BoundedSemaphore(...args: Parameters<mp.Manager['BoundedSemaphore']>): Promise<BoundedSemaphoreProxy> {
    return super.BoundedSemaphore(...args) as Promise<any>;
  }
  override Event(): Promise<EventProxy> { return super.Event() as Promise<any>; }
  override Condition(...args: Parameters<mp.Manager['Condition']>): Promise<ConditionProxy> { return super.Condition(...args) as Promise<any>; }
  override Barrier(...args: Parameters<mp.Manager['Barrier']>): Promise<BarrierProxy> { return super.Barrier(...args) as Promise<any>; }
  override Queue<T = any>(...args: Parameters<mp.Manager['Queue']>): Promise<QueueProxy<T>> { return super.Queue<T>(...args) as Promise<any>; }
  override JoinableQueue<T = any>(...args: Parameters<mp.Manager['JoinableQueue']>): Promise<JoinableQueueProxy<T>> {
    return super.JoinableQueue<T>(...args) as Promise<any>;
  }
}
