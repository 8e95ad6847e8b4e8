/**
 * Proxies of the Manager's containers: dict, list, Namespace, Value and Array. Method names follow
 * Python's (and SPEC's); every call is one atomic round trip. Beyond Python: `increment`,
 * `modify(key, op, operand)` and `compareAndSet` do a read-modify-write atomically on the server,
 * with a fixed set of operators instead of a shipped closure.
 */
import { BaseProxy, call, notify, registerProxyKind } from './proxy-base.js';
import type { Op } from './pyvalues.js';

export type { Op } from './pyvalues.js';
/** Keys of a DictProxy: strings or numbers (1 and '1' are different keys, as in Python). */
export type DictKey = string | number | bigint;

/** A dict held by the manager (Python's DictProxy). Missing keys: `get` returns the default, `getItem`/`pop` reject KeyError. */
export class DictProxy<V = any> extends BaseProxy {
  static override readonly kind = 'dict';

  /** `d.get(k, dflt)`: the value, or `dflt` (undefined) when missing. */
  get(key: DictKey, dflt?: V): Promise<V | undefined> {
    return call(this, 'get', dflt === undefined ? [key] : [key, dflt]);
  }
  /** `d[k]`: the value; KeyError when missing. */
  getItem(key: DictKey): Promise<V> {
    return call(this, 'getItem', [key]);
  }
  /** `d[k] = v`. */
  set(key: DictKey, value: V): Promise<void> {
    return call(this, 'set', [key, value]);
  }
  /** `k in d`. */
  has(key: DictKey): Promise<boolean> {
    return call(this, 'has', [key]);
  }
  /** Removes `key`; true if it was there (as Map.delete). */
  delete(key: DictKey): Promise<boolean> {
    return call(this, 'delete', [key]);
  }
  /** `del d[k]`: KeyError when missing. */
  delItem(key: DictKey): Promise<void> {
    return call(this, 'delItem', [key]);
  }
  keys(): Promise<DictKey[]> {
    return call(this, 'keys', []);
  }
  values(): Promise<V[]> {
    return call(this, 'values', []);
  }
  entries(): Promise<[DictKey, V][]> {
    return call(this, 'entries', []);
  }
  /** Python's `items()`. */
  items(): Promise<[DictKey, V][]> {
    return call(this, 'entries', []);
  }
  /** `len(d)`. */
  size(): Promise<number> {
    return call(this, 'size', []);
  }
  /** `d.update(other)`: a plain object, a Map or [key, value] pairs. */
  update(other: Record<string, V> | Map<DictKey, V> | [DictKey, V][]): Promise<void> {
    return call(this, 'update', [other]);
  }
  /** Removes and returns d[k]; with no default, KeyError when missing. */
  pop(key: DictKey, ...dflt: [] | [V]): Promise<V> {
    return call(this, 'pop', [key, ...dflt]);
  }
  /** Removes and returns the last inserted [key, value]; KeyError when empty. */
  popitem(): Promise<[DictKey, V]> {
    return call(this, 'popitem', []);
  }
  /** d[k] if present, else sets it to `dflt` and returns that. */
  setdefault(key: DictKey, dflt?: V): Promise<V> {
    return call(this, 'setdefault', [key, dflt]);
  }
  clear(): Promise<void> {
    return call(this, 'clear', []);
  }
  /** A plain-object snapshot (number keys become strings). */
  copy(): Promise<Record<string, V>> {
    return call(this, 'copy', []);
  }
  /** Atomic `d[k] += delta` (a missing key counts from 0); resolves with the new value. */
  increment(key: DictKey, delta: number | bigint = 1): Promise<V> {
    return call(this, 'increment', [key, delta]);
  }
  /** Atomic `d[k] = d[k] <op> operand` (KeyError when missing); resolves with the new value. */
  modify(key: DictKey, op: Op, operand: unknown): Promise<V> {
    return call(this, 'modify', [key, op, operand]);
  }
  /** Atomic: sets d[k] = value only if d[k] == expected (Python equality); resolves whether it did. */
  compareAndSet(key: DictKey, expected: V | undefined, value: V): Promise<boolean> {
    return call(this, 'compareAndSet', [key, expected, value]);
  }
  /** `for await (const k of d)`: the keys, as Python iterates a dict (a snapshot). */
  async *[Symbol.asyncIterator](): AsyncIterator<DictKey> {
    yield* await this.keys();
  }
}

/** A list held by the manager (Python's ListProxy); negative indices count from the end. */
export class ListProxy<T = any> extends BaseProxy {
  static override readonly kind = 'list';

