// Leaving an imap loop early drops the tasks it read ahead and had not started; apply() honours its signal.
import { Pool, AbortError } from '../lib/index.js';
import { runtimes } from './helpers/runtimes.js';

/** A task that holds its worker for 3 ms (blocking, so a batch runs its tasks one after another). */
const hold = (x: number) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
  return x;
};

describe.each(runtimes)('Pool early exits (%s workers)', (runtime) => {
  test.each(['imap', 'imapUnordered'] as const)('break out of %s: the read-ahead tasks are dropped, the next map runs at once', async (method) => {
    const pool = new Pool({ processes: 2, runtime });
    try {
      const items = Array.from({ length: 5000 }, (_, i) => i);
      const got: number[] = [];
      for await (const v of pool[method](hold, items)) {
        got.push(v as number);
        if (got.length === 3) break;
      }
      expect(got).toHaveLength(3);
      expect(await pool.map((x: number) => x * 2, [1, 2, 3])).toEqual([2, 4, 6]);
      pool.close();
      await pool.join();
      // the ~1024 read-ahead tasks would take seconds; only the few already sent to a worker may have run
      expect(pool.stats().completed).toBeLessThan(300);
    } finally {
      await pool.terminate();
    }
  });

  test('return() on an imap iterator drops its queued tasks', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const it = pool.imap(hold, Array.from({ length: 3000 }, (_, i) => i));
      expect(await it.next()).toEqual({ done: false, value: 0 });
      await it.return();
      expect(await it.next()).toEqual({ done: true, value: undefined });
      pool.close();
      await pool.join();
      expect(pool.stats().completed).toBeLessThan(300);
    } finally {
      await pool.terminate();
    }
  });

  test('apply(fn, args, { signal }): aborting rejects with AbortError (cause = reason) and frees the worker', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const ac = new AbortController();
      const running = pool.apply(() => new Promise(() => {}), [], { signal: ac.signal });
      // the pool has one worker: the call is running on it
      const reason = new Error('user gave up');
      ac.abort(reason);
      const err = await running.then(() => null, (e) => e);
      expect(err).toBeInstanceOf(AbortError);
      expect(err.cause).toBe(reason);
      expect(await pool.apply((x: number) => x + 1, [1])).toBe(2);
      const pre = new AbortController();
      pre.abort();
      await expect(pool.apply((x: number) => x, [1], { signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
      await expect(pool.apply((x: number) => x, [1], { signal: 5 as any })).rejects.toThrow(TypeError);
    } finally {
      await pool.terminate();
    }
  });
});
