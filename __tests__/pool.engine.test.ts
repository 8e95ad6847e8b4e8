// The engine under the Pool: tinypool workers, our batches above them, and what the batch layer must
// never do (strand good work behind bad input, fail bystanders, run a task twice, hold a task behind a
// slow one while a worker is free). Tasks record their runs in files, so both runtimes can be checked.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Pool, task, AbortError, SerializationError, WorkerLostError, PoolStateError, ThreadPoolExecutor, ProcessPoolExecutor,
} from '../lib/index.js';
import { runtimes, fixture } from './helpers/runtimes.js';
import { within } from './helpers/programs.js';

const tasks = fixture('engine-tasks.ts');
const record = task<(log: string, i: number) => number>(tasks, 'record');
const heldUntil = task<(gate: string, log: string, i: number) => Promise<number>>(tasks, 'heldUntil');
const exitLater = task<(log: string, i: number, ms: number, code: number) => Promise<never>>(tasks, 'exitLater');
const spinThenExit = task<(log: string, i: number, ms: number) => never>(tasks, 'spinThenExit');
const spinForever = task<(log: string, i: number) => never>(tasks, 'spinForever');
const tinypoolState = task<() => boolean>(tasks, 'tinypoolState');

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-engine-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh file path in the test's directory. */
function path(name: string): string {
  return join(dir, `${name}-${++files}`);
}

/** How many times each task index ran, from a log written by the tasks. */
function runs(log: string): Map<number, number> {
  const counts = new Map<number, number>();
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  }
  return counts;
}

