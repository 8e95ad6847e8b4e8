// multiproc/python's names reach Process targets as they reach Pool tasks, and `using` (the docs'
// `with lock:`) works inside a function sent by source, compiled by tsc (ts-jest) or esbuild (tsx).
import { spawnSync } from 'node:child_process';
import { Process, Queue, Lock, Pool } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

describe.each(runtimes)('multiproc/python in a Process target (%s)', (runtime) => {
  test('a received Queue answers put_nowait, a Lock hold_sync', async () => {
    const q = new Queue<number>();
    const lock = new Lock();
    const p = new Process({
      target: (queue: any, l: any) => {
        l.acquire_sync();
        l.release();
        queue.put_nowait(42);
      },
      args: [q, lock],
      runtime,
    });
    p.start();
    expect(await q.get()).toBe(42);
    await p.join();
    expect(p.exitcode).toBe(0);
  });

  test('`using _ = lock.holdSync()` inside a source function works (tsc emits its dispose helpers)', async () => {
    const lock = new Lock();
    const q = new Queue<string>();
    const p = new Process({
      target: (l: any, queue: any) => {
        {
          using _held = l.holdSync();
          queue.putNowait(`held ${l.locked()}`);
        }
        queue.putNowait(`after ${l.locked()}`);
      },
      args: [lock, q],
      runtime,
    });
    p.start();
    expect(await q.get()).toBe('held true');
    expect(await q.get()).toBe('after false');
    await p.join();
    expect(p.exitcode).toBe(0);
  });
});

test('`using` in a Pool task sent by source, also when it throws (the lock is released)', async () => {
  const pool = new Pool(1);
  try {
    const lock = new Lock();
    const f = (l: any, fail: boolean) => {
      using _held = l.holdSync();
      if (fail) throw new RangeError('inside with');
      return l.locked();
    };
    expect(await pool.apply(f, [lock, false])).toBe(true);
    await expect(pool.apply(f, [lock, true])).rejects.toThrow(RangeError);
    expect(lock.locked()).toBe(false);
  } finally {
    await pool.terminate();
  }
});

test('`using` and `await using` in source sent from a program run by tsx (esbuild emits its own helpers)', () => {
  const program = new URL('./fixtures/using-program.ts', import.meta.url).pathname;
  const res = spawnSync(process.execPath, ['--import', 'tsx', program], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (res.status !== 0) console.log(res.stderr);
  expect(res.stdout.trim()).toBe(JSON.stringify([true, 'async ok', 'RangeError false', false]));
});

describe('the dispose helpers a worker defines for lowered `using`', () => {
  test('dispose in reverse order; a disposal error suppresses the body error; async entries are awaited', async () => {
    const { installDisposeHelpers } = await import('../lib/base/dispose-helpers.js');
    installDisposeHelpers();
    const g = globalThis as any;
    const order: string[] = [];
    const res = (name: string, fail = false) => ({ [Symbol.dispose]() { order.push(name); if (fail) throw new Error(`dispose ${name}`); } });
    const stack: unknown[] = [];
    g.__using(stack, res('a'));
    g.__using(stack, null);
    g.__using(stack, res('b', true));
    let thrown: any;
    try {
      g.__callDispose(stack, new Error('body'), true);
    } catch (e) {
      thrown = e;
    }
    expect(order).toEqual(['b', 'a']);
    expect(thrown.name).toBe('SuppressedError');
    expect(thrown.error.message).toBe('dispose b');
    expect(thrown.suppressed.message).toBe('body');
    expect(() => g.__using([], 5)).toThrow(TypeError);
    expect(() => g.__using([], {})).toThrow(/not disposable/);
    const env = { stack: [], error: undefined, hasError: false };
    let asyncDone = false;
    g.__addDisposableResource(env, { async [Symbol.asyncDispose]() { await null; asyncDone = true; } }, true);
    const p = g.__disposeResources(env);
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(asyncDone).toBe(true);
  });
});
