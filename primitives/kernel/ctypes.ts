/**
 * Python's typecodes for Value and Array, written once for shared memory (sharedctypes.ts) and the
 * Manager (manager/containers.ts): which typed array stores each code, and how a JS value is stored
 * (integers wrap as C integers do, non-integers are refused for integer codes, as ctypes does).
 * 'l'/'L' are 64-bit, as C long is on Linux and macOS; every 64-bit code reads as bigint.
 */
import { ValueError } from '../../lib/base/errors.js';

export const views = {
  b: Int8Array, B: Uint8Array, h: Int16Array, H: Uint16Array, i: Int32Array, I: Uint32Array,
  l: BigInt64Array, L: BigUint64Array, q: BigInt64Array, Q: BigUint64Array,
  f: Float32Array, d: Float64Array, c: Uint8Array,
} as const;

/**
 * Python's typecodes: b B h H i I (8-32 bit ints), l L q Q (64-bit ints, read as bigint), f d (floats),
 * c (a 1-byte char: a Value('c') reads as one-byte bytes, a Uint8Array; an Array('c') has `.value`/`.raw`).
 */
export type Typecode = keyof typeof views;
/** The codes that read as bigint. */
export type BigCode = 'l' | 'L' | 'q' | 'Q';
/** What a Value reads as: bigint for 64-bit integer codes, one-byte bytes for 'c', number otherwise. */
export type ValueOf<T extends Typecode> = T extends 'c' ? Uint8Array : T extends BigCode ? bigint : number;
/** What a Value or an Array element may be given as: its read type, a number, and a string for 'c' (its UTF-8 bytes). */
export type InitOf<T extends Typecode> = ValueOf<T> | number | (T extends 'c' ? string : never);

export const isBig = (t: Typecode): t is BigCode => t === 'l' || t === 'L' || t === 'q' || t === 'Q';
export const isFloat = (t: Typecode): boolean => t === 'f' || t === 'd';

/** Checks a typecode (TypeError naming the valid ones). */
export function checkTypecode(typecode: unknown): Typecode {
  if (typeof typecode !== 'string' || !Object.hasOwn(views, typecode)) {
    const shown = typeof typecode === 'string' ? `'${typecode}'` : String(typecode);
    throw new TypeError(`unsupported typecode ${shown}: expected one of ${Object.keys(views).join(' ')}`);
  }
  return typecode as Typecode;
}

/** Python's bytes for a 'c' Value or Array: a Uint8Array as it is, a string as its UTF-8 bytes. */
export function bytesOf(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new TextEncoder().encode(v);
  throw new TypeError(`${what}: bytes expected for typecode 'c' (a Uint8Array or a string), got ${v === null ? 'null' : typeof v}`);
}

/** One 'c' element: a one-byte bytes (Uint8Array or string), or its byte as a number 0-255 (the stored form). */
function charByte(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  if (typeof v === 'number') throw new TypeError(`${what}: a byte (0-255) expected for typecode 'c', got ${v}`);
  const bytes = bytesOf(v, what);
  if (bytes.length !== 1) throw new TypeError(`${what}: one character bytes expected for typecode 'c', got ${bytes.length} bytes`);
  return bytes[0];
}

/** The bytes of a 'c' Array up to its first NUL (Python's `arr.value`). */
export function charsValue(all: Uint8Array): Uint8Array {
  const end = all.indexOf(0);
  return end < 0 ? all : all.slice(0, end);
}

/** Writes `bytes` into `all` from index 0 (ValueError when too long); `terminate` adds a NUL after a shorter write. */
export function writeChars(all: { length: number; set(a: ArrayLike<number>, offset?: number): void }, v: unknown, terminate: boolean, what: string): void {
  const bytes = bytesOf(v, what);
  if (bytes.length > all.length) throw new ValueError(`${what}: byte string too long (${bytes.length} > ${all.length})`);
  all.set(terminate && bytes.length < all.length ? [...bytes, 0] : bytes, 0);
}

/** Converts a JS value for storage under typecode `t`; `what` names it in errors. */
export function convert(t: Typecode, v: unknown, what: string): number | bigint {
  if (t === 'c') return charByte(v, what);
  if (typeof v === 'boolean') v = Number(v);
  if (isFloat(t)) {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    throw new TypeError(`${what}: must be a real number for typecode '${t}', got ${v === null ? 'null' : typeof v}`);
  }
  if (typeof v === 'bigint') return isBig(t) ? v : Number(BigInt.asIntN(32, v));
  if (typeof v !== 'number') throw new TypeError(`${what}: int expected for typecode '${t}', got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v)) throw new TypeError(`${what}: int expected instead of float (${v}) for typecode '${t}'`);
  return isBig(t) ? BigInt(v) : v;
}

type AnyView = ArrayBufferView & { [i: number]: number | bigint; length: number };

/** A typed array of `length` elements for typecode `t`, over `buffer` if given (shared memory). */
export function viewOf(t: Typecode, lengthOrBuffer: number | ArrayBufferLike): AnyView {
  const View = views[t] as unknown as new (arg: number | ArrayBufferLike) => AnyView;
  return new View(lengthOrBuffer);
}
