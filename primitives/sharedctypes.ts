/**
 * Shared Value and Array (Python's multiprocessing.sharedctypes): numbers in a SharedArrayBuffer,
 * with Python's typecodes, visible at once to every thread they are passed to. By default each
 * comes with an RLock (`getLock()`), as Python's synchronized wrappers do; `{ lock: false }` gives a
 * raw one. A process worker cannot map the memory: it reaches the same Value/Array through this
 * process's broker (as it reaches a Lock or a Queue), each access one round trip (a whole range in one).
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { Lock, RLock, reviveHandle as reviveLock } from './sync/locks.js';
import { cannotCrossHosts, coreData, openCore, rebuild, rebuilt, whenAll, type CoreData } from './transport/reduction.js';
import { charsValue, checkTypecode, convert, isBig, isFloat, views, viewOf, type InitOf, type Typecode, type ValueOf, bytesOf, writeChars } from './kernel/ctypes.js';
import { ArrayCoreShape, CtypeCore, ValueCoreShape, type CtypeCoreApi } from './sharedctypes-core.js';
import { remoteArray } from './sharedctypes-remote.js';

export type { Typecode, ValueOf, InitOf } from './kernel/ctypes.js';

const MODULE = import.meta.url;

type ViewOf<T extends Typecode> = InstanceType<(typeof views)[T]>;

/** `lock`: true (a new RLock, the default), false (raw, no getLock), or the Lock/RLock to use. */
export interface SharedOptions {
  lock?: boolean | Lock | RLock | null;
}

function lockFor(option: SharedOptions['lock']): Lock | RLock | null {
  // null as Python's `lock=None`, which sharedctypes treats as the default (a new RLock)
  if (option === undefined || option === null || option === true) return new RLock();
  if (option === false) return null;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw new TypeError("'lock' must be a boolean, a Lock or an RLock");
}

/** Another host cannot reach this machine's memory, not even through the broker: a Manager's Value/Array can. */
function refuseRemote(what: string, target: HandleTarget): void {
  if (target === 'remote') throw cannotCrossHosts(what);
}

/** The wire form: the memory itself for a thread of this process, else the broker's reference to a core over it. */
type ShareData = {
  typecode: Typecode;
  sab?: SharedArrayBuffer;
  core?: CoreData;
  length: number;
  lock: HandleDescriptor | null;
};

/** The core a process worker reaches, one per shared buffer (the broker hosts each core once). */
const localCores = new WeakMap<SharedArrayBuffer, CtypeCore>();
function localCore(typecode: Typecode, buffer: SharedArrayBuffer): CtypeCore {
  let core = localCores.get(buffer);
  if (!core) localCores.set(buffer, (core = new CtypeCore({ typecode, buffer })));
  return core;
}

function shareData(
  typecode: Typecode, length: number, view: ArrayBufferView | null, remote: CtypeCoreApi | null,
  lock: Lock | RLock | null, target: HandleTarget, shape: typeof ValueCoreShape,
): ShareData {
  const lockData = lock?.[toHandle](target) ?? null;
  if (view !== null && target === 'thread') return { typecode, sab: view.buffer as SharedArrayBuffer, length, lock: lockData };
  const core = view !== null ? localCore(typecode, view.buffer as SharedArrayBuffer) : remote!;
  return { typecode, core: coreData(core, shape, target), length, lock: lockData };
}

/** Which JS numbers a typecode stores unchanged: integers (int codes), any (float codes), none (bigint codes). */
const PLAIN_INTEGER = 0;
const PLAIN_ANY = 1;
const PLAIN_NEVER = 2;
type Plain = typeof PLAIN_INTEGER | typeof PLAIN_ANY | typeof PLAIN_NEVER;
const plainOf = (t: Typecode): Plain => (isFloat(t) ? PLAIN_ANY : isBig(t) || t === 'c' ? PLAIN_NEVER : PLAIN_INTEGER);

