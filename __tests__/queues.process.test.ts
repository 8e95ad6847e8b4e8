import { alive, runFile } from './helpers/programs.js';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, JoinableQueue } from '../primitives/queues.js';
import { Event } from '../primitives/synchronize.js';
import { Process } from '../lib/process.js';
import { Full } from '../lib/base/errors.js';
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

  test.each(['await', 'sync', 'nowait'] as const)('pipelined %s puts are applied before the Event the producer sets next', async (form) => {
    const q = new Queue(form === 'nowait' ? 0 : 50); // bounded: puts run on credits
    const ev = new Event();
    const done = pool.apply(task(fixtures, 'putThenSet'), [q, ev, form === 'nowait' ? 500 : 40, form]);
    expect(await ev.wait(20_000)).toBe(true);
    const n = form === 'nowait' ? 500 : 40;
    expect(q.qsize()).toBe(n);
    for (let i = 0; i < n; i++) expect(q.getNowait()).toBe(i);
    await done;
  });

  test('credits: a bounded queue filled from a process says Full at maxsize; room made is used; unused credits go back when the producer pauses', async () => {
    const q = new Queue(8);
    const filled = new Event();
    const more = new Event();
    const again = new Event();
    const worker = pool.apply(task(fixtures, 'fillUntilFull'), [q, filled, more, again]) as Promise<number>;
    expect(await filled.wait(20_000)).toBe(true);
    expect(q.qsize()).toBe(8);
    expect(q.full()).toBe(true);
    expect(q.getNowait()).toBe(0);
    more.set();
    expect(await again.wait(20_000)).toBe(true);
    expect(await worker).toBe(8);
    expect(q.qsize()).toBe(8); // 7 left + the one put after room was made
    expect(q.full()).toBe(true);
    q.getNowait();
    expect(q.full()).toBe(false); // no credit is still held by the paused producer
    q.putNowait('local');
    expect(q.full()).toBe(true);
  });

  test('credits held by a producer that is killed go back to the queue', async () => {
    const q = new Queue(8); // a process producer reserves 4 slots at a time (half the queue)
    const held = new Event();
    const never = new Event();
    const p = new Process({ target: task(fixtures, 'putOnceThenBlock'), args: [q, held, never], runtime: 'process' });
    p.start();
    expect(await held.wait(20_000)).toBe(true);
    expect(q.qsize()).toBe(1);
    for (let i = 0; i < 4; i++) q.putNowait(i);
    expect(() => q.putNowait('one too many')).toThrow(Full); // the producer still holds three slots
    p.kill();
    await p.join();
    for (let i = 0; i < 200 && q.full(); i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 3; i++) q.putNowait(`now it fits ${i}`);
    expect(q.qsize()).toBe(8);
  });

  test('a process put blocked on a full queue goes in when a single slot frees (credits wait for a batch only briefly)', async () => {
    const q = new Queue(8); // a reservation waits for 2 free slots, or 1 ms
    for (let i = 0; i < 8; i++) q.putNowait(i);
    const done = new Event();
    const put = pool.apply(task(fixtures, 'putOneMore'), [q, done]);
    expect(q.getNowait()).toBe(0);
    expect(await done.wait(20_000)).toBe(true);
    await put;
    const rest: unknown[] = [];
    for (let i = 0; i < 8; i++) rest.push(q.getNowait());
    expect(rest).toEqual([1, 2, 3, 4, 5, 6, 7, 'late']);
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

describe('JoinableQueue.taskDone() from process workers (streamed like puts)', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime: 'process' });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('a consumer that signals (no wait) and then blocks gives back the items it fetched ahead first', async () => {
    // Without that, the second consumer starves while the first sleeps on items it will never use.
    const q = new Queue<number>();
    const n = 300;
    for (let i = 0; i < 2 * n; i++) await q.put(i);
    const got = [new Event(), new Event()];
    const go = new Event();
    const workers = got.map((g) => pool.apply(task(fixtures, 'getThenBlock'), [q, n, g, go]));
    expect(await Promise.all(got.map((g) => g.wait(30_000)))).toEqual([true, true]);
    expect(q.qsize()).toBe(0);
    go.set();
    expect(await Promise.all(workers)).toEqual([n, n]);
  }, 60_000);

  test('join() waits exactly until the last taskDone() of every consumer has arrived', async () => {
    const q = new JoinableQueue<number>();
    const n = 300;
    for (let i = 0; i < 2 * n; i++) await q.put(i);
    const almost = [new Event(), new Event()];
    const go = new Event();
    const workers = almost.map((a) => pool.apply(task(fixtures, 'doneAllButLast'), [q, n, a, go]));
    await Promise.all(almost.map((a) => a.wait()));
    // Each worker's streamed taskDone() calls went ahead of its set(): 2 are left, and join waits for them.
    let joined = false;
    const join = q.join().then(() => (joined = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(joined).toBe(false);
    expect(q.qsize()).toBe(0);
    go.set();
    await join;
    expect(await Promise.all(workers)).toEqual([n, n]);
  }, 60_000);

  test('taskDone() once too often in a process worker throws ValueError at once', async () => {
    const q = new JoinableQueue<number>();
    await q.put(1);
    expect(await pool.apply(task(fixtures, 'doneTwice'), [q])).toBe('ValueError: task_done() called too many times');
    await q.join(); // the one legitimate taskDone arrived
    expect(() => q.taskDone()).toThrow('task_done() called too many times');
  });
});

test('a daemon process still blocked in get() when the program ends ends with it, quietly; no socket directory is left', async () => {
  const program = fileURLToPath(new URL('./fixtures/queue-daemon.ts', import.meta.url));
  // resolves once every holder of the output pipes has closed them, the daemon included
  const { code, out, err } = await runFile(program);
  expect(code).toBe(0);
  const { address, pid } = JSON.parse(out.trim().split('\n')[0]);
  const gone = () => !alive(pid);
  for (let i = 0; i < 200 && !gone(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(gone()).toBe(true);
  expect(err).not.toMatch(/ConnectionClosedError|Error/);
  expect(existsSync(dirname(address))).toBe(false);
}, 30_000);
