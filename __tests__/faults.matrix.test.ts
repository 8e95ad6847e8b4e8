// The fault matrix: runtime × API × fault. Every call answers, exactly once; a fault fails that call only,
// with its error class and a message naming what was wrong; a sibling call in flight at the same time
// succeeds, a call queued behind it too; the pool keeps serving and still closes, leaving no worker.
// Cells are chosen by risk (every fault through apply and applyAsync; the faults that travel differently
// through the map family and the executors), not by brute force.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BrokenPoolError, Pool, Process, ProcessPoolExecutor, SerializationError, ThreadPoolExecutor, WorkerLostError,
  task, type Runtime,
} from '../lib/index.js';
import { fixture, runtimes } from './helpers/runtimes.js';
import { alive } from './helpers/programs.js';
import { until } from './helpers/until.js';

const tasks = fixture('matrix-tasks.ts');
const raiseAfterReturn = task<(kind: 'throw' | 'reject', gate: string, marker: string) => string>(tasks, 'raiseAfterReturn');
const heldUntil = task<(started: string, gate: string, value: number) => Promise<number>>(tasks, 'heldUntil');

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-matrix-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (what: string) => join(dir, `${what}-${++files}`);
const open = (gate: string) => writeFileSync(gate, '1');

type Outcome = { ok: true; value: unknown } | { ok: false; error: any } | 'pending';

/** `p`'s outcome, or 'pending' if it has not settled after `ms`: a hang fails the cell instead of timing the test out. */
async function outcome(p: Promise<unknown>, ms = 15000): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  return Promise.race([p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error })), late]).finally(() => clearTimeout(timer));
}

// ---- faults ---------------------------------------------------------------------------------------

interface Fault {
  name: string;
  fn: (...args: any[]) => unknown;
  /** The one argument (map items are this too). */
  arg?: () => unknown;
  /** What the call settles with: a value, or an error of this class whose message matches. */
  value?: unknown;
  error?: new (...args: any[]) => Error;
  message?: RegExp;
  /** Child processes only (a thread that SIGKILLs its process takes the test runner with it). */
  processOnly?: boolean;
  /** The worker dies: a ProcessPoolExecutor breaks (BrokenPoolError), as Python's does. */
  kills?: boolean;
}

const FAULTS: Fault[] = [
  { name: 'task throws', fn: (x: number) => { throw new RangeError(`bad item ${x}`); }, arg: () => 1, error: RangeError, message: /bad item 1/ },
  { name: 'process.exit(3)', fn: () => process.exit(3), error: WorkerLostError, message: /exited with code 3 while running the task/, kills: true },
  {
    name: 'uncaught throw from a timer while pending',
    fn: () => new Promise(() => setTimeout(() => { throw new Error('timer boom'); }, 1)),
    error: WorkerLostError, message: /exited with code 1 while running the task: timer boom/, kills: true,
  },
  {
    name: 'unhandled rejection while pending',
    fn: () => new Promise(() => { void Promise.reject(new Error('nobody catches me')); }),
    error: WorkerLostError, message: /while running the task: nobody catches me/, kills: true,
  },
  {
    name: 'worker SIGKILLs itself',
    fn: () => { process.kill(process.pid, 'SIGKILL'); for (;;); },
    error: WorkerLostError, message: /killed by SIGKILL while running the task/, processOnly: true, kills: true,
  },
  { name: 'argument: a function', fn: (x: unknown) => typeof x, arg: () => () => 1, error: SerializationError, message: /(args|items)\[0\](\[0\])?: function/ },
  { name: 'argument: a symbol', fn: (x: unknown) => typeof x, arg: () => Symbol('s'), error: SerializationError, message: /(args|items)\[0\](\[0\])?: symbol/ },
  {
    name: 'argument: a throwing getter', fn: (x: unknown) => typeof x, arg: () => ({ get g() { throw new Error('arg getter boom'); } }),
    error: SerializationError, message: /(args|items)\[0\](\[0\])?\.g: its getter threw: arg getter boom/,
  },
  {
    name: 'argument: a revoked Proxy', fn: (x: unknown) => typeof x, arg: () => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; },
    error: SerializationError, message: /(args|items)\[0\](\[0\])?: .*revoked/,
  },
  { name: 'result: a function', fn: () => () => 1, error: SerializationError, message: /result(\[0\])?: function/ },
  {
    // reading `then` throws: that escaped the batch, failed its neighbours and left the worker busy forever
    name: 'result: a Proxy whose traps throw', fn: () => new Proxy({ a: 1 }, { get() { throw new Error('trap boom'); } }),
    error: SerializationError, message: /result.*trap boom/,
  },
  { name: 'result: a symbol', fn: async () => Symbol('r'), error: SerializationError, message: /result(\[0\])?: symbol/ },
  {
    name: 'result: a throwing getter', fn: () => ({ get g() { throw new Error('result getter boom'); } }),
    error: SerializationError, message: /result(\[0\])?\.g: its getter threw: result getter boom/,
  },
  {
    // `instanceof` asks its getPrototypeOf trap: that escaped the batch and left the worker busy forever
    name: 'task throws a Proxy whose traps throw',
    fn: () => { throw new Proxy({}, { get() { throw new Error('t'); }, ownKeys() { throw new Error('k'); }, getPrototypeOf() { throw new Error('p'); } }); },
    error: String as any, message: /unreadable value/,
  },
  { name: 'timer throws after the task returned', fn: () => { setTimeout(() => { throw new Error('late timer'); }, 0); return 'returned'; }, value: 'returned' },
  { name: 'unhandled rejection after the task returned', fn: () => { void Promise.reject(new Error('late rejection')); return 'returned'; }, value: 'returned' },
];

