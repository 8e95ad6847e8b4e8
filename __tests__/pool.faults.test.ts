// Faults the engine must contain: values that cannot cross (in either direction), aborts and kills at
// awkward moments. Each case checks the three promises that matter: the failing call gets a clear error,
// the calls around it are unharmed, and the pool goes on serving and still closes.
import {
  Pool, ProcessPoolExecutor, SerializationError, ThreadPoolExecutor, WorkerLostError, AbortError,
} from '../lib/index.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { task } from '../lib/index.js';
import { delay, fixture, runtimes } from './helpers/runtimes.js';
import { within } from './helpers/programs.js';

const tasks = fixture('engine-tasks.ts');
const spinForever = task<(log: string, i: number) => never>(tasks, 'spinForever');
const record = task<(log: string, i: number) => number>(tasks, 'record');
const recordThenKill = task<(log: string, i: number) => never>(tasks, 'recordThenKill');

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-faults-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logFile(): string {
  return join(dir, `log-${++files}`);
}

/** Task indexes recorded in `log`, one line per run. */
function ran(log: string): number[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

/** `p`'s outcome, or 'pending' if it has not settled after `ms` (a hang fails the test instead of timing it out). */
async function outcome<T>(p: Promise<T>, ms = 15000): Promise<{ ok: true; value: T } | { ok: false; error: any } | 'pending'> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  return Promise.race([p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error })), late]).finally(() => clearTimeout(timer));
}

async function rejection(p: Promise<unknown>, ms?: number): Promise<any> {
  const o = await outcome(p, ms);
  if (o === 'pending') throw new Error('the call never settled');
  if (o.ok) throw new Error(`the call resolved with ${String(o.value)}`);
  return o.error;
}

/** A result whose enumerable getter throws when the value is read for sending. */
const throwingGetter = () => ({ a: 1, get g(): number { throw new Error('getter boom'); } });
/** A result nested far deeper than the serializer can follow. */
const deeplyNested = () => {
  let o: object = {};
  for (let i = 0; i < 1e5; i++) o = { g: o };
  return o;
};

function deepValue(): object {
  let o: object = {};
  for (let i = 0; i < 1e5; i++) o = { g: o };
  return o;
}

describe.each(runtimes)('results and arguments that cannot be sent (%s workers)', (runtime) => {
  test('a result with a throwing getter fails that call with SerializationError at result.g; the rest of the turn and later calls are served', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      await pool.apply((x: number) => x, [0]);
      const bad = pool.apply(throwingGetter);
      const bystanders = [1, 2, 3].map((i) => pool.apply((x: number) => x * 10, [i]));
      const err = await rejection(bad);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.path).toBe('result.g');
      expect(err.message).toContain('getter boom');
      expect(await Promise.all(bystanders)).toEqual([10, 20, 30]);
      const next = await outcome(pool.apply((x: number) => x + 1, [41]));
      expect(next).toEqual({ ok: true, value: 42 });
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('a result nested 1e5 deep fails that call with SerializationError; the worker keeps serving', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      await pool.apply((x: number) => x, [0]);
      const bad = pool.apply(deeplyNested);
      const bystander = pool.apply((x: number) => x * 2, [4]);
      const err = await rejection(bad);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.path).toBe('result');
      expect(err.message).toMatch(/nested too deeply/);
      expect(await outcome(bystander)).toEqual({ ok: true, value: 8 });
      expect(await outcome(pool.map((x: number) => x + 1, [1, 2, 3], 1))).toEqual({ ok: true, value: [2, 3, 4] });
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('arguments with a throwing getter or 1e5-deep nesting: SerializationError with the path, that call only (apply, map)', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const getter = { get g(): number { throw new Error('arg getter'); } };
      const e1 = await rejection(pool.apply((x: unknown) => x, [getter]));
      expect(e1).toBeInstanceOf(SerializationError);
      expect(e1.path).toBe('args[0].g');
      expect(e1.message).toContain('arg getter');
      const e2 = await rejection(pool.apply((x: unknown) => x, [deepValue()]));
      expect(e2).toBeInstanceOf(SerializationError);
      expect(e2.path).toBe('args[0]');
      const e3 = await rejection(pool.map((x: unknown) => x, [1, 2, getter], 1));
      expect(e3).toBeInstanceOf(SerializationError);
      expect(e3.path).toBe('items[2].g');
      expect(await outcome(pool.apply((x: number) => x + 1, [1]))).toEqual({ ok: true, value: 2 });
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('a class instance with a throwing own getter, as result or argument: SerializationError with the path', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const instanceWithGetter = () => {
        class Box {}
        const box = new Box();
        Object.defineProperty(box, 'g', { enumerable: true, get() { throw new Error('instance getter'); } });
        return box;
      };
      const bad = pool.apply(instanceWithGetter);
      const bystander = pool.apply((x: number) => x - 1, [1]);
      const err = await rejection(bad);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.path).toBe('result.g');
      expect(await bystander).toBe(0);
      const argErr = await rejection(pool.apply((x: unknown) => x, [1, instanceWithGetter()]));
      expect(argErr).toBeInstanceOf(SerializationError);
      expect(argErr.path).toBe('args[1].g');
      expect(await outcome(pool.apply((x: number) => x + 1, [1]))).toEqual({ ok: true, value: 2 });
    } finally {
      await pool.terminate();
    }
  });

  test('executors: an unsendable result or argument fails that future with SerializationError; shutdown() finishes', async () => {
    const ex = runtime === 'thread' ? new ThreadPoolExecutor(1) : new ProcessPoolExecutor(1);
    try {
      const bad = ex.submit(throwingGetter);
      const good = ex.submit((x: number) => x + 1, 1);
      const err = await rejection(bad.result());
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.path).toBe('result.g');
      expect(await good.result()).toBe(2);
      const argErr = await rejection(ex.submit((x: unknown) => x, { get g(): number { throw new Error('arg getter'); } }).result());
      expect(argErr).toBeInstanceOf(SerializationError);
      expect(argErr.path).toBe('args[0].g');
      const deepErr = await rejection(ex.submit((x: unknown) => x, deepValue()).result());
      expect(deepErr).toBeInstanceOf(SerializationError);
      expect(await ex.submit((x: number) => x * 2, 21).result()).toBe(42);
    } finally {
      expect(await outcome(ex.shutdown())).toEqual({ ok: true, value: undefined });
    }
  });
});

