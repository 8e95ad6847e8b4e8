/**
 * The server-side containers behind DictProxy, ListProxy, Namespace, Value and Array, with Python's
 * semantics and errors. Each exposed method validates its arguments, since they come from the wire.
 * One call runs to completion on the server's single thread, so each call is atomic.
 */
import { AttributeError, IndexError, KeyError, ValueError } from '../../lib/base/errors.js';
import { applyOp, pyCompare, pyEquals, repr, toIndex } from './pyvalues.js';
import { checkTypecode, convert, viewOf, type Typecode } from '../kernel/ctypes.js';

export type DictKey = string | number | bigint;

function checkKey(k: unknown): DictKey {
  if (typeof k === 'string' || typeof k === 'bigint') return k;
  if (typeof k === 'number') return k === 0 ? 0 : k; // -0 and 0 are one key, as in Python
  throw new TypeError(`dict keys must be strings or numbers, not ${k === null ? 'null' : typeof k}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Entries of a plain object, a Map or an array of [key, value] pairs (Python's dict(...) inputs). */
function entriesOf(init: unknown, what: string): [DictKey, unknown][] {
  if (init === undefined || init === null) return [];
  if (init instanceof Map) return [...init].map(([k, v]) => [checkKey(k), v]);
  if (Array.isArray(init)) {
    return init.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError(`${what}: element #${i} of the sequence is not a [key, value] pair`);
      }
      return [checkKey(pair[0]), pair[1]];
    });
  }
  if (isPlainObject(init)) return Object.entries(init);
  throw new TypeError(`${what} expects a plain object, a Map or [key, value] pairs, got ${typeof init}`);
}

function toArray(items: unknown, what: string): unknown[] {
  if (Array.isArray(items)) return items;
  if (typeof items === 'string') return [...items];
  if (items instanceof Set || ArrayBuffer.isView(items)) return [...(items as Iterable<unknown>)];
  throw new TypeError(`${what} expects an array, got ${items === null ? 'null' : typeof items}`);
}

/** dict: a Map, so 1 and '1' stay different keys as in Python. */
export class DictHolder {
  readonly kind = 'dict';
  readonly map: Map<DictKey, unknown>;

  constructor(init?: unknown) {
    this.map = new Map(entriesOf(init, 'dict()'));
  }


