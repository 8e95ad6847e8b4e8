// The cluster Pool when things go wrong, with real processes and a real Redis: a host killed during a map,
// a task that kills every host it runs on, Redis killed and restarted, a host stopped with SIGTERM (and at once by a second one), jobs
// forged or changed in Redis, a host with the wrong authkey, terminate() with jobs still queued, Redis
// memory after 100k tasks, and the worker command's own checks.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { AuthenticationError, ConnectionClosedError, WorkerLostError, task } from '../lib/index.js';
import { Pool } from '../lib/cluster/index.js';
import { encodeJob, jobId, sealContext } from '../lib/cluster/codec.js';
import { deriveKeys, seal } from '../lib/cluster/signing.js';
import { fixture } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { RedisServer, until } from './helpers/redis.js';
import { keyFile, repoRoot } from './helpers/redis-hosts.js';

const tasks = fixture('cluster-tasks.ts');
const sleepDouble = task<(x: number, ms?: number) => Promise<number>>(tasks, 'sleepDouble');
const markAndSleep = task<(file: string, ms: number) => Promise<number>>(tasks, 'markAndSleep');
const square = task<(x: number) => number>(tasks, 'square');

const cluster = useCluster('cluster faults key');
const { host, pool } = cluster;

describe('worker hosts that die', () => {
  test('a host killed half-way through a 10k-item map: every result arrives exactly once', async () => {
    const [a] = [await host({ queue: 'kill' }), await host({ queue: 'kill' })];
    const p = pool({ queue: 'kill' });
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    const progress: number[] = [];
    let killed: Promise<unknown> | null = null;
    const result = await p.map(sleepDouble, xs, 50, {
      onProgress: (done) => {
        progress.push(done);
        if (done >= 5000 && !killed) killed = a.kill('SIGKILL');
      },
    });
    expect(await killed).toMatchObject({ signal: 'SIGKILL' });
    expect(result).toEqual(xs.map((x) => 2 * x));
    expect(progress.at(-1)).toBe(10_000);
    expect(Math.max(...progress)).toBe(10_000); // no chunk counted twice
    await p.terminate();
  }, 120_000);

  test('a task that kills every host it runs on runs `retries` more times, then rejects with WorkerLostError', async () => {
    const hosts = await Promise.all([0, 1, 2].map(() => host({ queue: 'lost', concurrency: 1 })));
    const p = pool({ queue: 'lost', retries: 1 });
    const err = await p.apply(task(tasks, 'killHost')).catch((e) => e);
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.message).toMatch(/died while running it, 2 times \(retries: 1\)/);
    const dead = hosts.filter((h) => h.proc.signalCode === 'SIGKILL');
    expect(dead).toHaveLength(2);
    expect(await p.apply(square, [5])).toBe(25); // the third host still serves
    await p.terminate();
  }, 60_000);

  test('SIGTERM: the host finishes its running task, hands back the others, and exits 0; nothing is lost', async () => {
    const a = await host({ queue: 'graceful', concurrency: 1 });
    const p = pool({ queue: 'graceful' });
    const files = [0, 1, 2].map((i) => join(cluster.scratch, `graceful-${i}`));
    const results = Promise.all(files.map((f) => p.apply(markAndSleep, [f, 800])));
    const first = await until(() => files.find((f) => existsSync(f)), 20_000, 'a task to start');
    a.proc.kill('SIGTERM');
    const exit = await a.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(a.log).toMatch(/SIGTERM, stopping/);
    const b = await host({ queue: 'graceful', concurrency: 2 });
    const pids = await results;
    expect(pids[files.indexOf(first)]).toBe(a.pid);
    expect(pids.filter((pid) => pid === a.pid)).toHaveLength(1);
    expect(pids.filter((pid) => pid === b.pid)).toHaveLength(2);
    await p.terminate();
  }, 60_000);

  test('a second SIGTERM stops at once: the running task, its payload stored beside the job, runs again on another host', async () => {
    const a = await host({ queue: 'stopnow', concurrency: 1 });
    const p = pool({ queue: 'stopnow' });
    const file = join(cluster.scratch, 'stopnow');
    const pad = 'x'.repeat(20_000); // over the inline limit: the payload is a key of its own
    const padded = task<(file: string, ms: number, pad: string) => Promise<number>>(tasks, 'markAndSleep');
    const result = p.apply(padded, [file, 4000, pad]);
    await until(() => existsSync(file), 20_000, 'the task to start');
    a.proc.kill('SIGTERM');
    await until(() => /SIGTERM, stopping/.test(a.log), 10_000, 'the first SIGTERM to be seen');
    a.proc.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 1, signal: null });
    expect(a.log).toMatch(/SIGTERM again, stopping now/);
    try {
      const b = await host({ queue: 'stopnow', concurrency: 1 });
      expect(await result).toBe(b.pid);
    } finally {
      await p.terminate();
    }
  }, 60_000);
});

