// docs/tinypool-gaps.md, row by row: each gap shown on bare tinypool, then the same case through our Pool.
// (Rows 11 and 15 are speed: bench/pool.mjs. Row 12 is a property we keep: pool.test.ts checks that an
// idle pool never keeps a program alive. Row 8: maxTasksPerChild tests in pool.test.ts.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import { Pool, PoolStateError, WorkerLostError, task } from '../lib/index.js';
import { fixture, settledOrPending } from './helpers/runtimes.js';
import { spawnSync } from 'node:child_process';

const handler = fixture('bare-handler.mjs');
const pools: Tinypool[] = [];

function bare(runtime: 'worker_threads' | 'child_process', options: Record<string, unknown> = {}): Tinypool {
  const tp = new Tinypool({ filename: handler, runtime, minThreads: 1, maxThreads: 1, ...options });
  tp.on('error', () => {});
  pools.push(tp);
  return tp;
}


// tinypool's destroy() waits for each worker's 'exit', forever for a thread that already exited (#4)
afterEach(async () => {
  await Promise.all(pools.splice(0).map((tp) => settledOrPending(tp.destroy().catch(() => {}), 1000)));
});

test('#1 child processes get the parent\'s environment plus env, not an empty one', async () => {
  const tp = bare('child_process', { env: { MULTIPROC_NOTE: 'x' } });
  expect(await tp.run({ op: 'env' })).toEqual({ path: null, mine: 'x' });

  const pool = new Pool({ processes: 1, runtime: 'process', env: { MULTIPROC_NOTE: 'x' } });
  expect(await pool.apply(() => ({ path: process.env.PATH, mine: process.env.MULTIPROC_NOTE }))).toEqual({ path: process.env.PATH, mine: 'x' });
  await pool.terminate();
});

test('#2 child processes get no workerData: initializer and initargs travel another way', async () => {
  const tp = bare('child_process', { workerData: { tag: 'x' } });
  expect(await tp.run({ op: 'workerData' })).toBeNull();

  const tasks = fixture('pool-tasks.ts');
  const pool = new Pool({ processes: 1, runtime: 'process', initializer: task(tasks, 'init'), initargs: [{ tag: 'x' }] });
  expect(await pool.apply(task(tasks, 'initState'))).toEqual({ initCount: 1, initArg: { tag: 'x' } });
  await pool.terminate();
});

test('#3 values reach child processes whole (Map, Date, typed arrays), not as JSON', async () => {
  const tp = bare('child_process');
  const map = new Map([['a', 1]]);
  const seen = await tp.run({ op: 'echo', value: map });
  expect(seen.type).toBe('[object Object]'); // JSON turned the Map into {}

  const pool = new Pool({ processes: 1, runtime: 'process' });
  const back: any = await pool.apply((v: unknown) => v, [{ map, when: new Date(5), bytes: new Uint8Array([1, 2]), big: 2n ** 70n }]);
  expect(back.map.get('a')).toBe(1);
  expect(back.when.getTime()).toBe(5);
  expect(Array.from(back.bytes)).toEqual([1, 2]);
  expect(back.big).toBe(2n ** 70n);
  await pool.terminate();
});

test('#4 process.exit() in a worker thread rejects its task instead of leaving it pending', async () => {
  const tp = bare('worker_threads');
  expect(await settledOrPending(tp.run({ op: 'exit', code: 3 }), 1000)).toBe('pending');

  const pool = new Pool({ processes: 1 });
  await pool.apply((x: number) => x, [0]); // started: time the death only
  const err = await settledOrPending(pool.apply(() => process.exit(3)).catch((e) => e), 1000);
  expect(err).toBeInstanceOf(WorkerLostError);
  expect((err as WorkerLostError).exitCode).toBe(3);
  expect(await pool.apply((x: number) => x + 1, [1])).toBe(2); // replaced
  await pool.terminate();
});

test('#5 an uncaught exception in a child process is reported with its own message', async () => {
  const tp = bare('child_process', { stdout: true });
  const bareErr = await tp.run({ op: 'throwLater' }).catch((e: Error) => e);
  expect(bareErr.message).toBe('Worker exited unexpectedly');

  const pool = new Pool({ processes: 1, runtime: 'process' });
  const err: any = await pool.apply(() => new Promise(() => setTimeout(() => { throw new Error('boom later'); }, 1))).catch((e) => e);
  expect(err).toBeInstanceOf(WorkerLostError);
  expect(err.message).toContain('boom later');
  expect(err.cause.message).toBe('boom later');
  await pool.terminate();
});

