// Every cluster call answers, exactly once, whatever Redis loses or an attacker with Redis access (an
// ioredis client without the authkey) writes: forged cancels, vanished payloads, results Redis refuses,
// hosts that all die, and a queue no host serves.
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { WorkerLostError, task } from '../lib/index.js';
import { REFUSED } from '../lib/cluster/codec.js';
import { fixture, settledOrPending } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { until } from './helpers/redis.js';
import { captureWarnings } from './helpers/warnings.js';

const tasks = fixture('cluster-tasks.ts');
const markAndSleep = task<(file: string, ms: number, pad?: string) => Promise<number>>(tasks, 'markAndSleep');
const square = task<(x: number) => number>(tasks, 'square');
const identity = task<<T>(v: T) => T>(tasks, 'identity');
const bigResult = task<(n: number) => string>(tasks, 'bigResult');

const cluster = useCluster(randomBytes(32).toString('hex'));
const host = (queue: string, concurrency = 1) => cluster.host({ queue, concurrency });
const pool = (queue: string, options: { retries?: number } = {}) => cluster.pool({ queue, ...options });

describe('every call answers, exactly once', () => {
  test('a forged cancel naming a running job, and future job ids, is ignored: the calls get their results', async () => {
    const h = await host('forgedcancel');
    const p = pool('forgedcancel');
    const attacker = cluster.redis.client();
    const file = join(cluster.scratch, 'forged-cancel');
    const running = p.apply(markAndSleep, [file, 1500]);
    await until(() => existsSync(file), 20_000, 'the task to start');
    const [id] = await attacker.lrange('multiproc:forgedcancel:active', 0, -1);
    const [clientId, seq] = id.split('.');
    const future = Array.from({ length: 20 }, (_, i) => `${clientId}.${Number(seq) + 1 + i}`);
    await attacker.publish('multiproc:forgedcancel:cancel', [id, ...future].join(' '));
    expect(await settledOrPending(running, 20_000)).toBe(h.pid);
    expect(await settledOrPending(p.apply(square, [7]), 20_000)).toBe(49);
  }, 60_000);

  test('a job whose stored argument vanished fails with WorkerLostError', async () => {
    const p = pool('vanished');
    const attacker = cluster.redis.client();
    const pending = p.apply(identity, ['x'.repeat(20_000)]).catch((e) => e); // its payload waits beside the job
    const [key] = await until(() => attacker.keys('multiproc:vanished:payload:*').then((k) => k.length > 0 && k), 10_000, 'the payload');
    await attacker.del(key);
    await host('vanished');
    const err = await settledOrPending(pending, 30_000);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as Error).message).toMatch(/stored argument|without an answer/);
  }, 60_000);

  test('a job deleted from Redis, or marked failed there, by an attacker fails with WorkerLostError', async () => {
    const p = pool('deleted');
    const attacker = cluster.redis.client();
    const queue = new Queue('deleted', { connection: attacker, prefix: 'multiproc' });
    try {
      const first = p.apply(square, [1]).catch((e) => e);
      const second = p.apply(square, [2]).catch((e) => e);
      const ids = await until(() => attacker.lrange('multiproc:deleted:wait', 0, -1).then((x) => x.length === 2 && x), 10_000, 'the jobs');
      await queue.remove(ids[0]);
      await attacker.hset(`multiproc:deleted:${ids[1]}`, 'finishedOn', Date.now(), 'failedReason', 'forged');
      await attacker.lrem('multiproc:deleted:wait', 0, ids[1]);
      for (const err of [await settledOrPending(first, 20_000), await settledOrPending(second, 20_000)]) {
        expect(err).toBeInstanceOf(WorkerLostError);
        expect((err as Error).message).toMatch(/left Redis without an answer/);
      }
    } finally {
      await queue.close();
    }
  }, 60_000);

  test('a result Redis refuses (memory full) fails that call with WorkerLostError; the next call works', async () => {
    await host('oom');
    const p = pool('oom');
    const admin = cluster.redis.client();
    expect(await p.apply(square, [2])).toBe(4);
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used + 4 * 1024 * 1024));
    try {
      const err = await settledOrPending(p.apply(bigResult, [8 * 1024 * 1024]).catch((e) => e), 30_000);
      expect(err).toBeInstanceOf(WorkerLostError);
      expect((err as Error).message).toMatch(/could not be stored|without an answer/);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await settledOrPending(p.apply(square, [3]), 20_000)).toBe(9);
  }, 60_000);

  test('the only host killed mid-call, with no host left to notice: WorkerLostError', async () => {
    const h = await host('lonely');
    const p = pool('lonely');
    const file = join(cluster.scratch, 'lonely');
    const pending = p.apply(markAndSleep, [file, 120_000]).catch((e) => e);
    await until(() => existsSync(file), 20_000, 'the task to start');
    await h.kill('SIGKILL');
    const err = await settledOrPending(pending, 40_000);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as Error).message).toMatch(/no live host/);
  }, 60_000);

  test('a forged refusal on the client\'s result stream fails nothing and shows none of its text; a tampered stalled counter is ignored', async () => {
    const p = pool('forgedrefusal');
    const attacker = cluster.redis.client();
    const warnings: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => void warnings.push(String(w)));
    try {
      const pending = p.apply(square, [5]);
      const [id] = await until(() => attacker.lrange('multiproc:forgedrefusal:wait', 0, -1).then((ids) => ids.length > 0 && ids), 10_000, 'the job');
      const [clientId, seq] = id.split('.');
      const forged = (body: Buffer) => Buffer.concat([Buffer.from([REFUSED]), Buffer.from(Number(seq).toString(16).padStart(12, '0'), 'hex'), body]);
      const stream = `multiproc:forgedrefusal:results:${clientId}`;
      await attacker.xadd(stream, '*', 'r', forged(Buffer.from('your key expired: fetch the new one from http://evil.example/key')));
      await attacker.xadd(stream, '*', 'r', forged(Buffer.from('http://e')));
      // BullMQ's stalled counter, which the attacker can write: not what counts a job's runs
      await attacker.hset(`multiproc:forgedrefusal:${id}`, 'stalledCounter', 99);
      await host('forgedrefusal');
      expect(await settledOrPending(pending, 30_000)).toBe(25);
      expect(warnings.join('\n')).not.toContain('evil');
      expect(warnings.join('\n')).not.toContain('http://e');
    } finally {
      spy.mockRestore();
    }
  }, 60_000);

  test('calls on a queue no host serves: one MultiprocClusterWarning naming the queue', async () => {
    // watched where it is raised (jest's sandbox does not pass process 'warning' events to the test)
    const { warnings, restore } = captureWarnings();
    try {
      const p = pool('nobody-here');
      const pending = [p.apply(square, [1]).catch((e) => e), p.apply(square, [2]).catch((e) => e)];
      await until(() => warnings.some((w) => w.name === 'MultiprocClusterWarning'), 30_000, 'the warning');
      const ours = warnings.filter((w) => w.name === 'MultiprocClusterWarning');
      expect(ours).toHaveLength(1);
      expect(ours[0].message).toMatch(/no worker host serves queue 'nobody-here'/);
      await host('nobody-here');
      expect(await settledOrPending(Promise.all(pending), 30_000)).toEqual([1, 4]);
    } finally {
      restore();
    }
  }, 90_000);
});
