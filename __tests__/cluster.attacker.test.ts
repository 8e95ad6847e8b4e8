// The cluster against someone with full Redis access but not the authkey (an ioredis client of the test's
// own): forged, swapped and replayed results, jobs moved where no host looks, squatted job ids, a paused
// queue, malformed fields, FLUSHDB, CLIENT KILL and a full Redis mid-run. The bar: nothing forged is run or
// accepted, every call answers once (a result, or a clear error), and hosts keep serving.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AuthenticationError, WorkerLostError, task } from '../lib/index.js';
import type { Pool } from '../lib/cluster/index.js';
import { fixture, settledOrPending } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { until } from './helpers/redis.js';
import { captureWarnings } from './helpers/warnings.js';
import type { HostProcess } from './helpers/redis-hosts.js';

const tasks = fixture('cluster-tasks.ts');
const square = task<(x: number) => number>(tasks, 'square');
const appendLine = task<(file: string, pad?: string) => number>(tasks, 'appendLine');
const markAndSleep = task<(file: string, ms: number, pad?: string) => Promise<number>>(tasks, 'markAndSleep');
const sleepDouble = task<(x: number, ms?: number) => Promise<number>>(tasks, 'sleepDouble');

const cluster = useCluster(randomBytes(32).toString('hex'));
let attacker: Redis;
beforeAll(() => {
  attacker = cluster.redis.client();
});
/** One host on queue 'served', started once, for the tests that need a host serving from the start. */
let served: Promise<HostProcess> | null = null;
const servedHost = () => (served ??= cluster.host({ queue: 'served', concurrency: 2 }));

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
const waiting = (queue: string, n = 1) =>
  until(() => attacker.lrange(`multiproc:${queue}:wait`, 0, -1).then((ids) => ids.length >= n && ids), 20_000, `${n} waiting job(s)`);

