import { Queue, JoinableQueue, SimpleQueue } from '../primitives/queues.js';
import { ValueError } from '../lib/base/errors.js';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { ConnectionClosedError, Empty, Full, SerializationError } from '../lib/base/errors.js';

const fixtures = new URL('./fixtures/queue-tasks.ts', import.meta.url).href;

async function elapsed(p: Promise<unknown>): Promise<[unknown, number]> {
  const t = Date.now();
  try {
    await p;
    return ['ok', Date.now() - t];
  } catch (err) {
    return [err, Date.now() - t];
  }
}

describe('Queue in one thread', () => {
  test('FIFO, qsize/empty/full, putNowait/getNowait', async () => {
    const q = new Queue<number>(3);
    expect(q.maxsize).toBe(3);
    expect(q.empty()).toBe(true);
    await q.put(1);
    q.putNowait(2);
    q.putSync(3);
    expect(q.qsize()).toBe(3);
    expect(q.full()).toBe(true);
    expect(() => q.putNowait(4)).toThrow(Full);
    expect(await q.get()).toBe(1);
    expect(q.getNowait()).toBe(2);
    expect(q.getSync()).toBe(3);
    expect(q.empty()).toBe(true);
    expect(() => q.getNowait()).toThrow(Empty);
    const unbounded = new Queue();
    for (let i = 0; i < 10000; i++) unbounded.putNowait(i);
    expect(unbounded.full()).toBe(false);
    expect(unbounded.qsize()).toBe(10000);
    for (let i = 0; i < 10000; i++) expect(unbounded.getNowait()).toBe(i);
  });

  test("Python's timeout rules for get", async () => {
    const q = new Queue();
    let [err, ms] = await elapsed(q.get(false));
    expect(err).toBeInstanceOf(Empty);
    expect(ms).toBeLessThan(50);
    [err, ms] = await elapsed(q.get(false, 10_000)); // timeout ignored when not blocking
    expect(err).toBeInstanceOf(Empty);
    expect(ms).toBeLessThan(50);
    [err, ms] = await elapsed(q.get(true, 100));
    expect(err).toBeInstanceOf(Empty);
    expect(ms).toBeGreaterThanOrEqual(90);
    [err, ms] = await elapsed(q.get(true, -1)); // negative = 0
    expect(err).toBeInstanceOf(Empty);
    expect(ms).toBeLessThan(50);
    const t = Date.now();
    expect(() => q.getSync(true, 100)).toThrow(Empty);
    expect(Date.now() - t).toBeGreaterThanOrEqual(90);
    await q.put('x');
    expect(await q.get(true, 100)).toBe('x');
  });

  test("Python's timeout rules for put on a full queue", async () => {
    const q = new Queue(1);
    await q.put(0);
    let [err, ms] = await elapsed(q.put(1, false, 10_000));
    expect(err).toBeInstanceOf(Full);
    expect(ms).toBeLessThan(50);
    [err, ms] = await elapsed(q.put(1, true, 100));
    expect(err).toBeInstanceOf(Full);
    expect(ms).toBeGreaterThanOrEqual(90);
    [err, ms] = await elapsed(q.put(1, true, -5));
    expect(err).toBeInstanceOf(Full);
    expect(ms).toBeLessThan(50);
    const t = Date.now();
    expect(() => q.putSync(1, true, 100)).toThrow(Full);
    expect(Date.now() - t).toBeGreaterThanOrEqual(90);
    expect(q.qsize()).toBe(1); // failed puts took no slot
  });

  test('a blocked put proceeds when a get makes room; a blocked get wakes on put', async () => {
    const q = new Queue(1);
    await q.put('a');
    const blocked = q.put('b');
    expect(await q.get()).toBe('a');
    await blocked;
    expect(await q.get()).toBe('b');
    const waiting = q.get();
    await q.put('c');
    expect(await waiting).toBe('c');
  });

  test('a value that cannot be serialised is refused at put and takes no slot', async () => {
    const q = new Queue(1);
    await expect(q.put({ f: () => 1 })).rejects.toBeInstanceOf(SerializationError);
    await expect(q.put({ f: () => 1 })).rejects.toThrow(/obj\.f: function/);
    expect(() => q.putNowait(Symbol('s'))).toThrow(SerializationError);
    expect(q.qsize()).toBe(0);
    q.putNowait('fits');
    expect(q.getNowait()).toBe('fits');
  });

  test('close: later put/get through this handle fail', async () => {
    for (const q of [new Queue(), new JoinableQueue()]) {
      q.close();
      await expect(q.put('foo')).rejects.toThrow(/is closed/);
      await expect(q.get()).rejects.toThrow(/is closed/);
      expect(() => q.putNowait('foo')).toThrow(ConnectionClosedError);
      expect(() => q.getNowait()).toThrow(/is closed/);
      q.joinThread();
    }
    expect(() => new Queue().joinThread()).toThrow(/not closed/);
  });

  test('bad arguments', async () => {
    expect(() => new Queue(1.5)).toThrow(TypeError);
    expect(() => new Queue('2' as any)).toThrow(TypeError);
    expect(new Queue(-3).maxsize).toBe(0);
    await expect(new Queue().get('yes' as any)).rejects.toThrow(TypeError);
    await expect(new Queue().get(true, 'x' as any)).rejects.toThrow(TypeError);
  });

  test('JoinableQueue: taskDone too many times; join waits for every item', async () => {
    const q = new JoinableQueue<number>();
    expect(() => q.taskDone()).toThrow('task_done() called too many times');
    await q.join(); // nothing unfinished
    await q.put(1);
    await q.put(2);
    // join() settles only after the last taskDone(): the order of events shows it, no sleep needed
    const order: string[] = [];
    const j = q.join().then(() => order.push('joined'));
    await q.get();
    q.taskDone();
    order.push('first done');
    await q.get();
    order.push('second taken');
    q.taskDone();
    order.push('second done');
    await j;
    expect(order).toEqual(['first done', 'second taken', 'second done', 'joined']);
    q.joinSync();
    expect(() => q.taskDone()).toThrow(ValueError);
  });

  test('SimpleQueue: put/get/empty/close', async () => {
    const q = new SimpleQueue<string>();
    expect(q.empty()).toBe(true);
    q.put('a');
    q.put('b');
    expect(q.empty()).toBe(false);
    expect(await q.get()).toBe('a');
    expect(q.getSync()).toBe('b');
    const waiting = q.get();
    q.put('c');
    expect(await waiting).toBe('c');
    q.close();
    expect(() => q.put('x')).toThrow(ConnectionClosedError);
    await expect(q.get()).rejects.toThrow('handle is closed');
  });

  test('SimpleQueue: every operation after close() says it is closed (Python: OSError handle is closed)', async () => {
    const q = new SimpleQueue<number>();
    q.put(1);
    q.close();
    expect(() => q.empty()).toThrow(/closed/);
    expect(() => q.put(2)).toThrow(/closed/);
    expect(() => q.getSync()).toThrow(/closed/);
    await expect(q.get()).rejects.toThrow(/closed/);
    // Queue.empty() reads through the closed reader too, as in Python
    const q2 = new Queue<number>();
    q2.close();
    expect(() => q2.empty()).toThrow(/closed/);
  });
});