/** A local view (this process's memory) or, in a process worker, the remote core. */
type Parts = { view: ArrayBufferView | null; remote: CtypeCoreApi | null; lock: Lock | RLock | null };

const lockKey = Symbol('lock');

/** A raw shared number (`{ lock: false }`): `.value` reads and writes it; no lock. */
export class RawSharedValue<T extends Typecode = Typecode> {
  readonly typecode: T;
  /** The value's memory, null in a process worker (which uses #remote). */
  readonly #view: ViewOf<T> | null;
  readonly #remote: CtypeCoreApi | null = null;
  /** What a plain number needs to be stored as is (the setter's fast path; convert() does the rest). */
  readonly #plain: Plain;
  /** @internal */
  readonly [lockKey]: Lock | RLock | null;

  constructor(typecode: T, init?: InitOf<T>, options: SharedOptions = {}) {
    this.typecode = checkTypecode(typecode) as T;
    this.#plain = plainOf(this.typecode);
    const parts = rebuilt<Parts>();
    if (parts) {
      this.#view = parts.view as ViewOf<T> | null;
      this.#remote = parts.remote;
      this[lockKey] = parts.lock;
      return;
    }
    this.#view = viewOf(this.typecode, new SharedArrayBuffer(views[this.typecode].BYTES_PER_ELEMENT)) as unknown as ViewOf<T>;
    if (init !== undefined) this.#view[0] = convert(this.typecode, init, 'Value') as never;
    this[lockKey] = lockFor(options?.lock);
  }

  /** The number; in a process worker each read is one round trip to the creator. */
  get value(): ValueOf<T> {
    const view = this.#view;
    const v = view !== null ? view[0] : this.#remote!.get(0);
    // Python's Value('c').value is one-byte bytes
    return (this.typecode === 'c' ? Uint8Array.of(v as number) : v) as ValueOf<T>;
  }

  set value(v: InitOf<T>) {
    const view = this.#view;
    const plain = this.#plain;
    if (view === null) this.#remote!.set(0, convert(this.typecode, v, 'Value'));
    else if (typeof v === 'number' && plain !== PLAIN_NEVER && (plain === PLAIN_ANY || Number.isInteger(v))) view[0] = v as never;
    else view[0] = convert(this.typecode, v, 'Value') as never;
  }

