// imap/imapUnordered with chunksize 1 send each item as a call of its own (no list around the item or its
// result): the results, their order, errors at their place, handles among items and cancellation hold.
import { Pool, SerializationError, Value } from '../lib/index.js';
import { runtimes } from './helpers/runtimes.js';

/** Reads an iterator to its end, as Python's `next()` in a loop: a value, or what `onError` makes of an error at its place. */
async function drain(it: AsyncIterator<unknown>, onError: (err: unknown) => unknown): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (;;) {
    try {
      const step = await it.next();
      if (step.done) return seen;
      seen.push(step.value);
    } catch (err) {
      seen.push(onError(err));
    }
  }
}

describe.each(runtimes)('imap with chunksize 1 (%s workers)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('results in input order (imap) and all of them (imapUnordered), list results kept as lists', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => i);
    const ordered: unknown[] = [];
    for await (const v of pool.imap((x: number) => (x % 3 === 0 ? [x, [x]] : x * 2), items)) ordered.push(v);
    expect(ordered).toEqual(items.map((x) => (x % 3 === 0 ? [x, [x]] : x * 2)));
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered((x: number) => x + 1, items, 1)) unordered.push(v as number);
    expect(unordered.sort((a, b) => a - b)).toEqual(items.map((x) => x + 1));
    // batched: far fewer runs than items
    expect(pool.stats().batches).toBeLessThan(3000);
  });

  test('the input is read ahead in steps of half the window, not one item per result taken', async () => {
    let read = 0;
    function* source() {
      for (let i = 0; i < 5000; i++) {
        read++;
        yield i;
      }
    }
    const it = pool.imapUnordered((x: number) => x, source());
    await it.next();
    const window = read; // read ahead at the start: 1024 items for 2 workers
    expect(window).toBe(1024);
    for (let i = 1; i < 500; i++) await it.next();
    expect(read).toBe(window); // 500 taken: still more than half the window in flight, nothing read
    for (let i = 500; i < 520; i++) await it.next();
    expect(read).toBe(window + 512); // half the window freed: read in one step
    await it.return();
  });

  test('a failing item raises at its place; the items after it still come', async () => {
    const it = pool.imap(async (x: number) => {
      if (x === 2) throw new RangeError(`bad ${x}`);
      return x;
    }, [0, 1, 2, 3, 4]);
    const seen = await drain(it, (err) => `${(err as Error).name}: ${(err as Error).message}`);
    expect(seen).toEqual([0, 1, 'RangeError: bad 2', 3, 4]);
  });

  test('an item that cannot be sent is named by its place in the input; the others arrive', async () => {
    const getter = { get g(): number { throw new Error('item getter'); } };
    const it = pool.imap((x: unknown) => x, [1, 2, getter, 4, () => 5, 6]);
    const seen = await drain(it, (err) => {
      expect(err).toBeInstanceOf(SerializationError);
      return (err as SerializationError).path;
    });
    expect(seen).toEqual([1, 2, 'items[2].g', 4, 'items[4]', 6]);
  });

  test('a live object among the items reaches the worker as itself', async () => {
    const shared = new Value('i', 0, { lock: false });
    const bump = (v: { value: number }) => {
      v.value = 41;
      return v.value + 1;
    };
    const got: unknown[] = [];
    for await (const r of pool.imap(bump, [shared, shared, shared])) got.push(r);
    expect(got).toEqual([42, 42, 42]);
    expect(shared.value).toBe(41); // written through in the worker: the same shared memory
  });

  test('aborting the signal ends the loop with AbortError and drops the items not started', async () => {
    const ac = new AbortController();
    const hold = (x: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      return x;
    };
    const before = pool.stats().completed;
    const got: number[] = [];
    const err = await (async () => {
      for await (const v of pool.imapUnordered(hold, Array.from({ length: 4000 }, (_, i) => i), 1, { signal: ac.signal })) {
        got.push(v as number);
        if (got.length === 5) ac.abort();
      }
    })().then(() => null, (e) => e);
    expect(err?.name).toBe('AbortError');
    expect(got).toHaveLength(5);
    expect(await pool.apply((x: number) => x * 3, [3])).toBe(9);
    expect(pool.stats().completed - before).toBeLessThan(1000);
  });
});
