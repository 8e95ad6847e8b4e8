/** Manager proxies inside Pool tasks and Processes, on threads and child processes. */
import { Pool, Process, task } from '../lib/index.js';
import { Manager, DictProxy } from '../primitives/manager/index.js';

const fixture = new URL('./fixtures/manager-tasks.ts', import.meta.url).href;
const t = (name: string) => task(fixture, name);

let m: Manager;
beforeAll(async () => {
  m = await Manager.start();
});
afterAll(async () => {
  await m.shutdown();
});

describe.each(['thread', 'process'] as const)('in %s workers', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('proxies nested in arrays and objects arrive working', async () => {
    const d = await m.dict();
    const l = await m.list();
    const q = await m.Queue();
    const shown = await pool.apply(t('useNested'), [{ d, items: [l, q] }]);
    expect(shown).toBe(String(d));
    expect(await d.get('from')).toBe('worker');
    expect(await l.copy()).toEqual(['worker']);
    expect(await q.get()).toBe('worker');
    // (a proxy returned by a task is checked in manager.lifecycle.test.ts, outside Jest's VM realm)
  });

  test('unsafe get-then-set loses updates when both read before either writes', async () => {
    const d = await m.dict({ count: 100 });
    const barrier = await m.Barrier(2);
    await pool.starmap(t('decrementUnsafe'), [[d, barrier], [d, barrier]], 1);
    expect(await d.get('count')).toBe(99); // two decrements, one lost
  });

  test('the locked and the atomic versions never lose an update', async () => {
    const d = await m.dict({ count: 100 });
    const lock = await m.Lock();
    // one task per worker, released together by the barrier, 25 decrements each
    let barrier = await m.Barrier(2);
    await pool.starmap(t('decrementLocked'), [[d, lock, barrier, 25], [d, lock, barrier, 25]], 1);
    expect(await d.get('count')).toBe(50);
    barrier = await m.Barrier(2);
    await pool.starmap(t('decrementAtomic'), [[d, barrier, 25], [d, barrier, 25]], 1);
    expect(await d.get('count')).toBe(0);
  });

  test('a Condition waiter in a worker is woken by notify from here', async () => {
    const c = await m.Condition();
    const d = await m.dict({ go: false });
    const waiting = pool.apply(t('waitForNotify'), [c, d]);
    // wait until the worker is parked in wait(): the lock is free again and the flag not yet set
    await d.set('go', true);
    let woke = false;
    waiting.then(() => (woke = true));
    while (!woke) {
      await c.acquire();
      await c.notifyAll();
      await c.release();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await waiting).toBe(true);
  });

  test('Manager.connect from a worker with the right key', async () => {
    expect(await pool.apply(t('connectAndAppend'), [m.address, m.authkey])).toBe(1);
  });
});

test('a lock whose holder process dies is released and the next waiter proceeds', async () => {
  const lock = await m.Lock();
  const held = await m.Event();
  const p = new Process({ target: t('holdLockAndDie'), args: [lock, held], runtime: 'process' });
  p.start();
  expect(await held.wait(20_000)).toBe(true);
  expect(await lock.acquire(false)).toBe(false); // the dying process holds it
  expect(await lock.acquire(true, 20_000)).toBe(true); // released when its holder died
  await p.join();
  expect(p.exitCode).toBe(3);
  await lock.release();
});

test('DictProxy passed to a Process target', async () => {
  const d = await m.dict();
  const p = new Process({
    target: async (dd: DictProxy) => {
      await dd.set('pid', process.pid);
    },
    args: [d],
    runtime: 'process',
  });
  p.start();
  await p.join();
  expect(await d.get('pid')).toBe(p.pid);
});