const byName = (name: string) => FAULTS.find((f) => f.name === name)!;
const faultsFor = (runtime: Runtime, names?: string[]) =>
  FAULTS.filter((f) => (runtime === 'process' || !f.processOnly) && (!names || names.includes(f.name))).map((f) => [f.name, f] as const);

// ---- APIs ---------------------------------------------------------------------------------------

interface Api {
  /** Runs the faulty call; `list` is true when the value comes back as a list (one per item). */
  run(pool: Pool, f: Fault): Promise<unknown>;
  list?: boolean;
}

const argsOf = (f: Fault) => (f.arg ? [f.arg()] : []);
const itemOf = (f: Fault) => (f.arg ? f.arg() : 0);

/** applyAsync / mapAsync with both callbacks, checking that exactly one of them ran, once, with what get() gives. */
async function withCallbacks(start: (cbs: { callback(v: unknown): void; errorCallback(e: Error): void }) => { get(): Promise<unknown> }) {
  const calls: ['callback' | 'errorCallback', unknown][] = [];
  const res = start({ callback: (v) => calls.push(['callback', v]), errorCallback: (e) => calls.push(['errorCallback', e]) });
  const got = await outcome(res.get());
  await new Promise((r) => setImmediate(r)); // a second, late call would come in this turn or not at all
  if (got === 'pending') return new Promise(() => {}); // outcome() reports it
  expect(calls).toHaveLength(1);
  expect(calls[0]).toEqual(got.ok ? ['callback', got.value] : ['errorCallback', got.error]);
  if (!got.ok) throw got.error;
  return got.value;
}

async function collect(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of it) out.push(v);
  return out;
}

const APIS: Record<string, Api> = {
  apply: { run: (pool, f) => pool.apply(f.fn, argsOf(f)) },
  'applyAsync get()': { run: (pool, f) => pool.applyAsync(f.fn, argsOf(f)).get() },
  'applyAsync callbacks': { run: (pool, f) => withCallbacks((cbs) => pool.applyAsync(f.fn, argsOf(f), cbs)) },
  map: { run: (pool, f) => pool.map(f.fn, [itemOf(f)], 1), list: true },
  'mapAsync callbacks': { run: (pool, f) => withCallbacks((cbs) => pool.mapAsync(f.fn, [itemOf(f)], 1, cbs)), list: true },
  starmap: { run: (pool, f) => pool.starmap(f.fn, [argsOf(f)]), list: true },
  imap: { run: (pool, f) => collect(pool.imap(f.fn, [itemOf(f)])), list: true },
  imapUnordered: { run: (pool, f) => collect(pool.imapUnordered(f.fn, [itemOf(f)])), list: true },
};

/** The map family carries faults the same way once a call is made: the faults that travel differently. */
/** starmap and the imaps differ from map only in how items reach a call: a fault of each path. */
const FEW_FAULTS = ['task throws', 'process.exit(3)', 'argument: a function', 'result: a throwing getter'];
const MAP_FAULTS = [
  'task throws', 'process.exit(3)', 'worker SIGKILLs itself', 'argument: a function', 'argument: a throwing getter', 'argument: a revoked Proxy',
  'result: a symbol', 'result: a throwing getter', 'result: a Proxy whose traps throw', 'timer throws after the task returned',
];

function expectOutcome(got: Outcome, f: Fault, list: boolean | undefined, error = f.error) {
  if (got === 'pending') throw new Error(`the call never settled (${f.name})`);
  if (f.value !== undefined) {
    expect(got).toEqual({ ok: true, value: list ? [f.value] : f.value });
    return;
  }
  if (got.ok) throw new Error(`the call resolved with ${String(got.value)} (${f.name})`);
  if (error === (String as any)) {
    // a thrown value that is no error comes back as itself, or as its text when it cannot be read
    expect(typeof got.error).toBe('string');
    expect(got.error).toMatch(f.message!);
    return;
  }
  expect(got.error).toBeInstanceOf(error);
  expect(got.error.message).toMatch(error === f.error ? f.message! : /./);
}

