/**
 * Shared Value and Array (Python's multiprocessing.sharedctypes): numbers in a SharedArrayBuffer,
 * with Python's typecodes, visible at once to every thread they are passed to. By default each
 * comes with an RLock (`getLock()`), as Python's synchronized wrappers do; `{ lock: false }` gives a
 * raw one. Shared memory cannot reach a process worker: for those, use a Manager's Value/Array.
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { SerializationError } from '../lib/base/errors.js';
import { Lock, RLock, reviveHandle as reviveLock } from './sync/locks.js';
import { cannotCrossHosts, rebuild, rebuilt, whenAll } from './reduction.js';
import { checkTypecode, convert, isBig, isFloat, views, viewOf, type Typecode, type ValueOf } from './ctypes.js';

export type { Typecode, ValueOf } from './ctypes.js';

const MODULE = import.meta.url;

type ViewOf<T extends Typecode> = InstanceType<(typeof views)[T]>;

/** `lock`: true (a new RLock, the default), false (raw, no getLock), or the Lock/RLock to use. */
export interface SharedOptions {
  lock?: boolean | Lock | RLock;
}

function lockFor(option: SharedOptions['lock']): Lock | RLock | null {
  if (option === undefined || option === true) return new RLock();
  if (option === false) return null;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw new TypeError("'lock' must be a boolean, a Lock or an RLock");
}

function refuse(what: string, target: HandleTarget): void {
  if (target === 'remote') throw cannotCrossHosts(what);
  if (target !== 'process') return;
  throw new SerializationError(
    `${what} lives in shared memory, which cannot reach a process worker; ` +
      "use a Manager's Value/Array instead (await manager.Value(typecode, v)), or a thread runtime",
  );
}

/** Which JS numbers a typecode stores unchanged: integers (int codes), any (float codes), none (bigint codes). */
const PLAIN_INTEGER = 0;
const PLAIN_ANY = 1;
const PLAIN_NEVER = 2;
type Plain = typeof PLAIN_INTEGER | typeof PLAIN_ANY | typeof PLAIN_NEVER;
const plainOf = (t: Typecode): Plain => (isFloat(t) ? PLAIN_ANY : isBig(t) ? PLAIN_NEVER : PLAIN_INTEGER);

type Parts = { view: ArrayBufferView; lock: Lock | RLock | null };

const lockKey = Symbol('lock');

/** A raw shared number (`{ lock: false }`): `.value` reads and writes it; no lock. */
export class RawSharedValue<T extends Typecode = Typecode> {
  readonly typecode: T;
  readonly #view: ViewOf<T>;
  /** What a plain number needs to be stored as is (the setter's fast path; convert() does the rest). */
  readonly #plain: Plain;
  /** @internal */
  readonly [lockKey]: Lock | RLock | null;

  constructor(typecode: T, init?: ValueOf<T> | number, options: SharedOptions = {}) {
    this.typecode = checkTypecode(typecode) as T;
    this.#plain = plainOf(this.typecode);
    const parts = rebuilt<Parts>();
    if (parts) {
      this.#view = parts.view as ViewOf<T>;
      this[lockKey] = parts.lock;
      return;
    }
    this.#view = viewOf(this.typecode, new SharedArrayBuffer(views[this.typecode].BYTES_PER_ELEMENT)) as unknown as ViewOf<T>;
    if (init !== undefined) this.#view[0] = convert(this.typecode, init, 'Value') as never;
    this[lockKey] = lockFor(options?.lock);
  }

  get value(): ValueOf<T> {
    return this.#view[0] as ValueOf<T>;
  }

  set value(v: ValueOf<T> | number) {
    const plain = this.#plain;
    if (typeof v === 'number' && plain !== PLAIN_NEVER && (plain === PLAIN_ANY || Number.isInteger(v))) this.#view[0] = v as never;
    else this.#view[0] = convert(this.typecode, v, 'Value') as never;
  }