describe.each(runtimes)('Pool on tinypool (%s workers)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  /** Short tasks measured: from now on the engine batches. */
  async function warm(): Promise<void> {
    await pool.map((x: number) => x, Array.from({ length: 200 }, (_, i) => i), 1);
  }

  test('tasks run in tinypool workers', async () => {
    expect(await pool.apply(tinypoolState)).toBe(true);
    expect(await pool.apply(() => (process as any).__tinypool_state__.isTinypoolWorker)).toBe(true);
  });

  test('tasks submitted together travel in batches: far fewer tinypool runs than tasks', async () => {
    await warm();
    const before = pool.stats().batches;
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.applyAsync((x: number) => x + 1, [i]).get()));
    expect(results).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const used = pool.stats().batches - before;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(100);
  });

  test('the first tasks of an unmeasured pool go one per run, so a long first task holds nothing back', async () => {
    const fresh = new Pool({ processes: 2, runtime });
    try {
      const gate = path('gate');
      const log = path('log');
      const held = fresh.apply(heldUntil, [gate, log, 0]);
      const others = await Promise.all([1, 2, 3].map((i) => fresh.apply(record, [log, i])));
      expect(others).toEqual([1, 2, 3]);
      writeFileSync(gate, '');
      expect(await held).toBe(0);
    } finally {
      await fresh.terminate();
    }
  });

  test('a task that turns out slow hands the tasks behind it to a free worker (hand-back)', async () => {
    await warm();
    const gate = path('gate');
    const log = path('log');
    // Submitted in one turn: with short measured tasks they share batches, task 0 first.
    const held = pool.apply(heldUntil, [gate, log, 0]);
    const rest = [1, 2, 3, 4, 5, 6, 7].map((i) => pool.apply(record, [log, i]));
    // Would never resolve if they waited behind task 0: the gate opens only after them.
    expect(await Promise.all(rest)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    writeFileSync(gate, '');
    expect(await held).toBe(0);
    const counts = runs(log);
    for (let i = 0; i < 8; i++) expect(counts.get(i)).toBe(1);
  });

  test.each([
    ['waits, then calls process.exit', (log: string) => pool.apply(exitLater, [log, 0, 100, 1])],
    ['spins, then calls process.exit', (log: string) => pool.apply(spinThenExit, [log, 0, 100])],
  ])('bystanders: a task that %s dies alone; the tasks behind it run elsewhere, each once', async (_what, killer) => {
    await warm();
    const log = path('log');
    const dying = killer(log);
    const rest = [1, 2, 3, 4, 5, 6, 7].map((i) => pool.apply(record, [log, i]));
    const err = await dying.catch((e) => e);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(await Promise.all(rest)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const counts = runs(log);
    for (let i = 0; i < 8; i++) expect(counts.get(i)).toBe(1);
    expect(await pool.map((x: number) => x * 2, [1, 2, 3, 4], 1)).toEqual([2, 4, 6, 8]);
  });

  test('a value that cannot be sent fails that call only; the calls queued with it go on', async () => {
    const badMap = pool.map((x: unknown) => x, [1, () => 2, 3], 1);
    const badApply = pool.apply((x: unknown) => x, [{ cb: () => 1 }]);
    const good = [pool.apply((x: number) => x * 2, [21]), pool.apply((x: number) => x + 1, [1])];
    const mapErr = await badMap.catch((e) => e);
    expect(mapErr).toBeInstanceOf(SerializationError);
    expect(mapErr.message).toContain('items[1]'); // the position in the input, not in a chunk
    const applyErr: any = await badApply.catch((e) => e);
    expect(applyErr).toBeInstanceOf(SerializationError);
    expect(applyErr.path).toBe('args[0].cb');
    expect(await Promise.all(good)).toEqual([42, 2]);
    // a bad item deep in a chunked map is named by its position in the whole input
    const items: unknown[] = Array.from({ length: 50 }, (_, i) => i);
    items[37] = Symbol('no');
    const err = await pool.map((x: unknown) => x, items, 10).catch((e) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.message).toContain('items[37]');
  });

  test('after bad input, close() and join() still finish', async () => {
    const p = new Pool({ processes: 2, runtime });
    const bad = p.map((x: unknown) => x, [() => 1, () => 2]).catch((e) => e);
    const good = p.apply((x: number) => x, [5]);
    p.close();
    expect(await bad).toBeInstanceOf(SerializationError);
    expect(await good).toBe(5);
    await p.join();
    expect(p.workerIds).toEqual([]);
  });

  test('cancellation: a queued task is dropped; running ones are stopped and their workers replaced', async () => {
    // a fresh pool sends one task per worker until tasks are measured: the third one waits in the queue
    const fresh = new Pool({ processes: 2, runtime });
    try {
      const log = path('log');
      const ac = new AbortController();
      const before = fresh.workerIds;
      const running = [0, 1].map((i) => fresh.applyAsync(spinForever, [log, i], { signal: ac.signal }));
      const queued = fresh.applyAsync(record, [log, 2], { signal: ac.signal });
      expect(await within(10000, () => runs(log).size === 2)).toBe(true);
      expect(fresh.stats().queued).toBe(1);
      const reason = new Error('stop now');
      ac.abort(reason);
      for (const r of [...running, queued]) {
        const err = await r.get().catch((e) => e);
        expect(err).toBeInstanceOf(AbortError);
        expect(err.code).toBe('ABORT_ERR');
        expect(err.cause).toBe(reason);
      }
      expect(runs(log).has(2)).toBe(false);
      expect(await fresh.map((x: number) => x + 1, [1, 2, 3], 1)).toEqual([2, 3, 4]);
      expect(fresh.workerIds.some((id) => before.includes(id))).toBe(false);
    } finally {
      await fresh.terminate();
    }
  });

  test('an aborted signal rejects at once; map and imap take { signal } after chunksize', async () => {
    const gone = AbortSignal.abort(new Error('already'));
    await expect(pool.applyAsync((x: number) => x, [1], { signal: gone }).get()).rejects.toBeInstanceOf(AbortError);
    await expect(pool.map((x: number) => x, [1, 2], 1, { signal: gone })).rejects.toBeInstanceOf(AbortError);
    await expect(pool.map((x: number) => x, [1, 2], { signal: gone })).rejects.toBeInstanceOf(AbortError);

    const log = path('log');
    const ac = new AbortController();
    const spinItem = task<(item: { log: string; i: number }) => never>(tasks, 'spinItem');
    const mapped = pool.map(spinItem, [{ log, i: 0 }], 1, { signal: ac.signal }).catch((e) => e);
    const it = pool.imap(spinItem, [{ log, i: 1 }], 1, { signal: ac.signal });
    const next = it.next();
    expect(await within(10000, () => runs(log).size === 2)).toBe(true);
    ac.abort();
    await expect(next).rejects.toBeInstanceOf(AbortError);
    expect((await it.next()).done).toBe(true);
    expect(await mapped).toBeInstanceOf(AbortError);
    expect(await pool.apply((x: number) => x, [7])).toBe(7);
  });

  test('aborting maps again and again never fails the calls that follow (a worker stopped for an abort takes nothing with it)', async () => {
    const spin = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return ms;
    };
    for (let round = 0; round < 8; round++) {
      const stop = new AbortController();
      const map = pool.map(spin, Array.from({ length: 1000 }, (_, i) => 1 + (i % 3)), 1, { signal: stop.signal }).catch((e) => e);
      setTimeout(() => stop.abort(), 60); // mid-map: some tasks ran, some are running, the rest are queued
      expect(await map).toBeInstanceOf(AbortError);
      expect(await pool.apply((x: number) => x + 1, [round])).toBe(round + 1);
    }
  });

  test('stats() counts workers, work and time', async () => {
    const before = pool.stats();
    await pool.map((x: number) => x, Array.from({ length: 100 }, (_, i) => i), 10);
    await pool.apply(() => {
      throw new Error('counted as failed');
    }).catch(() => {});
    const after = pool.stats();
    expect(after.workers).toBe(2);
    expect(after.completed - before.completed).toBe(100);
    expect(after.failed - before.failed).toBe(1);
    expect(after.queued).toBe(0);
    expect(after.busy).toBe(0);
    for (const t of [after.runTime, after.waitTime]) {
      expect(t.mean).toBeGreaterThanOrEqual(0);
      expect(t.p99).toBeGreaterThanOrEqual(t.p50);
    }
  });

  test('onProgress is called on the caller thread as items complete', async () => {
    const seen: [number, number | undefined][] = [];
    await pool.map((x: number) => x, Array.from({ length: 40 }, (_, i) => i), 10, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.map(([d]) => d).sort((a, b) => a - b)).toEqual([10, 20, 30, 40]);
    expect(seen.every(([, t]) => t === 40)).toBe(true);

    const unsized: [number, number | undefined][] = [];
    function* items() {
      for (let i = 0; i < 6; i++) yield i;
    }
    const out: number[] = [];
    for await (const v of pool.imapUnordered((x: number) => x, items(), 2, { onProgress: (d, t) => unsized.push([d, t]) })) out.push(v as number);
    expect(out.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(unsized.at(-1)).toEqual([6, undefined]);
  });

  test('a progress callback that throws is reported, and the map goes on', async () => {
    const write = process.stderr.write;
    let reported = '';
    process.stderr.write = ((chunk: string) => ((reported += chunk), true)) as any;
    try {
      const out = await pool.map((x: number) => x, [1, 2, 3], 1, { onProgress: () => { throw new Error('bad progress'); } });
      expect(out).toEqual([1, 2, 3]);
    } finally {
      process.stderr.write = write;
    }
    expect(reported).toContain('bad progress');
  });

  test('terminate() settles what is queued with PoolStateError; submit afterwards throws', async () => {
    const p = new Pool({ processes: 1, runtime });
    const log = path('log');
    const stuck = p.apply(spinForever, [log, 0]).catch((e) => e);
    const queued = p.apply(record, [log, 1]).catch((e) => e);
    expect(await within(10000, () => runs(log).size === 1)).toBe(true);
    await p.terminate();
    expect(await stuck).toBeInstanceOf(PoolStateError);
    expect(await queued).toBeInstanceOf(PoolStateError);
    expect(() => p.applyAsync((x: number) => x, [1])).toThrow(PoolStateError);
  });
});