  get(k: unknown, dflt?: unknown): unknown {
    const key = checkKey(k);
    const v = this.map.get(key);
    return v === undefined && !this.map.has(key) ? dflt : v;
  }
  getItem(k: unknown): unknown {
    const key = checkKey(k);
    if (!this.map.has(key)) throw new KeyError(repr(k));
    return this.map.get(key);
  }
  set(k: unknown, v: unknown): void {
    this.map.set(checkKey(k), v);
  }
  has(k: unknown): boolean {
    return this.map.has(checkKey(k));
  }
  delete(k: unknown): boolean {
    return this.map.delete(checkKey(k));
  }
  delItem(k: unknown): void {
    if (!this.map.delete(checkKey(k))) throw new KeyError(repr(k));
  }
  keys(): DictKey[] {
    return [...this.map.keys()];
  }
  values(): unknown[] {
    return [...this.map.values()];
  }
  entries(): [DictKey, unknown][] {
    return [...this.map.entries()];
  }
  items(): [DictKey, unknown][] {
    return this.entries();
  }
  size(): number {
    return this.map.size;
  }
  update(other: unknown): void {
    for (const [k, v] of entriesOf(other, 'update()')) this.map.set(k, v);
  }
  /** pop(k) raises KeyError when k is missing; pop(k, dflt) returns dflt. */
  pop(...args: unknown[]): unknown {
    if (args.length < 1 || args.length > 2) throw new TypeError(`pop expected 1 or 2 arguments, got ${args.length}`);
    const key = checkKey(args[0]);
    if (!this.map.has(key)) {
      if (args.length === 2) return args[1];
      throw new KeyError(repr(args[0]));
    }
    const v = this.map.get(key);
    this.map.delete(key);
    return v;
  }
  /** Removes and returns the last inserted [key, value] (LIFO, as Python ≥ 3.7). */
  popitem(): [DictKey, unknown] {
    if (this.map.size === 0) throw new KeyError("'popitem(): dictionary is empty'");
    let last: [DictKey, unknown] | undefined;
    for (const e of this.map) last = e;
    this.map.delete(last![0]);
    return last!;
  }
  setdefault(k: unknown, dflt?: unknown): unknown {
    const key = checkKey(k);
    if (this.map.has(key)) return this.map.get(key);
    this.map.set(key, dflt);
    return dflt;
  }
  clear(): void {
    this.map.clear();
  }
  copy(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.map) out[String(k)] = v;
    return out;
  }
  /** Atomic `d[k] += delta`; a missing key counts from 0 (a Counter). Returns the new value. */
  increment(k: unknown, delta: unknown = 1): unknown {
    const key = checkKey(k);
    const cur = this.map.has(key) ? this.map.get(key) : typeof delta === 'bigint' ? 0n : 0;
    const next = applyOp(cur, '+', delta);
    this.map.set(key, next);
    return next;
  }
  /** Atomic `d[k] = d[k] op operand` (KeyError if missing). Returns the new value. */
  modify(k: unknown, op: unknown, operand: unknown): unknown {
    const next = applyOp(this.getItem(k), op, operand);
    this.map.set(checkKey(k), next);
    return next;
  }
  /** Atomic compare-and-set: stores `value` only if the current value == expected (missing = undefined). */
  compareAndSet(k: unknown, expected: unknown, value: unknown): boolean {
    const key = checkKey(k);
    if (!pyEquals(this.map.get(key), expected)) return false;
    this.map.set(key, value);
    return true;
  }
}

/** Python's slice bound normalisation (negative counts from the end, then clamped). */
function sliceBound(v: unknown, len: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  const i = toIndex(v, 'slice indices');
  return i < 0 ? Math.max(0, len + i) : Math.min(i, len);
}

/** list: a JS array with Python's indexing and errors. */
export class ListHolder {
  readonly kind = 'list';
  items: unknown[];

  constructor(init?: unknown) {
    this.items = init === undefined || init === null ? [] : toArray(init, 'list()').slice();
  }


