import './fixtures/sync-polyfill.js';
import { Pool } from '../lib/pool.js';
import { task } from '../lib/base/task.js';
import { LockStateError } from '../lib/base/errors.js';
import { BoundedSemaphore, Event, Lock, RLock, Semaphore } from '../primitives/synchronize.js';

const fixtures = new URL('./fixtures/sync-tasks.ts', import.meta.url).href;
const holdUntil = task(fixtures, 'holdUntil');
const releaseForeign = task(fixtures, 'releaseForeign');
const lockedIncrements = task(fixtures, 'lockedIncrements');
const eventWait = task(fixtures, 'eventWait');
const semAcquire = task(fixtures, 'semAcquire');

/** Runs `fn` and returns how many ms it took. */
async function elapsed(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

let pool: Pool;
beforeAll(() => {
  pool = new Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
});

describe('Lock (main thread)', () => {
  test('acquire, locked, release', async () => {
    const lock = new Lock();
    expect(lock.locked()).toBe(false);
    expect(await lock.acquire()).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(lock.acquireSync(false)).toBe(false);
    lock.release();
    expect(lock.locked()).toBe(false);
    expect(lock.acquireSync()).toBe(true);
    lock.release();
  });

  test('release of an unlocked Lock throws LockStateError synchronously', () => {
    const lock = new Lock();
    expect(() => lock.release()).toThrow(LockStateError);
    try {
      lock.release();
    } catch (err) {
      expect((err as LockStateError).code).toBe('ERR_LOCK_NOT_HELD');
    }
  });

  test('a Lock is not re-entrant: a second acquire by the same thread waits', async () => {
    const lock = new Lock();
    lock.acquireSync();
    expect(lock.acquireSync(true, 0)).toBe(false);
    expect(await lock.acquire(true, 10)).toBe(false);
    lock.release();
  });

  test('timeouts follow Python: 100 ms waits ~100 ms, non-blocking and 0 return at once, negative is 0', async () => {
    const lock = new Lock();
    lock.acquireSync();
    let ok: boolean | undefined;
    let ms = await elapsed(async () => (ok = await lock.acquire(true, 100)));
    expect(ok).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(ms).toBeLessThan(2000);
    ms = await elapsed(() => (ok = lock.acquireSync(true, 100)));
    expect(ok).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(95);
    ms = await elapsed(async () => (ok = await lock.acquire(false, 5000)));
    expect(ok).toBe(false);
    expect(ms).toBeLessThan(50);
    ms = await elapsed(() => (ok = lock.acquireSync(true, -5)));
    expect(ok).toBe(false);
    expect(ms).toBeLessThan(50);
    lock.release();
  });

  test('a bad timeout is a TypeError (rejected by acquire, thrown by acquireSync)', async () => {
    const lock = new Lock();
    await expect(lock.acquire(true, 'soon' as unknown as number)).rejects.toThrow(TypeError);
    expect(() => lock.acquireSync(true, 'soon' as unknown as number)).toThrow(TypeError);
  });

  test('hold() and holdSync() release at the end of the block', async () => {
    const lock = new Lock();
    {
      using _g = lock.holdSync();
      expect(lock.locked()).toBe(true);
    }
    expect(lock.locked()).toBe(false);
    {
      await using _g = await lock.hold();
      expect(lock.locked()).toBe(true);
    }
    expect(lock.locked()).toBe(false);
  });

  test('an async waiter gets the lock when it is released', async () => {
    const lock = new Lock();
    lock.acquireSync();
    const waiting = lock.acquire();
    setTimeout(() => lock.release(), 20); // released once the waiter is likely parked (the outcome is the same if not)
    expect(await waiting).toBe(true);
    expect(lock.locked()).toBe(true);
    lock.release();
  });
});

describe('Lock across worker threads', () => {
  test('a worker holds the lock: the main thread waits until it releases; any thread may release a Lock', async () => {
    const lock = new Lock();
    const held = new Event();
    const go = new Event();
    const done = pool.apply(holdUntil, [lock, held, go]);
    expect(await held.wait(10_000)).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(await lock.acquire(true, 50)).toBe(false);
    const acquired = lock.acquire();
    go.set();
    expect(await acquired).toBe(true);
    expect(await done).toBe('released');
    // A Lock (unlike an RLock) can be released by a thread that does not hold it, as in Python.
    expect(await pool.apply(releaseForeign, [lock])).toBe('released');
    expect(lock.locked()).toBe(false);
  });

  test("Python's blocking acquire() ported without await: the release() that follows throws (it does not free the other holder's Lock)", async () => {
    const lock = new Lock();
    const held = new Event();
    const go = new Event();
    const done = pool.apply(holdUntil, [lock, held, go]);
    expect(await held.wait(10_000)).toBe(true);
    const waiting = lock.acquire(); // `lock.acquire()` as Python writes it: this one waits for the worker
    expect(() => lock.release()).toThrow(LockStateError);
    expect(() => lock.release()).toThrow(/acquire\(\) made here is still waiting: await lock.acquire\(\)/);
    expect(lock.locked()).toBe(true); // still the worker's
    go.set();
    expect(await done).toBe('released');
    expect(await waiting).toBe(true);
    // another flow of this thread may release what this thread holds while an acquire of its own waits
    const second = lock.acquire();
    lock.release();
    expect(await second).toBe(true);
    lock.release();
    expect(lock.locked()).toBe(false);
  });

  test('the lock protects a read-modify-write across 2 threads: exact final count', async () => {
    const lock = new Lock();
    const counter = new Int32Array(new SharedArrayBuffer(8));
    const n = 20_000;
    await Promise.all([pool.apply(lockedIncrements, [lock, counter, n]), pool.apply(lockedIncrements, [lock, counter, n])]);
    expect(counter[0]).toBe(2 * n);
    expect(lock.locked()).toBe(false);
  });
});

describe('RLock', () => {
  test('recursion: acquired n times, released n times', async () => {
    const rlock = new RLock();
    expect(rlock.acquireSync()).toBe(true);
    expect(await rlock.acquire()).toBe(true);
    expect(rlock.acquireSync(false)).toBe(true);
    rlock.release();
    rlock.release();
    expect(rlock.locked()).toBe(true);
    rlock.release();
    expect(rlock.locked()).toBe(false);
    expect(() => rlock.release()).toThrow(LockStateError);
  });

  test('release by a non-owner thread throws LockStateError there; the owner keeps it', async () => {
    const rlock = new RLock();
    rlock.acquireSync();
    expect(await pool.apply(releaseForeign, [rlock])).toBe('LockStateError:ERR_LOCK_NOT_HELD');
    expect(rlock.locked()).toBe(true);
    rlock.release();
    expect(rlock.locked()).toBe(false);
  });

  test('another thread cannot enter while the owner holds it at any depth', async () => {
    const rlock = new RLock();
    const held = new Event();
    const go = new Event();
    const done = pool.apply(holdUntil, [rlock, held, go]);
    expect(await held.wait(10_000)).toBe(true);
    expect(await rlock.acquire(true, 30)).toBe(false);
    go.set();
    expect(await done).toBe('released');
    expect(rlock.acquireSync(true, 5000)).toBe(true);
    rlock.release();
  });

  test('guards nest', () => {
    const rlock = new RLock();
    {
      using _a = rlock.holdSync();
      {
        using _b = rlock.holdSync();
      }
      expect(rlock.locked()).toBe(true);
    }
    expect(rlock.locked()).toBe(false);
  });
});

describe('Semaphore and BoundedSemaphore', () => {
  test('counts down and up; getValue', async () => {
    const sem = new Semaphore(2);
    expect(sem.getValue()).toBe(2);
    expect(await sem.acquire()).toBe(true);
    expect(sem.acquireSync()).toBe(true);
    expect(sem.getValue()).toBe(0);
    expect(await sem.acquire(false)).toBe(false);
    expect(sem.acquireSync(true, 0)).toBe(false);
    sem.release();
    sem.release();
    sem.release(); // a plain Semaphore may go above its initial value
    expect(sem.getValue()).toBe(3);
    expect(new Semaphore().getValue()).toBe(1);
    expect(new Semaphore(0).getValue()).toBe(0);
  });

  test('timed acquire waits ~100 ms and returns false', async () => {
    const sem = new Semaphore(0);
    let ok: boolean | undefined;
    const ms = await elapsed(async () => (ok = await sem.acquire(true, 100)));
    expect(ok).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(95);
  });

  test('BoundedSemaphore released too often throws LockStateError', () => {
    const sem = new BoundedSemaphore(2);
    expect(() => sem.release()).toThrow(LockStateError);
    sem.acquireSync();
    sem.release();
    expect(() => sem.release()).toThrow(/released too many times/);
    expect(sem.getValue()).toBe(2);
  });

  test('bad initial values', () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError);
    expect(() => new BoundedSemaphore(-1)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(TypeError);
    expect(() => new Semaphore('2' as unknown as number)).toThrow(TypeError);
  });

  test('a worker blocked on acquire wakes on release from the main thread', async () => {
    const sem = new Semaphore(0);
    const result = pool.apply(semAcquire, [sem, null]);
    setTimeout(() => sem.release(), 30); // released once the worker is likely blocked (the outcome is the same if not)
    expect(await result).toBe(true);
    expect(sem.getValue()).toBe(0);
    expect(await pool.apply(semAcquire, [sem, 50])).toBe(false);
  });
});

