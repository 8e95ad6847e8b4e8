// Calls with one number argument travel packed (Batch.c, lib/engine/batch-builder.ts): which batches are
// packed, and that packed calls answer as any call does, each exactly once, on both runtimes.
import { EngineCore, type CoreJob, type Dispatcher } from '../lib/engine/core.js';
import { buildBatch, takeBatch } from '../lib/engine/batch-builder.js';
import { HANDLES, type Job } from '../lib/engine/engine.js';
import type { Flight } from '../lib/engine/flights.js';
import { Pool, task } from '../lib/index.js';
import { fixture, runtimes } from './helpers/runtimes.js';

const square = { kind: 'src', src: '(x) => x * x' } as Job['spec'];

/** The batch the engine writes for `jobs` (all queued, all taken as one batch). */
function batchOf(jobs: Partial<Job>[]) {
  const dispatcher: Dispatcher<CoreJob> = { pump: () => {}, abortSent: () => {}, drained: () => true, stop: () => {} };
  const core = new EngineCore<CoreJob>(dispatcher);
  for (const extra of jobs) core.submit({ spec: square, args: [], flags: 0, settle: () => {}, ...extra });
  const taken = takeBatch(core, jobs.length);
  const flight = { id: 1, jobs: taken, end: taken.length, notes: 0 } as Flight;
  const { batch } = buildBatch(core, flight);
  for (const job of taken) core.finish(job, true, undefined); // settled: nothing keeps the test alive
  return batch;
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => ({ args: [i * 1.5] }));

test('a batch of one-number calls of one function carries their numbers packed, and no task list', () => {
  const batch = batchOf(numbers(64));
  expect(batch.t).toEqual([]);
  expect(batch.specs).toEqual([square]);
  expect([...new Float64Array(batch.c!)]).toEqual(numbers(64).map((j) => j.args[0]));
});

test.each([
  ['too few calls to gain', numbers(8)],
  ['one argument is not a number', [...numbers(63), { args: ['63'] }]],
  ['a call has two arguments', [...numbers(63), { args: [1, 2] }]],
  ['a call has flags (handles to revive)', [...numbers(63), { args: [1], flags: HANDLES }]],
  ['two functions', [...numbers(63), { args: [1], spec: { kind: 'src', src: '(x) => -x' } as Job['spec'] }]],
])('not packed when %s: the usual task list', (_why, jobs) => {
  const batch = batchOf(jobs as Partial<Job>[]);
  expect(batch.c).toBeUndefined();
  expect(batch.t.length).toBe(3 * jobs.length);
});

describe.each(runtimes)('packed calls (%s workers)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('every call answers once with its own result; numbers cross exactly; a call that throws fails alone', async () => {
    const special = [-0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 5e-324, 1.7976931348623157e308];
    const inputs = Array.from({ length: 3000 }, (_, i) => (i < special.length ? special[i] : i - 500));
    const fn = (x: number) => {
      if (x === 1234) throw new RangeError('no 1234');
      return [x, Object.is(x, -0)];
    };
    const results = await Promise.allSettled(inputs.map((x) => pool.applyAsync(fn, [x]).get()));
    for (let i = 0; i < inputs.length; i++) {
      const r = results[i];
      if (inputs[i] === 1234) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason.message).toBe('no 1234');
      } else {
        expect(r.status).toBe('fulfilled');
        const [x, negZero] = (r as PromiseFulfilledResult<[number, boolean]>).value;
        expect(Object.is(x, inputs[i])).toBe(true);
        expect(negZero).toBe(Object.is(inputs[i], -0));
      }
    }
  });

  test('a module function (loaded by the first packed batch) answers every packed call', async () => {
    const square = task<(x: number) => number>(fixture('pool-tasks.ts'), 'square');
    const inputs = Array.from({ length: 1000 }, (_, i) => i - 300.5);
    const got = await Promise.all(inputs.map((x) => pool.applyAsync(square, [x]).get()));
    expect(got).toEqual(inputs.map((x) => x * x));
  });

  test('imapUnordered with chunksize 1 over numbers (calls of one item each) gives every result once', async () => {
    const seen: number[] = [];
    for await (const v of pool.imapUnordered((x: number) => x * 2, Array.from({ length: 2000 }, (_, i) => i), 1)) seen.push(v);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i * 2));
  });
});
