// The fault matrix, second half: faults across a pool's life (terminate() with calls that never settle,
// close() + join() with calls running, maxTasksPerChild with faults mixed in, timeouts on get()), and a
// load test: thousands of calls with faults of every kind mixed in, every callback counted.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Pool, PoolStateError, SerializationError, TimeoutError, WorkerLostError, task, type AsyncResult, type Runtime,
} from '../lib/index.js';
import { fixture, runtimes } from './helpers/runtimes.js';
import { alive, libUrl, runProgram } from './helpers/programs.js';
import { until } from './helpers/until.js';

const tasks = fixture('matrix-tasks.ts');
const startedForever = task<(started: string) => Promise<never>>(tasks, 'startedForever');

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-lifecycle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (what: string) => join(dir, `${what}-${++files}`);

type Outcome = { ok: true; value: unknown } | { ok: false; error: any } | 'pending';

async function outcome(p: Promise<unknown>, ms = 20000): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  return Promise.race([p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error })), late]).finally(() => clearTimeout(timer));
}

async function collect(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of it) out.push(v);
  return out;
}

async function expectWorkersGone(pids: number[], runtime: Runtime) {
  if (runtime === 'process') await until(() => pids.every((pid) => !alive(pid)), 20000, 'the worker processes to be gone');
}

/** Calls made with callbacks: how often each callback ran, per call. */
function counted() {
  const calls = new Map<number, string[]>();
  const note = (i: number, what: string) => calls.set(i, [...(calls.get(i) ?? []), what]);
  return {
    calls,
    for: (i: number) => ({ callback: () => note(i, 'callback'), errorCallback: () => note(i, 'errorCallback') }),
  };
}

