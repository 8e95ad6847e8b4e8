// The process path for primitives: exposeCore + connectRemoteCore, used from real child processes
// (primitives/transport/expose.ts, remote-core.ts, link.ts, io-thread.ts).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool, Process, task } from '../lib/index.js';
import { tsxLoaderUrl } from '../lib/base/ts-loader.js';
import { closeBroker, exposeCore, remoteRefOf } from '../primitives/transport/expose-object.js';
import { connectRemoteCore } from '../primitives/transport/remote-core.js';
import { Counter, CounterCore, counterShape } from './fixtures/transport-counter.js';

const fx = new URL('./fixtures/transport-counter.ts', import.meta.url).href;
const t = (name: string) => task(fx, name);

describe('remote cores from a child process', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 1, runtime: 'process' });
  });
  afterAll(async () => {
    await pool.terminate();
    await closeBroker();
  });

  test('immediate methods: blocking round trips, results in order', async () => {
    const c = new Counter();
    expect(await pool.apply(t('incrementTimes'), [c, 50])).toBe(50);
    expect(c.core.count).toBe(50);
  });

  test('a waiting method, async: resolves when the creator changes state', async () => {
    const c = new Counter();
    const core = c.core as CounterCore;
    const waiting = core.nextWaiter();
    const r = pool.applyAsync(t('waitAsync'), [c, 3]);
    await waiting; // handshake: the worker's call is waiting in the creator's core
    core.increment();
    core.increment();
    expect(r.ready()).toBe(false);
    core.increment();
    expect(await r.get()).toBe(true);
  });

  test('a waiting method, blocking (mSync): the worker thread sleeps until the creator answers', async () => {
    const c = new Counter();
    const core = c.core as CounterCore;
    const waiting = core.nextWaiter();
    const r = pool.applyAsync(t('waitSync'), [c, 1]);
    await waiting;
    expect(r.ready()).toBe(false);
    core.increment();
    expect(await r.get()).toBe(true);
    expect(await pool.apply(t('waitSync'), [c, 5, 30])).toBe(false); // timed out inside the core
  });

  test('misuse throws synchronously in the worker, with the same class and the remote stack', async () => {
    const c = new Counter();
    expect(await pool.apply(t('failSync'), [c])).toEqual({
      name: 'LockStateError', message: 'counter misuse', code: 'ERR_LOCK_NOT_HELD', isClass: true, remote: true,
    });
  });

  test('fire-and-forget calls are ordered before a later blocking call', async () => {
    const c = new Counter();
    expect(await pool.apply(t('addMany'), [c, 20_000])).toBe(20_000);
    expect(c.core.items.length).toBe(20_000);
    expect(c.core.items[19_999]).toBe(19_999);
  });

  test('a failed fire-and-forget call is thrown by the next call on that core', async () => {
    const c = new Counter();
    expect(await pool.apply(t('addBad'), [c])).toBe('TypeError: numbers only');
  });

  test('the same ref revives to one core per worker, and is handed on unchanged', async () => {
    const c = new Counter();
    expect(((await pool.apply(t('sameRef'), [c, c])) as any).same).toBe(true);
    // Handed back from the worker, the counter still names the creator's core. (Under Jest the
    // pool hands back the raw descriptor; outside Jest it revives to the local core itself.)
    const back: any = await pool.apply(t('passOn'), [c]);
    const ref = back instanceof Counter ? exposeCore(back.core, counterShape) : back.__multiproc_handle__.data;
    expect(ref).toEqual(exposeCore(c.core, counterShape));
  });

  test('exposeCore is idempotent; a remote core hands out its own ref', async () => {
    const core = new CounterCore();
    const ref = exposeCore(core, counterShape);
    expect(exposeCore(core, counterShape)).toBe(ref);
    expect(ref).toMatchObject({ kind: 'Counter', pid: process.pid });
    expect(ref.authkey).toBeInstanceOf(Uint8Array);
    expect(remoteRefOf(core)).toBeUndefined();
    // In the creator's own thread a ref revives to the local core itself.
    expect(await connectRemoteCore(ref, counterShape)).toBe(core);
  });
});

describe('remote cores when the creator\'s broker goes away', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 1, runtime: 'process' });
  });
  afterAll(async () => {
    await pool.terminate();
    await closeBroker();
  });

  test('a blocked sync call throws ConnectionClosedError promptly, and so do later calls', async () => {
    const c = new Counter();
    const waiting = (c.core as CounterCore).nextWaiter();
    const r = pool.apply(t('waitSyncUntilClosed'), [c]);
    await waiting;
    const t0 = Date.now();
    await closeBroker();
    expect(await r).toEqual({ first: 'ConnectionClosedError', later: 'ConnectionClosedError' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('a pending async call rejects with ConnectionClosedError', async () => {
    const c = new Counter();
    const waiting = (c.core as CounterCore).nextWaiter();
    const r = pool.apply(t('waitAsyncUntilClosed'), [c]);
    await waiting;
    await closeBroker();
    expect(await r).toBe('ConnectionClosedError');
  });
});

describe('remote cores and Process lifetimes', () => {
  afterAll(() => closeBroker());

  test('fire-and-forget calls made just before a Process ends are not lost', async () => {
    const c = new Counter();
    const p = new Process({ target: t('addAndExit'), args: [c, 5000], runtime: 'process' });
    p.start();
    await p.join();
    expect(p.exitCode).toBe(0);
    expect(c.core.items.length).toBe(5000);
  });

  test('a worker process SIGKILLed: the broker calls abandon(owner) on the cores it used', async () => {
    const c = new Counter();
    const core = c.core as CounterCore;
    const p = new Process({ target: t('holdAndWait'), args: [c], runtime: 'process' });
    p.start();
    expect(await core.waitFor(1, 20_000)).toBe(true); // the child holds it
    const owner = core.holder;
    expect(owner).toBe(`${p.pid}:0`);
    const abandoned = core.nextAbandon();
    p.kill();
    expect(await abandoned).toBe(owner);
    expect(core.holder).toBeNull();
    await p.join();
    expect(p.exitCode).toBe(-9);
  });
});

describe('remote cores never keep a process alive', () => {
  afterAll(() => closeBroker());

  test('a child that used a remote core exits on its own, and its last fire-and-forget calls land', async () => {
    const c = new Counter();
    const ref = exposeCore(c.core, counterShape);
    const proc = fork(fileURLToPath(new URL('./fixtures/transport-child.ts', import.meta.url)), [], {
      execArgv: ['--import', tsxLoaderUrl()],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await new Promise((resolve) => proc.once('message', resolve)); // up
    const reply = new Promise((resolve) => proc.once('message', resolve));
    proc.send({ role: 'remote', ref });
    expect(await reply).toEqual({ before: 1, waited: true });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(0); // not killed: it ended by itself
    expect((c.core as CounterCore).items.length).toBe(1000);
  });
});
