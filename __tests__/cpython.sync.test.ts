// CPython's Lib/test/_test_multiprocessing.py, _TestLock, _TestSemaphore, _TestCondition and _TestEvent,
// ported as a newcomer would (multiproc/python, timeouts in ms). Where CPython mixes a Process and a
// threading.Thread, the port uses a Process of each runtime (child process and worker thread).
import {
  Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Process, Value, LockStateError,
} from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

/** Times a call, as CPython's TimingWrapper does. */
async function timed<T>(f: () => T | Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

describe('_TestLock', () => {
  test('test_lock', async () => {
    const lock = new Lock();
    expect(await lock.acquire()).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(lock.release()).toBeUndefined();
    expect(lock.locked()).toBe(false);
    expect(() => lock.release()).toThrow(LockStateError); // ValueError
  });

  test('test_rlock', async () => {
    const lock = new RLock();
    expect(await lock.acquire()).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire()).toBe(true);
    expect(await lock.acquire()).toBe(true);
    expect(lock.release()).toBeUndefined();
    expect(lock.locked()).toBe(true);
    expect(lock.release()).toBeUndefined();
    expect(lock.release()).toBeUndefined();
    expect(lock.locked()).toBe(false);
    expect(() => lock.release()).toThrow(LockStateError); // RuntimeError
  });

  test('test_lock_context / test_rlock_context', async () => {
    {
      await using locked = await new Lock().hold();
      expect(locked).toBeTruthy();
    }
    {
      using locked = new RLock().hold_sync();
      expect(locked).toBeTruthy();
    }
  });

  test.each(runtimes)('test_lock_locked_2processes / test_rlock_locked_2processes (%s)', async (runtime) => {
    for (const lock of [new Lock(), new RLock()]) {
      const event = new Event();
      const res = Value('b', 0);
      const p = new Process({
        target: async (lock: Lock, event: Event, res: { value: number }) => {
          await lock.acquire();
          res.value = lock.locked() ? 1 : 0;
          event.set();
        },
        args: [lock, event, res],
        runtime,
      });
      p.start();
      await event.wait();
      expect(lock.locked()).toBe(true);
      expect(res.value).toBe(1);
      await p.join();
    }
  });
});

describe('_TestSemaphore', () => {
  async function checkSemaphore(sem: Semaphore) {
    expect(sem.get_value()).toBe(2);
    expect(await sem.acquire()).toBe(true);
    expect(sem.get_value()).toBe(1);
    expect(await sem.acquire()).toBe(true);
    expect(sem.get_value()).toBe(0);
    expect(await sem.acquire(false)).toBe(false);
    expect(sem.get_value()).toBe(0);
    expect(sem.release()).toBeUndefined();
    expect(sem.get_value()).toBe(1);
    expect(sem.release()).toBeUndefined();
    expect(sem.get_value()).toBe(2);
  }

  test('test_semaphore', async () => {
    const sem = new Semaphore(2);
    await checkSemaphore(sem);
    expect(sem.release()).toBeUndefined();
    expect(sem.get_value()).toBe(3);
    expect(sem.release()).toBeUndefined();
    expect(sem.get_value()).toBe(4);
  });

  test('test_bounded_semaphore', async () => {
    const sem = new BoundedSemaphore(2);
    await checkSemaphore(sem);
    expect(() => sem.release()).toThrow(LockStateError); // ValueError: released too many times
    expect(sem.get_value()).toBe(2);
  });

  test('test_timeout: acquire(block, timeout) and acquire(timeout=...)', async () => {
    const sem = new Semaphore(0);
    let [r, elapsed] = await timed(() => sem.acquire(false));
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => sem.acquire(false, null));
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => sem.acquire(false, 100));
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => sem.acquire(true, 100));
    expect([r, elapsed >= 95]).toEqual([false, true]);
    // sem.acquire(timeout=TIMEOUT3): the keywords object (this used to be read as `block` and wait forever)
    [r, elapsed] = await timed(() => sem.acquire({ timeout: 100 } as any));
    expect([r, elapsed >= 95]).toEqual([false, true]);
    [r, elapsed] = await timed(() => sem.acquire({ block: false } as any));
    expect([r, elapsed < 50]).toEqual([false, true]);
    expect(() => sem.acquire({ blocking: false } as any)).toThrow(/unexpected keyword argument 'blocking'/);
  });
});

// def f(cls, cond, sleeping, woken, timeout=None)
const f = async (cond: Condition, sleeping: Semaphore, woken: Semaphore, timeout?: number) => {
  await cond.acquire();
  sleeping.release();
  await cond.wait(timeout);
  woken.release();
  cond.release();
};

/** Starts the CPython test's Process + Thread pair: here a Process of each runtime, `count` times. */
function startWorkers(count: number, args: unknown[]): Process[] {
  const workers: Process[] = [];
  for (let i = 0; i < count; i++) {
    for (const runtime of runtimes) {
      const p = new Process({ target: f, args, runtime, daemon: true });
      p.start();
      workers.push(p);
    }
  }
  return workers;
}

