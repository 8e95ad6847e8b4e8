/**
 * Python's typecodes for Value and Array, written once for shared memory (sharedctypes.ts) and the
 * Manager (manager/containers.ts): which typed array stores each code, and how a JS value is stored
 * (integers wrap as C integers do, non-integers are refused for integer codes, as ctypes does).
 * 'l'/'L' are 64-bit, as C long is on Linux and macOS; every 64-bit code reads as bigint.
 */
export const views = {
  b: Int8Array, B: Uint8Array, h: Int16Array, H: Uint16Array, i: Int32Array, I: Uint32Array,
  l: BigInt64Array, L: BigUint64Array, q: BigInt64Array, Q: BigUint64Array,
  f: Float32Array, d: Float64Array,
} as const;

/** Python's typecodes: b B h H i I (8-32 bit ints), l L q Q (64-bit ints, read as bigint), f d (floats). */
export type Typecode = keyof typeof views;
/** The codes that read as bigint. */
export type BigCode = 'l' | 'L' | 'q' | 'Q';
/** What an element reads as: bigint for 64-bit integer codes, number otherwise. */
export type ValueOf<T extends Typecode> = T extends BigCode ? bigint : number;

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

/** Converts a JS value for storage under typecode `t`; `what` names it in errors. */
export function convert(t: Typecode, v: unknown, what: string): number | bigint {
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
