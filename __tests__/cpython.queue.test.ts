// CPython's Lib/test/_test_multiprocessing.py, _TestQueue and TestSimpleQueue, ported as a newcomer
// would (multiproc/python, timeouts in ms), with a child process and a worker thread as the Process.
import { Queue, JoinableQueue, SimpleQueue, Event, Process, Empty, Full, ConnectionClosedError } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

/** Times a call that must fail with `cls`, as CPython's assertRaises + TimingWrapper do. */
async function raisesAfter(cls: new (...a: any[]) => Error, f: () => unknown): Promise<number> {
  const t = performance.now();
  await expect((async () => f())()).rejects.toThrow(cls);
  return performance.now() - t;
}

describe.each(runtimes)('_TestQueue (%s)', (runtime) => {
  test('test_put', async () => {
    const MAXSIZE = 6;
    const queue = new Queue<number>(MAXSIZE);
    const child_can_start = new Event();
    const parent_can_continue = new Event();
    const proc = new Process({
      target: async (queue: Queue<number>, child_can_start: Event, parent_can_continue: Event) => {
        await child_can_start.wait();
        for (let i = 0; i < 6; i++) await queue.get();
        parent_can_continue.set();
      },
      args: [queue, child_can_start, parent_can_continue],
      runtime,
      daemon: true,
    });
    proc.start();
    expect(queue.empty()).toBe(true);
    expect(queue.full()).toBe(false);
    await queue.put(1);
    await queue.put(2, true);
    await queue.put(3, true, null);
    await queue.put(4, false);
    await queue.put(5, false, null);
    queue.put_nowait(6);
    expect(queue.empty()).toBe(false);
    expect(queue.full()).toBe(true);

    expect(await raisesAfter(Full, () => queue.put(7, false))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Full, () => queue.put(7, false, null))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Full, () => queue.put_nowait(7))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Full, () => queue.put(7, true, 100))).toBeGreaterThanOrEqual(95);
    expect(await raisesAfter(Full, () => queue.put(7, false, 5000))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    // put(7, True, timeout=TIMEOUT3)
    expect(await raisesAfter(Full, () => queue.put(7, true, { timeout: 100 } as any))).toBeGreaterThanOrEqual(95);
    expect(await raisesAfter(Full, () => queue.put(7, { timeout: 100 } as any))).toBeGreaterThanOrEqual(95);

    child_can_start.set();
    await parent_can_continue.wait();
    expect(queue.empty()).toBe(true);
    expect(queue.full()).toBe(false);
    await proc.join();
    queue.close();
  });

  test('test_get', async () => {
    const queue = new Queue<number>();
    const child_can_start = new Event();
    const parent_can_continue = new Event();
    const proc = new Process({
      target: async (queue: Queue<number>, child_can_start: Event, parent_can_continue: Event) => {
        await child_can_start.wait();
        for (const x of [2, 3, 4, 5]) await queue.put(x);
        parent_can_continue.set();
      },
      args: [queue, child_can_start, parent_can_continue],
      runtime,
      daemon: true,
    });
    proc.start();
    expect(queue.empty()).toBe(true);
    child_can_start.set();
    await parent_can_continue.wait();
    expect(queue.empty()).toBe(false);
    expect(await queue.get(true, null)).toBe(2);
    expect(await queue.get(true)).toBe(3);
    expect(await queue.get({ timeout: 1000 } as any)).toBe(4); // get(timeout=1)
    expect(queue.get_nowait()).toBe(5);
    expect(queue.empty()).toBe(true);

    expect(await raisesAfter(Empty, () => queue.get(false))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Empty, () => queue.get(false, null))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Empty, () => queue.get_nowait())).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Empty, () => queue.get(true, 100))).toBeGreaterThanOrEqual(95);
    expect(await raisesAfter(Empty, () => queue.get(false, 5000))).toBeLessThan(2500); // at once: a loaded machine may take a while, never the wait
    expect(await raisesAfter(Empty, () => queue.get({ timeout: 100 } as any))).toBeGreaterThanOrEqual(95);
    await proc.join();
    queue.close();
  });

  test('test_fork: items put before and by the child come out in order', async () => {
    const queue = new Queue<number>();
    for (let i = 0; i < 10; i++) await queue.put(i);
    const p = new Process({
      target: async (queue: Queue<number>) => {
        for (let i = 10; i < 20; i++) await queue.put(i);
      },
      args: [queue],
      runtime,
      daemon: true,
    });
    p.start();
    for (let i = 0; i < 20; i++) expect(await queue.get()).toBe(i);
    await expect(queue.get(false)).rejects.toThrow(Empty);
    await p.join();
    queue.close();
  });

  test('test_task_done: 4 consumers, join() returns once every item is done', async () => {
    const queue = new JoinableQueue<number | null>();
    const workers = Array.from({ length: 4 }, () => new Process({
      target: async (q: JoinableQueue<number | null>) => {
        for (;;) {
          const obj = await q.get();
          if (obj === null) break;
          await new Promise((r) => setTimeout(r, 10));
          q.task_done();
        }
      },
      args: [queue],
      runtime,
      daemon: true,
    }));
    workers.forEach((p) => p.start());
    for (let i = 0; i < 10; i++) await queue.put(i);
    await queue.join();
    for (let i = 0; i < workers.length; i++) await queue.put(null);
    for (const p of workers) await p.join();
    expect(workers.map((p) => p.exitcode)).toEqual([0, 0, 0, 0]);
    queue.close();
  });
});

