/**
 * Class instances cross to a worker as plain objects: structured clone copies own data only, so
 * `new Point(1, 2)` arrives as `{ x: 1, y: 2 }` without `Point`'s methods, and a call of one fails
 * far from the cause. Python pickles the class by reference; we cannot. This module finds the first
 * instance of a user class inside a value, so the send path can warn (once per class, in development).
 *
 * Not user classes: plain and null-prototype objects, arrays, and what structured clone rebuilds as
 * itself — Map, Set, Date, RegExp, ArrayBuffer, SharedArrayBuffer, typed arrays, DataView, Error,
 * boxed primitives — and live handles (primitives, Manager proxies), which cross by their own codec.
 * A subclass of one of those (`class Registry extends Map`) is a user class: it arrives as the base.
 */
import { toHandle } from './handles.js';

/** What {@link findClassInstance} reports. */
export interface ClassInstance {
  /** The class name (`Point`), or `anonymous class`. */
  className: string;
  /** Where it sits (`args[0].shape`). */
  path: string;
  /** The constructor, to warn once per class. */
  ctor: unknown;
}

/** Tags of the objects structured clone rebuilds as themselves (by tag: they may come from another realm). */
const CLONED_AS_ITSELF = new Set([
  'Map', 'Set', 'Date', 'RegExp', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Error',
  'Number', 'String', 'Boolean', 'BigInt', 'Blob', 'File',
]);

/** Values visited at most: a huge input is sampled from its start, so the check stays cheap. */
const DEFAULT_BUDGET = 10_000;

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

function isPlainProto(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype) return true;
  // Object.prototype of another realm (a vm context)
  return Object.getPrototypeOf(proto) === null && typeof (proto as any).constructor === 'function' && (proto as any).constructor.name === 'Object';
}

/** The name of the built-in class `value` is exactly an instance of (not a subclass), or null. */
function exactBuiltin(value: object, proto: object): string | null {
  const ctorName = (proto as any).constructor?.name;
  if (ArrayBuffer.isView(value)) {
    // Buffer is a Uint8Array subclass that clones as a Uint8Array: nothing is lost that users rely on
    return ctorName === tagOf(value) || ctorName === 'Buffer' || ctorName === 'DataView' ? ctorName : null;
  }
  if (Array.isArray(value)) return ctorName === 'Array' ? 'Array' : null;
  const tag = tagOf(value);
  if (tag === 'Error') return 'Error'; // errors have their own story (error-wire.ts): never reported here
  return CLONED_AS_ITSELF.has(tag) && ctorName === tag ? tag : null;
}

/**
 * The first instance of a user class inside `value` (searched through arrays, plain objects, Map
 * keys and values, Set members), or null. Stops after `budget` values.
 */
export function findClassInstance(value: unknown, path: string, budget = DEFAULT_BUDGET): ClassInstance | null {
  const seen = new Set<object>();
  let left = budget;
  const walk = (v: unknown, at: string): ClassInstance | null => {
    if (--left < 0 || typeof v !== 'object' || v === null || seen.has(v)) return null;
    seen.add(v);
    let proto: object | null;
    try {
      if (typeof (v as any)[toHandle] === 'function') return null;
      proto = Object.getPrototypeOf(v);
    } catch {
      return null; // a Proxy that refuses to be looked at: serialisation will say more
    }
    if (!isPlainProto(proto)) {
      let builtin: string | null;
      try {
        builtin = exactBuiltin(v, proto!);
      } catch {
        return null;
      }
      if (builtin === null) {
        const ctor = (proto as any).constructor;
        const name = typeof ctor === 'function' && ctor.name ? ctor.name : 'anonymous class';
        return { className: name, path: at, ctor };
      }
      if (builtin === 'Map') {
        for (const [k, item] of v as Map<unknown, unknown>) {
          const hit = walk(k, `${at}<key>`) ?? walk(item, `${at}.get(${JSON.stringify(String(k))})`);
          if (hit || left < 0) return hit;
        }
        return null;
      }
      if (builtin === 'Set') {
        for (const item of v as Set<unknown>) {
          const hit = walk(item, `${at}<item>`);
          if (hit || left < 0) return hit;
        }
        return null;
      }
      if (builtin !== 'Array') return null; // Date, typed arrays, ...: no user objects inside
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && left >= 0; i++) {
        const item = v[i];
        if (typeof item !== 'object' || item === null) {
          left--;
          continue;
        }
        const hit = walk(item, `${at}[${i}]`);
        if (hit) return hit;
      }
      return null;
    }
    let keys: string[];
    try {
      keys = Object.keys(v);
    } catch {
      return null;
    }
    for (const key of keys) {
      let item: unknown;
      try {
        item = (v as any)[key];
      } catch {
        continue;
      }
      const hit = walk(item, `${at}.${key}`);
      if (hit || left < 0) return hit;
    }
    return null;
  };
  try {
    return walk(value, path);
  } catch {
    return null; // the check is advisory: it never breaks a send
  }
}

/** The warning text for a class instance found in `value`, or null when there is none. */
export function classInstanceWarning(value: unknown, path: string, budget = DEFAULT_BUDGET): string | null {
  const hit = findClassInstance(value, path, budget);
  return hit ? warningText(hit) : null;
}

function warningText(hit: ClassInstance): string {
  return (
    `${hit.path} is an instance of class ${hit.className}: it reaches the worker as a plain object, ` +
    `without ${hit.className}'s methods or prototype (structured clone copies own data only). ` +
    'Send plain data and rebuild the object in the task, or construct it there; ' +
    'see "Class instances" in docs/guide.md. (Shown once per class; not in production.)'
  );
}

const warnedClasses = new WeakSet<object>();
const warnedNames = new Set<string>();

/**
 * In development (`NODE_ENV` is not `'production'`), emits a `MultiprocWarning`
 * (code `MULTIPROC_CLASS_INSTANCE`) for the first instance of a user class found in `value`, once
 * per class for the life of the process. Returns whether it warned. Never throws.
 */
export function warnClassInstanceOnce(value: unknown, path: string, budget = DEFAULT_BUDGET): boolean {
  if (process.env.NODE_ENV === 'production') return false;
  try {
    const hit = findClassInstance(value, path, budget);
    if (!hit) return false;
    if (typeof hit.ctor === 'function') {
      if (warnedClasses.has(hit.ctor)) return false;
      warnedClasses.add(hit.ctor);
    } else {
      if (warnedNames.has(hit.className)) return false;
      warnedNames.add(hit.className);
    }
    process.emitWarning(warningText(hit), { type: 'MultiprocWarning', code: 'MULTIPROC_CLASS_INSTANCE' });
    return true;
  } catch {
    return false; // a warning must never break a send
  }
}