  /**
   * The underlying one-element typed array over shared memory (Python's get_obj()); in a process
   * worker, an array-like that reaches it through the creator (indexing, `slice()`, `set()`).
   */
  getObj(): ViewOf<T> {
    return this.#view ?? (remoteArray(this.#remote!, this.typecode, 1, null, ValueCoreShape) as unknown as ViewOf<T>);
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    refuseRemote(`Value('${this.typecode}')`, target);
    return { module: MODULE, type: 'Value', data: shareData(this.typecode, 1, this.#view, this.#remote, this[lockKey], target, ValueCoreShape) };
  }

  toString(): string {
    return `<${this[lockKey] ? 'Synchronized wrapper for ' : ''}${this.typecode}(${this.value})>`;
  }
}

/** A shared number with its lock: `getLock()` guards read-modify-writes (`v.value += 1`). */
export class SharedValue<T extends Typecode = Typecode> extends RawSharedValue<T> {
  /** The lock guarding this value (an RLock unless another was given). */
  getLock(): Lock | RLock {
    return this[lockKey]!;
  }
}

/** A raw shared Value: no lock. */
export type RawValue<T extends Typecode = Typecode> = RawSharedValue<T>;

interface ValueFactory {
  <T extends Typecode>(typecode: T, init: InitOf<T> | undefined, options: { lock: false }): RawValue<T>;
  <T extends Typecode>(typecode: T, init?: InitOf<T>, options?: SharedOptions): SharedValue<T>;
  new <T extends Typecode>(typecode: T, init: InitOf<T> | undefined, options: { lock: false }): RawValue<T>;
  new <T extends Typecode>(typecode: T, init?: InitOf<T>, options?: SharedOptions): SharedValue<T>;
}

/**
 * Python's `Value(typecode, init = 0, lock = true)`: a shared number, with or without `new`.
 * `new Value('i', 0)`, `new Value('q', 1n)`, `new Value('d', 0.5, { lock: false })`.
 */
export const Value = function Value<T extends Typecode>(typecode: T, init?: InitOf<T>, options?: SharedOptions) {
  return options?.lock === false ? new RawSharedValue(typecode, init, options) : new SharedValue(typecode, init, options);
} as unknown as ValueFactory;

/** A shared typed array with Python's typecode and, unless raw, its lock. */
export type SharedArray<T extends Typecode = Typecode> = ViewOf<T> & CharsOf<T> & {
  readonly typecode: T;
  /** The lock guarding this array (absent on a raw array). */
  getLock(): Lock | RLock;
  /** The typed array itself (Python's get_obj()). */
  getObj(): ViewOf<T>;
};
export type RawArray<T extends Typecode = Typecode> = ViewOf<T> & { readonly typecode: T } & CharsOf<T>;

/**
 * Python's `.value` and `.raw` of an `Array('c', ...)`: its bytes up to the first NUL, and all of them
 * (Uint8Array); a write takes bytes or a string (its UTF-8 bytes). `value` NUL-terminates a shorter
 * write; a longer one than the array is a ValueError, as in Python.
 */
export interface SharedChars {
  get value(): Uint8Array;
  set value(v: Uint8Array | string);
  get raw(): Uint8Array;
  set raw(v: Uint8Array | string);
}
type CharsOf<T extends Typecode> = T extends 'c' ? SharedChars : unknown;
/** What an Array may be initialised from: a length, or its elements (for 'c', also bytes or a string). */
export type ArrayInit<T extends Typecode> = number | Iterable<InitOf<T>> | (T extends 'c' ? string : never);

/** `.value` and `.raw` of a 'c' Array over local memory. */
function charsProperties(view: Uint8Array): PropertyDescriptorMap {
  return {
    value: { get: () => charsValue(view.slice()), set: (v: unknown) => writeChars(view, v, true, 'Array.value'), configurable: true },
    raw: { get: () => view.slice(), set: (v: unknown) => writeChars(view, v, false, 'Array.raw'), configurable: true },
  };
}

function decorate<T extends Typecode>(view: ViewOf<T>, typecode: T, lock: Lock | RLock | null): SharedArray<T> {
  const props: PropertyDescriptorMap = {
    typecode: { value: typecode },
    getObj: { value: () => view },
    [toHandle]: {
      value: (target: HandleTarget): HandleDescriptor => {
        refuseRemote(`Array('${typecode}')`, target);
        return { module: MODULE, type: 'Array', data: shareData(typecode, view.length, view, null, lock, target, ArrayCoreShape) };
      },
    },
  };
  if (typecode === 'c') Object.assign(props, charsProperties(view as unknown as Uint8Array));
  if (lock) props.getLock = { value: () => lock };
  // Python's names, for a ported program's worker code (configurable: multiproc/python sets them too).
  if (lock) props.get_lock = { value: () => lock, configurable: true };
  props.get_obj = { value: () => view, configurable: true };
  return Object.defineProperties(view, props) as SharedArray<T>;
}

interface ArrayFactory {
  <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options: { lock: false }): RawArray<T>;
  <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options?: SharedOptions): SharedArray<T>;
  new <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options: { lock: false }): RawArray<T>;
  new <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options?: SharedOptions): SharedArray<T>;
  /**
   * The global Array's statics: `import { Array } from 'multiproc'` (Python's `from multiprocessing import
   * Array`) shadows the global in that module, and its `Array.from(...)` must go on working.
   */
  from: ArrayConstructor['from'];
  of: ArrayConstructor['of'];
  isArray: ArrayConstructor['isArray'];
}

