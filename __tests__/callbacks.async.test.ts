// Async callbacks are awaited: get(), wait(), join() and an executor's shutdown() resolve only once
// every callback of their results has finished, as Python's callbacks have run before get() returns.
import { Pool, ThreadPoolExecutor, Future } from '../lib/index.js';

/** A promise that settles after `turns` trips through the macrotask queue: later than any microtask. */
function later(turns: number): Promise<void> {
  return new Promise((resolve) => {
    const step = (n: number) => (n <= 0 ? resolve() : setImmediate(() => step(n - 1)));
    step(turns);
  });
}

describe('async callbacks are awaited', () => {
  test('join() returns only after 200 async callbacks have all finished', async () => {
    const pool = new Pool(2);
    let entered = 0;
    let finished = 0;
    let allEntered!: () => void;
    const whenAllEntered = new Promise<void>((r) => (allEntered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    for (let i = 0; i < 200; i++) {
      pool.applyAsync((x: number) => x * 2, [i], {
        callback: async () => {
          if (++entered === 200) allEntered();
          await gate;
          await later(i % 7);
          finished++;
        },
      });
    }
    pool.close();
    let joined = false;
    const join = pool.join().then(() => (joined = true));
    await whenAllEntered;
    // the callbacks hold on well after the workers are gone; join() must still wait for them
    setTimeout(release, 300); // time passes after the workers are gone: join() must still wait
    await join;
    expect(joined).toBe(true);
    expect(finished).toBe(200);
  });

  test('an async errorCallback is awaited by join() too', async () => {
    const pool = new Pool(1);
    let finished = 0;
    for (let i = 0; i < 20; i++) {
      pool.applyAsync(() => { throw new Error('no'); }, [], {
        errorCallback: async () => {
          await new Promise((r) => setTimeout(r, 300));
          finished++;
        },
      });
    }
    pool.close();
    await pool.join();
    expect(finished).toBe(20);
  });

  test('get() and wait() resolve after the async callback; ready() is false until it has run', async () => {
    const pool = new Pool(1);
    try {
      let done = false;
      let entered!: () => void;
      const whenEntered = new Promise<void>((r) => (entered = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const res = pool.applyAsync((x: number) => x + 1, [1], {
        callback: async () => {
          entered();
          await gate;
          done = true;
        },
      });
      let gotEarly = false;
      const got = res.get().then((v) => ((gotEarly = !done), v));
      const waited = res.wait().then(() => done);
      await whenEntered;
      await later(20);
      expect(res.ready()).toBe(false);
      expect(gotEarly).toBe(false);
      release();
      await expect(got).resolves.toBe(2);
      expect(gotEarly).toBe(false);
      await expect(waited).resolves.toBe(true);
      expect(res.ready()).toBe(true);
      expect(res.successful()).toBe(true);
    } finally {
      await pool.terminate();
    }
  });

  test('a callback that awaits get() of its own result does not deadlock', async () => {
    const pool = new Pool(1);
    try {
      let seen: unknown;
      const res = pool.applyAsync((x: number) => x * 3, [2], {
        callback: async () => {
          seen = await res.get();
        },
      });
      await expect(res.get()).resolves.toBe(6);
      expect(seen).toBe(6);
    } finally {
      await pool.terminate();
    }
  });

  test('mapAsync: get() waits for the async callback', async () => {
    const pool = new Pool(2);
    try {
      let total = 0;
      const res = pool.mapAsync((x: number) => x, [1, 2, 3], {
        callback: async (values: number[]) => {
          await later(5);
          total = values.reduce((a, b) => a + b, 0);
        },
      });
      await res.get();
      expect(total).toBe(6);
    } finally {
      await pool.terminate();
    }
  });

  test('executor shutdown() waits for async done callbacks of every future', async () => {
    const ex = new ThreadPoolExecutor(2);
    let finished = 0;
    for (let i = 0; i < 50; i++) {
      ex.submit((x: number) => x, i).addDoneCallback(async () => {
        await new Promise((r) => setTimeout(r, 300));
        finished++;
      });
    }
    await ex.shutdown();
    expect(finished).toBe(50);
  });

  test('Future.result() waits for async done callbacks; a callback awaiting its own result() does not deadlock', async () => {
    const f = new Future<number>();
    const order: string[] = [];
    f.addDoneCallback(async (fut) => {
      const v = await fut.result();
      await later(5);
      order.push(`callback ${v}`);
    });
    f.setResult(7);
    const v = await f.result();
    order.push(`result ${v}`);
    expect(order).toEqual(['callback 7', 'result 7']);
  });

  test('a failing async callback is reported and get() still resolves with the result', async () => {
    const pool = new Pool(1);
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    (process.stderr as any).write = (chunk: any, ..._rest: any[]) => {
      writes.push(String(chunk));
      return true;
    };
    try {
      const res = pool.applyAsync((x: number) => x, [4], {
        callback: async () => {
          await later(2);
          throw new Error('callback broke');
        },
      });
      await expect(res.get()).resolves.toBe(4);
      expect(writes.join('')).toMatch(/exception calling callback[^\n]*\nError: callback broke/);
    } finally {
      (process.stderr as any).write = orig;
      await pool.terminate();
    }
  });
});