describe.each(runtimes)('a pool\'s life with faults (%s workers)', (runtime) => {
  test('terminate() with calls that never settle, in every API: each rejects with PoolStateError, its errorCallback runs once; join() finishes; no worker is left', async () => {
    const pool = new Pool({ processes: 2, runtime });
    const cb = counted();
    // Every call marks its start: which two of them the two workers run first is the pool's choice (a
    // pending task's batch hands the rest back; a spinning one keeps its worker), so the test waits for
    // any two to have started, not for two given ones.
    const started = mkdtempSync(join(dir, 'started-'));
    const never = (d: string) => {
      process.getBuiltinModule('node:fs').writeFileSync(`${d}/${Math.random()}`, '');
      return new Promise(() => {});
    };
    const spin = (d: string) => {
      process.getBuiltinModule('node:fs').writeFileSync(`${d}/${Math.random()}`, '');
      for (;;);
    };
    const calls: Promise<Outcome>[] = [
      pool.applyAsync(startedForever, [join(started, 'a')], cb.for(0)).get(),
      pool.applyAsync(startedForever, [join(started, 'b')], cb.for(1)).get(),
      pool.apply(spin, [started]),
      pool.mapAsync(never, [started, started, started], 1, cb.for(3)).get(),
      pool.starmap(never, [[started]]),
      collect(pool.imap(never, [started, started])),
      collect(pool.imapUnordered(spin, [started, started])),
    ].map((p) => outcome(p as Promise<unknown>));
    await until(() => readdirSync(started).length >= 2, 20000, 'both workers to be busy');
    const pids = pool.workerIds;
    expect(await outcome(pool.terminate())).toEqual({ ok: true, value: undefined });
    for (const got of await Promise.all(calls)) {
      if (got === 'pending' || got.ok) throw new Error(`a call did not reject after terminate(): ${JSON.stringify(got)}`);
      expect(got.error).toBeInstanceOf(PoolStateError);
      expect(got.error.message).toMatch(/Pool not running/);
    }
    await new Promise((r) => setImmediate(r));
    expect(Object.fromEntries(cb.calls)).toEqual({ 0: ['errorCallback'], 1: ['errorCallback'], 3: ['errorCallback'] });
    expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    expect(pool.workerIds).toEqual([]);
    await expectWorkersGone(pids, runtime);
    await expect(pool.apply((x: number) => x, [1])).rejects.toBeInstanceOf(PoolStateError);
  });

  test('close() then join() with calls running and queued: every result is delivered first, later calls are refused', async () => {
    const pool = new Pool({ processes: 2, runtime });
    try {
      const sleepy = (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms));
      const applies = [30, 60, 90, 120, 150].map((ms) => pool.apply(sleepy, [ms]));
      const failing = outcome(pool.apply(() => {
        throw new TypeError('still reported');
      }));
      const mapped = pool.map((x: number) => x * 2, [1, 2, 3], 1);
      const it = pool.imap(sleepy, [10, 20]);
      pool.close();
      expect(() => pool.applyAsync((x: number) => x, [1])).toThrow(PoolStateError);
      const joined = outcome(pool.join());
      expect(await outcome(Promise.all(applies))).toEqual({ ok: true, value: [30, 60, 90, 120, 150] });
      const err = await failing;
      expect(err !== 'pending' && !err.ok && err.error).toBeInstanceOf(TypeError);
      expect(await outcome(mapped)).toEqual({ ok: true, value: [2, 4, 6] });
      expect(await outcome(collect(it))).toEqual({ ok: true, value: [10, 20] });
      const pids = pool.workerIds;
      expect(await joined).toEqual({ ok: true, value: undefined });
      expect(pool.workerIds).toEqual([]);
      await expectWorkersGone(pids, runtime);
    } finally {
      await pool.terminate();
    }
  });

  test('maxTasksPerChild: 1 with faults mixed in: every call answers as its task did, the pool still closes', async () => {
    const pool = new Pool({ processes: 2, runtime, maxTasksPerChild: 1 });
    try {
      const kinds: [(...a: any[]) => unknown, unknown, ((v: Outcome) => void)][] = [
        [(x: number) => x * 2, 5, (v) => expect(v).toEqual({ ok: true, value: 10 })],
        [() => { throw new RangeError('bad'); }, 0, (v) => expect(v !== 'pending' && !v.ok && v.error).toBeInstanceOf(RangeError)],
        [() => process.exit(3), 0, (v) => expect(v !== 'pending' && !v.ok && v.error).toBeInstanceOf(WorkerLostError)],
        [() => Symbol('s'), 0, (v) => expect(v !== 'pending' && !v.ok && v.error).toBeInstanceOf(SerializationError)],
        [(x: unknown) => typeof x, () => 1, (v) => expect(v !== 'pending' && !v.ok && v.error).toBeInstanceOf(SerializationError)],
        [() => { setTimeout(() => { throw new Error('left behind'); }, 0); return 'returned'; }, 0, (v) => expect(v).toEqual({ ok: true, value: 'returned' })],
        [async (x: number) => x + 1, 1, (v) => expect(v).toEqual({ ok: true, value: 2 })],
      ];
      const calls = Array.from({ length: 8 }, (_, i) => {
        const [fn, arg] = kinds[i % kinds.length];
        return outcome(pool.apply(fn, [arg]));
      });
      const got = await Promise.all(calls);
      got.forEach((v, i) => {
        if (v === 'pending') throw new Error(`call ${i} never settled`);
        kinds[i % kinds.length][2](v);
      });
      expect(await outcome(pool.map((x: number) => x + 1, [1, 2, 3, 4], 1))).toEqual({ ok: true, value: [2, 3, 4, 5] });
      const s = pool.stats();
      expect(s.completed + s.failed + s.aborted!).toBe(s.submitted);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  // Python's pool starts workers forever when its initializer fails: every call hangs. Here the calls fail.
  test.each([
    ['throws', () => { throw new Error('init boom'); }, Error, /init boom/],
    ['calls process.exit(2)', () => process.exit(2), WorkerLostError, /exited with code 2 before it could start/],
    ['crashes later (a timer throws)', () => new Promise(() => setTimeout(() => { throw new Error('init timer boom'); }, 1)), WorkerLostError, /before it could start: init timer boom/],
  ] as const)('an initializer that %s: each call fails with it, none hangs; close() + join() finish', async (_n, initializer, cls, message) => {
    const pool = new Pool({ processes: 2, runtime, initializer });
    try {
      const calls = [outcome(pool.apply((x: number) => x, [1])), outcome(pool.map((x: number) => x, [1, 2, 3], 1))];
      for (const got of await Promise.all(calls)) {
        if (got === 'pending' || got.ok) throw new Error(`a call did not fail: ${JSON.stringify(got)}`);
        expect(got.error).toBeInstanceOf(cls);
        expect(got.error.message).toMatch(message);
      }
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('get(timeout) rejects TimeoutError while the call runs on; a later get() has its value, or the worker\'s death', async () => {
    const pool = new Pool({ processes: 2, runtime });
    try {
      const gate = file('gate');
      const held = pool.applyAsync(async (g: string, v: number) => {
        const { existsSync: exists } = await import('node:fs');
        while (!exists(g)) await new Promise((r) => setTimeout(r, 2));
        return v;
      }, [gate, 5]);
      const dying = pool.applyAsync(async (g: string) => {
        const { existsSync: exists } = await import('node:fs');
        while (!exists(g)) await new Promise((r) => setTimeout(r, 2));
        process.exit(4);
      }, [gate]);
      for (const r of [held, dying] as AsyncResult<unknown>[]) {
        const t = await outcome(r.get(30));
        expect(t !== 'pending' && !t.ok && t.error).toBeInstanceOf(TimeoutError);
        expect(r.ready()).toBe(false);
      }
      const { writeFileSync } = await import('node:fs');
      writeFileSync(gate, '1');
      expect(await outcome(held.get())).toEqual({ ok: true, value: 5 });
      const d = await outcome(dying.get());
      expect(d !== 'pending' && !d.ok && d.error).toBeInstanceOf(WorkerLostError);
      expect(held.successful()).toBe(true);
      expect(dying.successful()).toBe(false);
      const it = pool.imap(async (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [200, 1]);
      const first = await outcome(it.next(10));
      expect(first !== 'pending' && !first.ok && first.error).toBeInstanceOf(TimeoutError);
      expect(await outcome(collect(it))).toEqual({ ok: true, value: [200, 1] });
    } finally {
      await pool.terminate();
    }
  });
});

describe.each(runtimes)('load: 2,000 applyAsync calls with faults of every kind mixed in (%s workers)', (runtime) => {
  test('each callback or errorCallback runs exactly once, with what get() gives; results are right; stats add up', async () => {
    const N = 2000;
    const pool = new Pool({ processes: 2, runtime });
    try {
      await pool.map((x: number) => x, [1, 2], 1);
      const before = pool.stats();
      // i -> what call i does, and what it must answer
      const plan = (i: number): { fn: (...a: any[]) => unknown; args: unknown[]; expect: unknown } => {
        if (i % 50 === 7) return { fn: (x: number) => { throw new RangeError(`item ${x}`); }, args: [i], expect: RangeError };
        if (i % 50 === 19) return { fn: () => Symbol('not sendable'), args: [], expect: SerializationError };
        if (i % 50 === 31) return { fn: (x: unknown) => typeof x, args: [() => i], expect: SerializationError };
        if (i % 50 === 45) return { fn: (x: unknown) => typeof x, args: [{ get g() { throw new Error('getter'); } }], expect: SerializationError };
        if (i % 400 === 43) return { fn: () => process.exit(3), args: [], expect: WorkerLostError };
        if (i % 400 === 143) return { fn: (x: number) => { setTimeout(() => { throw new Error('left behind'); }, 0); return x; }, args: [i], expect: i };
        if (i % 400 === 243) return { fn: () => new Promise(() => { void Promise.reject(new Error('unhandled')); }), args: [], expect: WorkerLostError };
        if (i % 2 === 1) return { fn: async (x: number) => x * 2, args: [i], expect: i * 2 };
        return { fn: (x: number) => x * 2, args: [i], expect: i * 2 };
      };
      const cb = counted();
      const results = Array.from({ length: N }, (_, i) => pool.applyAsync(plan(i).fn, plan(i).args, cb.for(i)));
      const got = await Promise.all(results.map((r) => outcome(r.get(), 60000)));
      await new Promise((r) => setImmediate(r));
      let failures = 0;
      got.forEach((g, i) => {
        if (g === 'pending') throw new Error(`call ${i} never settled`);
        const want = plan(i).expect;
        if (typeof want === 'function') {
          failures++;
          if (g.ok) throw new Error(`call ${i} resolved with ${String(g.value)}; wanted ${(want as { name: string }).name}`);
          expect(g.error).toBeInstanceOf(want);
          expect(cb.calls.get(i)).toEqual(['errorCallback']);
        } else {
          if (!g.ok) throw new Error(`call ${i} failed: ${g.error?.message}`);
          expect(g.value).toBe(want);
          expect(cb.calls.get(i)).toEqual(['callback']);
        }
      });
      expect(cb.calls.size).toBe(N);
      expect(failures).toBe(4 * 40 + 2 * 5);
      const s = pool.stats();
      expect(s.submitted - before.submitted).toBe(N);
      expect(s.failed - before.failed).toBe(failures);
      expect(s.completed - before.completed).toBe(N - failures);
      expect(s.busy).toBe(0);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  }, 90000);
});

// A task module that cannot load fails its calls, naming the module and why; the pool serves on. Written at
// test time into a directory whose package.json has no "type": a CommonJS project, as many TypeScript
// projects are (a .ts module there is loaded by require: it failed to load at all before tsx's CommonJS hook).
describe('task modules that fail to load', () => {
  let mods: string;
  beforeAll(() => {
    mods = mkdtempSync(join(tmpdir(), 'multiproc-mods-'));
    writeFileSync(join(mods, 'package.json'), '{ "name": "a-commonjs-project" }\n');
    writeFileSync(join(mods, 'good.ts'), 'export const notFn = 5;\nexport function twice(x: number): number { return x * 2; }\n');
    writeFileSync(join(mods, 'bad-syntax.ts'), 'export function f(x: number): number {\n  return x +* 2;\n}\n');
    writeFileSync(join(mods, 'throws.ts'), 'throw new Error("top-level boom");\nexport function f() { return 1; }\n');
  });
  afterAll(() => rmSync(mods, { recursive: true, force: true }));
  const mod = (name: string, fn = 'f') => task(pathToFileURL(join(mods, name)).href, fn);

  test.each(runtimes)('Pool (%s): missing module, syntax error, throw at load, missing export, not a function: each call fails naming it; a good .ts module of a CommonJS project runs', async (runtime) => {
    const pool = new Pool({ processes: 2, runtime });
    try {
      const cases: [ReturnType<typeof mod>, RegExp][] = [
        [mod('missing.ts'), /Cannot find module .*missing\.ts/],
        [mod('bad-syntax.ts'), /bad-syntax\.ts:2:\d+: ERROR: Unexpected "\*"/],
        [mod('throws.ts'), /top-level boom/],
        [mod('good.ts', 'nope'), /good\.ts has no function export 'nope' \(found undefined\)/],
        [mod('good.ts', 'notFn'), /good\.ts has no function export 'notFn' \(found number\)/],
      ];
      for (const [ref, message] of cases) {
        const sibling = pool.apply((x: number) => x + 1, [1]);
        for (const call of [outcome(pool.apply(ref, [1])), outcome(pool.map(ref, [1, 2, 3], 1))]) {
          const got = await call;
          if (got === 'pending' || got.ok) throw new Error(`a call of ${String(message)} did not fail: ${JSON.stringify(got)}`);
          expect(got.error.message).toMatch(message);
        }
        expect(await outcome(sibling)).toEqual({ ok: true, value: 2 });
      }
      expect(await outcome(pool.map(mod('good.ts', 'twice'), [1, 2, 3], 1))).toEqual({ ok: true, value: [2, 4, 6] });
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test.each(runtimes)('Process (%s): a target whose module is missing or does not compile ends with exitCode 1, saying why on stderr', (runtime) => {
    const res = runProgram(`
      import { Process, task } from ${JSON.stringify(libUrl)};
      for (const name of ['missing.ts', 'bad-syntax.ts']) {
        const p = new Process({ target: task(${JSON.stringify(pathToFileURL(mods).href)} + '/' + name, 'f'), runtime: ${JSON.stringify(runtime)} });
        p.start();
        await p.join();
        console.log(name, p.exitCode, p.isAlive());
      }
      const ok = new Process({ target: task(${JSON.stringify(pathToFileURL(mods).href)} + '/good.ts', 'twice'), args: [2], runtime: ${JSON.stringify(runtime)} });
      ok.start();
      await ok.join();
      console.log('good.ts', ok.exitCode);
    `, { timeout: 60000 });
    expect(res.stdout.split('\n').filter(Boolean)).toEqual(['missing.ts 1 false', 'bad-syntax.ts 1 false', 'good.ts 0']);
    expect(res.stderr).toMatch(/missing\.ts/);
    expect(res.stderr).toMatch(/bad-syntax\.ts:2/);
    expect(res.status).toBe(0);
  });
});

// Interleavings the matrix cannot express, each driven by events (files a task writes, turns of the event
// loop), never by sleeping.
describe.each(runtimes)('interleavings (%s workers)', (runtime) => {
  const returnThenExit = task<(log: string, value: number, when: 'microtask' | 'timer' | 'never') => number>(tasks, 'returnThenExit');
  const record = task<(log: string, value: number) => number>(tasks, 'record');
  const runs = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : []);

  // tinypool posts a reply only after the handler's promise settles and output drains: a worker ended by
  // its task's leftovers in between said "no batch", and the parent ran the task again, forever.
  test.each(['microtask', 'timer'] as const)('a worker that ends itself (%s) after its task returned, before the reply left: the call answers once, the task ran once', async (when) => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const warm = file('log');
      // loaded already: the call runs synchronously, and its batch is answered before the microtask runs
      expect(await outcome(pool.apply(returnThenExit, [warm, 0, 'never']))).toEqual({ ok: true, value: 0 });
      // and so are the calls after it: a call still loading its module when a leftover timer ends the worker
      // would die with it (a process.exit() from a timer ends the worker whatever it runs)
      expect(await outcome(pool.apply(record, [warm, 1]))).toEqual({ ok: true, value: 1 });
      const log = file('log');
      const got = await outcome(pool.apply(returnThenExit, [log, 3, when]));
      // the value, or (a child process that exits before its reply is written) the worker's loss: once
      if (got === 'pending') throw new Error('the call never settled');
      if (got.ok) expect(got.value).toBe(3);
      else expect(got.error).toBeInstanceOf(WorkerLostError);
      const later = file('log');
      expect(await outcome(Promise.all([1, 2, 3, 4].map((i) => pool.apply(record, [later, i]))))).toEqual({ ok: true, value: [1, 2, 3, 4] });
      expect(runs(log)).toEqual([3]); // never run again
      expect(runs(later).sort()).toEqual([1, 2, 3, 4]);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test('terminate() at every turn of the event loop while a batch hands back its tasks behind a slow one: every call settles once, join() finishes', async () => {
    for (let turns = 0; turns < 6; turns++) {
      const pool = new Pool({ processes: 1, runtime });
      await pool.map((x: number) => x, Array.from({ length: 200 }, (_, i) => i), 1); // measured: batches carry many tasks
      const started = file('started');
      const settled: number[] = [];
      const slow = pool.applyAsync(startedForever, [started]);
      const quick = Array.from({ length: 50 }, (_, i) => pool.applyAsync((x: number) => x, [i]));
      const all = [slow, ...quick].map((r, i) => outcome(r.get()).then((o) => (settled.push(i), o)));
      await until(() => existsSync(started), 20000, 'the slow task to start');
      for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r)); // the hand-back comes after ~4 ms
      await pool.terminate();
      const outcomes = await Promise.all(all);
      expect(settled.sort((a, b) => a - b)).toEqual(Array.from({ length: 51 }, (_, i) => i)); // each once
      const first = outcomes[0];
      expect(first !== 'pending' && !first.ok && first.error).toBeInstanceOf(PoolStateError);
      outcomes.slice(1).forEach((o, i) => {
        if (o === 'pending') throw new Error(`call ${i} never settled`);
        if (o.ok) expect(o.value).toBe(i);
        else expect(o.error).toBeInstanceOf(PoolStateError);
      });
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
      expect(pool.workerIds).toEqual([]);
    }
  }, 60000);

  test('close() racing the last task: from its callback, in the same turn as its submission, and at every turn after it', async () => {
    // from the last call's own callback
    {
      const pool = new Pool({ processes: 2, runtime });
      const r = pool.applyAsync((x: number) => x * 2, [21], { callback: () => pool.close() });
      expect(await outcome(r.get())).toEqual({ ok: true, value: 42 });
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    }
    for (let turns = 0; turns < 4; turns++) {
      const pool = new Pool({ processes: 2, runtime });
      const calls = [outcome(pool.apply((x: number) => x + 1, [1])), outcome(pool.map((x: number) => x * 3, [1, 2], 1))];
      for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
      pool.close();
      expect(await Promise.all(calls)).toEqual([{ ok: true, value: 2 }, { ok: true, value: [3, 6] }]);
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
      expect(pool.workerIds).toEqual([]);
    }
  }, 60000);
});