describe('aborting a running task in a process pool', () => {
  // The worker tinypool starts in place of the stopped one must be adopted at once: a child says hello as
  // soon as it is up, and a hello nobody heard left the worker unconfigured, so every batch it got hung.
  test('30 aborts under load, with idle time after some: every later task settles, stats add up, close()+join() finish', async () => {
    const pool = new Pool({ processes: 2, runtime: 'process' });
    try {
      await pool.map((x: number) => x, [1, 2, 3, 4], 1);
      for (let round = 0; round < 30; round++) {
        const log = logFile();
        const ac = new AbortController();
        const spinning = pool.applyAsync(spinForever, [log, 0], { signal: ac.signal }).get();
        // even rounds: other work is queued when the abort comes; odd rounds: nothing else is going on
        const load = round % 2 === 0 ? [1, 2, 3].map((i) => pool.apply(record, [log, i])) : [1, 2, 3];
        expect(await within(10000, () => ran(log).includes(0))).toBe(true);
        ac.abort();
        expect(await rejection(spinning)).toBeInstanceOf(AbortError);
        expect(await outcome(Promise.all(load))).toEqual({ ok: true, value: [1, 2, 3] });
        if (round % 4 !== 0) await delay(200); // the replacement says hello while nothing else happens
        const after = await outcome(Promise.all([10, 11, 12, 13].map((i) => pool.apply((x: number) => x, [i]))));
        expect(after).toEqual({ ok: true, value: [10, 11, 12, 13] });
      }
      const stats = pool.stats();
      expect(stats.workers).toBe(2);
      expect(stats.busy).toBe(0);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  }, 120000);

  test('ProcessPoolExecutor: an aborted run, then idle time: the next calls settle and shutdown() finishes', async () => {
    const ex = new ProcessPoolExecutor(1);
    try {
      expect(await ex.submit((x: number) => x, 1).result()).toBe(1);
      for (let round = 0; round < 3; round++) {
        const log = logFile();
        const ac = new AbortController();
        const spinning = ex.run(spinForever, [log, 0], { signal: ac.signal });
        expect(await within(10000, () => ran(log).includes(0))).toBe(true);
        ac.abort();
        expect(await spinning.exception()).toBeInstanceOf(AbortError);
        await delay(200); // idle time on purpose: the replacement worker starts while nothing else happens
        expect(await outcome(ex.submit((x: number) => x + 1, round).result())).toEqual({ ok: true, value: round + 1 });
      }
    } finally {
      expect(await outcome(ex.shutdown())).toEqual({ ok: true, value: undefined });
    }
  }, 60000);
});

describe('a process worker killed outright', () => {
  // A child killed by SIGKILL (or the OOM killer) says nothing: of the batches it held, only the one it was
  // running can have started; those waiting behind it never did and must run elsewhere, once.
  test('a cold pool whose worker is SIGKILLed at once: the killed task fails, the tasks queued behind it run, each once', async () => {
    const pool = new Pool({ processes: 1, runtime: 'process' });
    try {
      const log = logFile();
      const killer = pool.apply(recordThenKill, [log, 0]);
      const bystanders = [1, 2, 3].map((i) => pool.apply(record, [log, i]));
      const err = await rejection(killer);
      expect(err).toBeInstanceOf(WorkerLostError);
      expect(err.message).toMatch(/SIGKILL/);
      expect(await outcome(Promise.all(bystanders))).toEqual({ ok: true, value: [1, 2, 3] });
      expect(ran(log).sort()).toEqual([0, 1, 2, 3]);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('a warm pool: nothing hangs or runs twice, and the tasks of other batches succeed', async () => {
    const pool = new Pool({ processes: 2, runtime: 'process' });
    try {
      await pool.map((x: number) => x, Array.from({ length: 200 }, (_, i) => i), 1);
      for (let round = 0; round < 3; round++) {
        const log = logFile();
        const killer = pool.apply(recordThenKill, [log, 0]);
        const bystanders = Array.from({ length: 20 }, (_, i) => pool.apply(record, [log, i + 1]));
        expect(await rejection(killer)).toBeInstanceOf(WorkerLostError);
        const settled = await Promise.all(bystanders.map((b) => outcome(b)));
        // Tasks after the killer in its own batch may have run before the kill, for all the parent can tell
        // (a child killed outright says nothing): they fail with it; every other task succeeds.
        const failed = settled.map((o, i) => (o === 'pending' ? 'pending' : o.ok ? null : [i + 1, o.error])).filter(Boolean) as [number, any][];
        for (const [, error] of failed) expect(error).toBeInstanceOf(WorkerLostError);
        expect(failed.length).toBeLessThan(20);
        const counts = new Map<number, number>();
        for (const i of ran(log)) counts.set(i, (counts.get(i) ?? 0) + 1);
        for (let i = 0; i <= 20; i++) expect(counts.get(i) ?? 0).toBeLessThanOrEqual(1); // never twice
        for (let i = 1; i <= 20; i++) if (settled[i - 1] !== 'pending' && (settled[i - 1] as { ok: boolean }).ok) expect(counts.get(i)).toBe(1);
      }
    } finally {
      await pool.terminate();
    }
  });
});

describe.each(runtimes)('what a lost worker and stats() report (%s workers)', (runtime) => {
  test('a worker dying of an uncaught error reports exit code 1, as Node does, and its name in one format', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      await pool.apply((x: number) => x, [0]);
      const err = await rejection(pool.apply(() => new Promise(() => {
        setTimeout(() => {
          throw new Error('late boom');
        }, 1);
      })));
      expect(err).toBeInstanceOf(WorkerLostError);
      expect(err.exitCode).toBe(1);
      // one format for both runtimes: `worker PoolWorker-<n> (<runtime> <id>) ...`
      expect(err.message).toMatch(new RegExp(`^worker PoolWorker-\\d+ \\(${runtime} \\d+\\) exited with code 1 while running the task: late boom`));
    } finally {
      await pool.terminate();
    }
  });

  test('stats(): every submitted task ends counted once: completed + failed + aborted = submitted', async () => {
    const pool = new Pool({ processes: 2, runtime });
    try {
      const log = logFile();
      await pool.map((x: number) => x, Array.from({ length: 30 }, (_, i) => i), 10);
      await rejection(pool.apply(() => {
        throw new Error('counted as failed');
      }));
      await rejection(pool.apply((x: unknown) => x, [() => 1])); // refused: cannot be sent
      const ac = new AbortController();
      const spinning = pool.applyAsync(spinForever, [log, 0], { signal: ac.signal }).get();
      const queued = [1, 2, 3].map((i) => pool.applyAsync(record, [log, i], { signal: ac.signal }).get());
      expect(await within(10000, () => ran(log).includes(0))).toBe(true);
      ac.abort();
      for (const p of [spinning, ...queued]) await p.catch(() => {});
      await rejection(pool.applyAsync((x: number) => x, [1], { signal: AbortSignal.abort() }).get());
      const s = pool.stats();
      expect(s.submitted).toBe(30 + 1 + 1 + 4 + 1);
      expect(s.failed).toBe(2);
      expect(s.aborted).toBeGreaterThanOrEqual(2); // the running one and the one aborted at once; queued ones may have run first
      expect(s.completed + s.failed + s.aborted!).toBe(s.submitted);
    } finally {
      await pool.terminate();
    }
  });
});

void WorkerLostError;
