import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { BrokenBarrierError } from '../lib/base/errors.js';
import { Barrier } from '../primitives/synchronize.js';

const fixtures = new URL('./fixtures/sync-tasks.ts', import.meta.url).href;
const barrierSoak = task(fixtures, 'barrierSoak');

function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
}

describe('Barrier basics (main thread, async parties)', () => {
  test('arrival indices 0..parties-1; properties', async () => {
    const b = new Barrier(3);
    expect(b.parties).toBe(3);
    expect(b.nWaiting).toBe(0);
    expect(b.broken).toBe(false);
    const first = b.wait();
    const second = b.wait();
    await new Promise((r) => setImmediate(r));
    expect(b.nWaiting).toBe(2);
    const third = b.wait();
    const indices = await Promise.all([first, second, third]);
    expect(indices.sort()).toEqual([0, 1, 2]);
    expect(b.nWaiting).toBe(0);
    // and again: the barrier is reusable
    expect((await Promise.all([b.wait(), b.wait(), b.wait()])).sort()).toEqual([0, 1, 2]);
  });

  test('constructor checks', () => {
    expect(() => new Barrier(0)).toThrow(RangeError);
    expect(() => new Barrier(-1)).toThrow(RangeError);
    expect(() => new Barrier(1.5)).toThrow(TypeError);
    expect(() => new Barrier(2, 5 as unknown as () => void)).toThrow(TypeError);
  });

  test('parties = 1 passes at once and runs the action each time', async () => {
    let runs = 0;
    const b = new Barrier(1, () => void runs++);
    expect(await b.wait()).toBe(0);
    expect(b.waitSync()).toBe(0);
    expect(runs).toBe(2);
  });

  test('the action runs once, in the last party, before anyone is released', async () => {
    const order: string[] = [];
    const b = new Barrier(3, () => void order.push('action'));
    const all = [0, 1, 2].map(() => b.wait().then((i) => order.push(`released ${i}`)));
    await Promise.all(all);
    expect(order[0]).toBe('action');
    expect(order.filter((o) => o === 'action')).toHaveLength(1);
  });

  test('an action that throws breaks the barrier: the last party gets its error, others BrokenBarrierError', async () => {
    const b = new Barrier(3, () => {
      throw new Error('boom');
    });
    const results = await Promise.all([settle(b.wait()), settle(b.wait()), settle(b.wait())]);
    const errors = results.map((r) => (r.ok ? null : (r.error as Error)));
    expect(errors.filter((e) => e instanceof BrokenBarrierError)).toHaveLength(2);
    expect(errors.filter((e) => e?.message === 'boom')).toHaveLength(1);
    expect(b.broken).toBe(true);
    await expect(b.wait()).rejects.toThrow(BrokenBarrierError);
    b.reset();
    expect(b.broken).toBe(false);
  });

  test('abort breaks waiting parties and later ones; reset makes it usable again', async () => {
    const b = new Barrier(3);
    const w1 = settle(b.wait());
    const w2 = settle(b.wait());
    await new Promise((r) => setImmediate(r));
    b.abort();
    for (const r of await Promise.all([w1, w2])) {
      expect(r.ok).toBe(false);
      expect((r as { error: BrokenBarrierError }).error).toBeInstanceOf(BrokenBarrierError);
      expect((r as { error: BrokenBarrierError }).error.code).toBe('ERR_BROKEN_BARRIER');
    }
    expect(b.broken).toBe(true);
    expect(() => b.waitSync()).toThrow(BrokenBarrierError);
    b.reset();
    expect(b.broken).toBe(false);
    expect((await Promise.all([b.wait(), b.wait(), b.wait()])).sort()).toEqual([0, 1, 2]);
  });

  test('reset while parties wait: they get BrokenBarrierError, the barrier is not broken', async () => {
    const b = new Barrier(2);
    const w = settle(b.wait());
    await new Promise((r) => setImmediate(r));
    b.reset();
    const r = await w;
    expect(r.ok).toBe(false);
    expect(b.broken).toBe(false);
    expect((await Promise.all([b.wait(), b.wait()])).sort()).toEqual([0, 1]);
  });

  test('a timeout breaks the barrier after ~timeout; the default timeout comes from the constructor', async () => {
    const b = new Barrier(2);
    let t = performance.now();
    await expect(b.wait(100)).rejects.toThrow(BrokenBarrierError);
    expect(performance.now() - t).toBeGreaterThanOrEqual(95);
    expect(b.broken).toBe(true);
    b.reset();
    const d = new Barrier(2, null, 60);
    t = performance.now();
    expect(() => d.waitSync()).toThrow(BrokenBarrierError);
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
    expect(d.broken).toBe(true);
  });
});

describe('Barrier across worker threads', () => {
  test('5 parties x 1000 passes: each index once per pass, action once per pass before release', async () => {
    const parties = 5;
    const passes = 1000;
    const log = new Int32Array(new SharedArrayBuffer(4 * parties * passes));
    const actions = new Int32Array(new SharedArrayBuffer(8));
    (globalThis as { __syncActions?: Int32Array }).__syncActions = actions;
    const b = new Barrier(parties, () => {
      Atomics.add((globalThis as unknown as { __syncActions: Int32Array }).__syncActions, 0, 1);
    });
    const procs = [1, 2, 3, 4].map(() => new Process({ target: barrierSoak, args: [b, passes, log, actions] }));
    procs.forEach((p) => p.start());
    try {
      for (let pass = 0; pass < passes; pass++) {
        const index = await b.wait(20_000);
        if (Atomics.load(actions, 0) < pass + 1) Atomics.add(actions, 1, 1);
        Atomics.add(log, pass * parties + index, 1);
      }
      await Promise.all(procs.map((p) => p.join(20_000)));
      expect(procs.map((p) => p.exitCode)).toEqual([0, 0, 0, 0]);
    } finally {
      procs.forEach((p) => p.terminate());
    }
    expect(Array.from(log).every((n) => n === 1)).toBe(true);
    expect(actions[0]).toBe(passes);
    expect(actions[1]).toBe(0);
  }, 60_000);
});
