import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, JoinableQueue } from '../primitives/queues.js';
import { Pool } from '../lib/pool.js';
import { task } from '../lib/base/task.js';

const fixtures = new URL('./fixtures/queue-tasks.ts', import.meta.url).href;

describe('Queue across process workers', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 3, runtime: 'process' });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('2 process producers x 1 process consumer: every item once, FIFO per producer', async () => {
    const N = 2000;
    const q = new Queue(100);
    const consumer = pool.apply(task(fixtures, 'consume'), [q]) as Promise<Int32Array>;
    const producers = [pool.apply(task(fixtures, 'produce'), [q, 0, N]), pool.apply(task(fixtures, 'produceAsync'), [q, 1, N])];
    expect(await Promise.all(producers)).toEqual([N, N]);
    await q.put(null);
    const flat = await consumer;
    expect(flat.length).toBe(4 * N);
    const seen = new Set<number>();
    for (let k = 0; k < flat.length; k += 2) seen.add(flat[k] * N + flat[k + 1]);
    expect(seen.size).toBe(2 * N);
  }, 60_000);

  test('putNowait from a process worker is batched yet ordered; timed get in a process', async () => {
    const q = new Queue();
    expect(await pool.apply(task(fixtures, 'produceNowait'), [q, 5, 300])).toBe(300);
    for (let i = 0; i < 300; i++) expect(await q.get()).toEqual([5, i]);
    expect(await q.get()).toBe('done');
    const [name, ms] = (await pool.apply(task(fixtures, 'timedGet'), [q, 100])) as [string, number];
    expect(name).toBe('Empty');
    expect(ms).toBeGreaterThanOrEqual(90);
  });

  test('JoinableQueue.join with process consumers', async () => {
    const q = new JoinableQueue<number | null>();
    const results = new Queue<number>();
    const workers = [0, 1].map(() => pool.apply(task(fixtures, 'work'), [q, results]) as Promise<number>);
    for (let i = 1; i <= 50; i++) await q.put(i);
    await q.join();
    expect(results.qsize()).toBe(50);
    await q.put(null);
    await q.put(null);
    const counts = await Promise.all(workers);
    expect(counts[0] + counts[1]).toBe(50);
  });
});

test('a daemon process still blocked in get() when the program ends ends with it, quietly; no socket directory is left', async () => {
  const program = fileURLToPath(new URL('./fixtures/queue-daemon.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', program], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  expect(code).toBe(0);
  const { address, pid } = JSON.parse(out.trim().split('\n')[0]);
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 200 && !gone(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(gone()).toBe(true);
  await new Promise((r) => setTimeout(r, 200)); // what the daemon printed on its way out has arrived
  expect(err).not.toMatch(/ConnectionClosedError|Error/);
  expect(existsSync(dirname(address))).toBe(false);
}, 30_000);
