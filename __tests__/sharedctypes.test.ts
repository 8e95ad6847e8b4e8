import { Pool } from '../lib/pool.js';
import { task } from '../lib/base/task.js';
import { SerializationError } from '../lib/base/errors.js';
import { encodeHandles } from '../lib/base/codec/handles.js';
import { Lock, RLock } from '../primitives/synchronize.js';
import { Array as SharedArrayOf, RawArray, RawValue, Value } from '../primitives/sharedctypes.js';

const fixtures = new URL('./fixtures/sync-shared.ts', import.meta.url).href;
const valueIncrements = task(fixtures, 'valueIncrements');
const arrayIncrements = task(fixtures, 'arrayIncrements');
const describeValue = task(fixtures, 'describeValue');

describe('Value', () => {
  test('typecodes, defaults and wrapping like C integers', () => {
    expect(new Value('i').value).toBe(0);
    expect(new Value('i', 7).value).toBe(7);
    expect(Value('h', -3).value).toBe(-3); // callable without new, as in Python
    const cases: [Parameters<typeof Value>[0], number, number][] = [
      ['b', 200, -56], ['B', 300, 44], ['B', -1, 255], ['h', 40000, -25536], ['H', -1, 65535],
      ['i', 2 ** 31, -(2 ** 31)], ['I', -1, 2 ** 32 - 1],
    ];
    for (const [code, input, stored] of cases) {
      const v = new Value(code, input);
      expect([code, v.value]).toEqual([code, stored]);
      v.value = input;
      expect([code, v.value]).toEqual([code, stored]);
    }
  });

  test('64-bit integer codes read as bigint and wrap at 64 bits', () => {
    const q = new Value('q', 5);
    expect(q.value).toBe(5n);
    q.value = 2n ** 63n;
    expect(q.value).toBe(-(2n ** 63n));
    const Q = new Value('Q', -1n);
    expect(Q.value).toBe(2n ** 64n - 1n);
    expect(new Value('l', 3).value).toBe(3n);
    expect(new Value('L', 3n).value).toBe(3n);
    expect(() => new Value('q', 1.5)).toThrow(TypeError);
  });

  test('floats: d is a double, f rounds to float32', () => {
    expect(new Value('d', 0.1).value).toBe(0.1);
    expect(new Value('f', 0.1).value).toBe(Math.fround(0.1));
    const d = new Value('d');
    d.value = 2.5;
    expect(d.value).toBe(2.5);
  });

  test('bad input: unknown typecode, float into an int code, wrong types', () => {
    expect(() => new Value('x' as 'i', 1)).toThrow(/unsupported typecode 'x'/);
    expect(() => new Value('i', 1.5)).toThrow(TypeError);
    expect(() => new Value('i', '1' as unknown as number)).toThrow(TypeError);
    const v = new Value('i', 1);
    expect(() => (v.value = 2.5)).toThrow(/int expected instead of float/);
    expect(v.value).toBe(1);
    expect(() => new Value('i', 1, { lock: 5 as unknown as boolean })).toThrow(TypeError);
  });

  test('getLock: an RLock by default, the given lock, none on a raw value', () => {
    expect(new Value('i', 0).getLock()).toBeInstanceOf(RLock);
    const lock = new Lock();
    expect(new Value('i', 0, { lock }).getLock()).toBe(lock);
    const raw = new Value('i', 0, { lock: false });
    expect((raw as { getLock?: unknown }).getLock).toBeUndefined();
    expect((RawValue('i', 1) as { getLock?: unknown }).getLock).toBeUndefined();
    raw.value = 3;
    expect(raw.value).toBe(3);
    expect(RawValue('d', 1.5).value).toBe(1.5);
  });
});

