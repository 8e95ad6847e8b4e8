// ThreadPoolExecutor and ProcessPoolExecutor: the same behaviours on worker threads and child processes.
// Calls are held deterministically at a TCP gate (fixtures/executor-gate.ts), never by sleeping.
import './fixtures/executor-polyfill.js';
import { jest } from '@jest/globals';
import { CancelledError, PoolStateError, TimeoutError } from '../lib/base/errors.js';
import { Executor, ProcessPoolExecutor, ThreadPoolExecutor } from '../lib/executor.js';
import { FIRST_COMPLETED, FIRST_EXCEPTION, Future, asCompleted, wait } from '../lib/futures.js';
import { task } from '../lib/base/task.js';
import { fixture } from './helpers/runtimes.js';
import { Gate } from './fixtures/executor-gate.js';

const tasks = fixture('executor-tasks.ts');
const gated = task(tasks, 'gated');
const fail = task(tasks, 'fail');
const square = task<(x: number) => number>(tasks, 'square');
const add = task<(a: number, b: number) => number>(tasks, 'add');
const initStatus = task(tasks, 'initStatus');

type Make = (workers: number, opts?: object) => Executor;
const kinds: [string, Make, number][] = [
  // [name, factory, calls a worker holds at once beyond the running ones (Python's EXTRA_QUEUED_CALLS)]
  ['ThreadPoolExecutor', (n, o) => new ThreadPoolExecutor(n, o), 0],
  ['ProcessPoolExecutor', (n, o) => new ProcessPoolExecutor(n, o), 1],
];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each(kinds)('%s', (_name, make, extra) => {
  let gate: Gate;
  let executor: Executor;

  beforeEach(async () => {
    gate = await Gate.open();
  });
  afterEach(async () => {
    gate.release(...Array.from({ length: 20 }, (_, i) => `g${i}`));
    await executor?.shutdown({ wait: true, cancelFutures: true });
    await gate.close();
  });

  test('submit: results, errors with their class, function values and task() references', async () => {
    executor = make(2);
    const f1 = executor.submit((x: number, y: number) => x * y, 6, 7);
    const f2 = executor.submit(square, 9);
    const f3 = executor.submit(fail, 'no good');
    expect(f1).toBeInstanceOf(Future);
    expect(await f1.result()).toBe(42);
    expect(await f2.result()).toBe(81);
    await expect(f3.result()).rejects.toMatchObject({ name: 'ValueError', message: 'no good' });
    const err = await f3.exception();
    expect((err as Error).message).toBe('no good');
    expect(await f1.exception()).toBeNull();
    expect([f1.done(), f1.running(), f1.cancelled()]).toEqual([true, false, false]);
  });

  test('running() while a worker holds the call; a queued call can be cancelled, a running one cannot', async () => {
    executor = make(1);
    const held = [executor.submit(gated, gate.port, 'g0', 'a')];
    for (let i = 0; i < extra; i++) held.push(executor.submit(gated, gate.port, `g${i + 1}`, 'x'));
    const queued = executor.submit(gated, gate.port, 'g9', 'q');
    await gate.arrived('g0');
    expect(held.every((f) => f.running())).toBe(true);
    expect(queued.running()).toBe(false);
    expect(queued.done()).toBe(false);
    expect(held[0].cancel()).toBe(false);
    expect(queued.cancel()).toBe(true);
    expect(queued.cancelled()).toBe(true);
    expect(queued.done()).toBe(true);
    await expect(queued.result()).rejects.toBeInstanceOf(CancelledError);
    gate.release('g0', 'g1');
    expect(await held[0].result()).toBe('a');
    expect(held[0].cancelled()).toBe(false);
    // the cancelled call never ran: the worker takes the next one
    expect(await executor.submit(square, 3).result()).toBe(9);
  });

  test('result(timeout) rejects with TimeoutError while the call keeps running', async () => {
    executor = make(1);
    const f = executor.submit(gated, gate.port, 'g0', 'late');
    await gate.arrived('g0');
    await expect(f.result(20)).rejects.toBeInstanceOf(TimeoutError);
    await expect(f.exception(0)).rejects.toBeInstanceOf(TimeoutError);
    expect(f.running()).toBe(true);
    gate.release('g0');
    expect(await f.result()).toBe('late');
  });

  test('addDoneCallback: with the future, in order, at once when done; a throwing callback does not break the executor', async () => {
    executor = make(1);
    const seen: string[] = [];
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const f = executor.submit(gated, gate.port, 'g0', 5);
      f.addDoneCallback(() => {
        throw new Error('callback failed');
      });
      f.addDoneCallback((g) => seen.push(`first:${g === f}`));
      f.addDoneCallback(() => seen.push('second'));
      await gate.arrived('g0');
      expect(seen).toEqual([]);
      gate.release('g0');
      expect(await f.result()).toBe(5);
      expect(seen).toEqual(['first:true', 'second']);
      f.addDoneCallback(() => seen.push('late'));
      expect(seen).toEqual(['first:true', 'second', 'late']);
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toMatch(/callback failed/);
    expect(await executor.submit(square, 4).result()).toBe(16);
  });

  test('map: input order, several iterables zipped (shortest wins), chunksize', async () => {
    executor = make(2);
    expect(await collect(executor.map(square, [1, 2, 3, 4, 5]))).toEqual([1, 4, 9, 16, 25]);
    expect(await collect(executor.map(add, [1, 2, 3], [10, 20, 30, 40]))).toEqual([11, 22, 33]);
    const big = Array.from({ length: 23 }, (_, i) => i);
    expect(await collect(executor.map(square, big, { chunksize: 5 }))).toEqual(big.map((x) => x * x));
    expect(await collect(executor.map(add, [1, 2, 3], [10, 20, 30], { chunksize: 2 }))).toEqual([11, 22, 33]);
    function* gen() {
      yield 1;
      yield 2;
    }
    expect(await collect(executor.map(add, gen(), new Set([5, 6, 7])))).toEqual([6, 8]);
    expect(await collect(executor.map(square, []))).toEqual([]);
    expect(() => executor.map(square, [1], { chunksize: 0 })).toThrow(RangeError);
    expect(() => executor.map(square, 5 as any)).toThrow(TypeError);
  });

  test('map: a failing call throws its error at its position, after the earlier results', async () => {
    executor = make(2);
    const it = executor.map((x: number) => {
      if (x === 3) throw new Error('three');
      return x;
    }, [1, 2, 3, 4]);
    expect((await it.next()).value).toBe(1);
    expect((await it.next()).value).toBe(2);
    await expect(it.next()).rejects.toThrow('three');
  });

  test('map: timeout counted from the call throws TimeoutError; leaving early cancels calls not started', async () => {
    executor = make(1);
    const it = executor.map(gated, [gate.port, gate.port, gate.port, gate.port], ['g0', 'g1', 'g2', 'g3'], ['a', 'b', 'c', 'd'], { timeout: 30 });
    await gate.arrived('g0');
    await expect(it.next()).rejects.toBeInstanceOf(TimeoutError);
    gate.release('g0', 'g1');
    // the generator has finished: the calls still queued were cancelled, the running ones complete
    expect((await it.next()).done).toBe(true);
    const probe = executor.submit(square, 2);
    expect(await probe.result()).toBe(4);

    const ids = ['g4', 'g5', 'g6', 'g7', 'g8', 'g9'];
    const it2 = executor.map(gated, ids.map(() => gate.port), ids, [1, 2, 3, 4, 5, 6]);
    gate.release('g4');
    expect((await it2.next()).value).toBe(1);
    await it2.return();
    gate.release(...ids);
    await executor.shutdown();
    // at most the worker's call and the one extra queued call started after g4; the rest were cancelled
    expect(gate.seen.has('g9')).toBe(false);
    expect(gate.seen.has('g8')).toBe(false);
  });

  test('shutdown({ cancelFutures: true }): 2 workers, 8 queued — the queued ones are cancelled, the rest complete', async () => {
    executor = make(2);
    const fs = Array.from({ length: 10 }, (_, i) => executor.submit(gated, gate.port, `g${i}`, i));
    await Promise.all([gate.arrived('g0'), gate.arrived('g1')]);
    const stopping = executor.shutdown({ wait: true, cancelFutures: true });
    const started = 2 + extra;
    expect(fs.filter((f) => f.cancelled())).toHaveLength(10 - started);
    expect(fs.slice(0, started).every((f) => f.running())).toBe(true);
    gate.release('g0', 'g1', 'g2');
    await stopping;
    expect(fs.slice(0, started).every((f) => f.done() && !f.cancelled())).toBe(true);
    expect(await Promise.all(fs.slice(0, started).map((f) => f.result()))).toEqual([0, 1, 2].slice(0, started));
    expect(executor.workerIds).toEqual([]);
  });

  test('shutdown() without cancelFutures runs every queued call before it resolves', async () => {
    executor = make(2);
    const fs = Array.from({ length: 10 }, (_, i) => executor.submit(gated, gate.port, `g${i}`, i));
    let finished = false;
    const stopping = executor.shutdown().then(() => (finished = true));
    await gate.arrived('g0');
    expect(fs.some((f) => f.cancelled())).toBe(false);
    expect(finished).toBe(false);
    gate.release(...fs.map((_, i) => `g${i}`));
    await stopping;
    expect(fs.every((f) => f.done())).toBe(true);
    expect(await Promise.all(fs.map((f) => f.result()))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('shutdown({ wait: false }) returns at once; the calls still complete. Submit afterwards throws', async () => {
    executor = make(1);
    const f = executor.submit(gated, gate.port, 'g0', 'done');
    await executor.shutdown({ wait: false });
    expect(f.done()).toBe(false);
    expect(() => executor.submit(square, 1)).toThrow(PoolStateError);
    expect(() => executor.submit(square, 1)).toThrow('cannot schedule new futures after shutdown');
    expect(() => executor.map(square, [1])).toThrow(PoolStateError);
    gate.release('g0');
    expect(await f.result()).toBe('done');
    await executor.shutdown(); // again: harmless, waits for the exit
    expect(executor.workerIds).toEqual([]);
  });

  test('await using: leaving the block waits for the pending calls, as Python\'s with-block', async () => {
    let f!: Future<string>;
    {
      await using ex = make(1);
      executor = ex;
      f = ex.submit(gated, gate.port, 'g0', 'inside') as Future<string>;
      gate.release('g0');
    }
    expect(f.done()).toBe(true);
    expect(await f.result()).toBe('inside');
    expect(() => executor.submit(square, 1)).toThrow(PoolStateError);
  });

  test('wait(): FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED and a timeout', async () => {
    executor = make(2);
    const a = executor.submit(gated, gate.port, 'g0', 'a');
    const b = executor.submit(gated, gate.port, 'g1', 'b');
    await Promise.all([gate.arrived('g0'), gate.arrived('g1')]);

    const timedOut = await wait([a, b], { timeout: 20 });
    expect(timedOut.done.size).toBe(0);
    expect(timedOut.notDone).toEqual(new Set([a, b]));

    const first = wait([a, b], { returnWhen: FIRST_COMPLETED });
    gate.release('g1');
    expect(await first).toEqual({ done: new Set([b]), notDone: new Set([a]) });

    const bad = executor.submit(fail, 'x');
    const firstEx = await wait([a, bad], { returnWhen: FIRST_EXCEPTION });
    expect(firstEx).toEqual({ done: new Set([bad]), notDone: new Set([a]) });

    const all = wait([a, b, bad]);
    gate.release('g0');
    expect((await all).done).toEqual(new Set([a, b, bad]));
  });

  test('asCompleted(): completion order, then TimeoutError for the unfinished', async () => {
    executor = make(2);
    const a = executor.submit(gated, gate.port, 'g0', 'a');
    const b = executor.submit(gated, gate.port, 'g1', 'b');
    await Promise.all([gate.arrived('g0'), gate.arrived('g1')]);
    const order: Future[] = [];
    const it = asCompleted([a, b]);
    const next = it.next();
    gate.release('g1');
    order.push((await next).value as Future);
    gate.release('g0');
    order.push((await it.next()).value as Future);
    expect(order).toEqual([b, a]);
    expect((await it.next()).done).toBe(true);

    const c = executor.submit(gated, gate.port, 'g2', 'c');
    await gate.arrived('g2');
    const got: Future[] = [];
    let error: unknown;
    try {
      for await (const f of asCompleted([a, c], 30)) got.push(f);
    } catch (err) {
      error = err;
    }
    expect(got).toEqual([a]);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('1 (of 2) futures unfinished');
  });

  test('initializer runs in each worker before any call', async () => {
    executor = make(1, { initializer: task(tasks, 'init'), initargs: ['ready'] });
    expect(await executor.submit(initStatus).result()).toBe('ready');
  });
});

describe('constructor checks (thrown at once)', () => {
  test.each([
    ['ThreadPoolExecutor', (...a: any[]) => new (ThreadPoolExecutor as any)(...a)],
    ['ProcessPoolExecutor', (...a: any[]) => new (ProcessPoolExecutor as any)(...a)],
  ])('%s', (_name, make) => {
    expect(() => make(0)).toThrow(RangeError);
    expect(() => make(-1)).toThrow(RangeError);
    expect(() => make(1.5)).toThrow(RangeError);
    expect(() => make('2')).toThrow(TypeError);
    expect(() => make(1, { initializer: 1 })).toThrow(TypeError);
    expect(() => make(1, { initargs: 'x' })).toThrow(TypeError);
    expect(() => make({ maxWorkers: 0 })).toThrow(RangeError);
    expect(make(3).maxWorkers).toBe(3);
    expect(make({ maxWorkers: 2 }).maxWorkers).toBe(2);
  });

  test('defaults follow Python: min(32, cpuCount() + 4) threads, cpuCount() processes', async () => {
    const { cpuCount } = await import('../lib/base/context.js');
    expect(new ThreadPoolExecutor().maxWorkers).toBe(Math.min(32, cpuCount() + 4));
    expect(new ProcessPoolExecutor().maxWorkers).toBe(cpuCount());
    expect(() => new ProcessPoolExecutor(1, { maxTasksPerChild: 0 })).toThrow(RangeError);
    expect(() => new ThreadPoolExecutor(1, { threadNamePrefix: 5 as any })).toThrow(TypeError);
  });
});