describe('Redis going away', () => {
  test('Redis killed during a map: it rejects within 5 s naming the address; after a restart new calls work', async () => {
    const own = await RedisServer.start();
    const h = await host({ url: own.url, queue: 'outage' });
    const p = new Pool({ connection: own.url, authkey: cluster.authkey, queue: 'outage' });
    try {
      let killedAt = 0;
      const mapping = p.map(sleepDouble, Array.from({ length: 400 }, (_, i) => i), 2, {
        onProgress: () => {
          if (!killedAt) {
            killedAt = Date.now();
            void own.kill();
          }
        },
      });
      const err = await mapping.catch((e) => e);
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(err.message).toContain(own.url);
      await own.restart();
      const inspect = own.client();
      expect(await p.apply(square, [7])).toBe(49);
      // a restart the client does not notice as an outage: the tasks in the old server are lost
      const slow = p.map(sleepDouble, [1, 2, 3], 1, { onProgress: () => {} });
      const pending = p.apply(sleepDouble, [1, 2000]);
      await until(async () => (await inspect.llen('multiproc:outage:active')) > 0, 10_000, 'a running job');
      await own.restart();
      await expect(pending).rejects.toThrow(/restarted|cannot reach/);
      await slow.catch(() => {});
      expect(await p.apply(square, [8])).toBe(64);
    } finally {
      await p.terminate();
      await h.stop();
      await own.stop();
    }
  }, 90_000);
});

describe('a Redis with a password', () => {
  test('the password in the URL reaches Redis from the pool and the hosts, and never shows in a message', async () => {
    const own = await RedisServer.start({ password: 's3cret-pass' });
    const h = await host({ url: own.url, queue: 'secret' });
    const p = new Pool({ connection: own.url, authkey: cluster.authkey, queue: 'secret' });
    const wrong = new Pool({ connection: own.url.replace('s3cret-pass', 'wrong'), authkey: cluster.authkey, queue: 'secret' });
    try {
      expect(await p.apply(square, [6])).toBe(36);
      const err = await wrong.apply(square, [1]).catch((e) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(err.message).toMatch(/WRONGPASS|invalid username-password|NOAUTH/);
      expect(err.message).not.toContain('wrong');
      expect(h.log).not.toContain('s3cret-pass');
      // a host given the wrong password exits 1 with a clear line, not a crash printing the password
      const bad = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cluster/cli.ts'), 'worker', '--authkey-file', cluster.keyPath, '--queue', 'secret'], {
        cwd: repoRoot, encoding: 'utf8', timeout: 60_000,
        env: { ...process.env, NODE_OPTIONS: '', MULTIPROC_REDIS_URL: own.url.replace('s3cret-pass', 'wr0ng-pass-x') },
      });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/multiproc worker: cannot serve queue 'secret' at redis:\/\/127\.0\.0\.1:\d+: (WRONGPASS|NOAUTH).*/);
      expect(bad.stderr).not.toContain('wr0ng-pass-x');
      expect(bad.stderr).not.toMatch(/ReplyError|\n\s+at /);
    } finally {
      await p.terminate();
      await wrong.terminate();
      await h.stop();
      await own.stop();
    }
  }, 60_000);
});

