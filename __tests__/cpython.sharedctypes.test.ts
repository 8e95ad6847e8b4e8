// CPython's Lib/test/_test_multiprocessing.py, _TestValue, _TestArray and _TestSharedCTypes (the
// typecodes multiproc has: no ctypes Structure), ported as a newcomer would, on both runtimes.
import { Value, RawValue, Array as SharedArray, RawArray, Lock, Process } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

const latin = (s: string) => new TextEncoder().encode(s); // Python's latin('x'): bytes
const codes_values: [string, number | bigint | Uint8Array, number | bigint | Uint8Array][] = [
  ['i', 4343, 24234],
  ['d', 3.625, -4.25],
  ['h', -232, 234],
  ['q', 2n ** 33n, 2n ** 34n],
  ['c', latin('x'), latin('y')],
];

describe.each(runtimes)('_TestValue (%s)', (runtime) => {
  test.each([false, true])('test_value / test_rawvalue (raw: %s)', async (raw) => {
    const values = codes_values.map(([code, value]) => (raw ? RawValue(code as any, value as any) : Value(code as any, value as any)));
    values.forEach((sv, i) => expect(sv.value).toEqual(codes_values[i][1]));
    const proc = new Process({
      target: (values: { value: unknown }[], codes_values: [string, unknown, unknown][]) => {
        values.forEach((sv, i) => (sv.value = codes_values[i][2]));
      },
      args: [values, codes_values],
      runtime,
      daemon: true,
    });
    proc.start();
    await proc.join();
    expect(proc.exitcode).toBe(0);
    values.forEach((sv, i) => expect(sv.value).toEqual(codes_values[i][2]));
  });
});

describe('_TestValue (main)', () => {
  test('test_getobj_getlock', () => {
    const val1 = Value('i', 5);
    expect(val1.get_lock()).toBeDefined();
    expect(val1.get_obj()).toBeDefined();
    const val2 = Value('i', 5, { lock: null }); // lock=None: a new lock, as lock=True
    expect(val2.get_lock()).toBeDefined();
    const lock = new Lock();
    const val3 = Value('i', 5, { lock });
    expect(val3.get_lock()).toBe(lock);
    const arr4: any = Value('i', 5, { lock: false });
    expect(arr4.get_lock).toBeUndefined();
    expect(() => Value('i', 5, { lock: 'navalue' } as any)).toThrow(TypeError); // AttributeError
    const arr5: any = RawValue('i', 5);
    expect(arr5.get_lock).toBeUndefined();
  });

  test('test_invalid_typecode', () => {
    expect(() => Value('x' as any, null as any)).toThrow(TypeError); // bad typecode
    expect(() => RawValue('x' as any, null as any)).toThrow(TypeError);
  });
});

// f(seq): for i in range(1, len(seq)): seq[i] += seq[i-1]
const f = (seq: ArrayLike<number> & { [i: number]: number }) => {
  for (let i = 1; i < seq.length; i++) seq[i] += seq[i - 1];
};

describe.each(runtimes)('_TestArray (%s)', (runtime) => {
  test.each([false, true])('test_array / test_rawarray (raw: %s)', async (raw) => {
    const seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
    const arr = raw ? RawArray('i', seq) : SharedArray('i', seq);
    expect(arr.length).toBe(seq.length);
    expect(arr[3]).toBe(seq[3]);
    expect([...arr.slice(2, 7)]).toEqual(seq.slice(2, 7));
    arr.set([1, 2, 3, 4], 4); // arr[4:8] = seq[4:8] = array.array('i', [1, 2, 3, 4])
    seq.splice(4, 4, 1, 2, 3, 4);
    expect([...arr]).toEqual(seq);
    f(seq);
    const p = new Process({ target: f, args: [arr], runtime, daemon: true });
    p.start();
    await p.join();
    expect(p.exitcode).toBe(0);
    expect([...arr]).toEqual(seq);
  });
});

describe('_TestArray (main)', () => {
  test('test_array_from_size: zeroed', () => {
    for (let k = 0; k < 3; k++) {
      const arr = SharedArray('i', 10);
      expect(arr.length).toBe(10);
      expect([...arr]).toEqual(Array(10).fill(0));
      arr.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect([...arr]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  test('test_getobj_getlock_obj', () => {
    const range10 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const arr1: any = SharedArray('i', range10);
    expect(arr1.get_lock()).toBeDefined();
    expect(arr1.get_obj()).toBeDefined();
    const arr2: any = SharedArray('i', range10, { lock: null });
    expect(arr2.get_lock()).toBeDefined();
    const lock = new Lock();
    const arr3: any = SharedArray('i', range10, { lock });
    expect(arr3.get_lock()).toBe(lock);
    const arr4: any = SharedArray('i', range10, { lock: false });
    expect(arr4.get_lock).toBeUndefined();
    expect(() => SharedArray('i', range10, { lock: 'notalock' } as any)).toThrow(TypeError);
    const arr5: any = RawArray('i', range10);
    expect(arr5.get_lock).toBeUndefined();
  });

  test("the shared Array keeps the global Array's statics (an import of Array shadows the global)", () => {
    expect(SharedArray.from({ length: 3 }, (_, i) => i)).toEqual([0, 1, 2]);
    expect(SharedArray.of(1, 2)).toEqual([1, 2]);
    expect(SharedArray.isArray([])).toBe(true);
    expect([...SharedArray('i', SharedArray.from({ length: 3 }, (_, i) => i))]).toEqual([0, 1, 2]);
  });

  test('test_invalid_typecode', () => {
    expect(() => SharedArray('x' as any, [])).toThrow(TypeError);
    expect(() => RawArray('x' as any, [])).toThrow(TypeError);
  });
});

describe.each(runtimes)('_TestSharedCTypes (%s)', (runtime) => {
  test.each([false, true])('test_sharedctypes / test_synchronize (lock: %s)', async (lock) => {
    const x = Value('i', 7, { lock });
    const y = Value('d', 1.0 / 3.0, { lock });
    const z = Value('q', 2n ** 33n, { lock });
    const arr = SharedArray('d', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { lock });
    const p = new Process({
      target: (x: any, y: any, z: any, arr: any) => {
        x.value *= 2;
        y.value *= 2;
        z.value *= 2n;
        for (let i = 0; i < arr.length; i++) arr[i] *= 2;
      },
      args: [x, y, z, arr],
      runtime,
      daemon: true,
    });
    p.start();
    await p.join();
    expect(p.exitcode).toBe(0);
    expect(x.value).toBe(14);
    expect(y.value).toBeCloseTo(2.0 / 3.0);
    expect(z.value).toBe(2n ** 34n);
    for (let i = 0; i < 10; i++) expect(arr[i]).toBeCloseTo(i * 2);
  });
});