describe('results', () => {
  test('a job marked completed in Redis with a forged returnvalue: the call rejects with WorkerLostError, never takes the value', async () => {
    const p = cluster.pool({ queue: 'forged-result' });
    const pending = p.apply(square, [3]).catch((e) => e);
    const [id] = await waiting('forged-result');
    await attacker.multi()
      .lrem('multiproc:forged-result:wait', 0, id)
      .zadd('multiproc:forged-result:completed', Date.now(), id)
      .hset(`multiproc:forged-result:${id}`, 'returnvalue', '666', 'finishedOn', Date.now())
      .exec();
    const err = await settledOrPending(pending, 20_000);
    expect(err).toBeInstanceOf(WorkerLostError);
  }, 60_000);

  test('sealed result entries copied to another call, or to another client, are not taken as their answers', async () => {
    const h = await cluster.host({ queue: 'swap', concurrency: 2 });
    const a = cluster.pool({ queue: 'swap' });
    const b = cluster.pool({ queue: 'swap' });
    // the attacker copies every result entry as it comes, and adds it again on the same stream and on the other client's
    const copied: string[] = [];
    const spy = attacker.duplicate();
    const streams = new Map<string, string>();
    const stop = { now: false };
    const copying = (async () => {
      while (!stop.now) {
        const keys = await spy.keys('multiproc:swap:results:*');
        for (const key of keys) {
          const entries = await spy.xrangeBuffer(key, streams.get(key) ?? '-', '+');
          for (const [eid, fields] of entries) {
            const eidText = eid.toString();
            if (copied.includes(eidText)) continue;
            copied.push(eidText);
            streams.set(key, eidText);
            for (const target of keys) await spy.xadd(target, '*', 'r', fields[1]);
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      for (let round = 0; round < 5; round++) {
        const [xa, xb] = await Promise.all([a.map(square, [1, 2, 3], 1), b.map(sleepDouble, [1, 2, 3], 1)]);
        expect(xa).toEqual([1, 4, 9]);
        expect(xb).toEqual([2, 4, 6]);
      }
      expect(copied.length).toBeGreaterThan(0);
      expect(h.proc.exitCode).toBe(null);
    } finally {
      stop.now = true;
      await copying;
      spy.disconnect();
    }
  }, 90_000);

  test('an entry added far ahead on a client\'s result stream, then the stream deleted: later results are still read', async () => {
    await servedHost();
    const p = cluster.pool({ queue: 'served' });
    const file = join(cluster.scratch, 'ahead');
    const first = p.apply(markAndSleep, [file, 1500]);
    const [id] = await until(() => attacker.lrange('multiproc:served:active', 0, -1).then((ids) => ids.length > 0 && ids), 20_000, 'the job to run');
    const stream = `multiproc:served:results:${id.split('.')[0]}`;
    // the client reads it (it does not open: ignored) and would read on after it; then the stream goes
    await attacker.xadd(stream, `${Date.now() + 365 * 24 * 3600_000}-0`, 'r', Buffer.from([1, 0, 0, 0, 0, 0, 0, 9, 9, 9]));
    await until(async () => (await attacker.xlen(stream)) === 0, 10_000, 'the client to read the forged entry');
    await attacker.del(stream);
    expect(await settledOrPending(first, 30_000)).toEqual(expect.any(Number));
    expect(await settledOrPending(p.map(square, [1, 2, 3], 1), 30_000)).toEqual([1, 4, 9]);
  }, 90_000);

  test('a huge entry on a client\'s result stream (longer to read than the link\'s silence timeout) does not stop its results', async () => {
    const p = cluster.pool({ queue: 'huge' });
    const first = p.apply(square, [2]);
    const [id] = await waiting('huge');
    const stream = `multiproc:huge:results:${id.split('.')[0]}`;
    const big = Buffer.alloc(128 * 1024 * 1024, 1);
    await attacker.xadd(stream, '*', 'r', big);
    await cluster.host({ queue: 'huge' });
    expect(await settledOrPending(first, 45_000)).toBe(4);
    expect(await settledOrPending(p.apply(square, [3]), 30_000)).toBe(9);
  }, 90_000);
});

describe('jobs moved where no host looks', () => {
  test('a waiting job taken out of the wait list (its entry left in Redis): WorkerLostError, not a call that waits forever', async () => {
    const p = cluster.pool({ queue: 'limbo' });
    const pending = p.apply(square, [5]).catch((e) => e);
    const [id] = await waiting('limbo');
    await attacker.lrem('multiproc:limbo:wait', 0, id);
    await cluster.host({ queue: 'limbo' });
    const err = await settledOrPending(pending, 30_000);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as Error).message).toMatch(/outside the queue's lists/);
    expect(await p.apply(square, [6])).toBe(36);
  }, 90_000);

  test('a job id taken in Redis before the client adds it (BullMQ then adds nothing): WorkerLostError', async () => {
    const p = cluster.pool({ queue: 'squat' });
    const first = p.apply(square, [2]);
    const [id] = await waiting('squat');
    const [clientId, seq] = id.split('.');
    // the next call's job: the attacker writes an entry under its id first
    await attacker.hset(`multiproc:squat:${clientId}.${Number(seq) + 1}`, 'name', clientId, 'data', '{}', 'opts', '{}', 'timestamp', Date.now());
    const second = p.apply(square, [3]).catch((e) => e);
    await cluster.host({ queue: 'squat' });
    expect(await first).toBe(4);
    const err = await settledOrPending(second, 30_000);
    expect(err).toBeInstanceOf(WorkerLostError);
  }, 90_000);

  test('BullMQ\'s queue paused in Redis: one MultiprocClusterWarning saying so; resumed, the calls run', async () => {
    await servedHost();
    const p = cluster.pool({ queue: 'served' });
    expect(await p.apply(square, [2])).toBe(4);
    const connection = attacker.duplicate();
    const queue = new Queue('served', { connection, prefix: 'multiproc' });
    const { warnings, restore } = captureWarnings();
    try {
      await queue.pause();
      const pending = p.apply(square, [3]).catch((e) => e);
      await until(() => warnings.some((w) => w.name === 'MultiprocClusterWarning'), 30_000, 'the warning');
      expect(warnings.find((w) => w.name === 'MultiprocClusterWarning')!.message).toMatch(/paused/);
      await queue.resume();
      expect(await settledOrPending(pending, 20_000)).toBe(9);
    } finally {
      restore();
      await queue.resume();
      await queue.close();
      connection.disconnect();
    }
  }, 90_000);
});

describe('locks and run records', () => {
  test('the only host killed, its job\'s lock kept alive by the attacker: WorkerLostError (the host\'s sealed beats stopped)', async () => {
    const h = await cluster.host({ queue: 'fakelock', concurrency: 1 });
    const p = cluster.pool({ queue: 'fakelock' });
    const file = join(cluster.scratch, 'fakelock');
    const pending = p.apply(markAndSleep, [file, 120_000]).catch((e) => e);
    await until(() => existsSync(file), 20_000, 'the task to start');
    const [id] = await attacker.lrange('multiproc:fakelock:active', 0, -1);
    await h.kill('SIGKILL');
    // a lock that outlives the host: BullMQ's stalled-job check, and a lock check, would take the job for running
    await attacker.set(`multiproc:fakelock:${id}:lock`, 'forged', 'PX', 600_000);
    const err = await settledOrPending(pending, 45_000);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as Error).message).toMatch(/no live host took the task back/);
  }, 90_000);

  test('a run record marking jobs answered before they ran: the calls fail with WorkerLostError, nothing runs', async () => {
    const p = cluster.pool({ queue: 'donebits' });
    const file = join(cluster.scratch, 'donebits');
    const pending = p.apply(appendLine, [file]).catch((e) => e);
    const [id] = await waiting('donebits');
    const [clientId, seq] = id.split('.');
    await attacker.setbit(`multiproc:donebits:done:${clientId}`, Number(seq), 1);
    const h = await cluster.host({ queue: 'donebits' });
    const err = await settledOrPending(pending, 30_000);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(lines(file)).toBe(0);
    await h.waitFor(/answered before/);
    expect(await p.apply(square, [9])).toBe(81);
  }, 90_000);
});

describe('malformed values', () => {
  test('waiting jobs given data that is not JSON, not an object, or 10 MB of garbage: their calls fail with AuthenticationError, the host serves the next call', async () => {
    const p = cluster.pool({ queue: 'malformed' });
    const pending = [1, 2, 3].map((x) => p.apply(square, [x]).catch((e) => e));
    const ids = await waiting('malformed', 3);
    const values = ['{{{not json', '[1,2,3]', JSON.stringify({ p: 'A'.repeat(10 * 1024 * 1024) })];
    for (const [i, id] of ids.entries()) await attacker.hset(`multiproc:malformed:${id}`, 'data', values[i]);
    const h = await cluster.host({ queue: 'malformed' });
    // refused by the host, which tells the client in a sealed answer
    for (const err of await settledOrPending(Promise.all(pending), 40_000) as unknown[]) expect(err).toBeInstanceOf(AuthenticationError);
    expect(await settledOrPending(p.apply(square, [5]), 30_000)).toBe(25);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);

  test('waiting jobs whose BullMQ opts, progress or parent field is not JSON (BullMQ reads those before multiproc): their calls fail with AuthenticationError naming the field, the host serves the next call', async () => {
    const p = cluster.pool({ queue: 'unreadable' });
    const pending = [1, 2, 3].map((x) => p.apply(square, [x]).catch((e) => e));
    const ids = await waiting('unreadable', 3);
    const fields = ['opts', 'progress', 'parent'];
    for (const [i, id] of ids.entries()) await attacker.hset(`multiproc:unreadable:${id}`, fields[i], '{{{not json');
    const h = await cluster.host({ queue: 'unreadable' });
    // BullMQ used to drop such a job after taking it and take it again forever: now refused, its client told
    const errs = await settledOrPending(Promise.all(pending), 40_000) as unknown[];
    for (const err of errs) expect(err).toBeInstanceOf(AuthenticationError);
    expect(errs.map((err) => (err as Error).message).sort().join('\n')).toMatch(/opts.*\n.*parent.*\n.*progress/s);
    expect(await settledOrPending(p.apply(square, [5]), 30_000)).toBe(25);
    // each ends failed (or removed) in Redis, refused once: not taken again and again
    const ended = async (id: string) => (await attacker.exists(`multiproc:unreadable:${id}`)) === 0 || (await attacker.hget(`multiproc:unreadable:${id}`, 'finishedOn')) !== null;
    await until(async () => (await Promise.all(ids.map(ended))).every(Boolean), 20_000, 'the refused jobs ended');
    expect(h.log.match(/refused job/g)).toHaveLength(3);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);

  test('a client\'s result stream replaced by a string, and a job\'s entry by a string: every call answers, later calls work', async () => {
    await cluster.host({ queue: 'wrongtype' });
    const p = cluster.pool({ queue: 'wrongtype' });
    expect(await p.apply(square, [2])).toBe(4);
    const file = join(cluster.scratch, 'wrongtype');
    const running = p.apply(markAndSleep, [file, 1000]).catch((e) => e);
    await until(() => existsSync(file), 20_000, 'the task to start');
    const [id] = await attacker.lrange('multiproc:wrongtype:active', 0, -1);
    await attacker.set(`multiproc:wrongtype:results:${id.split('.')[0]}`, 'not a stream');
    const outcome = await settledOrPending(running, 30_000);
    expect(typeof outcome === 'number' || outcome instanceof WorkerLostError).toBe(true);
    // a waiting job's entry made a string: BullMQ cannot read it, nor can the client's watch
    const host2 = cluster.pool({ queue: 'wrongtype-2' });
    const waitingCall = host2.apply(square, [3]).catch((e) => e);
    const other = host2.apply(square, [4]).catch((e) => e);
    const ids = await waiting('wrongtype-2', 2);
    await attacker.del(`multiproc:wrongtype-2:${ids[0]}`);
    await attacker.set(`multiproc:wrongtype-2:${ids[0]}`, 'not a hash');
    await cluster.host({ queue: 'wrongtype-2' });
    const outcomes = await settledOrPending(Promise.all([waitingCall, other]), 30_000);
    expect(outcomes).not.toBe('pending');
    expect(await settledOrPending(p.apply(square, [5]), 30_000)).toBe(25);
    expect(await settledOrPending(host2.apply(square, [6]), 30_000)).toBe(36);
  }, 90_000);

  test('the queue\'s global concurrency set to 0 in Redis: one MultiprocClusterWarning saying so; cleared, the calls run', async () => {
    await servedHost();
    const p = cluster.pool({ queue: 'served' });
    expect(await p.apply(square, [2])).toBe(4);
    const { warnings, restore } = captureWarnings();
    try {
      await attacker.hset('multiproc:served:meta', 'concurrency', 0);
      const pending = p.apply(square, [3]).catch((e) => e);
      await until(() => warnings.some((w) => w.name === 'MultiprocClusterWarning'), 30_000, 'the warning');
      expect(warnings.find((w) => w.name === 'MultiprocClusterWarning')!.message).toMatch(/concurrency/);
      await attacker.hdel('multiproc:served:meta', 'concurrency');
      expect(await settledOrPending(pending, 30_000)).toBe(9);
    } finally {
      restore();
      await attacker.hdel('multiproc:served:meta', 'concurrency');
    }
  }, 90_000);

  test('a 20 MB message and garbage on the cancel channel: the host keeps serving', async () => {
    const h = await servedHost();
    const p = cluster.pool({ queue: 'served' });
    expect(await p.apply(square, [2])).toBe(4);
    await attacker.publish('multiproc:served:cancel', `0123456789abcdef ${'A'.repeat(20 * 1024 * 1024)}`);
    await attacker.publish('multiproc:served:cancel', Buffer.from([0xff, 0, 1, 2]));
    await attacker.publish('multiproc:served:cancel', '0123456789abcdef AAAA');
    expect(await settledOrPending(p.apply(square, [3]), 30_000)).toBe(9);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);
});

describe('Redis emptied or cut', () => {
  let h: HostProcess;
  let p: Pool;
  beforeAll(async () => {
    h = await cluster.host({ queue: 'flush', concurrency: 2 });
    p = cluster.pool({ queue: 'flush' });
  }, 120_000);

  test('FLUSHDB mid-map: the map and an imap reject with WorkerLostError; the host keeps serving', async () => {
    expect(await p.map(square, [1, 2, 3], 1)).toEqual([1, 4, 9]);
    let flushed = false;
    const mapping = p.map(sleepDouble, Array.from({ length: 200 }, (_, i) => i), 2, {
      onProgress: (done) => {
        if (done > 10 && !flushed) {
          flushed = true;
          void attacker.flushdb();
        }
      },
    }).catch((e) => e);
    const imapping = (async () => {
      const out: number[] = [];
      for await (const v of p.imapUnordered(sleepDouble, Array.from({ length: 200 }, (_, i) => i), 2)) out.push(v as number);
      return out;
    })().catch((e) => e);
    const [err, err2] = await settledOrPending(Promise.all([mapping, imapping]), 40_000) as [unknown, unknown];
    expect(flushed).toBe(true);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(Array.isArray(err2) ? err2.length === 200 : err2 instanceof WorkerLostError).toBe(true);
    expect(await settledOrPending(p.map(square, [4, 5], 1), 30_000)).toEqual([16, 25]);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);

  test('CLIENT KILL of every connection mid-map: every item runs once and the map resolves', async () => {
    const file = join(cluster.scratch, 'killed-links');
    let killed = false;
    const xs = Array.from({ length: 60 }, (_, i) => i);
    const out = await settledOrPending(p.map(appendLine, xs.map(() => file), 1, {
      onProgress: (done) => {
        if (done >= 10 && !killed) {
          killed = true;
          void attacker.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
          void attacker.client('KILL', 'TYPE', 'pubsub');
        }
      },
    }).catch((e) => e), 60_000);
    expect(killed).toBe(true);
    expect(Array.isArray(out)).toBe(true);
    expect(lines(file)).toBe(60);
    expect(await settledOrPending(p.apply(square, [7]), 30_000)).toBe(49);
  }, 90_000);

  test('Redis memory made full mid-run: every call answers, and once memory is back new calls work', async () => {
    const file = join(cluster.scratch, 'oom');
    const calls = Array.from({ length: 6 }, (_, i) => p.apply(markAndSleep, [`${file}-${i}`, 800]).catch((e) => e));
    await until(() => existsSync(`${file}-0`), 20_000, 'a task to start');
    const used = Number(/used_memory:(\d+)/.exec(await attacker.info('memory'))![1]);
    await attacker.config('SET', 'maxmemory', String(Math.max(1, used - 1024 * 1024)));
    try {
      const outcomes = await settledOrPending(Promise.all(calls), 45_000);
      expect(outcomes).not.toBe('pending');
      for (const o of outcomes as unknown[]) expect(typeof o === 'number' || o instanceof Error).toBe(true);
    } finally {
      await attacker.config('SET', 'maxmemory', '0');
    }
    expect(await settledOrPending(p.apply(square, [8]), 30_000)).toBe(64);
    expect(h.proc.exitCode).toBe(null);
  }, 90_000);
});
