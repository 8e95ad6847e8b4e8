// move(): buffers handed to a worker thread and back without a copy; process workers keep copying.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, ThreadPoolExecutor, task, move } from '../lib/index.js';
import { fixture } from './helpers/runtimes.js';
import { within } from './helpers/programs.js';

const tasks = fixture('move-tasks.ts');
const describeArray = task<(a: Float64Array) => { sum: number; length: number; isArray: boolean }>(tasks, 'describe');
const doubleInPlace = task<(a: Float64Array) => Float64Array>(tasks, 'doubleInPlace');
const make = task<(n: number) => Float64Array>(tasks, 'make');
const lastMadeLeft = task<() => boolean>(tasks, 'lastMadeLeft');
const makePair = task<(n: number) => { a: Float64Array; b: Uint8Array }>(tasks, 'makePair');
const heldSum = task<(gate: string, a: Float64Array | null) => Promise<number>>(tasks, 'heldSum');
const exitWhenOpen = task<(gate: string) => Promise<never>>(tasks, 'exitWhenOpen');

const N = 100_000;
const iota = (n: number) => Float64Array.from({ length: n }, (_, i) => i);
const expectedSum = (n: number) => (n * (n - 1)) / 2;

describe('move()', () => {
  test('refuses what it cannot move, with TypeError', () => {
    expect(() => move(5 as any)).toThrow(TypeError);
    expect(() => move(null as any)).toThrow(TypeError);
    // a small Buffer is a view of a shared pool: moving it would detach its neighbours
    expect(() => move(Buffer.from('abc'))).toThrow(/covers 3 of the/);
    const whole = new Float64Array(4);
    expect(move(whole)).toBe(whole);
  });

  describe('thread workers', () => {
    let pool: Pool;
    beforeAll(() => {
      pool = new Pool({ processes: 2, runtime: 'thread' });
    });
    afterAll(async () => {
      await pool.terminate();
    });

    test('an argument arrives intact and the sender\'s buffer is detached', async () => {
      const a = iota(N);
      expect(await pool.apply(describeArray, [move(a)])).toEqual({ sum: expectedSum(N), length: N, isArray: true });
      expect(a.buffer.byteLength).toBe(0);
      expect(a.length).toBe(0);
    });

    test('without move() the argument is copied and stays usable', async () => {
      const a = iota(N);
      expect((await pool.apply(describeArray, [a])).sum).toBe(expectedSum(N));
      expect(a.length).toBe(N);
    });

    test('a round trip: moved in, changed in place, moved back', async () => {
      const a = iota(N);
      const back = await pool.apply(doubleInPlace, [move(a)]);
      expect(a.length).toBe(0);
      expect(Object.prototype.toString.call(back)).toBe('[object Float64Array]');
      expect(back.length).toBe(N);
      expect(back[N - 1]).toBe(2 * (N - 1));
    });

    test('a result moved out of the worker leaves it (detached there), data intact here', async () => {
      const made = await pool.apply(make, [N]);
      expect(made.length).toBe(N);
      expect(made[12345]).toBe(12345);
      // the same worker answers next only if it is the one that ran make(): ask both until one says so
      const answers = await Promise.all([pool.apply(lastMadeLeft), pool.apply(lastMadeLeft), pool.apply(lastMadeLeft)]);
      expect(answers).toContain(true);
    });

    test('a plain object of several buffers moves as one', async () => {
      const { a, b } = await pool.apply(makePair, [1000]);
      expect(a.length).toBe(1000);
      expect(b.length).toBe(1000);
      expect(a[999] + b[999]).toBe(3);
    });

    test('applyAsync and map items move too', async () => {
      const one = iota(1000);
      expect((await pool.applyAsync(describeArray, [move(one)]).get()).sum).toBe(expectedSum(1000));
      expect(one.length).toBe(0);
      const items = [iota(10), iota(20), iota(30)];
      const sums = await pool.map(describeArray, items.map((x) => move(x)), 1);
      expect(sums.map((s) => s.sum)).toEqual([45, 190, 435]);
      expect(items.map((x) => x.length)).toEqual([0, 0, 0]);
    });

    test('a moved buffer sent again (already detached) fails that call only, naming the value', async () => {
      const a = iota(10);
      await pool.apply(describeArray, [move(a)]);
      await expect(pool.apply(describeArray, [a])).rejects.toThrow(/args\[0\]: Float64Array/);
      expect((await pool.apply(describeArray, [iota(4)])).sum).toBe(6);
    });
  });

  test('a moved task handed back by a worker (behind a slow one) runs again with its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiproc-move-'));
    const gate = join(dir, 'gate');
    const pool = new Pool({ processes: 1, runtime: 'thread' });
    try {
      const first = pool.apply(heldSum, [gate, null]);
      const a = iota(N);
      const second = pool.apply(heldSum, [gate, move(a)]);
      const third = pool.apply(heldSum, [gate, null]);
      // with more queued than workers, the second batch goes to the one worker behind the held first,
      // which hands it back once the first proves slow: a third batch means it was sent again
      expect(await within(20_000, () => pool.stats().batches >= 3)).toBe(true);
      expect(a.length).toBe(0);
      writeFileSync(gate, '');
      expect(await first).toBe(-1);
      expect(await second).toBe(expectedSum(N));
      expect(await third).toBe(-1);
      expect(a.length).toBe(0);
    } finally {
      await pool.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a moved task whose worker dies never runs on detached buffers: it runs with its data, or fails with WorkerLostError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiproc-move-'));
    const gate = join(dir, 'gate');
    const pool = new Pool({ processes: 1, runtime: 'thread' });
    try {
      const dying = pool.apply(exitWhenOpen, [gate]);
      const a = iota(N);
      const moved = pool.apply(heldSum, [gate, move(a)]).then((v) => ({ v }), (e: Error) => ({ e }));
      const after = pool.apply(heldSum, [gate, null]);
      expect(await within(20_000, () => pool.stats().batches >= 3)).toBe(true); // the moved task went to the worker
      writeFileSync(gate, '');
      await expect(dying).rejects.toMatchObject({ name: 'WorkerLostError' });
      const outcome = await moved;
      if ('v' in outcome) expect(outcome.v).toBe(expectedSum(N));
      else expect(outcome.e).toMatchObject({ name: 'WorkerLostError', message: expect.stringMatching(/buffers moved/) });
      expect(await after).toBe(-1);
    } finally {
      await pool.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ThreadPoolExecutor.submit moves too', async () => {
    const executor = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const a = iota(N);
      const back = await executor.submit(doubleInPlace, move(a)).result();
      expect(a.length).toBe(0);
      expect(back[N - 1]).toBe(2 * (N - 1));
    } finally {
      await executor.shutdown();
    }
  });

  test('process workers copy: the sender keeps its buffer, results arrive intact', async () => {
    const pool = new Pool({ processes: 1, runtime: 'process' });
    try {
      const a = iota(N);
      expect((await pool.apply(describeArray, [move(a)])).sum).toBe(expectedSum(N));
      expect(a.length).toBe(N);
      const made = await pool.apply(make, [1000]);
      expect(made[999]).toBe(999);
      expect(await pool.apply(lastMadeLeft)).toBe(false);
    } finally {
      await pool.terminate();
    }
  });
});
