// CPython's Lib/test/_test_multiprocessing.py, _TestPool (the workers' lifetime and errors are in
// cpython.pool-workers.test.ts), ported as a newcomer would (multiproc/python, timeouts in ms), on both runtimes.
import * as py from '../lib/python.js';
import { Pool, TimeoutError, PoolStateError, RemoteError, SerializationError } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

// def sqr(x, wait=0.0): time.sleep(wait); return x*x
const sqr = async (x: number, wait = 0) => {
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return x * x;
};
const mul = (x: number, y: number) => x * y;

class SayWhenError extends Error {
  override name = 'SayWhenError';
}
// def exception_throwing_generator(total, when)
function* exceptionThrowingGenerator(total: number, when: number) {
  if (when === -1) throw new SayWhenError('Somebody said when');
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError('Somebody said when');
    yield i;
  }
}
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.each(runtimes)('_TestPool (%s)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 4, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
    await pool.join();
  });

  test('test_apply', async () => {
    expect(await pool.apply(sqr, [5])).toBe(25);
    expect(await pool.apply(sqr, [3], {})).toBe(9); // kwds must be empty: JavaScript has no keyword arguments
  });

  test('test_map', async () => {
    expect(await pool.map(sqr, range(10))).toEqual(range(10).map((x) => x * x));
    expect(await pool.map(sqr, range(100), { chunksize: 20 })).toEqual(range(100).map((x) => x * x));
    expect(await pool.map(sqr, range(100), 20)).toEqual(range(100).map((x) => x * x));
  });

  test('test_starmap / test_starmap_async', async () => {
    let tuples = range(10).map((i) => [i, 9 - i]);
    expect(await pool.starmap(mul, tuples)).toEqual(tuples.map(([a, b]) => a * b));
    tuples = range(100).map((i) => [i, 99 - i]);
    expect(await pool.starmap(mul, tuples, { chunksize: 20 })).toEqual(tuples.map(([a, b]) => a * b));
    expect(await pool.starmap_async(mul, tuples).get()).toEqual(tuples.map(([a, b]) => a * b));
  });

  test('test_map_async', async () => {
    expect(await pool.map_async(sqr, range(10)).get()).toEqual(range(10).map((x) => x * x));
  });

  test('test_map_async_callbacks', async () => {
    const call_args: unknown[] = [];
    const int = (s: string) => {
      if (!/^\d+$/.test(s)) throw new TypeError(`invalid literal for int() with base 10: '${s}'`);
      return Number(s);
    };
    await pool.map_async(int, ['1'], { callback: (v) => call_args.push(v), error_callback: (e) => call_args.push(e) }).wait();
    expect(call_args).toEqual([[1]]);
    await pool.map_async(int, ['a'], { callback: (v) => call_args.push(v), error_callback: (e) => call_args.push(e) }).wait();
    expect(call_args).toHaveLength(2);
    expect(call_args[1]).toBeInstanceOf(TypeError);
  });

  test('test_map_unplicklable: an argument that cannot be sent fails the map, no hang', async () => {
    const unsendable = { f: () => 1 };
    await expect(pool.map(sqr, Array(10).fill(unsendable))).rejects.toThrow(SerializationError);
    expect(await pool.apply(sqr, [2])).toBe(4); // the pool goes on
  });

  test('test_map_chunksize: map_async of an empty list does not stall', async () => {
    expect(await pool.map_async(sqr, [], 1).get(100)).toEqual([]);
    expect(await pool.map_async(sqr, [], { chunksize: 1 }).get({ timeout: 100 } as any)).toEqual([]);
  });

  test('test_map_handle_iterable_exception', async () => {
    await expect(pool.map(sqr, exceptionThrowingGenerator(1, -1), 1)).rejects.toThrow(SayWhenError);
    await expect(pool.map(sqr, exceptionThrowingGenerator(1, -1), 1)).rejects.toThrow(SayWhenError); // reentrant
    await expect(pool.map(sqr, exceptionThrowingGenerator(10, 3), 1)).rejects.toThrow(SayWhenError);
    const special = { [Symbol.iterator]: () => ({ next: () => { throw new SayWhenError(); } }), length: 1 };
    await expect(pool.map(sqr, special, 1)).rejects.toThrow(SayWhenError);
    await expect(pool.map(sqr, special, 1)).rejects.toThrow(SayWhenError);
  });

  test('test_async: get() waits for the result', async () => {
    const res = pool.apply_async(sqr, [7, 100]);
    expect(await res.get()).toBe(49);
  });

  test('test_async_timeout: get(timeout) raises TimeoutError, the task goes on', async () => {
    const p = new Pool({ processes: 3, runtime });
    try {
      const gate = new py.Event();
      const res = p.apply_async(async (x: number, gate: py.Event) => { await gate.wait(); return x * x; }, [6, gate]);
      await expect(res.get(100)).rejects.toThrow(TimeoutError);
      await expect(res.get({ timeout: 100 } as any)).rejects.toThrow(TimeoutError); // res.get(timeout=0.1)
      expect(res.ready()).toBe(false);
      gate.set();
      expect(await res.get(30_000)).toBe(36);
    } finally {
      await p.terminate();
      await p.join();
    }
  });

  test('test_imap', async () => {
    const all: number[] = [];
    for await (const x of pool.imap(sqr, range(10))) all.push(x);
    expect(all).toEqual(range(10).map((x) => x * x));

    let it = pool.imap(sqr, range(10));
    for (let i = 0; i < 10; i++) expect((await it.next()).value).toBe(i * i);
    expect((await it.next()).done).toBe(true); // StopIteration

    it = pool.imap(sqr, range(1000), 100);
    for (let i = 0; i < 1000; i++) expect((await it.next()).value).toBe(i * i);
    expect((await it.next()).done).toBe(true);
  });

  test('test_imap_handle_iterable_exception', async () => {
    let it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), 1);
    await expect(it.next()).rejects.toThrow(SayWhenError);
    it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), 1);
    await expect(it.next()).rejects.toThrow(SayWhenError);

    it = pool.imap(sqr, exceptionThrowingGenerator(10, 3), 1);
    for (let i = 0; i < 3; i++) expect((await it.next()).value).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);

    // SayWhenError seen at start of problematic chunk's results
    it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), 2);
    for (let i = 0; i < 6; i++) expect((await it.next()).value).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);
    it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), 4);
    for (let i = 0; i < 4; i++) expect((await it.next()).value).toBe(i * i);
    await expect(it.next()).rejects.toThrow(SayWhenError);
  });

  test('test_imap_unordered', async () => {
    let got: number[] = [];
    for await (const x of pool.imap_unordered(sqr, range(10))) got.push(x);
    expect(got.sort((a, b) => a - b)).toEqual(range(10).map((x) => x * x));
    got = [];
    for await (const x of pool.imap_unordered(sqr, range(1000), 100)) got.push(x);
    expect(got.sort((a, b) => a - b)).toEqual(range(1000).map((x) => x * x));
  });

  test('test_imap_unordered_handle_iterable_exception', async () => {
    let it = pool.imap_unordered(sqr, exceptionThrowingGenerator(1, -1), 1);
    await expect(it.next()).rejects.toThrow(SayWhenError);
    it = pool.imap_unordered(sqr, exceptionThrowingGenerator(1, -1), 1);
    await expect(it.next()).rejects.toThrow(SayWhenError);

    for (const [total, when, chunksize] of [[10, 3, 1], [20, 7, 2]]) {
      it = pool.imap_unordered(sqr, exceptionThrowingGenerator(total, when), chunksize);
      const expected = range(total).map((x) => x * x);
      const seen: number[] = [];
      await expect((async () => {
        for (let i = 0; i < total; i++) {
          const { value } = await it.next();
          expect(expected).toContain(value);
          expected.splice(expected.indexOf(value as number), 1);
          seen.push(value as number);
        }
      })()).rejects.toThrow(SayWhenError);
      expect(seen.length).toBeLessThan(when + 1);
    }
  });

  test('test_make_pool', async () => {
    expect(() => new Pool(-1)).toThrow(RangeError);
    expect(() => new Pool(0)).toThrow(RangeError);
    const p = new Pool({ processes: 3, runtime });
    try {
      expect(p.processes).toBe(3);
    } finally {
      p.close();
      await p.join();
    }
  });

  test('test_terminate: terminate() with 10,000 queued "forever" tasks returns promptly', async () => {
    const p = new Pool({ processes: 3, runtime });
    const started = new py.Event();
    const forever = async (ev: py.Event, ms: number) => {
      ev.set();
      await new Promise((r) => setTimeout(r, ms));
    };
    const result = p.starmap_async(forever, Array(10_000).fill([started, 60_000]), 1);
    const settled = result.get().catch((e) => e);
    await started.wait(); // some tasks have started
    await p.terminate();
    await p.join();
    expect(await settled).toBeInstanceOf(PoolStateError);
  }, 30_000);

  test('test_empty_iterable', async () => {
    const p = new Pool({ processes: 1, runtime });
    expect(await p.map(sqr, [])).toEqual([]);
    const l1: number[] = [];
    for await (const x of p.imap(sqr, [])) l1.push(x);
    const l2: number[] = [];
    for await (const x of p.imap_unordered(sqr, [])) l2.push(x);
    expect([l1, l2]).toEqual([[], []]);
    expect(await p.map_async(sqr, []).get()).toEqual([]);
    p.close();
    await p.join();
  });

  test('test_context: with Pool(2) as p; after the block the pool refuses work', async () => {
    const L = range(10);
    let p: Pool;
    {
      await using pp = new Pool({ processes: 2, runtime });
      p = pp;
      const r = p.map_async(sqr, L);
      expect(await r.get()).toEqual(L.map((x) => x * x));
    }
    await p.join();
    expect(() => p.map_async(sqr, L)).toThrow(PoolStateError); // ValueError: Pool not running
  });

  test('test_traceback: the error is re-raised as itself, the remote traceback in its cause', async () => {
    let exc: any;
    {
      await using p = new Pool({ processes: 1, runtime });
      try {
        await p.apply(function _test_traceback() {
          throw new RangeError('123'); // some comment
        });
      } catch (e) {
        exc = e;
      }
      expect(exc?.constructor).toBe(RangeError);
      expect(exc.message).toBe('123');
      expect(exc.cause).toBeInstanceOf(RemoteError);
      expect(String(exc.cause.stack ?? exc.cause.message)).toContain('_test_traceback');

      // an error of the input iterable is not a remote error
      let exc2: any;
      try {
        await p.map(sqr, exceptionThrowingGenerator(1, -1), 1);
      } catch (e) {
        exc2 = e;
      }
      expect(exc2).toBeInstanceOf(SayWhenError);
      expect(exc2.cause).toBeUndefined();
    }
  });

  test('test_wrapped_exception', async () => {
    await using p = new Pool({ processes: 1, runtime });
    await expect(p.apply(() => { throw new RangeError('foo'); })).rejects.toThrow(RangeError);
  });

  test('test_map_no_failfast: a failing map does not deadlock close() + join()', async () => {
    const p = new Pool({ processes: 2, runtime });
    const raiseLargeValueError = async (wait: number) => {
      await new Promise((r) => setTimeout(r, wait));
      throw new RangeError('x'.repeat(1024 ** 2));
    };
    await expect(p.map(raiseLargeValueError, [0, 1])).rejects.toThrow(RangeError);
    p.close();
    await p.join();
  });

  test('test_enter: a pool left by its with-block is not running', async () => {
    const p = new Pool({ processes: 1, runtime });
    {
      await using _ = p;
    }
    await expect(p.apply(sqr, [1])).rejects.toThrow(PoolStateError);
    await p.join();
  });
});
