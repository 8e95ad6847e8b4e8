import * as py from '../lib/python.js';
import * as mp from '../lib/index.js';
import { raceTimeout } from '../lib/base/timeout.js';
import { fileURLToPath } from 'node:url';
import { fixture, runtimes } from './helpers/runtimes.js';

describe('multiproc/python', () => {
  test('exports the same classes under Python names', async () => {
    const pool = new py.Pool(1);
    expect(pool).toBeInstanceOf(mp.Pool);
    await pool.terminate();
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

// ---------------------------------------------------------------------------------------------
// Positional arguments mean what they mean in CPython's signatures; keywords are a trailing object.

/** Fails (instead of hanging) when `p` does not settle within 10 s. */
async function soon<T>(p: Promise<T>, what: string): Promise<T> {
  const outcome = await raceTimeout(p, 10_000);
  if (outcome.timedOut) throw new Error(`${what} did not return`);
  return outcome.value;
}

describe('multiproc/python executors: shutdown(wait=True, *, cancel_futures=False)', () => {
  test('shutdown(false) is wait=False: it returns while a call still runs, and the call completes', async () => {
    const ex = new py.ThreadPoolExecutor(1);
    const gate = new py.Event();
    const f = ex.submit(async (gate: mp.Event) => { await gate.wait(); return 'ran'; }, gate);
    await soon(ex.shutdown(false), 'shutdown(false)');
    expect(f.done()).toBe(false);
    gate.set();
    expect(await f.result()).toBe('ran');
    await ex.shutdown(); // wait=True: resolves once the workers are gone
  });

  test('shutdown(true, { cancel_futures: true }) cancels the queued calls and waits for the running one', async () => {
    const ex = new py.ThreadPoolExecutor(1);
    const gate = new py.Event();
    const running = ex.submit(async (gate: mp.Event) => { await gate.wait(); return 'ran'; }, gate);
    const queued = ex.submit((x: number) => x, 1);
    const done = ex.shutdown(true, { cancel_futures: true });
    expect(queued.cancelled()).toBe(true);
    gate.set();
    await done;
    expect(running.result_now()).toBe('ran');
  });

  test('shutdown({ wait: false, cancel_futures: true }) as keywords; bad arguments are TypeErrors', async () => {
    const ex = new py.ProcessPoolExecutor(1);
    const gate = new py.Event();
    const running = ex.submit(async (gate: mp.Event) => { await gate.wait(); return 'ran'; }, gate);
    const queued = [ex.submit((x: number) => x, 1), ex.submit((x: number) => x, 2)];
    await soon(ex.shutdown({ wait: false, cancel_futures: true }), 'shutdown({ wait: false })');
    expect(queued.map((f) => f.cancelled())).toContain(true);
    gate.set();
    expect(await running.result()).toBe('ran');
    await expect(ex.shutdown('yes' as any)).rejects.toThrow(/wait must be a boolean/);
    await expect(ex.shutdown({ cancel: true } as any)).rejects.toThrow(/unexpected keyword argument 'cancel'/);
    await expect(ex.shutdown(true, true as any)).rejects.toThrow(TypeError);
    await ex.shutdown();
  });
});

describe('multiproc/python constructors take Python\'s positional parameters', () => {
  const whoAmI = mp.task<() => { name: string; pid: number }>(fixture('pool-tasks.ts'), 'whoAmI');

  test('ThreadPoolExecutor(max_workers, thread_name_prefix, initializer, initargs)', async () => {
    const ex = new py.ThreadPoolExecutor(1, 'porter', (x: number) => { (globalThis as any).initArg = x; }, [41]);
    try {
      expect(ex.maxWorkers).toBe(1);
      expect((await ex.submit(whoAmI).result()).name).toMatch(/^porter/);
      expect(await ex.submit(() => (globalThis as any).initArg + 1).result()).toBe(42);
    } finally {
      await ex.shutdown();
    }
    expect(() => new py.ThreadPoolExecutor(1, 'p', null, [], { thread_name_prefix: 'q' })).toThrow(/multiple values for argument 'thread_name_prefix'/);
    expect(() => new py.ThreadPoolExecutor({ max_workers: 1, max_tasks_per_child: 1 })).toThrow(/unexpected keyword argument 'max_tasks_per_child'/);
  });

  test('ProcessPoolExecutor(max_workers, mp_context, initializer, initargs, *, max_tasks_per_child)', async () => {
    const ex = new py.ProcessPoolExecutor(1, null, (x: number) => { (globalThis as any).initArg = x; }, [7], { max_tasks_per_child: 1 });
    try {
      const first = await ex.submit(() => [process.pid, (globalThis as any).initArg]).result();
      const second = await ex.submit(() => [process.pid, (globalThis as any).initArg]).result();
      expect(first[1]).toBe(7);
      expect(second[1]).toBe(7);
      expect(second[0]).not.toBe(first[0]); // max_tasks_per_child=1 replaced the worker
    } finally {
      await ex.shutdown();
    }
  });

  test.each(runtimes)('Process(group, target, name, args, kwargs, *, daemon) (%s)', async (runtime) => {
    const q = new py.Queue<number>();
    const p = new py.Process(null, (n: number, q: mp.Queue<number>) => q.putSync(n * 2), 'conn1', [5, q], {}, { daemon: true, runtime });
    expect(p.name).toBe('conn1');
    expect(p.daemon).toBe(true);
    p.start();
    expect(await q.get()).toBe(10);
    await p.join();
    expect(p.exitcode).toBe(0);
    const k = new py.Process({ target: () => {}, name: 'kw', daemon: false, runtime });
    expect(k.name).toBe('kw');
    expect(() => new py.Process('g' as any, () => {})).toThrow(/group argument must be None/);
    expect(() => new py.Process(null, () => {}, 'x', [], { key: 1 } as any)).toThrow(/keyword arguments/);
    expect(() => new py.Process({ target: () => {} }, (() => {}) as any)).toThrow(/not both/);
  });

  test('Pool.apply(func, args, kwds): kwds must be empty; apply_async(func, args, kwds, callback, error_callback)', async () => {
    const pool = new py.Pool(1);
    try {
      expect(await pool.apply((x: number) => x + 1, [1], {})).toBe(2);
      await expect(pool.apply((x: number) => x, [1], { x: 1 } as any)).rejects.toThrow(/keyword arguments/);
      const got: unknown[] = [];
      await pool.apply_async((x: number) => x * 3, [2], {}, (v) => got.push(v)).wait();
      await pool.apply_async(() => { throw new Error('e'); }, [], null, null, (e) => got.push(e.message)).wait();
      expect(got).toEqual([6, 'e']);
      expect(() => pool.apply_async((x: number) => x, [1], { callbak: () => {} } as any)).toThrow(/unexpected keyword argument 'callbak'/);
      expect(() => pool.apply_async((x: number) => x, [1], { callback: () => {} }, () => {})).toThrow(/multiple values for argument 'callback'/);
      expect(await pool.map((x: number) => x * 2, [1, 2, 3], { chunksize: 2 })).toEqual([2, 4, 6]);
      const mapped: unknown[] = [];
      await pool.map_async((x: number) => -x, [1, 2], { chunksize: 1, callback: (v: number[]) => mapped.push(v) }).wait();
      expect(mapped).toEqual([[-1, -2]]);
    } finally {
      await pool.terminate();
    }
  });
});

describe('multiproc/python wait(fs, timeout, return_when)', () => {
  test('positional return_when; the result destructures as Python\'s named tuple', async () => {
    const f1 = new py.Future<number>();
    const f2 = new py.Future<number>();
    f1.set_result(1);
    const [done, not_done] = await py.wait([f1, f2], 1000, py.FIRST_COMPLETED);
    expect([...done]).toEqual([f1]);
    expect([...not_done]).toEqual([f2]);
    const res = await py.wait([f1, f2], 0, { return_when: py.ALL_COMPLETED });
    expect(res.not_done.has(f2)).toBe(true);
    await expect(py.wait([f1], { timeout: 0, when: 'x' } as any)).rejects.toThrow(/unexpected keyword argument 'when'/);
  });
});

describe('multiproc/python names: one list for the runtime and the types', () => {
  test('every alias of PYTHON_NAMES exists at run time and forwards to its camelCase member', () => {
    const classes: Record<string, { prototype: object }> = py.ALIASED_CLASSES;
    expect(Object.keys(classes).sort()).toEqual(Object.keys(py.PYTHON_NAMES).sort());
    expect(classes.Queue).toBe(mp.Queue); // the shared classes, not copies: revived objects have the names too
    for (const [name, { methods, getters }] of Object.entries(py.PYTHON_NAMES)) {
      const proto: any = classes[name].prototype;
      for (const [snake, camel] of Object.entries(methods as Record<string, string>)) {
        expect([name, snake, typeof proto[snake]]).toEqual([name, snake, 'function']);
        expect([name, camel, camel in proto]).toEqual([name, camel, true]);
      }
      for (const snake of Object.keys(getters)) {
        expect([name, snake, typeof Object.getOwnPropertyDescriptor(proto, snake)?.get]).toEqual([name, snake, 'function']);
      }
    }
  });

  test("the aliases that had drifted work: q.join_thread(), f.set_result(), f.result_now()", async () => {
    const q = new py.Queue<number>();
    q.close();
    expect(q.join_thread()).toBeUndefined();
    q.cancel_join_thread();
    const f = new py.Future<number>();
    expect(f.set_running_or_notify_cancel()).toBe(true);
    f.set_result(3);
    expect(f.result_now()).toBe(3);
    expect(f.exception_now()).toBeNull();
    expect(py.BrokenThreadPool).toBe(mp.BrokenPoolError);
    const raw = py.RawValue('i', 1);
    expect((raw as any).get_lock).toBeUndefined(); // Python's RawValue has no get_lock either
    expect(raw.get_obj()).toBeInstanceOf(Int32Array);
  });
});

describe.each(runtimes)('multiproc/python names inside %s workers', (runtime) => {
  test('objects a task receives answer to Python\'s names when the program uses multiproc/python', async () => {
    const pool = new py.Pool({ processes: 1, runtime });
    try {
      const q = new py.Queue<number>();
      const seen = await pool.apply((queue: any) => {
        queue.put_nowait(7);
        return [typeof queue.get_nowait, typeof queue.task_done];
      }, [q]);
      expect(seen).toEqual(['function', 'undefined']); // a Queue has get_nowait, not JoinableQueue's task_done
      expect(await q.get()).toBe(7);
    } finally {
      await pool.terminate();
    }
  });
});

describe('multiproc/python keyword forms, as typed', () => {
  test('primitives: acquire({ block, timeout }), get({ timeout }), put(x, { block }), wait({ timeout }), without casts', async () => {
    const lock = new py.Lock();
    expect(lock).toBeInstanceOf(mp.Lock);
    expect(await lock.acquire({ block: false })).toBe(true);
    expect(await lock.acquire({ timeout: 10 })).toBe(false);
    expect(lock.acquire_sync({ block: false })).toBe(false);
    lock.release();
    const q = new py.Queue<number>({ maxsize: 1 });
    await q.put(1, { block: false });
    await expect(q.put(2, { block: false })).rejects.toThrow(mp.Full);
    expect(await q.get({ timeout: 1000 })).toBe(1);
    await expect(q.get({ timeout: 10 })).rejects.toThrow(mp.Empty);
    expect(await new py.Event().wait({ timeout: 10 })).toBe(false);
    expect(await new py.Semaphore(0).acquire({ timeout: 10 })).toBe(false);
    await expect(new py.Barrier(2, { timeout: 10 }).wait()).rejects.toThrow(mp.BrokenBarrierError);
  });

  test('a Manager from multiproc/python is the root\'s class, and its proxies take the keyword forms', async () => {
    const manager = await py.Manager.start();
    try {
      expect(manager).toBeInstanceOf(mp.Manager);
      const q = await manager.Queue<number>();
      await q.put(5, { block: false });
      expect(await q.get({ timeout: 1000 })).toBe(5);
      await expect(q.get({ timeout: 10 })).rejects.toThrow(mp.Empty);
      const lock = await manager.Lock();
      expect(await lock.acquire({ block: false })).toBe(true);
      expect(await lock.acquire({ timeout: 10 })).toBe(false);
      expect(await (await manager.Event()).wait({ timeout: 10 })).toBe(false);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('multiproc/python get_logger() / log_to_stderr()', () => {
  test('[LEVEL/process name] lines on stderr from the main program and from the Processes it starts after', async () => {
    const { runFile } = await import('./helpers/programs.js');
    const { code, err } = await runFile(fileURLToPath(new URL('./fixtures/python-logging.ts', import.meta.url)));
    expect(code).toBe(0);
    expect(err.trim().split('\n')).toEqual([
      'no handler yet: bare', // Python's last-resort handler: WARNING and above, unformatted
      '[INFO/MainProcess] main says hi and 5%',
      "[INFO/Process-1] in the child 'x'",
      "[INFO/Process-2] in the child 'x'",
    ]);
  });
});