test('#6 task errors keep their own properties (threads) and stay Errors (processes)', async () => {
  const thread = await bare('worker_threads').run({ op: 'codeError' }).catch((e: any) => e);
  expect(thread.code).toBeUndefined();
  const child = await bare('child_process').run({ op: 'codeError' }).catch((e: any) => e);
  expect(child).not.toBeInstanceOf(Error);

  for (const runtime of ['thread', 'process'] as const) {
    const pool = new Pool({ processes: 1, runtime });
    const err = await pool.apply(() => {
      throw Object.assign(new RangeError('with a code'), { code: 'E_MINE' });
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe('E_MINE');
    await pool.terminate();
  }
});

test('#7 a closed or terminated pool refuses work', async () => {
  const tp = bare('worker_threads');
  await tp.destroy();
  expect(await tp.run({ op: 'pid' })).toBe(process.pid); // tinypool started a new worker

  const pool = new Pool({ processes: 1 });
  await pool.terminate();
  await expect(pool.apply((x: number) => x, [1])).rejects.toBeInstanceOf(PoolStateError);
  const closed = new Pool({ processes: 1 });
  closed.close();
  await expect(closed.apply((x: number) => x, [1])).rejects.toBeInstanceOf(PoolStateError);
  await closed.join();
});

test('#9 terminate() stops a task stuck in a synchronous loop (no teardown on the way)', async () => {
  // tinypool with a teardown never stops such a worker: the program cannot exit
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-teardown-'));
  try {
    writeFileSync(join(dir, 'spin.mjs'), 'export default () => { for (;;); };\nexport const down = () => {};\n');
    writeFileSync(
      join(dir, 'main.mjs'),
      `import Tinypool from ${JSON.stringify(new URL('../node_modules/tinypool/dist/index.js', import.meta.url).href)};
      const tp = new Tinypool({ filename: new URL('./spin.mjs', import.meta.url).href, teardown: 'down', minThreads: 1, maxThreads: 1 });
      const ac = new AbortController();
      tp.run({}, { signal: ac.signal }).catch(() => {});
      setTimeout(() => { ac.abort(); tp.destroy(); }, 200);`,
    );
    const res = spawnSync(process.execPath, [join(dir, 'main.mjs')], { timeout: 3000 });
    expect(res.signal).toBe('SIGTERM'); // killed by the timeout: it never ended
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pool = new Pool({ processes: 1 });
  const stuck = pool.apply(() => { for (;;); }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 200)); // the task likely spins by now; terminate() fails it either way
  await pool.terminate();
  expect(await stuck).toBeInstanceOf(PoolStateError);
});

test('#10 workers that fail while starting are retried a few times, then their tasks fail instead of hanging', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-start-'));
  try {
    const failer = join(dir, 'fail-start.cjs');
    writeFileSync(failer, 'process.exit(9);\n');
    const pool = new Pool({ processes: 1, runtime: 'process', execArgv: ['--require', failer] });
    const err = await pool.apply((x: number) => x, [1]).catch((e) => e);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.message).toMatch(/fail to start|before it could start/);
    expect(err.exitCode).toBe(9);
    await pool.terminate();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('#13 the runtime is chosen per pool', async () => {
  const tp = bare('worker_threads');
  expect(await tp.run({ op: 'pid' }, { runtime: 'child_process' } as any)).toBe(process.pid); // ignored

  const threads = new Pool({ processes: 1, runtime: 'thread' });
  const procs = new Pool({ processes: 1, runtime: 'process' });
  expect(await threads.apply(() => process.pid)).toBe(process.pid);
  expect(await procs.apply(() => process.pid)).not.toBe(process.pid);
  await Promise.all([threads.terminate(), procs.terminate()]);
});

test('#14 worker threads load TypeScript task modules (tsx registered in the worker; --import is ignored there)', async () => {
  const ts = fileURLToPath(fixture('pool-tasks.ts'));
  const tp = bare('worker_threads', { filename: ts, execArgv: ['--import', 'tsx'] });
  await expect(tp.run(3, { name: 'square' })).rejects.toThrow(/Unknown file extension ".ts"/);

  const pool = new Pool({ processes: 1 });
  expect(await pool.apply(task(fixture('pool-tasks.ts'), 'square'), [3])).toBe(9);
  await pool.terminate();
});
