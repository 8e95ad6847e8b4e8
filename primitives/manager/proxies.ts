/**
 * The Manager's containers, each declared once: dict, list, Namespace, Value and Array (the
 * server-side objects are in containers.ts, built as hosting.ts says). Method names follow Python's; every call is one atomic
 * round trip. Beyond Python: `increment`, `modify(key, op, operand)` and `compareAndSet` do a
 * read-modify-write atomically on the server, with a fixed set of operators instead of a shipped
 * closure.
 */
import { BaseProxy, call, notify } from './proxy-base.js';
import { declareType } from './declare.js';
import type { Op } from './pyvalues.js';

export type { Op } from './pyvalues.js';
/** Keys of a DictProxy: strings or numbers (1 and '1' are different keys, as in Python). */
export type DictKey = string | number | bigint;

/** A dict held by the manager (Python's DictProxy). Missing keys: `get` returns the default, `getItem`/`pop` reject KeyError. */
export interface DictProxy<V = any> extends BaseProxy {
  /** `d.get(k, dflt)`: the value, or `dflt` (undefined) when missing. */
  get(key: DictKey, dflt?: V): Promise<V | undefined>;
  /** `d[k]`: the value; KeyError when missing. */
  getItem(key: DictKey): Promise<V>;
  /** `d[k] = v`. */
  set(key: DictKey, value: V): Promise<void>;
  /** `k in d`. */
  has(key: DictKey): Promise<boolean>;
  /** Removes `key`; true if it was there (as Map.delete). */
  delete(key: DictKey): Promise<boolean>;
  /** `del d[k]`: KeyError when missing. */
  delItem(key: DictKey): Promise<void>;
  keys(): Promise<DictKey[]>;
  values(): Promise<V[]>;
  entries(): Promise<[DictKey, V][]>;
  /** Python's `items()`. */
  items(): Promise<[DictKey, V][]>;
  /** `len(d)`. */
  size(): Promise<number>;
  /** `d.update(other)`: a plain object, a Map or [key, value] pairs. */
  update(other: Record<string, V> | Map<DictKey, V> | [DictKey, V][]): Promise<void>;
  /** Removes and returns d[k]; with no default, KeyError when missing. */
  pop(key: DictKey, ...dflt: [] | [V]): Promise<V>;
  /** Removes and returns the last inserted [key, value]; KeyError when empty. */
  popitem(): Promise<[DictKey, V]>;
  /** d[k] if present, else sets it to `dflt` and returns that. */
  setdefault(key: DictKey, dflt?: V): Promise<V>;
  clear(): Promise<void>;
  /** A plain-object snapshot (number keys become strings). */
  copy(): Promise<Record<string, V>>;
  /** Atomic `d[k] += delta` (a missing key counts from 0); resolves with the new value. */
  increment(key: DictKey, delta?: number | bigint): Promise<V>;
  /** Atomic `d[k] = d[k] <op> operand` (KeyError when missing); resolves with the new value. */
  modify(key: DictKey, op: Op, operand: unknown): Promise<V>;
  /** Atomic: sets d[k] = value only if d[k] == expected (Python equality); resolves whether it did. */
  compareAndSet(key: DictKey, expected: V | undefined, value: V): Promise<boolean>;
  /** `for await (const k of d)`: the keys, as Python iterates a dict (a snapshot). */
  [Symbol.asyncIterator](): AsyncIterator<DictKey>;
}


export const DictProxy = declareType<DictProxy>({
  typeid: 'dict',
  iterates: 'keys',
  exposed: {
    get: 'call', getItem: 'call', set: 'call', has: 'call', delete: 'call', delItem: 'call', keys: 'call',
    values: 'call', entries: 'call', items: 'call', size: 'call', update: 'call', pop: 'call', popitem: 'call',
    setdefault: 'call', clear: 'call', copy: 'call', increment: 'call', modify: 'call', compareAndSet: 'call',
  },
});

