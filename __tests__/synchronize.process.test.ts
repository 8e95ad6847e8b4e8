// The synchronization primitives in PROCESS workers: each primitive crosses as a reference to its
// core in the creator's broker (primitives/sync/handles.ts), and the worker's facade calls that
// core through a remote core (primitives/transport). Ordering is forced with Events, Barriers and
// Semaphores; time is only measured (timeouts), never used to order parties.
import { performance } from 'node:perf_hooks';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { toTaskSpec } from '../lib/base/task.js';
import { loadTask } from '../lib/base/load-task.js';
import { LockStateError } from '../lib/base/errors.js';
import { closeBroker } from '../primitives/transport/expose.js';
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from '../primitives/synchronize.js';
import { Value } from '../primitives/sharedctypes.js';
import { Queue } from '../primitives/queues.js';
import { Pipe, type Connection } from '../primitives/connection.js';

const fx = new URL('./fixtures/sync-process-tasks.ts', import.meta.url).href;
const t = (name: string) => task(fx, name);

let procs: Pool;
let threads: Pool;
beforeAll(() => {
  procs = new Pool({ processes: 2, runtime: 'process' });
  threads = new Pool({ processes: 2 });
});
afterAll(async () => {
  await Promise.all([procs.terminate(), threads.terminate()]);
  await closeBroker();
});

describe('Lock', () => {
  test('mutual exclusion across 2 process workers and the main thread, exact count', async () => {
    const lock = new Lock();
    const counter = new Semaphore(0); // its value is the shared counter, read then bumped under the lock
    const busy = new Event(); // set while someone is inside
    const go = new Event();
    const n = 100;
    const workers = [0, 1].map(() => procs.apply(t('lockedCount'), [lock, counter, busy, go, n]));
    go.set();
    let overlaps = 0;
    let lost = 0;
    for (let i = 0; i < n; i++) {
      await lock.acquire();
      if (busy.isSet()) overlaps++;
      busy.set();
      const v = counter.getValue();
      await new Promise((r) => setImmediate(r)); // let the broker serve the workers while we are inside
      counter.release();
      if (counter.getValue() !== v + 1) lost++;
      busy.clear();
      lock.release();
    }
    const results = await Promise.all(workers);
    expect(results).toEqual([{ overlaps: 0, lost: 0 }, { overlaps: 0, lost: 0 }]);
    expect({ overlaps, lost }).toEqual({ overlaps: 0, lost: 0 });
    expect(counter.getValue()).toBe(3 * n);
    expect(lock.locked()).toBe(false);
  });

  test('a timed-out acquire in a process worker returns false after ~100 ms (sync and async)', async () => {
    const lock = new Lock();
    await lock.acquire();
    const [a, ta, b, tb] = await procs.apply(t('timedAcquire'), [lock, 100]);
    lock.release();
    expect([a, b]).toEqual([false, false]);
    for (const ms of [ta, tb]) {
      expect(ms).toBeGreaterThanOrEqual(95);
      expect(ms).toBeLessThan(3000);
    }
  });

  test("a process worker's release() after an un-awaited acquire() (Python's blocking form) names the missing await", async () => {
    const lock = new Lock();
    expect(await lock.acquire()).toBe(true);
    expect(await procs.apply(t('unawaitedAcquire'), [lock])).toBe('LockStateError:true');
    expect(lock.locked()).toBe(true);
    lock.release(); // the worker's waiting acquire takes it now; nobody else uses this lock
  });

  test('release of an unlocked Lock in a process worker throws LockStateError synchronously', async () => {
    expect(await procs.apply(t('misuse'), [new Lock(), new RLock(), new BoundedSemaphore(1)])).toEqual([
      'LockStateError:ERR_LOCK_NOT_HELD',
      'LockStateError:ERR_LOCK_NOT_HELD',
      'LockStateError:ERR_LOCK_NOT_HELD',
    ]);
  });
});

describe('RLock', () => {
  test('owned by a process worker (re-entrantly): the main thread cannot release it', async () => {
    const rlock = new RLock();
    const held = new Event();
    const go = new Event();
    const r = procs.apply(t('rlockHold'), [rlock, held, go]);
    expect(await held.wait(20_000)).toBe(true);
    expect(rlock.locked()).toBe(true);
    expect(() => rlock.release()).toThrow(LockStateError);
    expect(await rlock.acquire(false)).toBe(false);
    go.set();
    expect(await r).toEqual([
      'first:true', 'again:true', 'locked-after-one:true', 'locked-after-two:false', 'extra:LockStateError:ERR_LOCK_NOT_HELD',
    ]);
    expect(await rlock.acquire(false)).toBe(true);
    rlock.release();
  });
});

