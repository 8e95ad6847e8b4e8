import { Pool, WorkerLostError } from '../lib/index.js';
import { runtimes } from './helpers/runtimes.js';

// Each death must reject its task with WorkerLostError promptly, and the pool must go on serving.
describe.each(runtimes)('a worker that dies mid-task (%s workers)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  async function expectLost(fn: () => unknown, pattern: RegExp) {
    await pool.apply((x: number) => x, [0]); // workers are up: time only the death itself
    const started = Date.now();
    const err: any = await pool.apply(fn).catch((e) => e);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.code).toBe('ERR_WORKER_LOST');
    expect(err.message).toMatch(pattern);
    expect(Date.now() - started).toBeLessThan(1000);
    // the pool replaced the worker and keeps serving, on both workers
    expect(await pool.map((x: number) => x + 1, [1, 2, 3, 4], 1)).toEqual([2, 3, 4, 5]);
  }

  test('process.exit() inside the task', async () => {
    await expectLost(() => process.exit(7), /exited with code 7/);
  });

  test('an uncaught exception thrown later, outside the task', async () => {
    await expectLost(
      () =>
        new Promise(() => {
          setTimeout(() => {
            throw new Error('async boom');
          }, 1);
        }),
      /async boom/,
    );
  });

  test('an unhandled promise rejection', async () => {
    await expectLost(
      () =>
        new Promise(() => {
          Promise.reject(new Error('nobody catches me'));
        }),
      /nobody catches me/,
    );
  });

  if (runtime === 'process') {
    test('SIGKILL of the child process', async () => {
      await expectLost(() => process.kill(process.pid, 'SIGKILL'), /SIGKILL/);
    });
  }

  test('other tasks in flight on the surviving worker still complete', async () => {
    const slow = pool.applyAsync((ms: number) => new Promise((r) => setTimeout(() => r('survived'), ms)), [300]);
    const dying = pool.applyAsync(() => process.exit(3));
    await expect(dying.get()).rejects.toBeInstanceOf(WorkerLostError);
    expect(await slow.get()).toBe('survived');
  });
});

test('a thread worker that runs out of memory (resourceLimits) rejects with WorkerLostError', async () => {
  const pool = new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
  try {
    const err: any = await pool
      .apply(() => {
        const hog: string[][] = [];
        for (;;) hog.push(new Array(100000).fill('x'));
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.message).toMatch(/memory|exited/i);
    expect(await pool.apply((x: number) => x * 2, [21])).toBe(42);
  } finally {
    await pool.terminate();
  }
});
