/**
 * Handles: how live objects (primitives, Manager proxies) cross to a worker.
 *
 * An object that can travel implements `[toHandle](target)` and returns a small descriptor naming
 * the module that can revive it. The codec swaps such objects for `{ [HANDLE_KEY]: descriptor }`
 * before structured clone, and the receiver imports the module and calls its `reviveHandle`.
 * Only arrays and plain objects are searched, as the docs promise ("top level or nested in arrays
 * and plain objects"); copies are made only along the path to a handle.
 */
import { messageOf, SerializationError } from '../errors.js';
import { isStackOverflow, TOO_DEEP } from './too-deep.js';

/** Implemented by every object that can be passed to a task or Process as a live handle. */
export const toHandle: unique symbol = Symbol.for('multiproc.toHandle') as any;

/** Where a pool's workers run: worker threads of this process, or child processes. */
export type Runtime = 'thread' | 'process';

/**
 * Where the receiving side runs, which decides the transport a primitive hands out: a thread of this
 * process (shared memory), a child process (a local socket), or another host of a cluster ('remote':
 * only Manager proxies on a TCP address can go there; shared-memory primitives refuse).
 */
export type HandleTarget = Runtime | 'remote';

export interface HandleDescriptor {
  /** URL of a module exporting `reviveHandle(type, data)`. */
  module: string;
  type: string;
  data: unknown;
}

export interface HandleSource {
  [toHandle](target: HandleTarget): HandleDescriptor;
}

const HANDLE_KEY = '__multiproc_handle__';

/**
 * A plain object from any realm: objects cloned from a worker are made in Node's main realm, which is
 * not the realm of a vm context (as test runners use), so comparing with this realm's Object.prototype
 * is not enough.
 */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  return Object.getPrototypeOf(proto) === null && typeof proto.constructor === 'function' && proto.constructor.name === 'Object';
}

/**
 * A getter that threw while the value was read for sending (or a handle its object refused for this
 * target: `refused`), and the path below the root where it sits.
 */
class UnreadableAt {
  constructor(readonly cause: unknown, readonly segments: string[], readonly refused = false) {}
}

/** How the elements of the top-level list are named in errors: `args[0]`, or a chunk's `items[base + i]`. */
export type RootPath = string | ((index: number) => string);

/**
 * Replaces handle sources inside `value` by descriptors. Returns `found: false` and the value
 * itself when there is none, which is the common, allocation-free case.
 *
 * Reading the value is the first thing that touches every part of it, so this is where a getter that
 * throws, or nesting deeper than the serializer follows, is met: both throw SerializationError naming the
 * path from `root` (`args[0].g`), never the raw error.
 */
export function encodeHandles(value: unknown, target: HandleTarget, root: RootPath = 'args'): { value: unknown; found: boolean } {
  try {
    return encodeHandlesUnchecked(value, target);
  } catch (err) {
    if (err instanceof UnreadableAt) {
      const [first, ...rest] = err.segments;
      const path = first === undefined ? rootName(root) : `${typeof root === 'string' ? `${root}${first}` : root(Number(first.slice(1, -1)))}${rest.join('')}`;
      if (err.refused) throw new SerializationError(`cannot send ${path}: ${messageOf(err.cause)}`, path, { cause: err.cause });
      throw new SerializationError(`cannot send ${path}: its getter threw: ${messageOf(err.cause)}`, path, { cause: err.cause });
    }
    if (isStackOverflow(err)) {
      const path = deepElement(value, target, root) ?? rootName(root);
      throw new SerializationError(`cannot send ${path}: ${TOO_DEEP}`, path, { cause: err });
    }
    throw err;
  }
}

/** The element of the top-level list that is nested too deeply (`args[0]`), when the root is a list. */
function deepElement(value: unknown, target: HandleTarget, root: RootPath): string | null {
  if (!Array.isArray(value)) return null;
  for (let i = 0; i < value.length; i++) {
    try {
      encodeHandlesUnchecked(value[i], target);
    } catch (err) {
      if (isStackOverflow(err)) return typeof root === 'string' ? `${root}[${i}]` : root(i);
    }
  }
  return null;
}

function rootName(root: RootPath): string {
  return typeof root === 'string' ? root : root(0).replace(/\[\d+\]$/, '');
}