  #at(i: unknown, message: string): number {
    let n = toIndex(i);
    if (n < 0) n += this.items.length;
    if (n < 0 || n >= this.items.length) throw new IndexError(message);
    return n;
  }

  get(i: unknown): unknown {
    return this.items[this.#at(i, 'list index out of range')];
  }
  set(i: unknown, v: unknown): void {
    this.items[this.#at(i, 'list assignment index out of range')] = v;
  }
  /** `del l[i]`. */
  delete(i: unknown): void {
    this.items.splice(this.#at(i, 'list assignment index out of range'), 1);
  }
  append(v: unknown): void {
    this.items.push(v);
  }
  extend(more: unknown): void {
    for (const v of toArray(more, 'extend()')) this.items.push(v);
  }
  insert(i: unknown, v: unknown): void {
    this.items.splice(sliceBound(i, this.items.length, 0), 0, v);
  }
  pop(i: unknown = -1): unknown {
    if (this.items.length === 0) throw new IndexError('pop from empty list');
    const n = this.#at(i, 'pop index out of range');
    return n === this.items.length - 1 ? this.items.pop() : this.items.splice(n, 1)[0];
  }
  remove(v: unknown): void {
    const n = this.items.findIndex((x) => pyEquals(x, v));
    if (n < 0) throw new ValueError('list.remove(x): x not in list');
    this.items.splice(n, 1);
  }
  index(v: unknown, start?: unknown, stop?: unknown): number {
    const len = this.items.length;
    const end = sliceBound(stop, len, len);
    for (let i = sliceBound(start, len, 0); i < end; i++) if (pyEquals(this.items[i], v)) return i;
    throw new ValueError(`${repr(v)} is not in list`);
  }
  count(v: unknown): number {
    let n = 0;
    for (const x of this.items) if (pyEquals(x, v)) n++;
    return n;
  }
  length(): number {
    return this.items.length;
  }
  slice(start?: unknown, end?: unknown): unknown[] {
    const len = this.items.length;
    return this.items.slice(sliceBound(start, len, 0), sliceBound(end, len, len));
  }
  /** Stable sort with Python's ordering; `reverse` as Python's keyword. Atomic: a failed compare leaves the list as it was. */
  sort(opts?: unknown): void {
    const reverse = typeof opts === 'boolean' ? opts : isPlainObject(opts) ? Boolean(opts.reverse) : false;
    if (opts !== undefined && typeof opts !== 'boolean' && !isPlainObject(opts)) {
      throw new TypeError('sort() takes { reverse?: boolean } (key functions cannot be sent to the manager)');
    }
    if (isPlainObject(opts) && 'key' in opts && opts.key !== undefined) {
      throw new TypeError('sort(): key functions cannot be sent to the manager; sort a copy() instead');
    }
    const sorted = this.items.slice().sort(reverse ? (a, b) => pyCompare(b, a) : pyCompare);
    this.items = sorted;
  }
  reverse(): void {
    this.items.reverse();
  }
  clear(): void {
    this.items.length = 0;
  }
  copy(): unknown[] {
    return this.items.slice();
  }
  /** Atomic `l[i] += delta`. Returns the new value. */
  increment(i: unknown, delta: unknown = 1): unknown {
    const n = this.#at(i, 'list index out of range');
    return (this.items[n] = applyOp(this.items[n], '+', delta));
  }
  /** Atomic `l[i] = l[i] op operand`. Returns the new value. */
  modify(i: unknown, op: unknown, operand: unknown): unknown {
    const n = this.#at(i, 'list index out of range');
    return (this.items[n] = applyOp(this.items[n], op, operand));
  }
  compareAndSet(i: unknown, expected: unknown, value: unknown): boolean {
    const n = this.#at(i, 'list index out of range');
    if (!pyEquals(this.items[n], expected)) return false;
    this.items[n] = value;
    return true;
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`attribute name must be string, not '${name === null ? 'null' : typeof name}'`);
  return name;
}

/** Namespace: named attributes. */
export class NamespaceHolder {
  readonly kind = 'Namespace';
  readonly attrs: Map<string, unknown>;

  constructor(init?: unknown) {
    this.attrs = new Map(entriesOf(init, 'Namespace()').map(([k, v]) => [checkName(k), v]));
  }


  #missing(name: string): never {
    throw new AttributeError(`'Namespace' object has no attribute '${name}'`);
  }
  get(name: unknown): unknown {
    const n = checkName(name);
    if (!this.attrs.has(n)) this.#missing(n);
    return this.attrs.get(n);
  }
  set(name: unknown, v: unknown): void {
    this.attrs.set(checkName(name), v);
  }
  has(name: unknown): boolean {
    return this.attrs.has(checkName(name));
  }
  delete(name: unknown): void {
    const n = checkName(name);
    if (!this.attrs.delete(n)) this.#missing(n);
  }
  keys(): string[] {
    return [...this.attrs.keys()];
  }
  toObject(): Record<string, unknown> {
    return Object.fromEntries(this.attrs);
  }
  increment(name: unknown, delta: unknown = 1): unknown {
    const next = applyOp(this.get(name), '+', delta);
    this.attrs.set(name as string, next);
    return next;
  }
  modify(name: unknown, op: unknown, operand: unknown): unknown {
    const next = applyOp(this.get(name), op, operand);
    this.attrs.set(name as string, next);
    return next;
  }
}

/** A typecode from the wire, checked as sharedctypes does. */
function typecodeOf(typecode: unknown): Typecode {
  // 'c' reads as bytes, which the manager's Value and Array proxies do not do yet: refused, not half-done
  if (typecode === 'c') throw new TypeError("typecode 'c' is supported by the shared-memory Value and Array, not yet by the Manager's");
  return checkTypecode(typecode);
}

/** Stores as the shared-memory Value/Array do (one conversion for both: primitives/ctypes.ts). */
function coerce(typecode: Typecode, v: unknown): number | bigint {
  return convert(typecode, v, 'value');
}

/** Value(typecode, v): one typed cell, so stores wrap/round exactly as the shared-memory Value does. */
export class ValueHolder {
  readonly kind = 'Value';
  readonly typecode: Typecode;
  private readonly cell: any;

  constructor(typecode: unknown, init: unknown = 0) {
    this.typecode = typecodeOf(typecode);
    this.cell = viewOf(this.typecode, 1);
    this.cell[0] = coerce(this.typecode, init);
  }

  get(): number | bigint {
    return this.cell[0];
  }
  set(v: unknown): void {
    this.cell[0] = coerce(this.typecode, v);
  }
  increment(delta: unknown = 1): number | bigint {
    const d = coerce(this.typecode, delta);
    this.cell[0] = coerce(this.typecode, applyOp(this.cell[0], '+', d));
    return this.cell[0];
  }
  modify(op: unknown, operand: unknown): number | bigint {
    const next = applyOp(this.cell[0], op, op === 'set' ? operand : coerce(this.typecode, operand));
    this.cell[0] = coerce(this.typecode, next);
    return this.cell[0];
  }
  compareAndSet(expected: unknown, value: unknown): boolean {
    if (!pyEquals(this.cell[0], expected)) return false;
    this.cell[0] = coerce(this.typecode, value);
    return true;
  }
}

/** Array(typecode, sizeOrInit): a typed array with Python's indexing. */
export class ArrayHolder {
  readonly kind = 'Array';
  readonly typecode: Typecode;
  private readonly data: any;

  constructor(typecode: unknown, init: unknown) {
    this.typecode = typecodeOf(typecode);
    if (typeof init === 'number') {
      if (!Number.isInteger(init) || init < 0) throw new RangeError(`Array size must be a non-negative integer, got ${init}`);
      this.data = viewOf(this.typecode, init);
    } else {
      const items = toArray(init, 'Array()');
      this.data = viewOf(this.typecode, items.length);
      for (let i = 0; i < items.length; i++) this.data[i] = coerce(this.typecode, items[i]);
    }
  }

  #at(i: unknown, message = 'array index out of range'): number {
    let n = toIndex(i, 'array indices');
    if (n < 0) n += this.data.length;
    if (n < 0 || n >= this.data.length) throw new IndexError(message);
    return n;
  }

  get(i: unknown): number | bigint {
    return this.data[this.#at(i)];
  }
  set(i: unknown, v: unknown): void {
    this.data[this.#at(i, 'array assignment index out of range')] = coerce(this.typecode, v);
  }
  length(): number {
    return this.data.length;
  }
  slice(start?: unknown, end?: unknown): unknown {
    const len = this.data.length;
    return this.data.slice(sliceBound(start, len, 0), sliceBound(end, len, len));
  }
  copy(): unknown {
    return this.data.slice();
  }
  increment(i: unknown, delta: unknown = 1): number | bigint {
    const n = this.#at(i);
    this.data[n] = coerce(this.typecode, applyOp(this.data[n], '+', coerce(this.typecode, delta)));
    return this.data[n];
  }
  modify(i: unknown, op: unknown, operand: unknown): number | bigint {
    const n = this.#at(i);
    this.data[n] = coerce(this.typecode, applyOp(this.data[n], op, op === 'set' ? operand : coerce(this.typecode, operand)));
    return this.data[n];
  }
  compareAndSet(i: unknown, expected: unknown, value: unknown): boolean {
    const n = this.#at(i);
    if (!pyEquals(this.data[n], expected)) return false;
    this.data[n] = coerce(this.typecode, value);
    return true;
  }
}