describe('Array', () => {
  test('from a size (zeros) or an initializer; typed-array view', () => {
    const a = new SharedArrayOf('i', 4);
    expect(a.length).toBe(4);
    expect([...a]).toEqual([0, 0, 0, 0]);
    expect(a).toBeInstanceOf(Int32Array);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    a[2] = 9;
    expect(a.getObj()[2]).toBe(9);
    const b = SharedArrayOf('B', [1, 256, -1]);
    expect([...b]).toEqual([1, 0, 255]);
    const q = SharedArrayOf('q', [1, 2n]);
    expect([...q]).toEqual([1n, 2n]);
    expect(q.typecode).toBe('q');
    const d = SharedArrayOf('d', [0.5, 1.5]);
    expect(Array.from(d)).toEqual([0.5, 1.5]);
    expect(SharedArrayOf('i', 0).length).toBe(0);
  });

  test('bad input', () => {
    expect(() => SharedArrayOf('i', -1)).toThrow(RangeError);
    expect(() => SharedArrayOf('i', 1.5)).toThrow(TypeError);
    expect(() => SharedArrayOf('i', [1, 2.5])).toThrow(/Array\[1\]/);
    expect(() => SharedArrayOf('z' as 'i', 2)).toThrow(TypeError);
    expect(() => SharedArrayOf('i', {} as unknown as number)).toThrow(TypeError);
  });

  test('raw arrays have no getLock', () => {
    const raw = SharedArrayOf('i', 2, { lock: false });
    expect((raw as { getLock?: unknown }).getLock).toBeUndefined();
    expect((RawArray('h', [1]) as { getLock?: unknown }).getLock).toBeUndefined();
    expect(SharedArrayOf('i', 2).getLock()).toBeInstanceOf(RLock);
  });
});

describe('Value and Array across worker threads', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2 });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('getLock() protects read-modify-write across 2 threads: exact final count', async () => {
    const v = new Value('i', 0);
    const n = 20_000;
    await Promise.all([pool.apply(valueIncrements, [v, n]), pool.apply(valueIncrements, [v, n])]);
    expect(v.value).toBe(2 * n);
    expect(v.getLock().locked()).toBe(false);
  });

  test('a shared bigint Array updated under its lock from 2 threads', async () => {
    const arr = SharedArrayOf('q', 3);
    const n = 5000;
    await Promise.all([pool.apply(arrayIncrements, [arr, n]), pool.apply(arrayIncrements, [arr, n])]);
    expect([...arr]).toEqual([10000n, 10000n, 10000n]);
  });

  test('a worker sees the same value (and bigint type) as the creator', async () => {
    expect(await pool.apply(describeValue, [new Value('Q', 2n ** 64n - 1n)])).toBe(`Q:${2n ** 64n - 1n}:bigint`);
    expect(await pool.apply(describeValue, [{ nested: [new Value('d', 0.25, { lock: false })] }.nested[0]])).toBe('d:0.25:number');
  });
});

describe('another host', () => {
  test('a Value or Array cannot cross to another host: SerializationError naming the Manager way out', () => {
    for (const [args, path] of [[[new Value('i', 1)], 'args[0]'], [[1, { a: [SharedArrayOf('i', 2)] }], 'args[1].a[0]']] as const) {
      let error: any;
      try {
        encodeHandles(args, 'remote');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SerializationError);
      expect(error.message).toMatch(/another host.*manager\./s);
      expect(error.path).toBe(path); // where it sits in the call, not ''
      expect(error.message.startsWith(`cannot send ${path}: `)).toBe(true);
    }
  });
});

describe('encodeHandles on lists', () => {
  test('a list of primitives comes back as it is; a handle nested in a list beside primitives is still found', () => {
    const flat = [1, 'a', null, undefined, true, 2n];
    const plain = encodeHandles(flat, 'thread');
    expect(plain.found).toBe(false);
    expect(plain.value).toBe(flat); // no copy
    const v = new Value('i', 3);
    for (const args of [[1, 2, v], [1, [2, [v]]], [{ a: [0, v] }]]) {
      const enc = encodeHandles(args, 'thread');
      expect(enc.found).toBe(true);
      expect(enc.value).not.toBe(args);
      expect(JSON.stringify(enc.value)).toContain('__multiproc_handle__');
    }
  });
});