  /** The underlying one-element typed array over shared memory (Python's get_obj()). */
  getObj(): ViewOf<T> {
    return this.#view;
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    refuse(`Value('${this.typecode}')`, target);
    return {
      module: MODULE,
      type: 'Value',
      data: { typecode: this.typecode, sab: this.#view.buffer, lock: this[lockKey]?.[toHandle](target) ?? null },
    };
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
  <T extends Typecode>(typecode: T, init: ValueOf<T> | number | undefined, options: { lock: false }): RawValue<T>;
  <T extends Typecode>(typecode: T, init?: ValueOf<T> | number, options?: SharedOptions): SharedValue<T>;
  new <T extends Typecode>(typecode: T, init: ValueOf<T> | number | undefined, options: { lock: false }): RawValue<T>;
  new <T extends Typecode>(typecode: T, init?: ValueOf<T> | number, options?: SharedOptions): SharedValue<T>;
}

/**
 * Python's `Value(typecode, init = 0, lock = true)`: a shared number, with or without `new`.
 * `new Value('i', 0)`, `new Value('q', 1n)`, `new Value('d', 0.5, { lock: false })`.
 */
export const Value = function Value<T extends Typecode>(typecode: T, init?: ValueOf<T> | number, options?: SharedOptions) {
  return options?.lock === false ? new RawSharedValue(typecode, init, options) : new SharedValue(typecode, init, options);
} as unknown as ValueFactory;

/** A shared typed array with Python's typecode and, unless raw, its lock. */
export type SharedArray<T extends Typecode = Typecode> = ViewOf<T> & {
  readonly typecode: T;
  /** The lock guarding this array (absent on a raw array). */
  getLock(): Lock | RLock;
  /** The typed array itself (Python's get_obj()). */
  getObj(): ViewOf<T>;
};
export type RawArray<T extends Typecode = Typecode> = ViewOf<T> & { readonly typecode: T };

function decorate<T extends Typecode>(view: ViewOf<T>, typecode: T, lock: Lock | RLock | null): SharedArray<T> {
  const props: PropertyDescriptorMap = {
    typecode: { value: typecode },
    getObj: { value: () => view },
    [toHandle]: {
      value: (target: HandleTarget): HandleDescriptor => {
        refuse(`Array('${typecode}')`, target);
        return { module: MODULE, type: 'Array', data: { typecode, sab: view.buffer, lock: lock?.[toHandle](target) ?? null } };
      },
    },
  };
  if (lock) props.getLock = { value: () => lock };
  return Object.defineProperties(view, props) as SharedArray<T>;
}

interface ArrayFactory {
  <T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>, options: { lock: false }): RawArray<T>;
  <T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>, options?: SharedOptions): SharedArray<T>;
  new <T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>, options: { lock: false }): RawArray<T>;
  new <T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>, options?: SharedOptions): SharedArray<T>;
}

/**
 * Python's `Array(typecode, size_or_initializer, lock = true)`: a typed array over shared memory
 * (index it, iterate it, `.length`), plus `typecode`, `getObj()` and, unless raw, `getLock()`.
 * Works with or without `new`. Element writes go straight to the typed array (and wrap as it does).
 */
export const Array = function Array<T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>, options?: SharedOptions) {
  const t = checkTypecode(typecode) as T;
  let items: (number | bigint)[] | null = null;
  let length: number;
  if (typeof sizeOrInit === 'number') {
    if (!Number.isInteger(sizeOrInit)) throw new TypeError(`Array size must be an integer, got ${sizeOrInit}`);
    if (sizeOrInit < 0) throw new RangeError(`Array length must be >= 0, got ${sizeOrInit}`);
    length = sizeOrInit;
  } else if (sizeOrInit !== null && typeof sizeOrInit === 'object' && Symbol.iterator in sizeOrInit) {
    items = globalThis.Array.from(sizeOrInit, (v, i) => convert(t, v, `Array[${i}]`));
    length = items.length;
  } else {
    throw new TypeError(`Array: size_or_initializer must be a length or an iterable, got ${typeof sizeOrInit}`);
  }
  const view = viewOf(t, new SharedArrayBuffer(length * views[t].BYTES_PER_ELEMENT)) as unknown as ViewOf<T>;
  if (items) (view as unknown as { set(a: ArrayLike<number | bigint>): void }).set(items);
  return decorate(view, t, lockFor(options?.lock));
} as unknown as ArrayFactory;

/** Python's RawValue(typecode, init): `Value(typecode, init, { lock: false })`. */
export function RawValue<T extends Typecode>(typecode: T, init?: ValueOf<T> | number): RawValue<T> {
  return new RawSharedValue(typecode, init, { lock: false });
}

/** Python's RawArray(typecode, sizeOrInit): `Array(typecode, sizeOrInit, { lock: false })`. */
export function RawArray<T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<ValueOf<T> | number>): RawArray<T> {
  return Array(typecode, sizeOrInit, { lock: false });
}

/** Revives a Value or Array sent to this worker thread. */
export function reviveHandle(type: string, data: unknown): unknown {
  const { typecode, sab, lock } = data as { typecode: Typecode; sab: SharedArrayBuffer; lock: HandleDescriptor | null };
  const t = checkTypecode(typecode);
  const view = viewOf(t, sab) as unknown as ViewOf<Typecode>;
  const lockOrPromise = lock === null ? null : (reviveLock(lock.type, lock.data) as Lock | RLock | Promise<Lock | RLock>);
  return whenAll([lockOrPromise], (l: Lock | RLock | null) => {
    if (type === 'Array') return decorate(view, t, l);
    if (type !== 'Value') throw new TypeError(`unknown shared type '${type}'`);
    return rebuild<Parts, RawSharedValue>({ view, lock: l }, () => (l === null ? new RawSharedValue(t) : new SharedValue(t)));
  });
}
