import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { LockStateError } from '../lib/base/errors.js';
import { Condition, Lock, RLock, Semaphore } from '../primitives/synchronize.js';

const fixtures = new URL('./fixtures/sync-tasks.ts', import.meta.url).href;
const condWaiter = task(fixtures, 'condWaiter');
const condWaitFor = task(fixtures, 'condWaitFor');

const started: Process[] = [];
function spawn(target: ReturnType<typeof task>, args: unknown[]): Process {
  const p = new Process({ target, args });
  p.start();
  started.push(p);
  return p;
}
afterEach(async () => {
  for (const p of started.splice(0)) {
    p.terminate();
    await p.join();
  }
});

/** Acquires `sem` n times (each within 10 s); false if one times out. */
async function take(sem: Semaphore, n: number): Promise<boolean> {
  for (let i = 0; i < n; i++) if (!(await sem.acquire(true, 10_000))) return false;
  return true;
}

describe('Condition misuse', () => {
  test('wait/notify without holding the lock throw LockStateError', async () => {
    const cond = new Condition();
    await expect(cond.wait(10)).rejects.toThrow(LockStateError);
    await expect(cond.wait(10)).rejects.toThrow('cannot wait on un-acquired lock');
    expect(() => cond.waitSync(10)).toThrow(LockStateError);
    expect(() => cond.notify()).toThrow('cannot notify on un-acquired lock');
    expect(() => cond.notifyAll()).toThrow(LockStateError);
    expect(() => cond.release()).toThrow(LockStateError);
  });

  test('only a Lock or RLock is accepted as the lock', () => {
    expect(() => new Condition({} as unknown as Lock)).toThrow(TypeError);
    expect(() => new Condition(new Lock())).not.toThrow();
  });
});

describe('Condition in one thread', () => {
  test('wait(timeout) returns false after ~timeout and holds the lock again', async () => {
    const cond = new Condition();
    await cond.acquire();
    const t = performance.now();
    expect(await cond.wait(100)).toBe(false);
    expect(performance.now() - t).toBeGreaterThanOrEqual(95);
    expect(cond.waitSync(0)).toBe(false);
    cond.notify(); // still held: no throw
    cond.release();
  });

  test('the RLock recursion level survives a wait', async () => {
    const rlock = new RLock();
    const cond = new Condition(rlock);
    rlock.acquireSync();
    rlock.acquireSync();
    expect(await cond.wait(0)).toBe(false);
    rlock.release();
    expect(rlock.locked()).toBe(true);
    rlock.release();
    expect(rlock.locked()).toBe(false);
    expect(() => rlock.release()).toThrow(LockStateError);
  });

  test('an async waiter is woken by notify from the same thread, and only after the notifier releases', async () => {
    const cond = new Condition();
    await cond.acquire();
    let woke = false;
    const waiting = cond.wait().then((r) => {
      woke = true;
      return r;
    });
    await cond.acquire(); // the waiter released the lock (its RLock level is restored later)
    cond.notify();
    await new Promise((r) => setImmediate(r));
    expect(woke).toBe(false); // it must get the lock back first
    cond.release();
    expect(await waiting).toBe(true);
    expect(woke).toBe(true);
    cond.release();
  });

  test('waitFor returns the predicate value; times out with the last falsy value', async () => {
    const cond = new Condition(new Lock());
    await cond.acquire();
    expect(await cond.waitFor(() => 42)).toBe(42);
    const t = performance.now();
    expect(await cond.waitFor(() => 0, 80)).toBe(0);
    expect(performance.now() - t).toBeGreaterThanOrEqual(75);
    expect(cond.waitForSync(() => '', 0)).toBe('');
    cond.release();
  });
});

describe('Condition across worker threads', () => {
  test('notify(n) wakes exactly n; notifyAll wakes the rest', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    const procs = [1, 2, 3, 4].map(() => spawn(condWaiter, [cond, sleeping, woken, null]));
    expect(await take(sleeping, 4)).toBe(true);
    // Each waiter released `sleeping` while holding the lock: taking the lock proves all 4 sleep.
    await cond.acquire();
    expect(woken.getValue()).toBe(0);
    cond.notify(2);
    cond.release();
    expect(await take(woken, 2)).toBe(true);
    expect(await woken.acquire(true, 150)).toBe(false); // no third one
    await cond.acquire();
    cond.notify(1);
    cond.release();
    expect(await take(woken, 1)).toBe(true);
    expect(await woken.acquire(true, 100)).toBe(false);
    await cond.acquire();
    cond.notifyAll();
    cond.release();
    expect(await take(woken, 1)).toBe(true);
    await Promise.all(procs.map((p) => p.join()));
    expect(procs.map((p) => p.exitCode)).toEqual([0, 0, 0, 0]);
  });

  test('timed-out waiters are skipped by notify: it wakes a waiter still waiting', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    spawn(condWaiter, [cond, sleeping, woken, 50]); // will time out
    expect(await take(sleeping, 1)).toBe(true);
    expect(await take(woken, 1)).toBe(true); // it timed out and left
    spawn(condWaiter, [cond, sleeping, woken, null]);
    expect(await take(sleeping, 1)).toBe(true);
    await cond.acquire();
    cond.notify(1);
    cond.release();
    expect(await take(woken, 1)).toBe(true);
  });

  test('waitFor in a worker sees the state the main thread changes under the lock', async () => {
    const cond = new Condition();
    const sleeping = new Semaphore(0);
    const state = new Int32Array(new SharedArrayBuffer(4));
    const p = spawn(condWaitFor, [cond, state, 3, sleeping, null]);
    expect(await take(sleeping, 1)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await cond.acquire();
      Atomics.add(state, 0, 1);
      cond.notifyAll();
      cond.release();
    }
    await p.join(10_000);
    expect(p.exitCode).toBe(0);
  });
});
