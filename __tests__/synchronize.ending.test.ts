// What a primitive keeps when the worker holding it ends (docs/guide.md, Lock): a Lock whose holder ENDS
// NORMALLY stays held and another process may release it (Python; a port of CPython's manager test
// "a child acquires a Lock and exits; the parent releases it"); a holder that DIES (failure exit,
// kill, terminate) releases it; an RLock is released whenever its owner ends. Same rule for
// shared-memory and Manager locks. Thread workers are reported by the engines through workerGone
// (lib/base/worker-hooks.ts); these tests also report them by hand, as an engine does.
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { workerGone } from '../lib/base/worker-hooks.js';
import { BrokenBarrierError, EOFError, LockStateError } from '../lib/base/errors.js';
import { closeBroker } from '../primitives/transport/expose.js';
import { Barrier, Event, Lock, RLock } from '../primitives/synchronize.js';
import { Pipe } from '../primitives/connection.js';
import { Manager } from '../primitives/manager/index.js';

const fx = new URL('./fixtures/sync-ending-tasks.ts', import.meta.url).href;
const t = (name: string) => task(fx, name);

async function run(target: string, args: unknown[], runtime: 'thread' | 'process'): Promise<Process> {
  const p = new Process({ target: t(target), args, runtime });
  p.start();
  await p.join();
  return p;
}

afterAll(async () => {
  await closeBroker();
});

describe.each(['process', 'thread'] as const)('shared-memory locks, %s holder', (runtime) => {
  test('a Lock whose holder ends normally stays held; the parent releases it', async () => {
    const lock = new Lock();
    const p = await run('acquireAndReturn', [lock], runtime);
    expect(p.exitCode).toBe(0);
    expect(lock.locked()).toBe(true);
    lock.release(); // another process (ours) may release it, as in Python
    expect(lock.locked()).toBe(false);
    expect(() => lock.release()).toThrow(LockStateError);
  });

  test('a Lock whose holder fails (exit code 1) is released', async () => {
    const lock = new Lock();
    const p = await run('acquireAndThrow', [lock], runtime);
    expect(p.exitCode).toBe(1);
    expect(await lock.acquire(true, 5000)).toBe(true);
    lock.release();
  });

  test('an RLock is released whenever its owner ends, even normally', async () => {
    const rlock = new RLock();
    const p = await run('acquireAndReturn', [rlock], runtime);
    expect(p.exitCode).toBe(0);
    expect(await rlock.acquire(true, 5000)).toBe(true);
    rlock.release();
  });
});

describe('workerGone, as an engine reports a thread', () => {
  // The owner is this very thread (threadId 0 in the main thread), as if it were the worker that ended.
  const me = { runtime: 'thread' as const, id: 0 };
  test('died: a Lock it holds is released; normal: it stays held; an RLock is released either way', () => {
    const died = new Lock();
    died.acquireSync();
    workerGone({ ...me, how: 'died' });
    expect(died.locked()).toBe(false);
    const normal = new Lock();
    normal.acquireSync();
    workerGone({ ...me, how: 'normal' });
    expect(normal.locked()).toBe(true);
    normal.release();
    const rlock = new RLock();
    rlock.acquireSync();
    rlock.acquireSync();
    workerGone({ ...me, how: 'normal' });
    expect(rlock.locked()).toBe(false);
  });

  test('its Connection handles close: the peer sees EOF', async () => {
    const [a, b] = Pipe();
    b.send(1);
    workerGone({ ...me, how: 'terminated' }); // both ends were held by "that" thread
    expect(await a.recv()).toBe(1);
    await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
  });
});

describe('a terminated thread', () => {
  test('its Lock is released, its Barrier place breaks the barrier, its Connection handle closes (EOF)', async () => {
    const lock = new Lock();
    const barrier = new Barrier(2);
    const [mine, theirs] = Pipe();
    const held = new Event();
    const started = new Event();
    const never = new Event();
    const holder = new Process({ target: t('acquireAndBlock'), args: [lock, held, never] });
    const party = new Process({ target: t('waitAtBarrier'), args: [barrier, started] });
    const reader = new Process({ target: t('holdConnection'), args: [theirs, held, never] });
    holder.start();
    party.start();
    reader.start();
    theirs.close(); // only the thread holds that end now
    expect(await started.wait(20_000)).toBe(true);
    expect(await mine.recv()).toBe('hello');
    while (barrier.nWaiting < 1 || !lock.locked()) await new Promise((r) => setTimeout(r, 5));
    for (const p of [holder, party, reader]) {
      p.terminate();
      await p.join(); // Process reports the thread as terminated (workerGone)
    }
    expect(await lock.acquire(false)).toBe(true);
    lock.release();
    expect(barrier.broken).toBe(true);
    await expect(barrier.wait()).rejects.toBeInstanceOf(BrokenBarrierError);
    await expect(mine.recv()).rejects.toBeInstanceOf(EOFError);
    mine.close();
  }, 30_000);
});

describe.each(['process', 'thread'] as const)('Manager locks, %s holder', (runtime) => {
  let m: Manager;
  beforeAll(async () => {
    m = await Manager.start();
  });
  afterAll(async () => {
    await m.shutdown();
  });

  test('a child acquires a manager Lock and exits normally; the parent releases it (CPython test_manager)', async () => {
    const lock = await m.Lock();
    const p = await run('acquireAndReturn', [lock], runtime);
    expect(p.exitCode).toBe(0);
    expect(await lock.locked()).toBe(true);
    await lock.release();
    expect(await lock.locked()).toBe(false);
  });

  test('a child holding a manager Lock that fails releases it; a manager RLock is released even on a normal end', async () => {
    const lock = await m.Lock();
    const p = await run('acquireAndThrow', [lock], runtime);
    expect(p.exitCode).toBe(1);
    expect(await lock.acquire(true, 5000)).toBe(true);
    await lock.release();
    const rlock = await m.RLock();
    await run('acquireAndReturn', [rlock], runtime);
    expect(await rlock.acquire(true, 5000)).toBe(true);
    await rlock.release();
  });
});