/**
 * Python's `Array(typecode, size_or_initializer, lock = true)`: a typed array over shared memory
 * (index it, iterate it, `.length`), plus `typecode`, `getObj()` and, unless raw, `getLock()`.
 * Works with or without `new`. Element writes go straight to the typed array (and wrap as it does).
 */
export const Array = function Array<T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options?: SharedOptions) {
  const t = checkTypecode(typecode) as T;
  let items: (number | bigint)[] | null = null;
  let length: number;
  if (typeof sizeOrInit === 'number') {
    if (!Number.isInteger(sizeOrInit)) throw new TypeError(`Array size must be an integer, got ${sizeOrInit}`);
    if (sizeOrInit < 0) throw new RangeError(`Array length must be >= 0, got ${sizeOrInit}`);
    length = sizeOrInit;
  } else if (t === 'c' && (typeof sizeOrInit === 'string' || sizeOrInit instanceof Uint8Array)) {
    items = [...bytesOf(sizeOrInit, 'Array')]; // Array('c', b'hello')
    length = items.length;
  } else if (sizeOrInit !== null && typeof sizeOrInit === 'object' && Symbol.iterator in sizeOrInit) {
    items = globalThis.Array.from(sizeOrInit as Iterable<unknown>, (v, i) => convert(t, v, `Array[${i}]`));
    length = items.length;
  } else {
    throw new TypeError(`Array: size_or_initializer must be a length or an iterable, got ${typeof sizeOrInit}`);
  }
  const view = viewOf(t, new SharedArrayBuffer(length * views[t].BYTES_PER_ELEMENT)) as unknown as ViewOf<T>;
  if (items) (view as unknown as { set(a: ArrayLike<number | bigint>): void }).set(items);
  return decorate(view, t, lockFor(options?.lock));
} as unknown as ArrayFactory;
Object.assign(Array, {
  from: globalThis.Array.from.bind(globalThis.Array),
  of: globalThis.Array.of.bind(globalThis.Array),
  isArray: globalThis.Array.isArray,
});

/** Python's RawValue(typecode, init): `Value(typecode, init, { lock: false })`. */
export function RawValue<T extends Typecode>(typecode: T, init?: InitOf<T>): RawValue<T> {
  return new RawSharedValue(typecode, init, { lock: false });
}

/** Python's RawArray(typecode, sizeOrInit): `Array(typecode, sizeOrInit, { lock: false })`. */
export function RawArray<T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>): RawArray<T> {
  return Array(typecode, sizeOrInit, { lock: false });
}

/**
 * Revives a Value or Array sent to this worker: over the memory itself in a thread of the creator's
 * process (or when its reference comes home), over a remote core in a process worker.
 */
export function reviveHandle(type: string, data: unknown): unknown {
  const { typecode, sab, core, length, lock } = data as ShareData;
  const t = checkTypecode(typecode);
  if (type !== 'Array' && type !== 'Value') throw new TypeError(`unknown shared type '${type}'`);
  const shape = type === 'Array' ? ArrayCoreShape : ValueCoreShape;
  const coreOrPromise = sab !== undefined ? null : openCore<CtypeCoreApi>(core!, shape);
  const lockOrPromise = lock === null ? null : (reviveLock(lock.type, lock.data) as Lock | RLock | Promise<Lock | RLock>);
  return whenAll([coreOrPromise, lockOrPromise], (c: CtypeCoreApi | null, l: Lock | RLock | null) => {
    const buffer = sab ?? (c instanceof CtypeCore ? c.memory.buffer : null);
    const view = buffer === null ? null : (viewOf(t, buffer) as unknown as ViewOf<Typecode>);
    const remote = view === null ? c : null;
    if (type === 'Array') return view !== null ? decorate(view, t, l) : remoteArray(remote!, t, length, l, ArrayCoreShape);
    return rebuild<Parts, RawSharedValue>({ view, remote, lock: l }, () => (l === null ? new RawSharedValue(t) : new SharedValue(t)));
  });
}