  /** `l[i]`; IndexError when out of range. */
  get(index: number): Promise<T> {
    return call(this, 'get', [index]);
  }
  /** `l[i] = v`; IndexError when out of range. */
  set(index: number, value: T): Promise<void> {
    return call(this, 'set', [index, value]);
  }
  /** `del l[i]`. */
  delete(index: number): Promise<void> {
    return call(this, 'delete', [index]);
  }
  append(value: T): Promise<void> {
    return call(this, 'append', [value]);
  }
  extend(values: T[]): Promise<void> {
    return call(this, 'extend', [values]);
  }
  insert(index: number, value: T): Promise<void> {
    return call(this, 'insert', [index, value]);
  }
  /** Removes and returns l[i] (default the last); IndexError when empty or out of range. */
  pop(index?: number): Promise<T> {
    return call(this, 'pop', index === undefined ? [] : [index]);
  }
  /** Removes the first item == value; ValueError when none. */
  remove(value: T): Promise<void> {
    return call(this, 'remove', [value]);
  }
  /** Index of the first item == value in [start, stop); ValueError when none. */
  index(value: T, start?: number, stop?: number): Promise<number> {
    return call(this, 'index', [value, start, stop]);
  }
  count(value: T): Promise<number> {
    return call(this, 'count', [value]);
  }
  /** `len(l)`. */
  length(): Promise<number> {
    return call(this, 'length', []);
  }
  /** `l[start:end]`, as a plain array. */
  slice(start?: number, end?: number): Promise<T[]> {
    return call(this, 'slice', [start, end]);
  }
  /** Sorts in place with Python's ordering (mixed types: TypeError, list unchanged). */
  sort(opts?: { reverse?: boolean }): Promise<void> {
    if (typeof (opts as { key?: unknown } | undefined)?.key === 'function') {
      return Promise.reject(new TypeError('sort(): key functions cannot be sent to the manager; sort a copy() instead'));
    }
    return call(this, 'sort', opts === undefined ? [] : [opts]);
  }
  reverse(): Promise<void> {
    return call(this, 'reverse', []);
  }
  clear(): Promise<void> {
    return call(this, 'clear', []);
  }
  /** A plain-array snapshot. */
  copy(): Promise<T[]> {
    return call(this, 'copy', []);
  }
  /** Atomic `l[i] += delta`; resolves with the new value. */
  increment(index: number, delta: number | bigint = 1): Promise<T> {
    return call(this, 'increment', [index, delta]);
  }
  /** Atomic `l[i] = l[i] <op> operand`; resolves with the new value. */
  modify(index: number, op: Op, operand: unknown): Promise<T> {
    return call(this, 'modify', [index, op, operand]);
  }
  /** Atomic: sets l[i] = value only if l[i] == expected; resolves whether it did. */
  compareAndSet(index: number, expected: T, value: T): Promise<boolean> {
    return call(this, 'compareAndSet', [index, expected, value]);
  }
  /** `for await (const x of l)` over a snapshot. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this.copy();
  }
}

/**
 * A Namespace held by the manager. Methods: `get(name)` (AttributeError when missing), `set`,
 * `has`, `delete`, `keys`, `toObject`. `manager.Namespace()` also returns it wrapped so that
 * `await ns.x` reads and `ns.x = 1` writes (see NamespaceAttrs).
 */
export class NamespaceProxy extends BaseProxy {
  static override readonly kind = 'Namespace';
  /** Every NamespaceProxy handed out (created, read from a container, revived in a worker) reads attributes naturally. */
  static wrap(ns: BaseProxy): NamespaceAttrs {
    return namespaceAttrs(ns as NamespaceProxy);
  }

  get<T = any>(name: string): Promise<T> {
    return call(this, 'get', [name]);
  }
  set(name: string, value: unknown): Promise<void> {
    return call(this, 'set', [name, value]);
  }
  has(name: string): Promise<boolean> {
    return call(this, 'has', [name]);
  }
  /** `delattr(ns, name)`; AttributeError when missing. */
  delete(name: string): Promise<void> {
    return call(this, 'delete', [name]);
  }
  keys(): Promise<string[]> {
    return call(this, 'keys', []);
  }
  /** A plain-object snapshot of every attribute. */
  toObject(): Promise<Record<string, any>> {
    return call(this, 'toObject', []);
  }
  /** Atomic `ns.name += delta`. */
  increment<T = number>(name: string, delta: number | bigint = 1): Promise<T> {
    return call(this, 'increment', [name, delta]);
  }
  /** Atomic `ns.name = ns.name <op> operand`. */
  modify<T = any>(name: string, op: Op, operand: unknown): Promise<T> {
    return call(this, 'modify', [name, op, operand]);
  }
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

/** A typed value held by the manager (Value(typecode, v)); 'q'/'Q' read as bigint. */
export class ValueProxy<T extends number | bigint = number> extends BaseProxy {
  static override readonly kind = 'Value';

  get(): Promise<T> {
    return call(this, 'get', []);
  }
  set(value: T): Promise<void> {
    return call(this, 'set', [value]);
  }
  /** `await v.value` reads; `v.value = x` writes without waiting (prefer `await v.set(x)` to see errors). */
  get value(): Promise<T> {
    return this.get();
  }
  set value(v: T) {
    notify(this, 'set', [v]);
  }
  increment(delta: T | number = 1): Promise<T> {
    return call(this, 'increment', [delta]);
  }
  modify(op: Op, operand: T | number): Promise<T> {
    return call(this, 'modify', [op, operand]);
  }
  compareAndSet(expected: T, value: T): Promise<boolean> {
    return call(this, 'compareAndSet', [expected, value]);
  }
}

/** A typed array held by the manager (Array(typecode, sizeOrInit)). */
export class ArrayProxy<T extends number | bigint = number> extends BaseProxy {
  static override readonly kind = 'Array';

  get(index: number): Promise<T> {
    return call(this, 'get', [index]);
  }
  set(index: number, value: T): Promise<void> {
    return call(this, 'set', [index, value]);
  }
  length(): Promise<number> {
    return call(this, 'length', []);
  }
  /** `a[start:end]` as a typed array of the array's kind. */
  slice(start?: number, end?: number): Promise<ArrayLike<T>> {
    return call(this, 'slice', [start, end]);
  }
  /** A typed-array snapshot. */
  copy(): Promise<ArrayLike<T>> {
    return call(this, 'copy', []);
  }
  increment(index: number, delta: T | number = 1): Promise<T> {
    return call(this, 'increment', [index, delta]);
  }
  modify(index: number, op: Op, operand: T | number): Promise<T> {
    return call(this, 'modify', [index, op, operand]);
  }
  compareAndSet(index: number, expected: T, value: T): Promise<boolean> {
    return call(this, 'compareAndSet', [index, expected, value]);
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* Array.from(await this.copy());
  }
}

for (const C of [DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy]) registerProxyKind(C.kind, C as any);