describe('_TestCondition', () => {
  test('test_notify', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    const workers = startWorkers(1, [cond, sleeping, woken]);
    // wait for both children to start sleeping
    await sleeping.acquire();
    await sleeping.acquire();
    expect(woken.get_value()).toBe(0); // no process/thread has woken up
    // wake up one process/thread
    await cond.acquire();
    cond.notify();
    cond.release();
    expect(await woken.acquire(true, 30_000)).toBe(true);
    expect(woken.get_value()).toBe(0);
    // wake up another
    await cond.acquire();
    cond.notify();
    cond.release();
    expect(await woken.acquire(true, 30_000)).toBe(true);
    for (const w of workers) await w.join();
    expect(workers.map((w) => w.exitcode)).toEqual([0, 0]);
  });

  test('test_notify_all', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    // start some threads/processes which will timeout
    const workers = startWorkers(3, [cond, sleeping, woken, 100]);
    for (let i = 0; i < 6; i++) await sleeping.acquire();
    // check they have all timed out
    for (let i = 0; i < 6; i++) expect(await woken.acquire(true, 30_000)).toBe(true);
    expect(woken.get_value()).toBe(0);
    // start some more threads/processes
    workers.push(...startWorkers(3, [cond, sleeping, woken]));
    for (let i = 0; i < 6; i++) await sleeping.acquire();
    expect(woken.get_value()).toBe(0); // no process/thread has woken up
    // wake them all up
    await cond.acquire();
    cond.notify_all();
    cond.release();
    for (let i = 0; i < 6; i++) expect(await woken.acquire(true, 30_000)).toBe(true);
    expect(woken.get_value()).toBe(0);
    for (const w of workers) await w.join();
    expect(workers.every((w) => w.exitcode === 0)).toBe(true);
  });

  test('test_notify_n', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    const workers = startWorkers(3, [cond, sleeping, woken]);
    for (let i = 0; i < 6; i++) await sleeping.acquire();
    expect(woken.get_value()).toBe(0);
    // wake some of them up: cond.notify(n=2)
    await cond.acquire();
    cond.notify({ n: 2 } as any);
    cond.release();
    for (let i = 0; i < 2; i++) expect(await woken.acquire(true, 30_000)).toBe(true);
    // wake the rest of them
    await cond.acquire();
    cond.notify(4);
    cond.release();
    for (let i = 0; i < 4; i++) expect(await woken.acquire(true, 30_000)).toBe(true);
    // doesn't do anything more
    await cond.acquire();
    cond.notify(3);
    cond.release();
    for (const w of workers) await w.join();
    expect(woken.get_value()).toBe(0);
    expect(workers.every((w) => w.exitcode === 0)).toBe(true);
  });

  test('test_timeout', async () => {
    const cond = new Condition();
    await cond.acquire();
    const [res, elapsed] = await timed(() => cond.wait(100));
    cond.release();
    expect(res).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(95);
  });

  test.each(runtimes)('test_waitfor (%s)', async (runtime) => {
    const cond = new Condition();
    const state = Value('i', -1);
    const p = new Process({
      target: async (cond: Condition, state: { value: number }) => {
        await cond.acquire();
        state.value = 0;
        cond.notify();
        const result = await cond.wait_for(() => state.value === 4);
        if (!result || state.value !== 4) process.exit(1);
        cond.release();
      },
      args: [cond, state],
      runtime,
      daemon: true,
    });
    p.start();
    await cond.acquire();
    const result = await cond.wait_for(() => state.value === 0);
    expect(result).toBe(true);
    expect(state.value).toBe(0);
    cond.release();
    for (let i = 0; i < 4; i++) {
      await cond.acquire();
      state.value += 1;
      cond.notify();
      cond.release();
    }
    await p.join();
    expect(p.exitcode).toBe(0);
  });

  test.each(runtimes)('test_waitfor_timeout (%s)', async (runtime) => {
    const cond = new Condition();
    const state = Value('i', 0);
    const success = Value('i', 0);
    const sem = new Semaphore(0);
    const p = new Process({
      target: async (cond: Condition, state: { value: number }, success: { value: number }, sem: Semaphore) => {
        sem.release();
        await cond.acquire();
        const expected = 100;
        const dt = performance.now();
        const result = await cond.wait_for(() => state.value === 4, { timeout: expected } as any);
        if (!result && performance.now() - dt >= expected - 5) success.value = 1;
        cond.release();
      },
      args: [cond, state, success, sem],
      runtime,
      daemon: true,
    });
    p.start();
    expect(await sem.acquire({ timeout: 60_000 } as any)).toBe(true);
    // Only increment 3 times, so state == 4 is never reached.
    for (let i = 0; i < 3; i++) {
      await cond.acquire();
      state.value += 1;
      cond.notify();
      cond.release();
    }
    await p.join();
    expect(success.value).toBe(1);
  });

  test.each(runtimes)('test_wait_result (%s)', async (runtime) => {
    const c = new Condition();
    await c.acquire();
    expect(await c.wait(0)).toBe(false);
    expect(await c.wait(100)).toBe(false);
    const p = new Process({
      target: async (c: Condition) => {
        await c.acquire();
        c.notify();
        c.release();
      },
      args: [c],
      runtime,
    });
    p.start();
    expect(await c.wait(60_000)).toBe(true);
    c.release();
    await p.join();
  });
});

describe('_TestEvent', () => {
  test.each(runtimes)('test_event (%s)', async (runtime) => {
    const event = new Event();
    expect(event.is_set()).toBe(false);
    let [r, elapsed] = await timed(() => event.wait(0));
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => event.wait(100));
    expect([r, elapsed >= 95]).toEqual([false, true]);
    event.set();
    expect(event.is_set()).toBe(true);
    expect(await event.wait()).toBe(true);
    [r, elapsed] = await timed(() => event.wait(100));
    expect([r, elapsed < 50]).toEqual([true, true]);
    expect(await event.wait({ timeout: 100 } as any)).toBe(true); // event.wait(timeout=...)
    event.clear();
    expect(event.is_set()).toBe(false);
    const p = new Process({
      target: async (event: Event) => {
        await new Promise((r) => setTimeout(r, 100));
        event.set();
      },
      args: [event],
      runtime,
      daemon: true,
    });
    p.start();
    expect(await event.wait()).toBe(true);
    await p.join();
  });
});
