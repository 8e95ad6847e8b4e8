/**
 * move(): hand binary data to a worker thread, or back from it, without copying it. The buffers are
 * transferred (postMessage's transfer list): the receiver gets the same memory and the sender's
 * ArrayBuffer is detached (its length becomes 0). Only thread workers share an address space; a
 * child process still gets a copy, and the sender keeps its buffer.
 *
 * The mark is kept in a registry on globalThis: the worker's bundled code, a task module compiled
 * from TypeScript and the package itself may each load their own copy of this module, and a mark made
 * by one must be seen by the others. Types are told by util.types, not instanceof: a typed array made in
 * a vm context (as test runners use) has an ArrayBuffer of another realm.
 */
import type * as UtilTypes from 'node:util/types';
import { builtin } from './builtin.js';

interface Registry {
  /** Marked value → the ArrayBuffers it hands over. */
  marks: WeakMap<object, ArrayBuffer[]>;
  /** Whether move() was ever called here: until then nothing is searched. */
  used: boolean;
}

const types = () => builtin<typeof UtilTypes>('node:util/types');

const REGISTRY = Symbol.for('multiproc.move');
const registry: Registry = ((globalThis as any)[REGISTRY] ??= { marks: new WeakMap(), used: false });

/**
 * Marks `value` to be moved, not copied, to a worker thread: an `ArrayBuffer`, a typed array or
 * DataView, or an array / plain object / Map / Set holding them. Use it in task arguments
 * (`pool.apply(fn, [move(samples)])`, also inside `map` items) and in what a task returns
 * (`return move(result)`). Returns `value` itself.
 *
 * After the hand-off the sender's buffers are detached (length 0): do not use them again. A view of
 * part of a larger buffer (such as a small pooled `Buffer`) is refused, since moving it would take
 * the whole buffer from under its other views; pass `view.slice()` instead. Process workers
 * (`runtime: 'process'`) and cluster pools copy as before and leave the sender's buffer alone.
 * A `SharedArrayBuffer` is shared anyway and is left as it is.
 *
 * @throws TypeError when `value` is not an object, or holds a view of part of a buffer.
 */
export function move<T extends object>(value: T): T {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`move() takes an ArrayBuffer, a typed array or an object holding them, got ${value === null ? 'null' : typeof value}`);
  }
  const buffers = new Set<ArrayBuffer>();
  collectBuffers(value, buffers, new Set(), true);
  registry.marks.set(value, [...buffers]);
  registry.used = true;
  return value;
}

/** Every non-shared ArrayBuffer in `v` (searching arrays, plain objects, Maps and Sets). */
function collectBuffers(v: unknown, out: Set<ArrayBuffer>, seen: Set<object>, strict: boolean): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (types().isArrayBuffer(v)) {
    out.add(v);
    return;
  }
  if (ArrayBuffer.isView(v)) {
    const { buffer } = v;
    if (!types().isArrayBuffer(buffer)) return; // shared memory: nothing to move
    if (strict && (v.byteOffset !== 0 || v.byteLength !== buffer.byteLength)) {
      throw new TypeError(
        `move(): this ${v.constructor.name} covers ${v.byteLength} of the ${buffer.byteLength} bytes of its ArrayBuffer; ` +
          'moving it would detach the rest (its other views): pass view.slice() or the whole buffer',
      );
    }
    out.add(buffer as ArrayBuffer);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) collectBuffers(v[i], out, seen, strict);
  } else if (types().isMap(v)) {
    for (const [key, item] of v) {
      collectBuffers(key, out, seen, strict);
      collectBuffers(item, out, seen, strict);
    }
  } else if (types().isSet(v)) {
    for (const item of v) collectBuffers(item, out, seen, strict);
  } else if (isPlain(v)) {
    for (const key of Object.keys(v)) collectBuffers((v as Record<string, unknown>)[key], out, seen, strict);
  }
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || (Object.getPrototypeOf(proto) === null && proto.constructor?.name === 'Object');
}

/**
 * The buffers to transfer for the values marked with move() inside `value` (searched like structured
 * clone: arrays, plain objects, Maps, Sets), or undefined when there are none. Costs nothing until
 * move() has been called in this thread.
 */
export function movedBuffers(value: unknown): ArrayBuffer[] | undefined {
  if (!registry.used || typeof value !== 'object' || value === null) return undefined;
  const out = new Set<ArrayBuffer>();
  findMarked(value, out, new Set());
  return out.size > 0 ? [...out] : undefined;
}

function findMarked(v: unknown, out: Set<ArrayBuffer>, seen: Set<object>): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  const marked = registry.marks.get(v);
  if (marked) {
    for (const buffer of marked) if (buffer.byteLength > 0) out.add(buffer); // an empty one costs nothing to copy
    return;
  }
  if (ArrayBuffer.isView(v) || types().isAnyArrayBuffer(v)) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) findMarked(v[i], out, seen);
  } else if (types().isMap(v)) {
    for (const [key, item] of v) {
      findMarked(key, out, seen);
      findMarked(item, out, seen);
    }
  } else if (types().isSet(v)) {
    for (const item of v) findMarked(item, out, seen);
  } else if (isPlain(v)) {
    for (const key of Object.keys(v)) findMarked((v as Record<string, unknown>)[key], out, seen);
  }
}

/**
 * Every non-shared ArrayBuffer in `value`: what a worker hands back with tasks it did not run, so the
 * parent can send them again (the parent's own copies were detached when they were moved there).
 */
export function allBuffers(value: unknown): ArrayBuffer[] | undefined {
  const out = new Set<ArrayBuffer>();
  collectBuffers(value, out, new Set(), false);
  return out.size > 0 ? [...out] : undefined;
}
