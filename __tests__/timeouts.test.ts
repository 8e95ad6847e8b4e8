// Every timeout in the package follows one rule (lib/base/timeout.ts): Infinity and huge values wait
// (forever, or as long as asked), NaN is a TypeError that says NaN, negative is 0, null/undefined forever.
import { spawnSync } from 'node:child_process';
import { jest } from '@jest/globals';
import {
  Pool, Process, Future, ThreadPoolExecutor, ProcessPoolExecutor, asCompleted, wait,
  Queue, Lock, Event, Condition, Barrier, Semaphore, Pipe, TimeoutError, type Runtime,
} from '../lib/index.js';
import { normalizeTimeout, raceTimeout, setLongTimeout, MAX_TIMER_MS } from '../lib/base/timeout.js';
import { runtimes } from './helpers/runtimes.js';

const HUGE = [Infinity, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE];

/**
 * Node prints a TimeoutOverflowWarning when setTimeout is given more than 2^31-1 ms (and fires at once).
 * Watched in a child process: jest's `process` is a copy that never receives 'warning' events.
 */
describe('no TimeoutOverflowWarning anywhere', () => {
  test.each(runtimes)('a program using huge timeouts everywhere (%s workers) prints none and finishes', (runtime) => {
    const lib = JSON.stringify(new URL('../lib/index.ts', import.meta.url).href);
    const script = `
      import { Pool, Process, Future, ThreadPoolExecutor, ProcessPoolExecutor, asCompleted, wait, Queue, Event } from ${lib};
      process.on('warning', (w) => console.log('WARNING', w.name));
      const runtime = ${JSON.stringify(runtime)};
      const pool = new Pool({ processes: 1, runtime });
      const r = pool.applyAsync(async (x) => { await new Promise((ok) => setTimeout(ok, 50)); return x; }, [1]);
      console.log('get', await r.get(2 ** 31), await r.get(2 ** 40));
      const it = pool.imap((x) => x * 2, [1]);
      console.log('next', (await it.next(2 ** 32)).value);
      const ex = runtime === 'thread' ? new ThreadPoolExecutor(1) : new ProcessPoolExecutor(1);
      const f = ex.submit((x) => x + 1, 1);
      console.log('result', await f.result(2 ** 31), await f.exception(2 ** 33));
      for await (const g of asCompleted([f], 2 ** 31)) console.log('asCompleted', g.resultNow());
      console.log('wait', (await wait([f], { timeout: 2 ** 31 })).done.size);
      await ex.shutdown();
      const p = new Process({ target: () => {}, runtime });
      p.start();
      await p.join(2 ** 31);
      console.log('join', p.exitCode);
      // each value comes a little later: a huge timeout must wait for it, not fire at once
      const q = new Queue();
      setTimeout(() => q.putNowait('q'), 20);
      console.log('queue', await q.get(true, 2 ** 31));
      const ev = new Event();
      setTimeout(() => ev.set(), 20);
      console.log('event', await ev.wait(2 ** 31));
      const pending = new Future();
      setTimeout(() => pending.setResult('late'), 20);
      console.log('future', await pending.result(2 ** 31));
      await pool.terminate();
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    if (res.status !== 0) console.log(res.stdout, res.stderr);
    expect(res.stdout).not.toContain('TimeoutOverflowWarning');
    expect(res.stderr).not.toContain('TimeoutOverflowWarning');
    expect(res.stdout.split('\n').filter(Boolean)).toEqual([
      'get 1 1', 'next 2', 'result 2 null', 'asCompleted 2', 'wait 1', 'join 0', 'queue q', 'event true', 'future late',
    ]);
    expect(res.status).toBe(0);
  });
});

describe('normalizeTimeout', () => {
  test('null/undefined/Infinity wait forever, negatives are 0, finite values are kept whole', () => {
    expect(normalizeTimeout(undefined)).toBeUndefined();
    expect(normalizeTimeout(null)).toBeUndefined();
    expect(normalizeTimeout(Infinity)).toBeUndefined();
    expect(normalizeTimeout(-1)).toBe(0);
    expect(normalizeTimeout(-Infinity)).toBe(0);
    expect(normalizeTimeout(0)).toBe(0);
    expect(normalizeTimeout(2 ** 40)).toBe(2 ** 40);
  });

  test('NaN and non-numbers are a TypeError naming what was wrong', () => {
    expect(() => normalizeTimeout(NaN)).toThrow(TypeError);
    expect(() => normalizeTimeout(NaN)).toThrow(/got NaN/);
    expect(() => normalizeTimeout('10' as any)).toThrow(/got string/);
    expect(() => normalizeTimeout(10n as any, 'Barrier timeout')).toThrow(/^Barrier timeout must be a number of milliseconds.*got bigint/);
  });
});

describe('long timers re-arm instead of overflowing', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('raceTimeout(2^31 + 100 ms) times out only when the whole time has passed', async () => {
    jest.useFakeTimers();
    const never = new Promise<never>(() => {});
    let outcome: unknown;
    void raceTimeout(never, 2 ** 31 + 100).then((o) => (outcome = o));
    await jest.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(outcome).toBeUndefined();
    await jest.advanceTimersByTimeAsync(50);
    expect(outcome).toBeUndefined();
    await jest.advanceTimersByTimeAsync(60);
    expect(outcome).toEqual({ timedOut: true });
  });

  test('Future.result(3 * 2^31 ms) waits through two re-arms, then throws TimeoutError', async () => {
    jest.useFakeTimers();
    const f = new Future<number>();
    let settled: unknown = 'pending';
    f.result(3 * 2 ** 31).then((v) => (settled = v), (e) => (settled = e));
    await jest.advanceTimersByTimeAsync(3 * 2 ** 31 - 10);
    expect(settled).toBe('pending');
    await jest.advanceTimersByTimeAsync(20);
    expect(settled).toBeInstanceOf(TimeoutError);
  });

  test('wait(fs, { timeout: 2^32 }) returns only when that time has passed', async () => {
    jest.useFakeTimers();
    const f = new Future<number>();
    let res: { done: Set<Future<number>>; notDone: Set<Future<number>> } | undefined;
    void wait([f], { timeout: 2 ** 32 }).then((r) => (res = r));
    await jest.advanceTimersByTimeAsync(2 ** 32 - 10);
    expect(res).toBeUndefined();
    await jest.advanceTimersByTimeAsync(20);
    expect(res?.notDone.has(f)).toBe(true);
  });

  test('a cleared long timer never fires', async () => {
    jest.useFakeTimers();
    let fired = false;
    const t = setLongTimeout(() => (fired = true), 2 ** 33);
    await jest.advanceTimersByTimeAsync(2 ** 32);
    t.clear();
    await jest.advanceTimersByTimeAsync(2 ** 33);
    expect(fired).toBe(false);
  });
});

describe('Future, wait and asCompleted (no worker)', () => {
  test.each(HUGE)('timeout %p waits for the result', async (timeout) => {
    const f = new Future<number>();
    const result = f.result(timeout);
    const exception = f.exception(timeout);
    const completed = (async () => {
      const out: Future<number>[] = [];
      for await (const done of asCompleted([f], timeout)) out.push(done);
      return out;
    })();
    const waited = wait([f], { timeout });
    setImmediate(() => f.setResult(7));
    expect(await result).toBe(7);
    expect(await exception).toBeNull();
    expect(await completed).toEqual([f]);
    expect((await waited).done.has(f)).toBe(true);
  });

  test('NaN is a TypeError that says NaN', async () => {
    const f = new Future<number>();
    await expect(f.result(NaN)).rejects.toThrow(/NaN/);
    await expect(f.exception(NaN)).rejects.toThrow(TypeError);
    expect(() => wait([f], { timeout: NaN })).toThrow(/NaN/);
    expect(() => asCompleted([f], NaN)).toThrow(/NaN/);
  });

  test('a negative timeout is 0: TimeoutError at once', async () => {
    const f = new Future<number>();
    await expect(f.result(-5)).rejects.toBeInstanceOf(TimeoutError);
    expect((await wait([f], { timeout: -1 })).notDone.has(f)).toBe(true);
  });
});

describe('primitives (no worker)', () => {
  test('NaN is a TypeError that says NaN, for every primitive', async () => {
    const q = new Queue();
    await expect(q.get(true, NaN)).rejects.toThrow(/NaN/);
    await expect(q.put(1, true, NaN)).rejects.toThrow(/NaN/);
    const lock = new Lock();
    await expect(lock.acquire(true, NaN)).rejects.toThrow(/NaN/);
    await expect(new Semaphore(0).acquire(true, NaN)).rejects.toThrow(/NaN/);
    await expect(new Event().wait(NaN)).rejects.toThrow(/NaN/);
    const cond = new Condition();
    await cond.acquire();
    await expect(cond.wait(NaN)).rejects.toThrow(/NaN/);
    cond.release();
    expect(() => new Barrier(2, undefined, NaN)).toThrow(/NaN/);
    await expect(new Barrier(2).wait(NaN)).rejects.toThrow(/NaN/);
    const [a, b] = Pipe();
    await expect(a.poll(NaN)).rejects.toThrow(/NaN/);
    a.close();
    b.close();
  });

  test('huge timeouts wait for what they wait on', async () => {
    const q = new Queue<number>();
    const got = q.get(true, 2 ** 31);
    setImmediate(() => q.putNowait(3));
    expect(await got).toBe(3);
    const ev = new Event();
    const waited = ev.wait(Infinity);
    setImmediate(() => ev.set());
    expect(await waited).toBe(true);
    const lock = new Lock();
    await lock.acquire();
    const acquired = lock.acquire(true, 2 ** 40);
    setImmediate(() => lock.release());
    expect(await acquired).toBe(true);
  });
});

describe.each(runtimes)('across the package (%s workers)', (runtime: Runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  const slow = async (x: number) => {
    await new Promise((r) => setTimeout(r, 150));
    return x * 2;
  };

  test.each(HUGE)('AsyncResult.get / wait(%p) wait for the result instead of timing out', async (timeout) => {
    const r = pool.applyAsync(slow, [21]);
    await r.wait(timeout);
    expect(r.ready()).toBe(true);
    expect(await pool.applyAsync(slow, [4]).get(timeout)).toBe(8);
  });

  test('AsyncResult.get(NaN) is a TypeError that says NaN; get(-1) times out at once', async () => {
    const r = pool.applyAsync(slow, [1]);
    await expect(r.get(NaN)).rejects.toThrow(/NaN/);
    await expect(r.wait(NaN)).rejects.toThrow(TypeError);
    await expect(r.get(-1)).rejects.toBeInstanceOf(TimeoutError);
    expect(await r.get()).toBe(2);
  });

  test('ResultIterator.next with huge timeouts waits; NaN is a TypeError', async () => {
    const it = pool.imap(slow, [1, 2, 3]);
    expect(await it.next(Infinity)).toEqual({ done: false, value: 2 });
    expect(await it.next(2 ** 31)).toEqual({ done: false, value: 4 });
    await expect(it.next(NaN)).rejects.toThrow(/NaN/);
    expect(await it.next(Number.MAX_VALUE)).toEqual({ done: false, value: 6 });
    expect((await it.next(Infinity)).done).toBe(true);
  });

  test('executor futures, asCompleted, wait and map take huge timeouts', async () => {
    const executor = runtime === 'thread' ? new ThreadPoolExecutor(2) : new ProcessPoolExecutor(2);
    try {
      const f = executor.submit(slow, 5);
      expect(await f.result(Infinity)).toBe(10);
      expect(await f.exception(2 ** 31)).toBeNull();
      const fs = [executor.submit(slow, 1), executor.submit(slow, 2)];
      const seen: number[] = [];
      for await (const done of asCompleted(fs, 2 ** 35)) seen.push(await done.result());
      expect(seen.sort()).toEqual([2, 4]);
      const g = executor.submit(slow, 3);
      const { done } = await wait([g], { timeout: Infinity });
      expect(done.has(g)).toBe(true);
      const mapped: number[] = [];
      for await (const v of executor.map(slow, [1, 2], { timeout: 2 ** 31 })) mapped.push(v as number);
      expect(mapped).toEqual([2, 4]);
      await expect(executor.submit(slow, 1).result(NaN)).rejects.toThrow(/NaN/);
    } finally {
      await executor.shutdown({ wait: true });
    }
  });

  test('Process.join with huge timeouts waits for the end; NaN is a TypeError', async () => {
    const p = new Process({ target: async () => { await new Promise((r) => setTimeout(r, 150)); }, runtime });
    p.start();
    await expect(p.join(NaN)).rejects.toThrow(/NaN/);
    await p.join(2 ** 31);
    expect(p.exitCode).toBe(0);
    const q = new Process({ target: async () => { await new Promise((r) => setTimeout(r, 100)); }, runtime });
    q.start();
    await q.join(Infinity);
    expect(q.exitCode).toBe(0);
  });

  test('Queue, Lock, Event and Pipe wait with huge timeouts for a worker', async () => {
    const q = new Queue<string>();
    const got = q.get(true, Infinity);
    const lock = new Lock();
    await lock.acquire();
    const ev = new Event();
    const [reader, writer] = Pipe(false);
    const polled = reader.poll(2 ** 31);
    const evWaited = ev.wait(2 ** 40);
    const task = pool.apply(
      async (q: Queue<string>, lock: Lock, ev: Event, writer: any) => {
        await q.put('from worker');
        lock.release();
        ev.set();
        writer.send('hello');
        writer.close();
        return 'done';
      },
      [q, lock, ev, writer],
    );
    expect(await got).toBe('from worker');
    expect(await lock.acquire(true, Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(await evWaited).toBe(true);
    expect(await polled).toBe(true);
    expect(await reader.recv()).toBe('hello');
    expect(await task).toBe('done');
    lock.release();
    reader.close();
    writer.close();
  });
});
