/**
 * Value and Array in process workers: the creator's shared memory, reached through its broker as a
 * Lock or a Queue is (each access a round trip, a whole range in one).
 */
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { closeBroker } from '../primitives/transport/expose.js';
import { Array as SharedArrayOf, RawValue, Value } from '../primitives/sharedctypes.js';

const fixtures = new URL('./fixtures/sync-shared.ts', import.meta.url).href;
const valueIncrements = task(fixtures, 'valueIncrements');
const arrayIncrements = task(fixtures, 'arrayIncrements');
const describeValue = task(fixtures, 'describeValue');
const arrayTour = task(fixtures, 'arrayTour');
const storeValue = task(fixtures, 'storeValue');
const inspectArray = task(fixtures, 'inspectArray');

let procs: Pool;
beforeAll(() => {
  procs = new Pool({ processes: 4, runtime: 'process' });
});
afterAll(async () => {
  await procs.terminate();
  await closeBroker();
});

test("Python's classic program: Value('d', 0.0) and Array('i', range(10)) modified by a Process", async () => {
  const num = new Value('d', 0.0);
  const arr = SharedArrayOf('i', Array.from({ length: 10 }, (_, i) => i));
  const p = new Process({
    target: (n: any, a: any) => {
      n.value = 3.1415927;
      for (let i = 0; i < a.length; i++) a[i] = -a[i];
    },
    args: [num, arr],
    runtime: 'process',
  });
  p.start();
  await p.join();
  expect(p.exitCode).toBe(0);
  expect(num.value).toBe(3.1415927);
  expect(Array.from(arr)).toEqual([0, -1, -2, -3, -4, -5, -6, -7, -8, -9]);
});

test('concurrent increments under getLock() from 4 process workers give the exact total', async () => {
  const v = new Value('i', 0);
  const n = 150;
  await Promise.all([0, 1, 2, 3].map(() => procs.apply(valueIncrements, [v, n])));
  expect(v.value).toBe(4 * n);
  expect(v.getLock().locked()).toBe(false);
});

test('a bigint Array updated under its lock from 2 process workers and read back', async () => {
  const arr = SharedArrayOf('q', 3);
  const n = 50;
  await Promise.all([procs.apply(arrayIncrements, [arr, n]), procs.apply(arrayIncrements, [arr, n])]);
  expect([...arr]).toEqual([100n, 100n, 100n]);
});

test('a process worker sees the same value and type, and writes the creator sees', async () => {
  expect(await procs.apply(describeValue, [new Value('Q', 2n ** 64n - 1n)])).toBe(`Q:${2n ** 64n - 1n}:bigint`);
  const raw = RawValue('d', 0.25);
  expect(await procs.apply(describeValue, [{ nested: [raw] }.nested[0]])).toBe('d:0.25:number');
  expect(await procs.apply(storeValue, [raw, 1.5])).toBe('ok:1.5');
  expect(raw.value).toBe(1.5);
  const i = new Value('b', 0);
  expect(await procs.apply(storeValue, [i, 200])).toBe('ok:-56'); // wraps like a C char, as on a thread
  expect(await procs.apply(storeValue, [i, 'x'])).toMatch(/^TypeError:.*int expected/); // misuse throws in the worker, synchronously
  expect(i.value).toBe(-56);
});

test('Array in a process worker: indexing, length, iteration, bulk slice/set, in-place and snapshot methods', async () => {
  const arr = SharedArrayOf('i', [1, 2, 3, 4, 5]);
  const seen = await procs.apply(arrayTour, [arr]);
  expect(seen).toEqual({
    length: 5, first: 1, last: 5, past: undefined, spread: [1, 2, 3, 4, 5], sum: 15,
    slice: [100, 7, 8], joined: '100,7,8,5,5', hasLock: true, pyLock: true,
  });
  expect(Array.from(arr)).toEqual([100, 7, 8, 5, 5]);
});

test('console.log of an Array in a process worker shows its elements', async () => {
  expect(await procs.apply(inspectArray, [SharedArrayOf('i', [3, 1, 2])])).toMatch(/\[ 3, 1, 2 \]/);
});

describe.each(['thread', 'process'] as const)("typecode 'c' (a 1-byte char, read as bytes) in a %s worker", (runtime) => {
  test("Value('c', b'x') and Array('c', b'hello'): .value / .raw as Uint8Array, written by a worker", async () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    const ch = Value('c', bytes('x'));
    const arr = SharedArrayOf('c', bytes('hello'));
    expect(ch.value).toEqual(bytes('x'));
    expect(arr.value).toEqual(bytes('hello'));
    expect(arr.raw).toEqual(bytes('hello'));
    const pool = runtime === 'process' ? procs : new Pool({ processes: 1 });
    const seen = await pool.apply((c: any, a: any) => {
      const before = [...c.value, ...a.value];
      c.value = 'y';
      a.value = 'hi'; // shorter: NUL-terminated, the rest stays in .raw
      let tooLong = '';
      try {
        a.raw = 'far too long';
      } catch (err) {
        tooLong = (err as Error).name;
      }
      return { before, tooLong, c0: a[0] };
    }, [ch, arr]).finally(() => (pool === procs ? undefined : pool.terminate()));
    expect(seen).toEqual({ before: [...bytes('xhello')], tooLong: 'ValueError', c0: 104 });
    expect(ch.value).toEqual(bytes('y'));
    expect(arr.value).toEqual(bytes('hi'));
    expect(arr.raw).toEqual(bytes('hi\0lo'));
    expect(() => (ch.value = bytes('two') as any)).toThrow(/one character bytes expected/);
    expect(() => Value('c', 3.5 as any)).toThrow(TypeError);
  });
});
