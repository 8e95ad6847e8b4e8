// Leftovers of "every call answers, exactly once": each a real pool, real workers.
import { AsyncResult, Pool, ProcessPoolExecutor, ThreadPoolExecutor, TimeoutError, task } from '../lib/index.js';
import { fixture, settledOrPending } from './helpers/runtimes.js';

const startNested = task<() => void>(fixture('answers-bootstrap-tasks.ts'), 'startNestedPoolDuringNextImport');
const outcome = task<() => { background?: unknown; topLevel?: unknown }>(fixture('answers-bootstrap-slow.ts'), 'outcome');

describe('ERR_BOOTSTRAPPING refuses only the importing module\'s own top level', () => {
  test.each(['thread', 'process'] as const)('%s: work left by an earlier task starts a nested Pool while the worker imports another module', async (runtime) => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      await pool.apply(startNested);
      expect(await pool.apply(outcome)).toEqual({ background: 42, topLevel: 'ERR_BOOTSTRAPPING' });
    } finally {
      await pool.terminate();
    }
  }, 60_000);
});

/** What a result looks like from inside its own callback. */
interface Seen { ready: boolean; successful: boolean | string; got: unknown; waited: boolean }

async function look(res: AsyncResult<any>): Promise<Seen> {
  let successful: boolean | string;
  try {
    successful = res.successful();
  } catch (err) {
    successful = (err as Error).name;
  }
  const ready = res.ready();
  const got = await res.get(5000).catch((e) => (e instanceof TimeoutError ? 'timed out' : `rejected ${(e as Error).message}`));
  const waited = await res.wait(5000).then(() => res.ready());
  return { ready, successful, got, waited };
}

describe('inside its own callback a result is ready, as in Python (the callback runs once the result is set)', () => {
  test.each(['thread', 'process'] as const)('%s pool: callback and errorCallback, sync and async; join() and shutdown() inside one do not wait for it', async (runtime) => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const seen: Record<string, Promise<Seen>> = {};
      const ok: AsyncResult<number> = pool.applyAsync((x: number) => x * 2, [21], { callback: () => void (seen.sync = look(ok)) });
      const bad: AsyncResult<any> = pool.applyAsync<number>((): number => { throw new RangeError('no'); }, [], { errorCallback: () => void (seen.error = look(bad)) });
      const asyncOk: AsyncResult<number> = pool.applyAsync((x: number) => x + 1, [1], {
        callback: async () => {
          await new Promise((r) => setImmediate(r));
          seen.async = look(asyncOk);
          await seen.async;
        },
      });
      const mapped: AsyncResult<number[]> = pool.mapAsync((x: number) => x, [1, 2], { callback: () => void (seen.map = look(mapped)) });
      expect(await ok.get()).toBe(42);
      await bad.wait();
      await asyncOk.get();
      await mapped.get();
      const done = { ready: true, waited: true };
      expect(await seen.sync).toEqual({ ...done, successful: true, got: 42 });
      expect(await seen.error).toEqual({ ...done, successful: false, got: 'rejected no' });
      expect(await seen.async).toEqual({ ...done, successful: true, got: 2 });
      expect(await seen.map).toEqual({ ...done, successful: true, got: [1, 2] });
      // an async callback that closes and joins the pool: join() waits for every other callback, not for its own
      let joined!: Promise<string>;
      const last = pool.applyAsync(() => 7, [], {
        callback: async () => {
          pool.close();
          joined = settledOrPending(pool.join().then(() => 'joined'), 20_000);
          await joined;
        },
      });
      expect(await last.get()).toBe(7);
      expect(await joined).toBe('joined');
    } finally {
      await pool.terminate();
    }
  }, 60_000);

  test.each([['thread', ThreadPoolExecutor], ['process', ProcessPoolExecutor]] as const)('%s executor: a done callback sees its future done; shutdown() awaited inside one does not wait for it', async (_name, Executor) => {
    const ex = new Executor(1);
    try {
      const f = ex.submit((x: number) => x * 3, 5);
      const inside = new Promise<unknown[]>((resolve) => {
        f.addDoneCallback(async (fut) => {
          resolve([fut.done(), fut.resultNow(), await fut.result(5000).catch((e) => e.name), await fut.exception(5000)]);
        });
      });
      expect(await f.result()).toBe(15);
      expect(await inside).toEqual([true, 15, 15, null]);
      // added once done: called at once, and sees the same
      const late = await new Promise<unknown[]>((resolve) => f.addDoneCallback(async (fut) => resolve([fut.done(), await fut.result(5000)])));
      expect(late).toEqual([true, 15]);
      let shut!: Promise<string>;
      const g = ex.submit(() => 1);
      g.addDoneCallback(async () => {
        shut = settledOrPending(ex.shutdown().then(() => 'shut down'), 20_000);
        await shut;
      });
      expect(await g.result()).toBe(1);
      expect(await shut).toBe('shut down');
    } finally {
      await ex.shutdown({ wait: false });
    }
  }, 60_000);
});

describe('maxTasksPerChild: a retiring worker is not handed the batches it refuses over and over', () => {
  test.each(['thread', 'process'] as const)('%s: 40 (processes: 20) applyAsync with maxTasksPerChild 1 on 2 workers: every result, and few batches sent per task', async (runtime) => {
    const pool = new Pool({ processes: 2, maxTasksPerChild: 1, runtime });
    try {
      const n = runtime === 'thread' ? 40 : 20;
      const results = Array.from({ length: n }, (_, i) => pool.applyAsync((x: number) => x + 1, [i]));
      expect(await Promise.all(results.map((r) => r.get()))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      // each task needs a batch, and a batch sent to a worker just as it retires comes back once or twice; a
      // busy loop sent each again and again until that worker had exited (some 8 to 10 batches a task on threads; about 3 without it)
      expect(pool.stats().batches).toBeLessThan(5 * n);
    } finally {
      await pool.terminate();
    }
  }, 120_000);
});

describe('a child process that dies while writing a large result', () => {
  test('that call answers once (its whole result, or WorkerLostError), every other call gets its own, and the pool goes on', async () => {
    const pool = new Pool({ processes: 2, runtime: 'process' });
    try {
      const size = 32 * 1024 * 1024;
      const others = Array.from({ length: 40 }, (_, i) => pool.applyAsync((x: number) => x * 2, [i]));
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        // the worker kills itself a moment after returning: while its 32 MB reply is still being written, or just after
        const big = pool.apply((n: number) => {
          setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1);
          return 'x'.repeat(n);
        }, [size]);
        const outcome = await big.then((v) => (v.length === size && /^x+$/.test(v) ? 'whole result' : `damaged result of ${v.length}`), (e) => e.name);
        expect(['whole result', 'WorkerLostError']).toContain(outcome);
        outcomes.push(outcome);
      }
      expect(await Promise.all(others.map((r) => r.get()))).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
      expect(await pool.apply((x: number) => x + 1, [1])).toBe(2);
      expect(outcomes).toHaveLength(3);
    } finally {
      await pool.terminate();
    }
  }, 60_000);
});