describe('Queue across worker threads', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool(8);
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('4 producers x 4 consumers x 25k items: every item exactly once, FIFO per producer', async () => {
    const N = 25_000;
    const q = new Queue(1000);
    const consumers = [0, 1, 2, 3].map(() => pool.apply(task(fixtures, 'consume'), [q]) as Promise<Int32Array>);
    const producers = [0, 1, 2, 3].map((id) => pool.apply(task(fixtures, id % 2 ? 'produce' : 'produceAsync'), [q, id, N]));
    expect(await Promise.all(producers)).toEqual([N, N, N, N]);
    for (let i = 0; i < 4; i++) await q.put(null);
    const seen = new Uint8Array(4 * N);
    let total = 0;
    for (const flat of await Promise.all(consumers)) {
      for (let k = 0; k < flat.length; k += 2) {
        const slot = flat[k] * N + flat[k + 1];
        expect(seen[slot]).toBe(0);
        seen[slot] = 1;
        total++;
      }
    }
    expect(total).toBe(4 * N);
    expect(q.empty()).toBe(true);
  }, 60_000);

  test('a worker blocked in get with a timeout sees Empty after ~timeout, or the item', async () => {
    const q = new Queue();
    const [name, ms] = (await pool.apply(task(fixtures, 'timedGet'), [q, 100])) as [string, number];
    expect(name).toBe('Empty');
    expect(ms).toBeGreaterThanOrEqual(90);
    await q.put(42);
    expect(await pool.apply(task(fixtures, 'timedGet'), [q, 5000])).toEqual(['42', expect.any(Number)]);
  });

  test('JoinableQueue.join with worker consumers', async () => {
    const q = new JoinableQueue<number | null>();
    const results = new Queue<number>();
    const workers = [0, 1].map(() => pool.apply(task(fixtures, 'work'), [q, results]) as Promise<number>);
    for (let i = 1; i <= 100; i++) await q.put(i);
    await q.join();
    expect(results.qsize()).toBe(100); // every result was put before its taskDone
    let sum = 0;
    for (let i = 0; i < 100; i++) sum += await results.get();
    expect(sum).toBe((100 * 101 * 201) / 6);
    await q.put(null);
    await q.put(null);
    const counts = await Promise.all(workers);
    expect(counts[0] + counts[1]).toBe(100);
  });

  test('JoinableQueue: an item is counted unfinished before another thread can get it (taskDone at once never overcounts)', async () => {
    // A consumer marks each item done the moment it has it, while a producer thread puts as fast as it
    // can: were the count taken after the item became gettable, taskDone() would throw ValueError.
    const q = new JoinableQueue<number>();
    const N = 50_000;
    const [put, got] = await Promise.all([
      pool.apply(task(fixtures, 'putMany'), [q, N]),
      pool.apply(task(fixtures, 'getAndMarkDone'), [q, N]),
    ]);
    expect([put, got]).toEqual([N, N]);
    await q.join();
    expect(q.qsize()).toBe(0);
  });

  test('a Process target puts; the creator gets', async () => {
    const q = new Queue();
    const p = new Process({ target: task(fixtures, 'produceAsync'), args: [q, 9, 100] });
    p.start();
    for (let i = 0; i < 100; i++) expect(await q.get()).toEqual([9, i]);
    await p.join();
    expect(p.exitCode).toBe(0);
  });
});