test('a thread killed outright (out of memory) fails its running task only; the tasks behind it in its batch run elsewhere, once', async () => {
  const pool = new Pool({ processes: 2, resourceLimits: { maxOldGenerationSizeMb: 128 } });
  try {
    await pool.map((x: number) => x, Array.from({ length: 200 }, (_, i) => i), 1); // measured short: batches form
    const log = path('log');
    const oom = pool.apply(task<(log: string, i: number) => never>(tasks, 'exhaustMemory'), [log, 0]);
    const rest = [1, 2, 3, 4, 5, 6, 7].map((i) => pool.apply(record, [log, i]));
    expect(await oom.catch((e) => e)).toBeInstanceOf(WorkerLostError);
    expect(await Promise.all(rest)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const counts = runs(log);
    for (let i = 0; i < 8; i++) expect(counts.get(i)).toBe(1);
  } finally {
    await pool.terminate();
  }
});

test.each(runtimes)('executors (%s): run(fn, args, { signal }) drops a queued call and stops a running one; the executor goes on', async (runtime) => {
  const ex = runtime === 'thread' ? new ThreadPoolExecutor(1) : new ProcessPoolExecutor(1);
  try {
    const log = path('log');
    const ac = new AbortController();
    const running = ex.run(spinForever, [log, 0], { signal: ac.signal });
    const queued = ex.run(record, [log, 1], { signal: ac.signal });
    expect(await within(10000, () => runs(log).size === 1)).toBe(true);
    ac.abort('enough');
    for (const f of [running, queued]) {
      const err: any = await f.exception();
      expect(err).toBeInstanceOf(AbortError);
      expect(err.cause).toBe('enough');
    }
    expect(runs(log).has(1)).toBe(false);
    expect(await ex.submit((x: number) => x * 2, 21).result()).toBe(42); // not broken
  } finally {
    await ex.shutdown();
  }
});

test('executors run their calls in tinypool workers too', async () => {
  for (const ex of [new ThreadPoolExecutor(1), new ProcessPoolExecutor(1)]) {
    expect(await ex.submit(tinypoolState).result()).toBe(true);
    await ex.shutdown();
  }
});