/** A list held by the manager (Python's ListProxy); negative indices count from the end. */
export interface ListProxy<T = any> extends BaseProxy {
  /** `l[i]`; IndexError when out of range. */
  get(index: number): Promise<T>;
  /** `l[i] = v`; IndexError when out of range. */
  set(index: number, value: T): Promise<void>;
  /** `del l[i]`. */
  delete(index: number): Promise<void>;
  append(value: T): Promise<void>;
  extend(values: T[]): Promise<void>;
  insert(index: number, value: T): Promise<void>;
  /** Removes and returns l[i] (default the last); IndexError when empty or out of range. */
  pop(index?: number): Promise<T>;
  /** Removes the first item == value; ValueError when none. */
  remove(value: T): Promise<void>;
  /** Index of the first item == value in [start, stop); ValueError when none. */
  index(value: T, start?: number, stop?: number): Promise<number>;
  count(value: T): Promise<number>;
  /** `len(l)`. */
  length(): Promise<number>;
  /** `l[start:end]`, as a plain array. */
  slice(start?: number, end?: number): Promise<T[]>;
  /** Sorts in place with Python's ordering (mixed types: TypeError, list unchanged). */
  sort(opts?: { reverse?: boolean }): Promise<void>;
  reverse(): Promise<void>;
  clear(): Promise<void>;
  /** A plain-array snapshot. */
  copy(): Promise<T[]>;
  /** Atomic `l[i] += delta`; resolves with the new value. */
  increment(index: number, delta?: number | bigint): Promise<T>;
  /** Atomic `l[i] = l[i] <op> operand`; resolves with the new value. */
  modify(index: number, op: Op, operand: unknown): Promise<T>;
  /** Atomic: sets l[i] = value only if l[i] == expected; resolves whether it did. */
  compareAndSet(index: number, expected: T, value: T): Promise<boolean>;
  /** `for await (const x of l)` over a snapshot. */
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

abstract class ListBase extends BaseProxy {
  /** Refused here, with the reason: a key function cannot cross to the server. */
  sort(opts?: { reverse?: boolean }): Promise<void> {
    if (typeof (opts as { key?: unknown } | undefined)?.key === 'function') {
      return Promise.reject(new TypeError('sort(): key functions cannot be sent to the manager; sort a copy() instead'));
    }
    return call(this, 'sort', opts === undefined ? [] : [opts]);
  }
}

export const ListProxy = declareType<ListProxy, ListBase>({
  typeid: 'list',
  base: ListBase,
  iterates: 'copy',
  exposed: {
    get: 'call', set: 'call', delete: 'call', append: 'call', extend: 'call', insert: 'call', pop: 'call',
    remove: 'call', index: 'call', count: 'call', length: 'call', slice: 'call', sort: 'call', reverse: 'call',
    clear: 'call', copy: 'call', increment: 'call', modify: 'call', compareAndSet: 'call',
  },
});

/**
 * A Namespace held by the manager. Methods: `get(name)` (AttributeError when missing), `set`,
 * `has`, `delete`, `keys`, `toObject`. `manager.Namespace()` also returns it wrapped so that
 * `await ns.x` reads and `ns.x = 1` writes (see NamespaceAttrs).
 */
export interface NamespaceProxy extends BaseProxy {
  get<T = any>(name: string): Promise<T>;
  set(name: string, value: unknown): Promise<void>;
  has(name: string): Promise<boolean>;
  /** `delattr(ns, name)`; AttributeError when missing. */
  delete(name: string): Promise<void>;
  keys(): Promise<string[]>;
  /** A plain-object snapshot of every attribute. */
  toObject(): Promise<Record<string, any>>;
  /** Atomic `ns.name += delta`. */
  increment<T = number>(name: string, delta?: number | bigint): Promise<T>;
  /** Atomic `ns.name = ns.name <op> operand`. */
  modify<T = any>(name: string, op: Op, operand: unknown): Promise<T>;
}

/**
 * A Namespace whose attributes read and write like Python's: `await ns.x` (AttributeError when
 * missing), `ns.x = 1` (sent at once without waiting; later calls see it, as calls on one
 * connection stay in order), `delete ns.x`. Names of NamespaceProxy's own methods (get, set, has,
 * delete, keys, toObject, increment, modify, then) must go through `get(name)`/`set(name, v)`.
 */
export type NamespaceAttrs = NamespaceProxy & { [name: string]: any };

const nsHandler: ProxyHandler<NamespaceProxy> = {
  get(target, prop, receiver) {
    if (typeof prop === 'symbol' || prop in target) return Reflect.get(target, prop, receiver);
    if (prop === 'then') return undefined; // not a thenable: `await manager.Namespace()` must not read an attribute
    return target.get(prop);
  },
  set(target, prop, value) {
    if (typeof prop === 'symbol' || prop in target) return Reflect.set(target, prop, value);
    if (typeof value === 'function') throw new TypeError(`Namespace attribute ${prop}: a function cannot be sent to the manager`);
    notify(target, 'set', [prop, value]);
    return true;
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'symbol' || prop in target) return Reflect.deleteProperty(target, prop);
    notify(target, 'delete', [prop]);
    return true;
  },
};

