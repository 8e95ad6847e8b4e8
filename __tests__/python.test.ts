import * as py from '../lib/python.js';
import * as mp from '../lib/index.js';

describe('multiproc/python', () => {
  test('exports the same classes under Python names', () => {
    expect(new py.Pool(1)).toBeInstanceOf(mp.Pool);
    expect(py.cpu_count()).toBe(mp.cpuCount());
    expect(py.current_process().name).toBe('MainProcess');
    expect(py.BrokenProcessPool).toBe(mp.BrokenPoolError);
    expect(py.Queue).toBe(mp.Queue);
  });

  test('Pool(processes, initializer, initargs, maxtasksperchild) and the snake_case methods', async () => {
    const pool = new py.Pool(2, null, [], 3);
    const seen: number[] = [];
    const errors: Error[] = [];
    const r1 = pool.apply_async((x: number) => x * x, [4], { callback: (v: number) => seen.push(v) });
    const r2 = pool.apply_async(() => { throw new Error('boom'); }, [], { error_callback: (e: Error) => errors.push(e) });
    const r3 = pool.apply_async((x: number) => x + 1, [1], null, (v: number) => seen.push(v));
    expect(await r1.get()).toBe(16);
    await r2.wait();
    expect(await r3.get()).toBe(2);
    expect(errors.map((e) => e.message)).toEqual(['boom']);
    expect(seen.sort()).toEqual([16, 2].sort());
    const mapped: unknown[] = [];
    expect(await pool.map_async((x: number) => -x, [1, 2], null, (v: number[]) => mapped.push(v)).get()).toEqual([-1, -2]);
    expect(mapped).toEqual([[-1, -2]]);
    expect(await pool.starmap_async((a: number, b: number) => a + b, [[1, 2]], null, { callback: (v: number[]) => mapped.push(v) }).get()).toEqual([3]);
    const out: number[] = [];
    for await (const v of pool.imap_unordered((x: number) => x * 10, [1, 2, 3])) out.push(v);
    expect(out.sort((a, b) => a - b)).toEqual([10, 20, 30]);
    pool.close();
    await pool.join();
  });

  test('Pool options object takes maxtasksperchild', async () => {
    const pool = new py.Pool({ processes: 1, maxtasksperchild: 1 });
    const ids = new Set<number>();
    for (let i = 0; i < 3; i++) ids.add(await pool.apply(async () => (await import('node:worker_threads')).threadId));
    expect(ids.size).toBe(3);
    await pool.terminate();
  });

  test('primitives have their Python method names', async () => {
    const q = new py.Queue<number>();
    await q.put(1);
    expect((q as any).get_nowait()).toBe(1);
    expect(() => (q as any).get_nowait()).toThrow(mp.Empty);
    const ev = new py.Event();
    expect((ev as any).is_set()).toBe(false);
    ev.set();
    expect((ev as any).is_set()).toBe(true);
    const sem = new py.Semaphore(2);
    expect((sem as any).get_value()).toBe(2);
    const barrier = new py.Barrier(2);
    expect((barrier as any).n_waiting).toBe(0);
    const cond = new py.Condition();
    await cond.acquire();
    expect(() => (cond as any).notify_all()).not.toThrow();
    cond.release();
  });

  test('Process has is_alive and exitcode', async () => {
    const p = new py.Process({ target: () => { process.exitCode = 0; } });
    expect(p.is_alive()).toBe(false);
    p.start();
    await p.join();
    expect(p.exitcode).toBe(0);
    expect(p.is_alive()).toBe(false);
  });

  test('executors take max_workers and shutdown({ cancel_futures })', async () => {
    const ex = new py.ThreadPoolExecutor({ max_workers: 1 });
    const f = ex.submit((x: number) => x * 2, 21);
    const seen: unknown[] = [];
    (f as any).add_done_callback((fut: mp.Future<number>) => seen.push(fut.done()));
    expect(await f.result()).toBe(42);
    const res = await py.wait([f], { return_when: 'ALL_COMPLETED' });
    expect(res.done.has(f)).toBe(true);
    expect(res.not_done.size).toBe(0);
    await ex.shutdown({ cancel_futures: true });
    expect(seen).toEqual([true]);
  });
});

describe('multiproc/python shared memory', () => {
  test('Value and Array answer get_lock / get_obj', () => {
    const v = py.Value('i', 5);
    expect((v as any).get_lock()).toBe(v.getLock());
    const a: any = py.Array('d', [1, 2]);
    expect(a.get_lock()).toBe(a.getLock());
    expect(Array.from(a)).toEqual([1, 2]);
  });
});
