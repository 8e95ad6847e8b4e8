// Python 3.14's additions to concurrent.futures: map(..., { buffersize }) reads its input lazily;
// ProcessPoolExecutor.terminateWorkers() / killWorkers() stop every worker now.
import { ThreadPoolExecutor, ProcessPoolExecutor, BrokenPoolError, PoolStateError, CancelledError, task } from '../lib/index.js';
import { fixture } from './helpers/runtimes.js';
import { Gate } from './fixtures/executor-gate.js';

const gated = task<(port: number, id: string, value: unknown) => Promise<unknown>>(fixture('executor-tasks.ts'), 'gated');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Executor.map with buffersize', () => {
  test.each([1, 3])('reads an endless iterable lazily: at most buffersize calls ahead of the consumer (chunksize %i)', async (chunksize) => {
    const ex = new ThreadPoolExecutor(2);
    try {
      let read = 0;
      function* naturals() {
        for (let i = 0; ; i++) {
          read++;
          yield i;
        }
      }
      const buffersize = 4;
      const out: number[] = [];
      const results = ex.map((x: number) => x * 2, naturals(), { buffersize, chunksize });
      expect(read).toBeLessThanOrEqual((buffersize + 1) * chunksize);
      for await (const v of results) {
        out.push(v as number);
        // what was read is what was consumed plus at most buffersize + 1 calls (of chunksize items) in flight
        expect(read - out.length).toBeLessThanOrEqual((buffersize + 1) * chunksize + chunksize);
        if (out.length === 50) break;
      }
      expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    } finally {
      await ex.shutdown();
    }
  });

  test('zips several iterables, stops at the shortest, keeps input order and raises a failure at its position', async () => {
    const ex = new ThreadPoolExecutor(2);
    try {
      const out: number[] = [];
      for await (const v of ex.map((a: number, b: number) => a + b, [1, 2, 3, 4], [10, 20, 30], { buffersize: 2 })) out.push(v as number);
      expect(out).toEqual([11, 22, 33]);
      const seen: number[] = [];
      const it = ex.map((x: number) => { if (x === 2) throw new RangeError('two'); return x; }, [0, 1, 2, 3], { buffersize: 1 });
      await expect((async () => { for await (const v of it) seen.push(v as number); })()).rejects.toThrow(RangeError);
      expect(seen).toEqual([0, 1]);
    } finally {
      await ex.shutdown();
    }
  });

  test('bad buffersize: TypeError / RangeError at the call', () => {
    const ex = new ThreadPoolExecutor(1);
    expect(() => ex.map((x: number) => x, [1], { buffersize: 0 })).toThrow(RangeError);
    expect(() => ex.map((x: number) => x, [1], { buffersize: 1.5 })).toThrow(TypeError);
    expect(() => ex.map((x: number) => x, [1], { buffersize: '2' as any })).toThrow(TypeError);
    return ex.shutdown();
  });
});

describe.each(['terminateWorkers', 'killWorkers'] as const)('ProcessPoolExecutor.%s()', (method) => {
  let gate: Gate;
  beforeEach(async () => {
    gate = await Gate.open();
  });
  afterEach(async () => {
    await gate.close();
  });

  test('stops every worker now: the running call fails with BrokenPoolError, queued ones are cancelled, the executor is shut down', async () => {
    const ex = new ProcessPoolExecutor(1);
    const running = ex.submit(gated, gate.port, 'r', 'never');
    const queued = [1, 2, 3].map((i) => ex.submit(gated, gate.port, `q${i}`, i));
    await gate.arrived('r');
    const pid = gate.pids.get('r')!;
    expect(isAlive(pid)).toBe(true);
    await ex[method]();
    await expect(running.result()).rejects.toBeInstanceOf(BrokenPoolError);
    for (const f of queued) {
      expect(f.cancelled() || (await f.exception()) instanceof BrokenPoolError).toBe(true);
    }
    await expect(queued[2].result()).rejects.toBeInstanceOf(CancelledError);
    expect(isAlive(pid)).toBe(false);
    expect(() => ex.submit((x: number) => x, 1)).toThrow(PoolStateError);
    await ex.shutdown(); // harmless afterwards
    expect(gate.seen.has('q3')).toBe(false);
  });

  test('on an executor that never started a worker: shuts it down', async () => {
    const ex = new ProcessPoolExecutor(1);
    await ex[method]();
    expect(() => ex.submit((x: number) => x, 1)).toThrow(PoolStateError);
  });
});

describe('multiproc/python', () => {
  test('ProcessPoolExecutor.terminate_workers() / kill_workers() and map(..., { buffersize })', async () => {
    const py = await import('../lib/python.js');
    const ex = new py.ProcessPoolExecutor(1);
    const out: number[] = [];
    for await (const v of ex.map((x: number) => x + 1, [1, 2, 3], { buffersize: 1 })) out.push(v as number);
    expect(out).toEqual([2, 3, 4]);
    await ex.kill_workers();
    expect(() => ex.submit((x: number) => x, 1)).toThrow(PoolStateError);
    const ex2 = new py.ProcessPoolExecutor(1);
    expect(await ex2.submit((x: number) => x * 2, 4).result()).toBe(8);
    await ex2.terminate_workers();
    expect(() => ex2.submit((x: number) => x, 1)).toThrow(PoolStateError);
  });
});