describe('_TestQueue (main thread only)', () => {
  test('test_qsize', async () => {
    const q = new Queue<number>();
    expect(q.qsize()).toBe(0);
    await q.put(1);
    expect(q.qsize()).toBe(1);
    await q.put(5);
    expect(q.qsize()).toBe(2);
    await q.get();
    expect(q.qsize()).toBe(1);
    await q.get();
    expect(q.qsize()).toBe(0);
    q.close();
  });

  test('test_no_import_lock_contention: a module can use a Queue while it is imported', async () => {
    const mod = await import('./fixtures/cpython-imported-queue.js');
    expect(mod.answer).toBe('knock knock');
  });

  test('test_timeout: get(True, 200) raises Empty after about 200 ms', async () => {
    const q = new Queue();
    expect(await raisesAfter(Empty, () => q.get(true, 200))).toBeGreaterThanOrEqual(100);
    q.close();
  });

  test('test_closed_queue_put_get_exceptions', async () => {
    for (const q of [new Queue(), new JoinableQueue()]) {
      q.close();
      await expect((async () => q.put('foo'))()).rejects.toThrow(/is closed/); // ValueError: Queue ... is closed
      await expect((async () => q.get())()).rejects.toThrow(/is closed/);
    }
  });

  test('test_closed_queue_empty_exceptions: empty() of a used queue after close() raises "is closed"', async () => {
    for (const q of [new Queue(), new JoinableQueue()]) {
      await q.put('foo');
      q.close();
      q.join_thread();
      expect(() => q.empty()).toThrow(ConnectionClosedError); // OSError: ... is closed
      expect(() => q.empty()).toThrow(/is closed/);
    }
  });

  test('keyword arguments: put/get(block=..., timeout=...) and Queue(maxsize=...)', async () => {
    const q = new Queue<number>({ maxsize: 1 } as any);
    await q.put(1, { block: false } as any);
    expect(q.full()).toBe(true);
    await expect(q.put(2, { block: false } as any)).rejects.toThrow(Full);
    expect(await q.get({ block: false } as any)).toBe(1);
    await expect(q.get({ block: true, timeout: 10 } as any)).rejects.toThrow(Empty);
    expect(() => q.get({ blok: false } as any)).toThrow(/unexpected keyword argument 'blok'/);
    expect(() => (q as any).get(true, 5, { timeout: 10 })).toThrow(/multiple values/);
    await q.put({ timeout: 5 } as any); // one argument: a plain object is the item, as in Python
    expect(await q.get()).toEqual({ timeout: 5 });
    q.close();
  });
});

describe.each(runtimes)('TestSimpleQueue (%s)', (runtime) => {
  test('test_empty', async () => {
    const queue = new SimpleQueue<boolean>();
    const child_can_start = new Event();
    const parent_can_continue = new Event();
    const proc = new Process({
      target: async (queue: SimpleQueue<boolean>, child_can_start: Event, parent_can_continue: Event) => {
        await child_can_start.wait();
        try {
          queue.put(queue.empty());
          queue.put(queue.empty());
        } finally {
          parent_can_continue.set();
        }
      },
      args: [queue, child_can_start, parent_can_continue],
      runtime,
      daemon: true,
    });
    proc.start();
    expect(queue.empty()).toBe(true);
    child_can_start.set();
    await parent_can_continue.wait();
    expect(queue.empty()).toBe(false);
    expect(await queue.get()).toBe(true);
    expect(await queue.get()).toBe(false);
    expect(queue.empty()).toBe(true);
    await proc.join();
  });

  test('test_close / test_empty_exceptions', () => {
    const queue = new SimpleQueue();
    queue.close();
    queue.close(); // closing a queue twice should not fail
    expect(() => queue.empty()).toThrow(/is closed/); // OSError
  });
});

describe('start methods (the functions a ported program calls first)', () => {
  test('set_start_method / get_start_method / get_context / freeze_support', async () => {
    const py = await import('../lib/python.js');
    expect(py.get_all_start_methods()).toEqual(['spawn', 'fork', 'forkserver']);
    expect(() => py.get_context('thread' as any)).toThrow(/cannot find context/); // ValueError
    const ctx = py.get_context('fork');
    expect(ctx.get_start_method()).toBe('fork');
    expect(ctx.Queue).toBe(py.Queue);
    expect(ctx.Pool).toBe(py.Pool);
    py.set_start_method('spawn', { force: true });
    expect(() => py.set_start_method('fork')).toThrow(/context has already been set/); // RuntimeError
    expect(py.get_start_method()).toBe('spawn');
    expect(py.freeze_support()).toBeUndefined();
  });
});

describe.each(runtimes)('keyword arguments inside a worker (%s)', (runtime) => {
  test('q.get({ timeout }), get_sync({ block, timeout }), acquire({ timeout }), wait({ timeout }) in the child', async () => {
    const q = new Queue();
    const s = new (await import('../lib/python.js')).Semaphore(0);
    const ev = new Event();
    const out = new Queue<unknown[]>();
    const p = new Process({
      target: async (q: any, s: any, ev: any, out: any) => {
        const r: unknown[] = [];
        try { await q.get({ timeout: 50 }); } catch (e: any) { r.push(e.name); }
        try { q.get_sync({ block: true, timeout: 50 }); } catch (e: any) { r.push(e.name); }
        r.push(await s.acquire({ timeout: 50 }));
        r.push(s.acquire_sync({ block: false }));
        r.push(await ev.wait({ timeout: 20 }));
        r.push(ev.wait_sync({ timeout: 20 }));
        out.put_sync(r);
      },
      args: [q, s, ev, out],
      runtime,
    });
    p.start();
    expect(await out.get()).toEqual(['Empty', 'Empty', false, false, false, false]);
    await p.join();
    expect(p.exitcode).toBe(0);
  });
});