describe('Semaphore, BoundedSemaphore', () => {
  test('counts seen and changed by a process worker', async () => {
    const sem = new Semaphore(2);
    // value 2; two non-blocking takes succeed, the third fails; a 50 ms wait fails; one release
    expect(await procs.apply(t('semaphoreCounts'), [sem])).toEqual([2, true, true, false, 0, false, 1]);
    expect(sem.getValue()).toBe(1);
    const bounded = new BoundedSemaphore(2);
    await bounded.acquire();
    expect(await procs.apply(t('semaphoreCounts'), [bounded])).toEqual([1, true, false, false, 0, false, 1]);
    expect(() => bounded.release()).not.toThrow();
    expect(() => bounded.release()).toThrow(LockStateError);
  });

  test('a process worker waiting on an empty Semaphore gets the unit the main thread releases', async () => {
    const sem = new Semaphore(0);
    const waiting = new Event();
    const r = procs.apply(t('semaphoreWait'), [sem, waiting]);
    expect(await waiting.wait(20_000)).toBe(true);
    sem.release();
    expect(await r).toBe(true);
    expect(sem.getValue()).toBe(0);
  });
});

describe('Event', () => {
  test('set in the parent wakes a process worker in waitSync, then in wait', async () => {
    const ev = new Event();
    const ready = new Event();
    const cleared = new Event();
    const again = new Event();
    const r = procs.apply(t('eventWaits'), [ev, ready, cleared, again]);
    expect(await ready.wait(20_000)).toBe(true); // the worker's 100 ms wait timed out; it now waits
    ev.set();
    expect(await cleared.wait(20_000)).toBe(true); // woken, it cleared `ev`; it now waits on `again`
    again.set();
    expect(await r).toEqual([false, false, true, true, true]);
    expect(ev.isSet()).toBe(false);
  });
});

describe('Condition', () => {
  test.each([
    ['default RLock', () => new Condition()],
    ['a Lock', () => new Condition(new Lock())],
  ])('over %s: a process worker waits, the main thread notifies', async (_name, make) => {
    const cond = make();
    const sleeping = new Semaphore(0);
    const woken = new Semaphore(0);
    const r = procs.apply(t('condWait'), [cond, sleeping, woken, 20_000]);
    await sleeping.acquire();
    // The worker released `sleeping` while holding the lock: once we hold it, the worker waits.
    await cond.acquire();
    cond.notify();
    cond.release();
    await woken.acquire();
    expect(await r).toBe(true);
    // and a timed-out wait in the worker returns false
    expect(await procs.apply(t('condWait'), [cond, sleeping, woken, 100])).toBe(false);
  });

  test.each([
    ['default RLock', () => new Condition()],
    ['a Lock', () => new Condition(new Lock())],
  ])('over %s: notify from a process worker wakes the main thread', async (_name, make) => {
    const cond = make();
    const ready = new Event();
    const r = procs.apply(t('condNotify'), [cond, ready, 1]);
    await cond.acquire();
    ready.set(); // the worker can take the lock only once wait() below has released it
    expect(await cond.wait(20_000)).toBe(true);
    cond.release();
    expect(await r).toBe('notified');
  });

  test('its lock crosses with it: the worker holds the very Lock the Condition was built on', async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    expect(await procs.apply(t('condLockIdentity'), [cond, lock])).toEqual([
      false, true, false, 'ok', false, 'LockStateError:ERR_LOCK_NOT_HELD',
    ]);
  });
});

describe('Barrier', () => {
  test('3 parties (main + 2 process workers), 50 passes, action in whichever party arrives last', async () => {
    const passes = 50;
    const barrier = new Barrier(3, t('countAction'));
    const before = await actionsHere();
    // Two concurrent tasks on a 2-worker pool: one per worker (each blocks until all 3 arrive).
    const workers = [true, false].map((useSync) => procs.apply(t('barrierWithActions'), [barrier, passes, useSync]));
    const mine: number[] = [];
    for (let i = 0; i < passes; i++) mine.push(await barrier.wait(20_000));
    const [a, b] = (await Promise.all(workers)) as { indices: number[]; actions: number }[];
    for (let i = 0; i < passes; i++) expect([mine[i], a.indices[i], b.indices[i]].sort()).toEqual([0, 1, 2]);
    const here = (await actionsHere()) - before;
    expect(here + a.actions + b.actions).toBe(passes);
    // each action ran in the party that got index 2
    expect(here).toBe(mine.filter((i) => i === 2).length);
    expect(a.actions).toBe(a.indices.filter((i) => i === 2).length);
    expect(barrier.broken).toBe(false);
    expect(barrier.nWaiting).toBe(0);
  });
});

/** How many times countAction ran in this process (the module instance the Barrier loads). */
async function actionsHere(): Promise<number> {
  return (await loadTask(toTaskSpec(t('actionCount'))))() as number;
}