describe('Event', () => {
  test('set, clear, isSet, wait', async () => {
    const ev = new Event();
    expect(ev.isSet()).toBe(false);
    let ok: boolean | undefined;
    const ms = await elapsed(async () => (ok = await ev.wait(100)));
    expect(ok).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(ev.waitSync(0)).toBe(false);
    ev.set();
    expect(ev.isSet()).toBe(true);
    expect(await ev.wait()).toBe(true);
    expect(ev.waitSync()).toBe(true);
    expect(await ev.wait(0)).toBe(true);
    ev.clear();
    expect(ev.isSet()).toBe(false);
    expect(await ev.wait(-1)).toBe(false);
  });

  test('a worker waiting on the event is woken by set() in the main thread', async () => {
    const ev = new Event();
    const waiting = pool.apply(eventWait, [ev, null]);
    setTimeout(() => ev.set(), 30); // set once the worker is likely waiting (the outcome is the same if not)
    expect(await waiting).toBe(true);
    ev.clear();
    expect(await pool.apply(eventWait, [ev, 50])).toBe(false);
  });

  test('a waiter woken by set() returns true even if clear() follows at once', async () => {
    const ev = new Event();
    const waiting = ev.wait();
    ev.set();
    ev.clear();
    expect(await waiting).toBe(true);
  });
});

describe('a keywords object where `block` goes (a call ported from Python)', () => {
  test('acquire({ timeout }) is a TypeError naming block, never a wait forever on a held lock', async () => {
    for (const lock of [new Lock(), new RLock(), new Semaphore(0)]) {
      if (!(lock instanceof Semaphore)) lock.acquireSync();
      await expect(lock.acquire({ timeout: 10 } as any)).rejects.toThrow(/block must be a boolean, got object/);
      expect(() => lock.acquireSync({ timeout: 10 } as any)).toThrow(/block must be a boolean, got object/);
    }
  });

  test('a timeout may be given as { timeout }: ev.wait({ timeout: 10 })', async () => {
    expect(await new Event().wait({ timeout: 10 } as any)).toBe(false);
    await expect(new Event().wait({ timout: 10 } as any)).rejects.toThrow(/unexpected keyword argument 'timout'/);
  });
});
