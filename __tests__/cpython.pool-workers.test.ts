// CPython's Lib/test/_test_multiprocessing.py, _TestPoolWorkerErrors, _TestPoolWorkerLifetime and
// TestInitializers, ported as a newcomer would (multiproc/python, timeouts in ms), on both runtimes
// (_TestPool is in cpython.pool.test.ts).
import * as py from '../lib/python.js';
import { Pool, SerializationError, Manager } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

// def sqr(x, wait=0.0): time.sleep(wait); return x*x
const sqr = async (x: number, wait = 0) => {
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return x * x;
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.each(runtimes)('_TestPoolWorkerErrors (%s)', (runtime) => {
  test('test_async_error_callback', async () => {
    const p = new Pool({ processes: 2, runtime });
    const scratchpad: unknown[] = [null];
    const res = p.apply_async(() => { throw new RangeError('key'); }, [], { error_callback: (exc) => (scratchpad[0] = exc) });
    await expect(res.get()).rejects.toThrow(RangeError);
    expect(scratchpad[0]).toBeInstanceOf(RangeError);
    p.close();
    await p.join();
  });

  test('test_unpickleable_result: 20 results that cannot be sent back, no worker lost', async () => {
    const p = new Pool({ processes: 2, runtime });
    for (let i = 0; i < 20; i++) {
      const scratchpad: unknown[] = [null];
      const res = p.apply_async(() => () => 42, [], { error_callback: (exc) => (scratchpad[0] = exc) });
      await expect(res.get()).rejects.toThrow(SerializationError); // Python: MaybeEncodingError
      expect(scratchpad[0]).toBeInstanceOf(SerializationError);
    }
    expect(p.stats().workers).toBeLessThanOrEqual(2);
    p.close();
    await p.join();
  });
});

describe.each(runtimes)('_TestPoolWorkerLifetime (%s)', (runtime) => {
  test('test_pool_worker_lifetime: maxtasksperchild replaces the workers', async () => {
    const p = new Pool({ processes: 3, maxtasksperchild: 10, runtime });
    expect(p.processes).toBe(3);
    const sqrWho = async (x: number) => {
      const { threadId } = await import('node:worker_threads');
      return [x * x, `${process.pid}/${threadId}`] as const;
    };
    const results = range(100).map((i) => p.apply_async(sqrWho, [i]));
    const workers = new Set<string>();
    for (const [j, res] of results.entries()) {
      const [value, worker] = await res.get();
      expect(value).toBe(j * j);
      workers.add(worker);
    }
    // 100 tasks, at most 10 per worker: at least 10 different workers ran them
    expect(workers.size).toBeGreaterThanOrEqual(10);
    p.close();
    await p.join();
  }, 60_000);

  test('test_pool_worker_lifetime_early_close', async () => {
    const p = new Pool({ processes: 3, maxtasksperchild: 1, runtime });
    const results = range(6).map((i) => p.apply_async(sqr, [i, 300]));
    p.close();
    await p.join();
    for (const [j, res] of results.entries()) expect(await res.get()).toBe(j * j);
  });

  test('test_pool_maxtasksperchild_invalid', () => {
    for (const value of [0, -1, 0.5, '12']) expect(() => new Pool(3, null, [], value as any)).toThrow();
  });
});

describe('TestInitializers', () => {
  test('test_pool_initializer: the initializer runs once per worker, with a Namespace proxy', async () => {
    await using mgr = await Manager.start();
    const ns: any = await mgr.Namespace();
    ns.test = 0;
    expect(() => new Pool({ initializer: 1 as any })).toThrow(TypeError);
    const initializer = async (ns: any) => { ns.test = (await ns.test) + 1; };
    const p = new Pool(1, initializer, [ns]);
    await p.apply(sqr, [1]); // the worker has started (Python's close() waits for it anyway)
    p.close();
    await p.join();
    expect(await ns.test).toBe(1);
  });
});

describe('constructors with Python keywords after positionals', () => {
  const init = (x: number) => { (globalThis as any).initArg = x; };
  const readInit = () => (globalThis as any).initArg;

  test('Pool(2, initializer=init, initargs=(7,)) and Pool(2, init, (7,), maxtasksperchild=5)', async () => {
    for (const pool of [new Pool(2, { initializer: init, initargs: [7] }), new Pool(2, init, [7], { maxtasksperchild: 5 })]) {
      expect(await pool.apply(readInit)).toBe(7);
      await pool.terminate();
    }
    expect(() => new Pool(2, { processes: 3 })).toThrow(/multiple values for argument 'processes'/);
    expect(() => new Pool(2, { initialiser: init } as any)).toThrow(/unexpected keyword argument 'initialiser'/);
  });

  test('ProcessPoolExecutor(max_workers=1, initializer=init, initargs=(9,)): one spelling is not "multiple values"', async () => {
    await using ex = new py.ProcessPoolExecutor({ max_workers: 1, initializer: init, initargs: [9] });
    expect(await ex.submit(readInit).result()).toBe(9);
  });
});
