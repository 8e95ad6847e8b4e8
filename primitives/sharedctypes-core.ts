/**
 * The core of a shared Value or Array when a process worker uses it: the creator's typed array over
 * shared memory, served by this process's broker thread. A process cannot map the memory, so each
 * access from there is one request: an element read or write, or a whole range at once.
 */
import type { CoreShape } from './transport/core.js';
import { checkTypecode, viewOf, type Typecode } from './ctypes.js';

/** What the core is rebuilt from in the broker thread. */
export interface CtypeMemory {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
}

type AnyView = ReturnType<typeof viewOf> & {
  slice(start?: number, end?: number): ArrayBufferView;
  set(values: ArrayLike<number | bigint>, offset?: number): void;
};

/** Typed array methods that change the array and take only plain data: run where the memory is. */
const IN_PLACE = new Set(['fill', 'reverse', 'sort', 'copyWithin']);

export interface CtypeCoreApi {
  /** Element `i`, or undefined past the end (as a typed array reads). */
  get(i: number): number | bigint | undefined;
  /** `view[i] = v`, with typed array semantics (wraps; bigint codes take bigints). */
  set(i: number, v: number | bigint): void;
  /** A copy of `[start, end)`, as `view.slice` returns it. */
  read(start?: number, end?: number): ArrayBufferView;
  /** `view.set(values, offset)`: many elements in one request. */
  write(values: ArrayLike<number | bigint>, offset?: number): void;
  /** `view[method](...args)` for an in-place method without callbacks (fill, reverse, sort, copyWithin). */
  apply(method: string, args: unknown[]): void;
}

const METHODS = ['get', 'set', 'read', 'write', 'apply'];
export const ValueCoreShape: CoreShape = { kind: 'Value', waiting: [], immediate: METHODS };
export const ArrayCoreShape: CoreShape = { kind: 'Array', waiting: [], immediate: METHODS };

function index(i: unknown, what: string): number {
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`${what} must be an integer, got ${typeof i}`);
  return i;
}

export class CtypeCore implements CtypeCoreApi {
  readonly memory: CtypeMemory;
  readonly #view: AnyView;

  constructor(memory: CtypeMemory) {
    this.memory = memory;
    this.#view = viewOf(checkTypecode(memory.typecode), memory.buffer) as AnyView;
  }

  get(i: number): number | bigint | undefined {
    return this.#view[index(i, 'index')];
  }

  set(i: number, v: number | bigint): void {
    this.#view[index(i, 'index')] = v as never;
  }

  read(start?: number, end?: number): ArrayBufferView {
    return this.#view.slice(start, end);
  }

  write(values: ArrayLike<number | bigint>, offset = 0): void {
    this.#view.set(values as never, index(offset, 'offset'));
  }

  apply(method: string, args: unknown[]): void {
    if (!IN_PLACE.has(method)) throw new TypeError(`${method} is not an in-place typed array method`);
    if (!globalThis.Array.isArray(args) || args.some((a) => typeof a === 'function')) throw new TypeError(`${method}: plain arguments only`);
    (this.#view as any)[method](...args);
  }
}