/** Wraps a NamespaceProxy so attributes read and write naturally. */
export function namespaceAttrs(ns: NamespaceProxy): NamespaceAttrs {
  return new Proxy(ns, nsHandler) as NamespaceAttrs;
}

abstract class NamespaceBase extends BaseProxy {
  /** Every NamespaceProxy handed out (created, read from a container, revived in a worker) reads attributes naturally. */
  static wrap(ns: BaseProxy): NamespaceAttrs {
    return namespaceAttrs(ns as NamespaceProxy);
  }
}

export const NamespaceProxy = declareType<NamespaceProxy, NamespaceBase>({
  typeid: 'Namespace',
  base: NamespaceBase,
  exposed: { get: 'call', set: 'call', has: 'call', delete: 'call', keys: 'call', toObject: 'call', increment: 'call', modify: 'call' },
});

/** A typed value held by the manager (Value(typecode, v)); 'q'/'Q' read as bigint. */
export interface ValueProxy<T extends number | bigint = number> extends BaseProxy {
  get(): Promise<T>;
  set(value: T): Promise<void>;
  /** `await v.value` reads; `v.value = x` writes without waiting (prefer `await v.set(x)` to see errors). */
  get value(): Promise<T>;
  set value(v: T);
  increment(delta?: T | number): Promise<T>;
  modify(op: Op, operand: T | number): Promise<T>;
  compareAndSet(expected: T, value: T): Promise<boolean>;
}

abstract class ValueBase extends BaseProxy {
  get value(): Promise<unknown> {
    return call(this, 'get', []);
  }
  set value(v: unknown) {
    notify(this, 'set', [v]);
  }
}

export const ValueProxy = declareType<ValueProxy, ValueBase>({
  typeid: 'Value',
  base: ValueBase,
  exposed: { get: 'call', set: 'call', increment: 'call', modify: 'call', compareAndSet: 'call' },
});

/** A typed array held by the manager (Array(typecode, sizeOrInit)). */
export interface ArrayProxy<T extends number | bigint = number> extends BaseProxy {
  get(index: number): Promise<T>;
  set(index: number, value: T): Promise<void>;
  length(): Promise<number>;
  /** `a[start:end]` as a typed array of the array's kind. */
  slice(start?: number, end?: number): Promise<ArrayLike<T>>;
  /** A typed-array snapshot. */
  copy(): Promise<ArrayLike<T>>;
  increment(index: number, delta?: T | number): Promise<T>;
  modify(index: number, op: Op, operand: T | number): Promise<T>;
  compareAndSet(index: number, expected: T, value: T): Promise<boolean>;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}


export const ArrayProxy = declareType<ArrayProxy>({
  typeid: 'Array',
  iterates: 'copy',
  exposed: {
    get: 'call', set: 'call', length: 'call', slice: 'call', copy: 'call', increment: 'call', modify: 'call',
    compareAndSet: 'call',
  },
});
