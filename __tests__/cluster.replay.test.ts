// Replay and leftovers, against an attacker with Redis access (an ioredis client without the authkey): a
// sealed job copied from Redis and added again after it ran is refused, also once its client is gone; a
// job past its sealed expiry is not run; a dead client's payloads expire, and a host started later does
// not run its work.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { task } from '../lib/index.js';
import { encodeJob, jobId, sealContext } from '../lib/cluster/codec.js';
import { JOB_TTL_MS } from '../lib/cluster/engine.js';
import { CLIENT_ALIVE_MS } from '../lib/cluster/job-watch.js';
import { deriveKeys, seal } from '../lib/cluster/signing.js';
import { fixture } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { until } from './helpers/redis.js';
import { repoRoot } from './helpers/redis-hosts.js';

const tasks = fixture('cluster-tasks.ts');
const appendLine = task<(file: string, pad?: string) => number>(tasks, 'appendLine');

const cluster = useCluster('cluster replay key');
const host = (queue: string) => cluster.host({ queue, concurrency: 1 });

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

test('a sealed job copied while queued and added again after it ran is refused, every time, also after its client is gone', async () => {
  const attacker = cluster.redis.client();
  const queue = new Queue('replay', { connection: attacker, prefix: 'multiproc' });
  const file = join(cluster.scratch, 'pay-100');
  const p = cluster.pool({ queue: 'replay' });
  try {
    const pending = p.apply(appendLine, [file]);
    const [id] = await until(() => attacker.lrange('multiproc:replay:wait', 0, -1).then((ids) => ids.length > 0 && ids), 10_000, 'the job');
    const copy = await attacker.hgetall(`multiproc:replay:${id}`);
    const h = await host('replay');
    expect(await pending).toBe(1);
    const replay = async (n: number) => {
      // done with (answered, or refused): the attacker clears it to add the copy under its id again
      await until(async () => ['completed', 'failed', 'unknown'].includes(await queue.getJobState(id)), 10_000, 'the job to be done with');
      await queue.remove(id);
      await queue.add(copy.name, JSON.parse(copy.data), { jobId: id });
      await h.waitFor(new RegExp(`(refused job "${id.replace('.', '\\.')}": it was answered before[^\\n]*\\n[^]*){${n}}`), 20_000);
    };
    for (let n = 1; n <= 3; n++) await replay(n);
    await p.terminate(); // the client is gone: still refused
    await replay(4);
    expect(lines(file)).toBe(1);
  } finally {
    await p.terminate();
    await queue.close();
  }
}, 90_000);

test('a job past its sealed expiry is not run', async () => {
  const h = await host('expired');
  const attacker = cluster.redis.client();
  const queue = new Queue('expired', { connection: attacker, prefix: 'multiproc' });
  const file = join(cluster.scratch, 'expired');
  try {
    // an old copy: what a client sealed an hour ago (the test holds the key to make one)
    const clientId = '0123456789abcdef';
    const id = jobId(clientId, 1);
    const { bytes } = encodeJob({ calls: [{ seq: 1, spec: { kind: 'mod', url: tasks, name: 'appendLine' }, args: [file], flags: 0 }], retries: 1, expires: Date.now() - 1000 });
    const sealed = seal(deriveKeys(cluster.authkey), sealContext('job', 'expired', id), bytes!);
    await attacker.set(`multiproc:expired:client:${clientId}`, '1', 'PX', 60_000);
    await queue.add(clientId, { p: sealed.toString('base64') }, { jobId: id });
    await h.waitFor(/dropped job "0123456789abcdef\.1": it expired/);
    expect(lines(file)).toBe(0);
  } finally {
    await queue.close();
  }
}, 60_000);