describe('trust', () => {
  test('a job changed in Redis is refused: the call rejects with AuthenticationError, the host logs it', async () => {
    const p = pool({ queue: 'guarded' });
    const pending = p.apply(square, [3]).catch((e) => e);
    const client = cluster.redis.client();
    const [id] = await until(() => client.lrange('multiproc:guarded:wait', 0, -1).then((ids) => ids.length > 0 && ids), 10_000, 'the job');
    const data = JSON.parse((await client.hget(`multiproc:guarded:${id}`, 'data'))!);
    const bytes = Buffer.from(data.p, 'base64');
    bytes[bytes.length - 1] ^= 1;
    await client.hset(`multiproc:guarded:${id}`, 'data', JSON.stringify({ p: bytes.toString('base64') }));
    const h = await host({ queue: 'guarded' });
    const err = await pending;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toMatch(/refused the task: digest received was wrong/);
    await h.waitFor(/refused job/);
    expect(await p.apply(square, [4])).toBe(16);
    await p.terminate();
  }, 60_000);

  test('forged jobs written straight into Redis never run: refused, logged, failed with AuthenticationError', async () => {
    const h = cluster.hosts.find((x) => x.log.includes("queue 'guarded'"))!;
    const marker = join(cluster.scratch, 'forged-ran');
    const queue = new Queue('guarded', { connection: cluster.redis.client(), prefix: 'multiproc' });
    try {
      // no seal at all
      await queue.add('x', { p: Buffer.from('run my code').toString('base64') }, { jobId: 'evil-1' });
      // a proper-looking job sealed with a key the hosts do not have
      const clientId = 'abcdef0123456789';
      const id = jobId(clientId, 1);
      const src = `() => require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`;
      const { bytes } = encodeJob({ calls: [{ seq: 1, spec: { kind: 'src', src }, args: [], flags: 0 }], retries: 1, expires: Date.now() + 60_000 });
      const sealed = seal(deriveKeys(new TextEncoder().encode('not the key')), sealContext('job', 'guarded', id), bytes!);
      await queue.add(clientId, { p: sealed.toString('base64') }, { jobId: id });
      await h.waitFor(/refused job "evil-1".*not a multiproc job/);
      // sealed with a key this host does not hold: not its to judge; handed back for a host that does
      await h.waitFor(/job "abcdef0123456789\.1" is sealed with another authkey .*handed back/);
      const job = await until(async () => {
        const j = await queue.getJob('evil-1');
        return j && (await j.getState()) === 'failed' ? j : null;
      }, 10_000, 'job evil-1 to fail');
      expect(job.failedReason).toMatch(/not a multiproc job/);
      expect(['waiting', 'active', 'prioritized']).toContain(await (await queue.getJob(id))!.getState());
      expect(existsSync(marker)).toBe(false);
    } finally {
      await queue.close();
    }
  }, 60_000);

  test('a host with another authkey hands jobs back and pauses, failing none: a host with the right key serves them all', async () => {
    const wrong = await host({ queue: 'wrongkey', keyFile: keyFile('some other key, long enough to pass the length check') });
    const p = pool({ queue: 'wrongkey' });
    const warnings: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => void warnings.push(String(w)));
    try {
      const calls = Promise.all(Array.from({ length: 200 }, (_, i) => p.apply(square, [i])));
      calls.catch(() => {}); // the expectation below reports it
      await wrong.waitFor(/sealed with another authkey \(key id [0-9a-f]{16}; this host's is [0-9a-f]{16}\): handed back; taking no jobs/);
      await host({ queue: 'wrongkey' });
      expect(await calls).toEqual(Array.from({ length: 200 }, (_, i) => i * i));
      expect(wrong.log).not.toMatch(/refused job/);
      // the client hears of it once, unauthenticated: key ids only
      expect(warnings.filter((w) => /holds another authkey \(key id [0-9a-f]{16}; this client's is [0-9a-f]{16}\)/.test(w))).toHaveLength(1);
    } finally {
      spy.mockRestore();
      await p.terminate();
    }
  }, 60_000);
});

describe('Redis holds only what is in flight', () => {
  test('terminate() removes this pool\'s queued jobs', async () => {
    const p = pool({ queue: 'nohosts' });
    const results = [1, 2, 3, 4, 5].map((x) => p.apply(square, [x]).catch((e) => e));
    results.push(p.apply(task(tasks, 'identity'), [new Float64Array(10_000)]).catch((e) => e)); // a payload beside its job
    const client = cluster.redis.client();
    await until(async () => (await client.llen('multiproc:nohosts:wait')) > 0, 10_000, 'the jobs to be queued');
    await p.terminate();
    for (const r of await Promise.all(results)) expect(r.name).toBe('PoolStateError');
    expect(await client.llen('multiproc:nohosts:wait')).toBe(0);
    const keys = await client.keys('multiproc:nohosts:*');
    expect(keys.filter((k) => /[0-9a-f]{16}\.\d+$/.test(k) || k.includes(':results:') || k.includes(':payload:'))).toEqual([]);
  }, 30_000);

  test('after 100k tasks Redis holds what it held before: jobs and results are removed once delivered', async () => {
    await Promise.all([host({ queue: 'memory' }), host({ queue: 'memory' })]);
    const p = pool({ queue: 'memory' });
    const client = cluster.redis.client();
    try {
      const xs = Array.from({ length: 100_000 }, (_, i) => i);
      expect(await p.map(square, xs.slice(0, 20_000), 100)).toHaveLength(20_000); // warm up: the events stream reaches its cap
      const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
      // what stays: the queue's own keys ('active', 'stalled' and 'stalled-check' come and go with the jobs)
      const keys = async () => (await client.keys('multiproc:memory:*')).filter((k) => !/:(active|stalled|stalled-check)$/.test(k)).sort();
      // a host completes a job (removing it) just after pushing its results: wait for the last ones
      const settled = () => until(async () => {
        const now = await keys();
        return now.every((k) => !/[0-9a-f]{16}\.\d+(:lock)?$/.test(k)) && now;
      }, 10_000, 'the last jobs to be removed');
      const keysBefore = await settled();
      const before = await usedMemory();
      const out = await p.map(square, xs, 100);
      expect(out[99_999]).toBe(99_999 ** 2);
      const apply = await Promise.all(xs.slice(0, 2000).map((x) => p.apply(square, [x])));
      expect(apply[1999]).toBe(1999 ** 2);
      expect(await settled()).toEqual(keysBefore);
      const grown = await until(async () => {
        const delta = (await usedMemory()) - before;
        return delta < 256 * 1024 ? { delta } : null;
      }, 10_000, 'Redis memory to come back');
      expect(grown.delta).toBeLessThan(256 * 1024);
    } finally {
      await p.terminate();
    }
  }, 120_000);
});

describe('the worker command', () => {
  // the built command (npm test builds first): it starts in a tenth of the time tsx needs
  const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [join(repoRoot, 'dist/lib/cluster/cli.js'), ...args], {
    cwd: repoRoot, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '', MULTIPROC_REDIS_URL: '', MULTIPROC_AUTHKEY_FILE: '', ...env },
  });

  test('usage: --help, unknown commands and bad options exit 2 with a clear message', () => {
    const help = cli(['worker', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: multiproc worker --connection/);
    expect(cli(['launch']).stderr).toMatch(/unknown command "launch"/);
    const cases: [string[], RegExp][] = [
      [['worker'], /--connection is required/],
      [['worker', '--connection', cluster.redis.url], /--authkey-file is required/],
      [['worker', '--connection', 'http://x', '--authkey-file', cluster.keyPath], /redis:\/\/ or rediss:\/\/ URL/],
      [['worker', '--connection', cluster.redis.url, '--authkey-file', '/nonexistent/key'], /--authkey-file \/nonexistent\/key: ENOENT/],
      [['worker', '--connection', cluster.redis.url, '--authkey-file', cluster.keyPath, '--runtime', 'fiber'], /--runtime must be thread or process/],
      [['worker', '--connection', cluster.redis.url, '--authkey-file', cluster.keyPath, '--concurrency', '0'], /--concurrency must be an integer >= 1/],
      [['worker', '--connection', cluster.redis.url, '--authkey-file', cluster.keyPath, '--colour'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      const res = cli(args);
      expect({ args, status: res.status }).toEqual({ args, status: 2 });
      expect(res.stderr).toMatch(message);
    }
    // the environment stands in for --connection and --authkey-file
    const fromEnv = cli(['worker', '--concurrency', 'x'], { MULTIPROC_REDIS_URL: cluster.redis.url, MULTIPROC_AUTHKEY_FILE: cluster.keyPath });
    expect(fromEnv.stderr).toMatch(/--concurrency must be an integer/);
  }, 60_000);

  test('a status line every interval: tasks done, failed, running', async () => {
    const h = await host({ queue: 'status', statusInterval: 1 });
    const p = pool({ queue: 'status' });
    await p.apply(square, [2]);
    await p.apply(() => { throw new Error('x'); }).catch(() => {});
    await h.waitFor(/: 1 done, 1 failed, 0 running/);
    await p.terminate();
  }, 120_000);

  test('the built command runs by its shebang, as npx runs it', () => {
    const built = join(repoRoot, 'dist/lib/cluster/cli.js');
    expect(existsSync(built)).toBe(true); // npm test builds first
    expect(readFileSync(built, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const res = spawnSync('sh', ['-c', `chmod +x "${built}" && "${built}" worker --help`], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/usage: multiproc worker/);
  });
});