/** The pool's workers are all gone: no child process left, no thread id reported. */
async function expectNoWorkers(ids: number[], runtime: Runtime, pool: { workerIds: number[] }) {
  expect(pool.workerIds).toEqual([]);
  if (runtime === 'process') await until(() => ids.every((pid) => !alive(pid)), 20000, 'the worker processes to be gone');
}

describe.each(runtimes)('Pool fault matrix (%s workers)', (runtime) => {
  let pool: Pool;
  let seen = new Set<number>();
  beforeAll(async () => {
    pool = new Pool({ processes: 2, runtime });
    await pool.map((x: number) => x, [1, 2], 1);
  });
  afterAll(async () => {
    await pool.terminate();
  });

  /** One cell: a sibling in flight, the faulty call, a call queued behind it. */
  async function cell(api: Api, f: Fault) {
    const sibling = pool.apply(async (x: number) => {
      await new Promise((r) => setTimeout(r, 20));
      return x * 10;
    }, [7]);
    const call = api.run(pool, f);
    const behind = pool.apply((x: number) => x + 1, [41]);
    expectOutcome(await outcome(call), f, api.list);
    expect(await outcome(sibling)).toEqual({ ok: true, value: 70 });
    expect(await outcome(behind)).toEqual({ ok: true, value: 42 });
    for (const id of pool.workerIds) seen.add(id);
  }

  test.each(faultsFor(runtime))('apply: %s', (_n, f) => cell(APIS.apply, f));
  // apply() is applyAsync().get(): a fault of each path is enough here
  test.each(faultsFor(runtime, FEW_FAULTS))('applyAsync get(): %s', (_n, f) => cell(APIS['applyAsync get()'], f));
  test.each(faultsFor(runtime))('applyAsync callback/errorCallback, each once: %s', (_n, f) => cell(APIS['applyAsync callbacks'], f));
  for (const name of ['map', 'mapAsync callbacks']) {
    test.each(faultsFor(runtime, MAP_FAULTS))(`${name}: %s`, (_n, f) => cell(APIS[name], f));
  }
  for (const name of ['starmap', 'imap', 'imapUnordered']) {
    test.each(faultsFor(runtime, FEW_FAULTS))(`${name}: %s`, (_n, f) => cell(APIS[name], f));
  }

  test('afterwards: the pool serves on every worker, stats add up, close() + join() finish, no worker is left', async () => {
    expect(await outcome(pool.map((x: number) => x * 2, [1, 2, 3, 4, 5, 6], 1))).toEqual({ ok: true, value: [2, 4, 6, 8, 10, 12] });
    const s = pool.stats();
    expect(s.completed + s.failed + s.aborted!).toBe(s.submitted);
    expect(s.busy).toBe(0);
    expect(s.queued).toBe(0);
    for (const id of pool.workerIds) seen.add(id);
    pool.close();
    expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    await expectNoWorkers([...seen], runtime, pool);
    seen = new Set();
  });
});

describe.each(runtimes)('executors (%s)', (runtime) => {
  const make = () => (runtime === 'thread' ? new ThreadPoolExecutor(2) : new ProcessPoolExecutor(2));

  async function cell(f: Fault, via: 'submit' | 'map') {
    const ex = make();
    try {
      const sibling = ex.submit(async (x: number) => {
        await new Promise((r) => setTimeout(r, 20));
        return x * 10;
      }, 7);
      let done = 0;
      let call: Promise<unknown>;
      if (via === 'submit') {
        const fut = ex.submit(f.fn, ...argsOf(f));
        fut.addDoneCallback(() => done++);
        call = fut.result();
      } else call = collect(ex.map(f.fn, [itemOf(f)]));
      // A process worker that dies breaks a ProcessPoolExecutor: every pending future fails with BrokenPoolError
      const broken = runtime === 'process' && f.kills;
      expectOutcome(await outcome(call), f, via === 'map', broken ? BrokenPoolError : f.error);
      if (via === 'submit') expect(done).toBe(1);
      const sib = await outcome(sibling.result());
      if (broken) {
        if (sib !== 'pending' && !sib.ok) expect(sib.error).toBeInstanceOf(BrokenPoolError); // it may have finished first
        expect(() => ex.submit((x: number) => x, 1)).toThrow(BrokenPoolError);
      } else {
        expect(sib).toEqual({ ok: true, value: 70 });
        expect(await outcome(ex.submit((x: number) => x + 1, 41).result())).toEqual({ ok: true, value: 42 });
      }
      const ids = ex.workerIds;
      expect(await outcome(ex.shutdown())).toEqual({ ok: true, value: undefined });
      await expectNoWorkers(ids, runtime, ex);
    } finally {
      await ex.shutdown({ wait: false, cancelFutures: true });
    }
  }

  test.each(faultsFor(runtime))('submit: %s', (_n, f) => cell(f, 'submit'));
  test.each(faultsFor(runtime, ['task throws', 'process.exit(3)', 'argument: a symbol', 'result: a throwing getter', 'unhandled rejection after the task returned']))('map: %s', (_n, f) => cell(f, 'map'));
});

