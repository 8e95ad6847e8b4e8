/**
 * What the Manager server knows of its objects and clients: a Holder is a server-side object whose
 * exposed methods take the calling connection first; `API` lists, per kind, the only methods a
 * client may call (never `constructor`, `__proto__` or a private helper).
 */

/** A client connection as the server's objects see it: its identity decides lock ownership. */
export interface Conn {
  readonly id: number;
}

export interface Holder {
  readonly kind: string;
  /** The values it holds, searched for proxy references by the server's sweep. */
  contents?(): Iterable<unknown>;
  /** A client went away: release what it held and forget its waiters. */
  disconnect?(conn: Conn): void;
  /** The server is shutting down: stop timers. */
  dispose?(): void;
}

const containerOps = ['increment', 'modify', 'compareAndSet'];

/** Method names callable from clients, per kind. */
export const API: Record<string, ReadonlySet<string>> = {
  dict: new Set([
    'get', 'getItem', 'set', 'has', 'delete', 'delItem', 'keys', 'values', 'entries', 'size', 'update', 'pop',
    'popitem', 'setdefault', 'clear', 'copy', ...containerOps,
  ]),
  list: new Set([
    'get', 'set', 'delete', 'append', 'extend', 'insert', 'pop', 'remove', 'index', 'count', 'length', 'slice',
    'sort', 'reverse', 'clear', 'copy', ...containerOps,
  ]),
  Namespace: new Set(['get', 'set', 'has', 'delete', 'keys', 'toObject', 'increment', 'modify']),
  Value: new Set(['get', 'set', ...containerOps]),
  Array: new Set(['get', 'set', 'length', 'slice', 'copy', ...containerOps]),
  Lock: new Set(['acquire', 'release', 'locked']),
  RLock: new Set(['acquire', 'release', 'locked']),
  Semaphore: new Set(['acquire', 'release', 'getValue', 'locked']),
  BoundedSemaphore: new Set(['acquire', 'release', 'getValue', 'locked']),
  Event: new Set(['set', 'clear', 'isSet', 'wait']),
  Condition: new Set(['acquire', 'release', 'wait', 'notify', 'notifyAll', 'locked']),
  Barrier: new Set(['wait', 'abort', 'reset', 'parties', 'nWaiting', 'broken']),
  Queue: new Set(['put', 'get', 'putNowait', 'getNowait', 'qsize', 'empty', 'full']),
  JoinableQueue: new Set(['put', 'get', 'putNowait', 'getNowait', 'qsize', 'empty', 'full', 'taskDone', 'join']),
};