/** Prepends `segment` to the path of a getter failure passing through this level. */
function below(err: unknown, segment: string): unknown {
  if (err instanceof UnreadableAt) err.segments.unshift(segment);
  return err;
}

/** A list with no object in it (a map chunk's items, most result lists): nothing inside can be a handle. */
function isFlatList(value: unknown): boolean {
  if (!Array.isArray(value) || typeof (value as any)[toHandle] === 'function') return false;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item === 'object' && item !== null) return false;
  }
  return true;
}

function encodeHandlesUnchecked(value: unknown, target: HandleTarget): { value: unknown; found: boolean } {
  // The common case, answered without the walk's bookkeeping (a Set and a closure per call): a worker
  // encodes every result this way, one call per task.
  if (typeof value !== 'object' || value === null || isFlatList(value)) return { value, found: false };
  let found = false;
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (typeof (v as any)[toHandle] === 'function') {
      found = true;
      try {
        return { [HANDLE_KEY]: (v as HandleSource)[toHandle](target) };
      } catch (err) {
        // an object that cannot go to this target (a Value to another host) says why; we add where it is
        if (err instanceof SerializationError && !err.path) throw new UnreadableAt(err, [], true);
        throw err;
      }
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isPlainObject(v)) return v;
    if (seen.has(v)) return v;
    seen.add(v);
    let copy: any = null;
    if (isArray) {
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof item !== 'object' || item === null) continue;
        let out: unknown;
        try {
          out = walk(item);
        } catch (err) {
          throw below(err, `[${i}]`);
        }
        if (out !== item) {
          copy ??= v.slice();
          copy[i] = out;
        }
      }
    } else {
      for (const key of Object.keys(v)) {
        let item: unknown;
        try {
          item = (v as any)[key];
        } catch (err) {
          throw new UnreadableAt(err, [`.${key}`]);
        }
        let out: unknown;
        try {
          out = walk(item);
        } catch (err) {
          throw below(err, `.${key}`);
        }
        if (out !== item) {
          copy ??= { ...v };
          copy[key] = out;
        }
      }
    }
    return copy ?? v;
  };
  const out = walk(value);
  return { value: out, found };
}

/** A module's `reviveHandle`; it may return a Promise (a remote object that must connect first). */
export type Reviver = (type: string, data: unknown) => unknown;
const revivers = new Map<string, Reviver>();

async function loadReviver(module: string): Promise<Reviver> {
  let reviver = revivers.get(module);
  if (!reviver) {
    const mod = await import(module);
    if (typeof mod.reviveHandle !== 'function') throw new TypeError(`${module} exports no reviveHandle()`);
    reviver = mod.reviveHandle as Reviver;
    revivers.set(module, reviver);
  }
  return reviver;
}

/** Collects the modules a decoded value needs, so they can be imported before the synchronous walk. */
function collectModules(v: unknown, out: Set<string>): void {
  if (typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) collectModules(item, out);
    return;
  }
  if (!isPlainObject(v)) return;
  const desc = (v as any)[HANDLE_KEY] as HandleDescriptor | undefined;
  if (desc) {
    out.add(desc.module);
    return;
  }
  for (const key of Object.keys(v)) collectModules((v as any)[key], out);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as any).then === 'function';
}

/** Revives descriptors in place; collects the promises of revivers that answer asynchronously. */
function revive(v: unknown, pending: Promise<unknown>[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const set = (container: any, key: string | number, out: unknown) => {
    if (isThenable(out)) pending.push(Promise.resolve(out).then((live) => (container[key] = live)));
    else container[key] = out;
  };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) set(v, i, revive(v[i], pending));
    return v;
  }
  if (!isPlainObject(v)) return v;
  const desc = (v as any)[HANDLE_KEY] as HandleDescriptor | undefined;
  if (desc) return revivers.get(desc.module)!(desc.type, desc.data);
  for (const key of Object.keys(v)) set(v, key, revive((v as any)[key], pending));
  return v;
}

/** Turns descriptors inside a received value back into live objects (in place). */
export async function decodeHandles(value: unknown): Promise<unknown> {
  const modules = new Set<string>();
  collectModules(value, modules);
  for (const module of modules) await loadReviver(module);
  const pending: Promise<unknown>[] = [];
  const out = revive(value, pending);
  await Promise.all(pending);
  return isThenable(out) ? await out : out;
}