describe.each(runtimes)('Process (%s)', (runtime) => {
  const cases: [string, Fault, number | 'refused'][] = [
    ['target throws', byName('task throws'), 1],
    ['target calls process.exit(3)', byName('process.exit(3)'), 3],
    ['target throws a Proxy whose traps throw', byName('task throws a Proxy whose traps throw'), 1],
    ['argument: a function', byName('argument: a function'), 'refused'],
    ['argument: a symbol', byName('argument: a symbol'), 'refused'],
    ['argument: a throwing getter', byName('argument: a throwing getter'), 'refused'],
    ['argument: a revoked Proxy', byName('argument: a revoked Proxy'), 'refused'],
    ['target returns a function', byName('result: a function'), 0],
    ['timer throws after the target returned', byName('timer throws after the task returned'), 0],
  ];
  if (runtime === 'process') cases.push(['target SIGKILLs itself', byName('worker SIGKILLs itself'), -9]);

  test.each(cases)('%s: start/join/exitCode answer', async (_n, f, expected) => {
    const p = new Process({ target: f.fn, args: argsOf(f), runtime });
    if (expected === 'refused') {
      // refused at start(), naming the path; nothing was started
      let err: any;
      try {
        p.start();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.message).toMatch(f.message!);
      expect(p.isAlive()).toBe(false);
      expect(p.exitCode).toBeNull();
      return;
    }
    p.start();
    expect(await outcome(p.join())).toEqual({ ok: true, value: undefined });
    expect(p.exitCode).toBe(expected);
    expect(p.isAlive()).toBe(false);
    if (runtime === 'process') expect(alive(p.pid!)).toBe(false);
  });
});

// An error a task leaves behind (a timer that throws, a promise nobody catches) arrives after the task has
// returned: its call has its value already, and the error is no other call's. The worker that raised it
// must not take the call it runs by then down with it, nor break an executor: it is reported, and the
// worker finishes what it runs and is replaced.
describe.each(runtimes)('an error raised after its task returned (%s workers)', (runtime) => {
  test.each(['throw', 'reject'] as const)('%s while the same worker runs another call: that call succeeds, the worker is replaced', async (kind) => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const [gate, marker, started, release] = [file('gate'), file('marker'), file('started'), file('release')];
      expect(await outcome(pool.apply(raiseAfterReturn, [kind, gate, marker]))).toEqual({ ok: true, value: 'returned' });
      const first = pool.workerIds;
      const victim = pool.apply(heldUntil, [started, release, 7]);
      await until(() => existsSync(started), 20000, 'the second call to start');
      open(gate); // the first call's leftover raises now, while the second runs on the same worker
      await until(() => existsSync(marker), 20000, 'the leftover to raise');
      open(release);
      expect(await outcome(victim)).toEqual({ ok: true, value: 7 });
      expect(await outcome(pool.map((x: number) => x + 1, [1, 2, 3], 1))).toEqual({ ok: true, value: [2, 3, 4] });
      await until(() => pool.workerIds.length === 1 && pool.workerIds[0] !== first[0], 20000, 'the worker to be replaced');
      const s = pool.stats();
      expect(s.failed).toBe(0);
      pool.close();
      expect(await outcome(pool.join())).toEqual({ ok: true, value: undefined });
    } finally {
      await pool.terminate();
    }
  });

  test.each(['throw', 'reject'] as const)('%s while the worker is idle: the next call is served, an executor is not broken', async (kind) => {
    const ex = runtime === 'thread' ? new ThreadPoolExecutor(1) : new ProcessPoolExecutor(1);
    try {
      const [gate, marker] = [file('gate'), file('marker')];
      expect(await outcome(ex.submit(raiseAfterReturn, kind, gate, marker).result())).toEqual({ ok: true, value: 'returned' });
      open(gate);
      await until(() => existsSync(marker), 20000, 'the leftover to raise');
      // a ProcessPoolExecutor is not broken by it: no worker died while running a call
      expect(await outcome(ex.submit((x: number) => x * 2, 21).result())).toEqual({ ok: true, value: 42 });
      expect(await outcome(ex.submit((x: number) => x * 3, 3).result())).toEqual({ ok: true, value: 9 });
      expect(await outcome(ex.shutdown())).toEqual({ ok: true, value: undefined });
    } finally {
      await ex.shutdown({ wait: false, cancelFutures: true });
    }
  });
});
