/**
 * A shared Array as a process worker sees it: it reads and writes like the creator's typed array
 * (`a[i]`, `a[i] = v`, `a.length`, `for...of`, `slice`, `set`, `fill`, `map`, ...), but each access
 * is one round trip to the creator's broker. Whole-array work takes one: iteration and the
 * non-mutating methods read a snapshot in one request; `set`, `fill`, `sort`, `reverse` and
 * `copyWithin` run where the memory is. `length` is fixed at creation, so it costs nothing.
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { coreData } from './transport/reduction.js';
import type { CoreShape } from './kernel/core.js';
import type { Lock, RLock } from './sync/locks.js';
import type { CtypeCoreApi } from './sharedctypes-core.js';
import { charsValue, writeChars, type Typecode } from './kernel/ctypes.js';

const MODULE = new URL(`./sharedctypes${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href;

/** Typed array methods that would change a snapshot instead of the array: done remotely (or refused). */
const IN_PLACE = new Set(['fill', 'reverse', 'copyWithin']);
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Int8Array.prototype) as Record<string | symbol, unknown>;

/** `key` names an element (a canonical numeric string): returns its index, or -1 for a number that is no valid index. */
function elementIndex(key: string | symbol, length: number): number | null {
  if (typeof key !== 'string' || key === '') return null;
  const c = key.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 /* - */ || key === 'Infinity' || key === 'NaN')) return null;
  const n = Number(key);
  if (String(n) !== key && key !== '-0') return null;
  return Number.isInteger(n) && n >= 0 && n < length && key !== '-0' ? n : -1;
}

/** Builds the array-like facade over `core`; `lock` is its lock (null for a raw array). */
export function remoteArray(core: CtypeCoreApi, typecode: Typecode, length: number, lock: Lock | RLock | null, shape: CoreShape): unknown {
  const snapshot = () => core.read() as unknown as Record<string | symbol, any>;
  const own: Record<string | symbol, unknown> = {
    typecode,
    length,
    getObj: () => proxy,
    get_obj: () => proxy,
    /** A copy of `[start, end)` as a typed array, in one round trip. */
    slice: (start?: number, end?: number) => core.read(start, end),
    /** Writes many elements in one round trip (`a.set([1, 2], 3)`). */
    set: (values: ArrayLike<number | bigint>, offset = 0) => {
      core.write(ArrayBuffer.isView(values) ? values : globalThis.Array.from(values), offset);
    },
    sort: (compare?: (a: any, b: any) => number) => {
      if (compare === undefined) core.apply('sort', []);
      else core.write(snapshot().sort(compare), 0); // a function cannot travel: sort a copy, write it back
      return proxy;
    },
    [Symbol.iterator]: () => snapshot()[Symbol.iterator](),
    toString: () => snapshot().toString(),
    // console.log() in the worker shows the elements (one snapshot), not this facade's insides.
    [Symbol.for('nodejs.util.inspect.custom')]: () => snapshot(),
    [Symbol.toStringTag]: `${typecode}[${length}]`,
    [toHandle]: (target: HandleTarget): HandleDescriptor => ({
      module: MODULE,
      type: 'Array',
      data: { typecode, core: coreData(core, shape, target), length, lock: lock?.[toHandle](target) ?? null },
    }),
  };
  for (const m of IN_PLACE) {
    own[m] = (...args: unknown[]) => {
      core.apply(m, args);
      return proxy;
    };
  }
  if (typecode === 'c') {
    // Python's `.value` (bytes up to the first NUL) and `.raw`, each one round trip
    const chars = { length, set: (values: ArrayLike<number>, offset = 0) => core.write(globalThis.Array.from(values), offset) };
    Object.defineProperties(own, {
      value: { get: () => charsValue(core.read() as Uint8Array), set: (v: unknown) => writeChars(chars, v, true, 'Array.value'), enumerable: true },
      raw: { get: () => core.read() as Uint8Array, set: (v: unknown) => writeChars(chars, v, false, 'Array.raw'), enumerable: true },
    });
  }
  if (lock) {
    own.getLock = () => lock;
    own.get_lock = () => lock;
  }
  const proxy: unknown = new Proxy(own, {
    get(target, key) {
      const i = elementIndex(key, length);
      if (i !== null) return i < 0 ? undefined : core.get(i);
      if (Object.hasOwn(target, key)) return target[key];
      const method = TYPED_ARRAY_PROTO[key];
      // Everything else a typed array answers (map, reduce, join, indexOf, at, ...) reads one snapshot.
      if (typeof method === 'function') return (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(snapshot(), args);
      return undefined;
    },
    set(target, key, value) {
      const i = elementIndex(key, length);
      if (i === null) {
        const setter = Object.getOwnPropertyDescriptor(target, key)?.set; // a 'c' Array's value and raw
        if (setter) setter.call(target, value);
        return setter !== undefined; // no new properties (a typed array's elements are its only writable part here)
      }
      if (i >= 0) core.set(i, value as number | bigint);
      return true; // past the end: ignored, as a typed array does
    },
    has(target, key) {
      const i = elementIndex(key, length);
      return i !== null ? i >= 0 : key in target || key in TYPED_ARRAY_PROTO;
    },
    ownKeys() {
      return globalThis.Array.from({ length }, (_, i) => String(i));
    },
    getOwnPropertyDescriptor(_target, key) {
      const i = elementIndex(key, length);
      if (i === null || i < 0) return undefined;
      return { value: core.get(i), writable: true, enumerable: true, configurable: true };
    },
    deleteProperty: () => false,
    defineProperty: () => false,
  });
  return proxy;
}
