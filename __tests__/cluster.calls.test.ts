// Per-call bounds on a cluster: a Redis that accepts connections and never answers rejects within 5 s with
// its cause; a call's `timeout` and `apply`'s `signal` settle the call and free the host's worker; each
// result is counted for the host that ran it.
import { connect, createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { AbortError, ConnectionClosedError, TimeoutError, task } from '../lib/index.js';
import { Pool } from '../lib/cluster/index.js';
import { fixture } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { HostProcess } from './helpers/redis-hosts.js';
import { until } from './helpers/until.js';

const tasks = fixture('cluster-tasks.ts');
const sleepDouble = task<(x: number, ms?: number) => Promise<number>>(tasks, 'sleepDouble');
const square = task<(x: number) => number>(tasks, 'square');

const cluster = useCluster('cluster calls key');
let h: HostProcess;
let pool: Pool;

beforeAll(async () => {
  h = await cluster.host({ queue: 'calls', concurrency: 1 });
  pool = cluster.pool({ queue: 'calls' });
}, 120_000);

test('a Redis that accepts connections and never answers: the call rejects within 5 s, saying so', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const p = new Pool({ connection: `redis://127.0.0.1:${port}`, authkey: cluster.authkey });
  try {
    const started = Date.now();
    const err = await p.apply(square, [1]).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.message).toMatch(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(connected, but it did not answer`));
  } finally {
    await p.terminate();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
}, 30_000);

test('a call\'s timeout rejects it with TimeoutError and frees the host\'s worker for the next call', async () => {
  expect(await pool.apply(square, [2])).toBe(4); // the host is warm
  const started = Date.now();
  const err = await pool.apply(sleepDouble, [1, 60_000], { timeout: 500 }).catch((e) => e);
  expect(err).toBeInstanceOf(TimeoutError);
  expect(err.message).toMatch(/did not finish within 500 ms/);
  // the host has one worker: had the hung task kept it, this would wait a minute
  expect(await pool.apply(square, [3])).toBe(9);
  expect(Date.now() - started).toBeLessThan(30_000);
  await expect(pool.apply(square, [1], { timeout: -1 })).rejects.toBeInstanceOf(TimeoutError); // a negative timeout is 0
  await expect(pool.apply(square, [1], { timeout: '1' as never })).rejects.toBeInstanceOf(TypeError);
}, 60_000);

test('a map\'s timeout rejects the whole map with TimeoutError, runs its callbacks once, and frees the host\'s worker', async () => {
  const started = Date.now();
  const errors: Error[] = [];
  const res = pool.mapAsync((ms: number) => new Promise((r) => setTimeout(r, ms)), [60_000, 60_000, 60_000], 1, { timeout: 400, errorCallback: (e) => errors.push(e) });
  const err = await res.get().catch((e) => e);
  expect(err).toBeInstanceOf(TimeoutError);
  expect(err.message).toMatch(/did not finish within 400 ms/);
  expect(errors).toEqual([err]);
  await expect(pool.starmap((ms: number) => new Promise((r) => setTimeout(r, ms)), [[60_000]], { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
  expect(await pool.map(square, [1, 2, 3], 1, { timeout: 20_000 })).toEqual([1, 4, 9]);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);

test('apply honours its signal on the cluster, and frees the host\'s worker', async () => {
  const ac = new AbortController();
  const started = Date.now();
  const pending = pool.apply(sleepDouble, [1, 60_000], { signal: ac.signal });
  setTimeout(() => ac.abort('enough'), 300); // mid-run: the task sleeps for a minute
  const err = await pending.catch((e) => e);
  expect(err).toBeInstanceOf(AbortError);
  expect(err.cause).toBe('enough');
  expect(await pool.apply(square, [4])).toBe(16);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);

test('hosts(): each host that answered, with its name, pid and the tasks it ran', async () => {
  await pool.map(square, [1, 2, 3, 4, 5], 1);
  const hosts = pool.hosts();
  expect(hosts).toEqual([expect.objectContaining({ host: hostname(), pid: h.pid })]);
  expect(hosts[0].completed).toBeGreaterThanOrEqual(5);
  expect(hosts[0].lastSeen).toBeGreaterThan(Date.now() - 60_000);
}, 60_000);

test('imap: next(timeout) rejects TimeoutError and the iterator stays usable; a `timeout` option ends the whole loop', async () => {
  const slow = pool.imap((x: number) => new Promise((r) => setTimeout(() => r(x * 2), 1500)), [5, 6], 1);
  await expect(slow.next(50)).rejects.toBeInstanceOf(TimeoutError);
  expect(await slow.next()).toEqual({ done: false, value: 10 });
  expect(await slow.next()).toEqual({ done: false, value: 12 });
  expect((await slow.next()).done).toBe(true);
  // a loop whose tasks never return: `timeout` ends it with TimeoutError, as map's does, and frees the host's worker
  for (const unordered of [false, true]) {
    const started = Date.now();
    const never = (x: number) => new Promise((r) => setTimeout(r, 60_000, x));
    const loop = unordered ? pool.imapUnordered(never, [1, 2, 3], 1, { timeout: 400 }) : pool.imap(never, [1, 2, 3], 1, { timeout: 400 });
    const err = await (async () => {
      for await (const _ of loop) { /* none comes */ }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/did not finish within 400 ms/);
    expect(await pool.apply(square, [5])).toBe(25); // one worker on the host: the hung task gave it back
    expect(Date.now() - started).toBeLessThan(30_000);
  }
  // finished in time: the loop ends normally and the timer is gone (no open handle: jest would say)
  const out: number[] = [];
  for await (const v of pool.imap(square, [1, 2, 3], 1, { timeout: 20_000 })) out.push(v as number);
  expect(out).toEqual([1, 4, 9]);
}, 90_000);

describe('Redis hangs while the client renews its old jobs (jobLifetime 1 s: every look renews the waiting job)', () => {
  const queue = 'renew-hang'; // no host serves it until the test starts one: the job waits, and is renewed
  /** Resolves once the waiting job was withdrawn and sent again (same id, added anew: another timestamp). */
  async function renewed(): Promise<void> {
    const redis = cluster.redis.client();
    const added = async () => {
      const [id] = await redis.lrange(`multiproc:${queue}:wait`, 0, -1);
      return id && (await redis.hget(`multiproc:${queue}:${id}`, 'timestamp'));
    };
    const first = await until(added, 20_000, 'the job to wait');
    await until(async () => ((await added()) || first) !== first, 20_000, 'the job to be renewed');
  }

  test('a Redis that stops answering (SIGSTOP): the call rejects with ConnectionClosedError in bounded time', async () => {
    const p = cluster.pool({ queue, jobLifetime: 1000 });
    const errors: Error[] = [];
    const res = p.applyAsync(square, [7], { errorCallback: (e) => errors.push(e) });
    await renewed();
    cluster.redis.pause();
    try {
      const started = Date.now();
      const err = await res.get().catch((e) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(err.message).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1/);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(errors).toEqual([err]);
    } finally {
      cluster.redis.resume();
    }
    // with a timeout shorter than the outage handling, the timeout answers first
    const timed = p.applyAsync(square, [8], { timeout: 2500 });
    await renewed();
    cluster.redis.pause();
    try {
      await expect(timed.get()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      cluster.redis.resume();
    }
  }, 90_000);

  test('Redis hangs just after taking the withdrawal, the client gives up on it, and Redis then runs it: the call is sent again, not lost', async () => {
    // a proxy in front of Redis freezes the server (SIGSTOP) as soon as the withdrawal (BullMQ's removeJob, the
    // only command naming the queue's 'repeat' key) has passed, and lets it go on once the client, hearing
    // nothing, dropped that connection: Redis then reads the withdrawal and removes the job
    const marker = Buffer.from(`multiproc:${queue}:repeat`);
    let froze = 0;
    let closing = false;
    let thaw: ReturnType<typeof setTimeout> | undefined;
    const links: Socket[] = [];
    const proxy = createServer((client) => {
      if (closing) return void client.destroy();
      const upstream = connect(cluster.redis.port, '127.0.0.1');
      links.push(client, upstream);
      let frozen = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        if (!frozen && froze === 0 && chunk.includes(marker)) {
          frozen = true;
          froze++;
          cluster.redis.pause();
          thaw = setTimeout(() => cluster.redis.resume(), 20_000); // a bound: the client drops the link long before
        }
      });
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('close', () => {
        upstream.end(); // what the client sent before leaving still reaches Redis
        if (frozen) cluster.redis.resume();
      });
      upstream.on('close', () => client.destroy());
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const p = new Pool({ connection: `redis://127.0.0.1:${(proxy.address() as { port: number }).port}`, authkey: cluster.authkey, queue, jobLifetime: 1000 });
    try {
      const seen: number[] = [];
      const res = p.applyAsync(square, [9], { callback: (v) => seen.push(v) });
      const redis = cluster.redis.client();
      await until(async () => froze > 0 && (await redis.ping()) === 'PONG', 30_000, 'a withdrawal, a freeze, and Redis going on');
      await cluster.host({ queue, concurrency: 1 });
      expect(await res.get(30_000)).toBe(81);
      expect(seen).toEqual([81]);
      expect(await p.apply(square, [3])).toBe(9);
    } finally {
      clearTimeout(thaw);
      cluster.redis.resume();
      closing = true;
      const closed = new Promise((r) => proxy.close(r));
      for (const s of links) s.destroy();
      await p.terminate();
      for (const s of links) s.destroy();
      await closed;
    }
  }, 120_000);
});
