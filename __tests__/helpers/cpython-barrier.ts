// Shared by cpython.barrier.test.ts and cpython.barrier.process.test.ts.
// CPython's Lib/test/_test_multiprocessing.py, _TestBarrier (adapted there from test/lock_tests.py),
// ported as a newcomer would: N - 1 Processes and the main program run the same function. CPython's
// DummyList (a shared counter: append() adds one, len() reads it) is a shared Value here.
import { Barrier, Process, Queue, Value, Lock, Pipe } from '../../lib/python.js';
import type { Runtime } from '../../lib/index.js';

const N = 5;
const defaultTimeout = 30_000;
type Counter = { value: number; get_lock(): Lock };

/** DummyList(): a counter every party can append to. */
const DummyList = (): Counter => Value('i', 0) as unknown as Counter;

/** The whole class, on one runtime (one file per runtime keeps each under half a minute). */
export function barrierSuite(runtime: Runtime): void {
  describe(`_TestBarrier (${runtime})`, () => {
    let barrier: Barrier;
    beforeEach(() => {
      barrier = new Barrier(N, { timeout: defaultTimeout } as any); // Barrier(N, timeout=30.0)
    });
    afterEach(() => barrier.abort());

    /** Bunch + run_threads: f in N - 1 Processes and here; every Process must end cleanly. */
    async function runThreads(fn: (...args: any[]) => unknown, args: unknown[]) {
      const procs = Array.from({ length: N - 1 }, () => new Process({ target: fn, args, runtime, daemon: true }));
      procs.forEach((p) => p.start());
      try {
        await fn(...args);
      } finally {
        for (const p of procs) await p.join();
      }
      expect(procs.map((p) => p.exitcode)).toEqual(Array(N - 1).fill(0));
    }

    // multipass(barrier, results, n): results[0] and results[1] are counters
    const multipass = async (barrier: Barrier, results0: Counter, results1: Counter, n: number, N: number) => {
      const append = (c: Counter) => {
        const lock = c.get_lock();
        lock.acquireSync();
        c.value += 1;
        lock.release();
      };
      const m = barrier.parties;
      if (m !== N) throw new Error(`parties ${m}`);
      for (let i = 0; i < n; i++) {
        append(results0);
        if (results1.value !== i * m) throw new Error('results[1] out of step');
        await barrier.wait();
        append(results1);
        if (results0.value !== (i + 1) * m) throw new Error('results[0] out of step');
        await barrier.wait();
      }
      if (barrier.n_waiting !== 0) throw new Error('n_waiting');
      if (barrier.broken) throw new Error('broken');
    };

    test('test_barrier', async () => {
      await runThreads(multipass, [barrier, DummyList(), DummyList(), 1, N]);
    });

    test('test_barrier_10', async () => {
      await runThreads(multipass, [barrier, DummyList(), DummyList(), 10, N]);
    });

    test('test_wait_return', async () => {
      const queue = new Queue<number>();
      await runThreads(async (barrier: Barrier, queue: Queue<number>) => {
        const res = await barrier.wait();
        await queue.put(res);
      }, [barrier, queue]);
      const results: number[] = [];
      for (let i = 0; i < N; i++) results.push(await queue.get());
      expect(results.filter((r) => r === 0)).toHaveLength(1);
      expect(results.sort()).toEqual([0, 1, 2, 3, 4]);
    });

    test('test_action: runs once per pass, in the last party, before anyone is released', async () => {
      const results = DummyList();
      // The action is a task: it cannot capture `results`, so each party leaves it where the action finds it.
      const barrier = new Barrier(N, { action: () => { (globalThis as any).actionResults.value += 1; } } as any);
      await runThreads(async (barrier: Barrier, results: Counter) => {
        (globalThis as any).actionResults = results;
        await barrier.wait();
        if (results.value !== 1) throw new Error(`action ran ${results.value} times`);
      }, [barrier, results]);
      expect(results.value).toBe(1);
    });

    const abortF = async (barrier: Barrier, results1: Counter, results2: Counter, N: number) => {
      try {
        const i = await barrier.wait();
        if (i === Math.floor(N / 2)) throw new RangeError('RuntimeError');
        await barrier.wait();
        results1.value += 1;
      } catch (e: any) {
        if (e.name === 'BrokenBarrierError') {
          const lock = results2.get_lock();
          lock.acquireSync();
          results2.value += 1;
          lock.release();
        } else if (e instanceof RangeError) barrier.abort();
        else throw e;
      }
    };

    test('test_abort: an abort puts the barrier in a broken state', async () => {
      const results1 = DummyList();
      const results2 = DummyList();
      await runThreads(abortF, [barrier, results1, results2, N]);
      expect(results1.value).toBe(0);
      expect(results2.value).toBe(N - 1);
      expect(barrier.broken).toBe(true);
    });

    test('test_reset: a reset frees the waiting parties', async () => {
      const results1 = DummyList();
      const results2 = DummyList();
      const results3 = DummyList();
      await runThreads(async (barrier: Barrier, results1: Counter, results2: Counter, results3: Counter, N: number) => {
        const append = (c: Counter) => {
          const lock = c.get_lock();
          lock.acquireSync();
          c.value += 1;
          lock.release();
        };
        const i = await barrier.wait();
        if (i === Math.floor(N / 2)) {
          // Wait until the other threads are all in the barrier.
          while (barrier.n_waiting < N - 1) await new Promise((r) => setTimeout(r, 1));
          barrier.reset();
        } else {
          try {
            await barrier.wait();
            append(results1);
          } catch (e: any) {
            if (e.name !== 'BrokenBarrierError') throw e;
            append(results2);
          }
        }
        // Now, pass the barrier again
        await barrier.wait();
        append(results3);
      }, [barrier, results1, results2, results3, N]);
      expect(results1.value).toBe(0);
      expect(results2.value).toBe(N - 1);
      expect(results3.value).toBe(N);
    });

    test('test_abort_and_reset: a barrier can be reset after being broken', async () => {
      const results1 = DummyList();
      const results2 = DummyList();
      const results3 = DummyList();
      const barrier2 = new Barrier(N);
      await runThreads(async (barrier: Barrier, barrier2: Barrier, results1: Counter, results2: Counter, results3: Counter, N: number) => {
        const append = (c: Counter) => {
          const lock = c.get_lock();
          lock.acquireSync();
          c.value += 1;
          lock.release();
        };
        try {
          const i = await barrier.wait();
          if (i === Math.floor(N / 2)) throw new RangeError('RuntimeError');
          await barrier.wait();
          append(results1);
        } catch (e: any) {
          if (e.name === 'BrokenBarrierError') append(results2);
          else if (e instanceof RangeError) barrier.abort();
          else throw e;
        }
        // Synchronize and reset the barrier. Must synchronize first so that everyone has left it when
        // we reset, and after so that no one enters it before the reset.
        if ((await barrier2.wait()) === Math.floor(N / 2)) barrier.reset();
        await barrier2.wait();
        await barrier.wait();
        append(results3);
      }, [barrier, barrier2, results1, results2, results3, N]);
      expect(results1.value).toBe(0);
      expect(results2.value).toBe(N - 1);
      expect(results3.value).toBe(N);
    });

    test('test_timeout: wait(timeout) breaks the barrier for everyone', async () => {
      const results = DummyList();
      await runThreads(async (barrier: Barrier, results: Counter, N: number) => {
        const i = await barrier.wait();
        if (i === Math.floor(N / 2)) await new Promise((r) => setTimeout(r, 1000)); // One thread is late!
        try {
          await barrier.wait(500);
        } catch (e: any) {
          if (e.name !== 'BrokenBarrierError') throw e;
          const lock = results.get_lock();
          lock.acquireSync();
          results.value += 1;
          lock.release();
        }
      }, [barrier, results, N]);
      expect(results.value).toBe(barrier.parties);
    });

    test("test_default_timeout: the barrier's default timeout", async () => {
      const barrier = new Barrier(N, { timeout: 500 } as any);
      const results = DummyList();
      await runThreads(async (barrier: Barrier, results: Counter, N: number, defaultTimeout: number) => {
        const i = await barrier.wait(defaultTimeout);
        if (i === Math.floor(N / 2)) await new Promise((r) => setTimeout(r, 1000)); // later than the default timeout
        try {
          await barrier.wait();
        } catch (e: any) {
          if (e.name !== 'BrokenBarrierError') throw e;
          const lock = results.get_lock();
          lock.acquireSync();
          results.value += 1;
          lock.release();
        }
      }, [barrier, results, N, defaultTimeout]);
      expect(results.value).toBe(barrier.parties);
    });

    test('test_single_thread', async () => {
      const b = new Barrier(1);
      await b.wait();
      await b.wait();
    });

    test('test_thousand: N Processes pass the barrier 1000 times, sending under a Lock', async () => {
      const passes = runtime === 'thread' ? 1000 : 200; // each pass of a child process is a round trip to the creator
      const lock = new Lock();
      const [conn, child_conn] = Pipe(false);
      const procs: Process[] = [];
      for (let j = 0; j < N; j++) {
        const p = new Process({
          target: (barrier: Barrier, passes: number, conn: any, lock: Lock) => {
            for (let i = 0; i < passes; i++) {
              barrier.wait_sync();
              lock.acquireSync();
              conn.send(i);
              lock.release();
            }
          },
          args: [barrier, passes, child_conn, lock],
          runtime,
        });
        p.start();
        procs.push(p);
      }
      for (let i = 0; i < passes; i++) {
        for (let j = 0; j < N; j++) expect(await conn.recv()).toBe(i);
      }
      for (const p of procs) await p.join();
    }, 60_000);
  });
}