test('a dead client leaves what expires: its payloads and liveness key have a TTL; a host started later does not run its work', async () => {
  const attacker = cluster.redis.client();
  const file = join(cluster.scratch, 'dead-client');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, '__tests__/fixtures/cluster-dead-client.ts')], {
    cwd: repoRoot, stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: cluster.redis.url, KEY_FILE: cluster.keyPath, QUEUE: 'leftover', FILE: file },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    // the client has sent its jobs and set their entries' expiry (a separate round trip after BullMQ's
    // add: a client killed between the two leaves entries without one, until a host finds the client
    // dead and drops them)
    await until(async () => {
      const ids = await attacker.lrange('multiproc:leftover:wait', 0, -1);
      if (ids.length !== 2) return false;
      const ttls = await Promise.all(ids.map((id) => attacker.pttl(`multiproc:leftover:${id}`)));
      return ttls.every((t) => t > 0);
    }, 60_000, 'the jobs, with their expiry');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const [payload] = await attacker.keys('multiproc:leftover:payload:*');
  const payloadTtl = await attacker.pttl(payload);
  expect(payloadTtl).toBeGreaterThan(0);
  expect(payloadTtl).toBeLessThanOrEqual(JOB_TTL_MS);
  for (const id of await attacker.lrange('multiproc:leftover:wait', 0, -1)) {
    const entryTtl = await attacker.pttl(`multiproc:leftover:${id}`); // the job's own entry expires too
    expect(entryTtl).toBeGreaterThan(JOB_TTL_MS);
    expect(entryTtl).toBeLessThanOrEqual(JOB_TTL_MS + 5 * 60_000);
  }
  const [alive] = await attacker.keys('multiproc:leftover:client:*');
  const aliveTtl = await attacker.pttl(alive);
  expect(aliveTtl).toBeGreaterThan(0);
  expect(aliveTtl).toBeLessThanOrEqual(CLIENT_ALIVE_MS);
  // the liveness key expires CLIENT_ALIVE_MS after the client died: the test makes that happen now
  await attacker.del(alive);
  const h = await host('leftover');
  await h.waitFor(/dropped job "[0-9a-f]{16}\.\d+": its client is gone[^]*dropped job "[0-9a-f]{16}\.\d+": its client is gone/, 20_000);
  await until(async () => (await attacker.llen('multiproc:leftover:wait')) === 0, 10_000, 'the jobs to be taken');
  expect(lines(file)).toBe(0);
  await until(async () => (await attacker.keys('multiproc:leftover:payload:*')).length === 0, 10_000, 'the payload to go');
}, 120_000);

test('a job still waiting at half its lifetime is withdrawn and sent again, sealed anew; it runs once', async () => {
  const attacker = cluster.redis.client();
  const file = join(cluster.scratch, 'renewed');
  const p = cluster.pool({ queue: 'renew', jobLifetime: 2000 });
  try {
    const pending = p.apply(appendLine, [file]);
    const [id] = await until(() => attacker.lrange('multiproc:renew:wait', 0, -1).then((ids: string[]) => ids.length === 1 && ids), 10_000, 'the job');
    const first = await attacker.hget(`multiproc:renew:${id}`, 'data');
    // no host serves the queue: at 1 s of its 2 s life the client withdraws the job and adds it again under
    // the same id, sealed anew (another nonce and expiry: other bytes)
    const second = await until(async () => {
      const ids = await attacker.lrange('multiproc:renew:wait', 0, -1);
      const data = await attacker.hget(`multiproc:renew:${id}`, 'data');
      return ids.length === 1 && ids[0] === id && data !== null && data !== first && data;
    }, 15_000, 'the job sent again');
    expect(JSON.parse(second)).not.toEqual(JSON.parse(first!));
    await host('renew');
    expect(await pending).toBe(1);
    expect(lines(file)).toBe(1);
  } finally {
    await p.terminate();
  }
}, 60_000);

test('jobLifetime is checked: an integer number of ms, at least 1000', () => {
  for (const jobLifetime of [999, 1.5, -1, '2000']) {
    expect(() => cluster.pool({ jobLifetime: jobLifetime as number })).toThrow(RangeError);
  }
});