describe('a worker that dies', () => {
  test('a process worker SIGKILLed while holding a Lock: the broker frees it, the main thread acquires it', async () => {
    // The worker's link to this process's broker is a socket; when the worker dies the kernel
    // closes it, the broker sees the disconnect and calls abandon(owner) on every core that
    // connection used: LockCore.abandon releases the lock if the dead worker's owner id holds it,
    // which wakes the acquire already waiting here. (Python leaves such a lock held forever.)
    const lock = new Lock();
    const held = new Event();
    const p = new Process({ target: t('holdForever'), args: [lock, held], runtime: 'process' });
    p.start();
    expect(await held.wait(20_000)).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    const waiting = lock.acquire(true, 20_000);
    p.kill();
    await p.join();
    expect(p.exitCode).toBe(-9);
    expect(await waiting).toBe(true);
    lock.release();
    expect(lock.locked()).toBe(false);
  });
  test('a process worker killed while waiting: its waits end and take nothing', async () => {
    // Each wait of a process worker runs in this process's broker thread, on the shared memory. When
    // the worker dies, the broker calls abandon(owner) on each core it used: the core cancels that
    // owner's waits and wakes the sleepers. A cancelled acquire takes nothing, a Condition ticket is
    // skipped by later notifies, and a Barrier party that died breaks the barrier (as its timeout would).
    const held = new Lock();
    const lock = new Lock();
    const ev = new Event();
    const sem = new Semaphore(0);
    const cond = new Condition();
    const barrier = new Barrier(2);
    const started = new Event();
    await lock.acquire();
    const p = new Process({ target: t('waitForever'), args: [held, lock, ev, sem, cond, barrier, started], runtime: 'process' });
    p.start();
    expect(await started.wait(20_000)).toBe(true);
    const deadline0 = performance.now() + 20_000;
    while ((barrier.nWaiting < 1 || !/, 1\)>$/.test(String(cond))) && performance.now() < deadline0) await new Promise((r) => setTimeout(r, 5));
    expect(barrier.nWaiting).toBe(1);
    expect(String(cond)).toMatch(/, 1\)>$/); // one waiter
    p.kill();
    await p.join();
    expect(await held.acquire(true, 20_000)).toBe(true);
    const deadline = performance.now() + 20_000;
    while ((!barrier.broken || !/, 0\)>$/.test(String(cond))) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(barrier.broken).toBe(true);
    expect(String(cond)).toMatch(/, 0\)>$/);
    sem.release();
    expect(sem.getValue()).toBe(1); // the dead waiter took nothing
    lock.release();
    expect(lock.locked()).toBe(false);
    held.release();
  });
});

describe('passing on and sharing', () => {
  test.each(['passOnToProcess', 'passOnToThread'])('a primitive revived in a process worker, passed on (%s), still names the creator', async (fn) => {
    const lock = new Lock();
    const held = new Event();
    const go = new Event();
    const r = procs.apply(t(fn), [lock, held, go]);
    expect(await held.wait(20_000)).toBe(true);
    expect(lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    go.set();
    expect(await r).toBe(fn === 'passOnToProcess' ? 0 : 'released');
    expect(lock.locked()).toBe(false);
  });

  test('one Lock used at once by the main thread, a thread pool and a process pool', async () => {
    const lock = new Lock();
    const counter = new Semaphore(0);
    const busy = new Event();
    const go = new Event();
    const n = 60;
    const workers = [procs, procs, threads, threads].map((pool) => pool.apply(t('lockedCount'), [lock, counter, busy, go, n]));
    go.set();
    let overlaps = 0;
    for (let i = 0; i < n; i++) {
      await lock.acquire();
      if (busy.isSet()) overlaps++;
      busy.set();
      await new Promise((r) => setImmediate(r));
      busy.clear();
      counter.release();
      lock.release();
    }
    expect(await Promise.all(workers)).toEqual(Array(4).fill({ overlaps: 0, lost: 0 }));
    expect(overlaps).toBe(0);
    expect(counter.getValue()).toBe(5 * n);
  });

  test('a Value reaches process workers through the broker, as the primitives above do', async () => {
    const v = new Value('i', 1);
    await procs.apply((x: { value: number }) => { x.value += 41; }, [v]);
    expect(v.value).toBe(42);
  });
});

describe('the broker thread', () => {
  // Process workers are served by a broker thread of this process, not by the creating thread's event
  // loop: the creating thread may block in a ...Sync call that only a process worker can end.
  test('the main thread blocks in waitSync / acquireSync while a process worker sets / releases', async () => {
    const ev = new Event();
    const lock = new Lock();
    const done = new Event();
    const p = new Process({
      target: async (e: Event, l: Lock, d: Event) => {
        l.acquireSync();
        e.set();
        await d.wait();
        l.release();
      },
      args: [ev, lock, done],
      runtime: 'process',
    });
    p.start();
    expect(ev.waitSync(30_000)).toBe(true); // blocks this thread; only the child can set it
    expect(lock.locked()).toBe(true);
    done.set();
    expect(lock.acquireSync(true, 30_000)).toBe(true); // blocks until the child releases
    lock.release();
    await p.join();
    expect(p.exitCode).toBe(0);
  });

  test('the main thread blocks in getSync / recvSync while a process worker puts / sends', async () => {
    const q = new Queue<number>();
    const [reader, writer] = Pipe(false);
    const p = new Process({
      target: (queue: Queue<number>, w: Connection) => {
        queue.putSync(7);
        w.send('hello');
        w.close();
      },
      args: [q, writer],
      runtime: 'process',
    });
    p.start();
    writer.close();
    expect(q.getSync(true, 30_000)).toBe(7);
    expect(reader.recvSync()).toBe('hello');
    await p.join();
    reader.close();
  });
});
