/**
 * A process worker's gets fetch items ahead (primitives/channel/fetch-ahead.ts): what it holds still
 * counts as queued, its report of what it got rides ahead of its next operation, and what it does
 * not use goes back to the front of the queue when it pauses, blocks, ends its task or dies.
 */
import { Queue } from '../primitives/queues.js';
import { Barrier, Event } from '../primitives/synchronize.js';
import { Empty, Full } from '../lib/base/errors.js';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';

const fixtures = new URL('./fixtures/queue-fetch-tasks.ts', import.meta.url).href;

function start(name: string, args: unknown[]): Process {
  const p = new Process({ target: task(fixtures, name), args, runtime: 'process' });
  p.start();
  return p;
}

function fill(q: Queue, n: number): void {
  for (let i = 0; i < n; i++) q.putNowait(i);
}

function drain(q: Queue): unknown[] {
  const out: unknown[] = [];
  while (q.qsize() > 0) out.push(q.getNowait());
  return out;
}

test('held items count as queued; the report of what was got rides ahead; a consumer that dies gives back what it held', async () => {
  const q = new Queue();
  fill(q, 8);
  const got = new Event();
  const p = start('getThenHold', [q, got, 3]); // its run takes all 8: it gets 0, 1, 2 and holds 3..7
  try {
    expect(await got.wait(20_000)).toBe(true);
    expect(q.qsize()).toBe(5); // the 5 it holds; the 3 it got are reported
    expect(() => q.getNowait()).toThrow(Empty);
    p.kill();
    await p.join();
    const back: unknown[] = [];
    for (let i = 0; i < 5; i++) back.push(await q.get()); // each waits until the broker has seen it die
    expect(back).toEqual([3, 4, 5, 6, 7]);
    expect(q.qsize()).toBe(0);
  } finally {
    if (p.exitCode === null) p.kill();
  }
}, 30_000);

test('a bounded queue counts held items as taken room until they are got or given back', async () => {
  const q = new Queue(4);
  fill(q, 4);
  const got = new Event();
  const p = start('getThenHold', [q, got, 1]); // its run takes all 4: it gets 0 and holds 1..3
  try {
    expect(await got.wait(20_000)).toBe(true);
    expect(q.full()).toBe(false);
    q.putNowait('x');
    expect(() => q.putNowait('y')).toThrow(Full);
    p.kill();
    await p.join();
    const back: unknown[] = [];
    for (let i = 0; i < 4; i++) back.push(await q.get());
    expect(back.filter((x) => x !== 'x')).toEqual([1, 2, 3]);
    expect(q.qsize()).toBe(0);
  } finally {
    if (p.exitCode === null) p.kill();
  }
}, 30_000);

test('a consumer that awaits something else gives back what it held at its next event-loop turn', async () => {
  const q = new Queue();
  fill(q, 10);
  const paused = new Event();
  const release = new Event();
  const p = start('getThenPause', [q, paused, release]);
  expect(await paused.wait(20_000)).toBe(true);
  expect(drain(q)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  release.set();
  await p.join();
  expect(p.exitCode).toBe(0);
}, 30_000);

test('a consumer about to block in a waiting call gives back first', async () => {
  const q = new Queue();
  fill(q, 10);
  const barrier = new Barrier(2);
  const p = start('getThenBlock', [q, barrier]);
  await barrier.wait(20_000); // it arrived: what it gave back before waiting is in the queue
  expect(drain(q)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await p.join();
  expect(p.exitCode).toBe(0);
}, 30_000);

test('a pool task that ends gives back what it fetched ahead before its result arrives', async () => {
  const pool = new Pool({ processes: 1, runtime: 'process' });
  try {
    const q = new Queue();
    fill(q, 10);
    expect(await pool.apply(task(fixtures, 'getOne'), [q])).toBe(0);
    expect(drain(q)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await pool.terminate();
  }
}, 30_000);
