// The cluster Pool's API against a real Redis and two real worker hosts (`multiproc worker` processes):
// every method, values and errors across hosts, timeouts, cancellation, Manager proxies, the life cycle,
// the Python facade, and what importing multiproc costs a program that does not use the cluster.
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { inspect } from 'node:util';
import { join } from 'node:path';
import {
  AbortError, AsyncResult, ConnectionClosedError, Lock, Manager, PoolStateError, SerializationError, TimeoutError,
  remoteErrorOf, task,
} from '../lib/index.js';
import { Pool as PyClusterPool } from '../lib/cluster/python-pool.js';
import { Pool } from '../lib/cluster/index.js';
import { fixture } from './helpers/runtimes.js';
import { useCluster } from './helpers/cluster.js';
import { freePort } from './helpers/redis.js';
import { HostProcess, repoRoot } from './helpers/redis-hosts.js';

const tasks = fixture('cluster-tasks.ts');
const square = task<(x: number) => number>(tasks, 'square');
const whoami = task<() => { host: string; pid: number }>(tasks, 'whoami');
const sleepDouble = task<(x: number, ms?: number) => Promise<number>>(tasks, 'sleepDouble');
const overQuota = task<(limit: number) => never>(tasks, 'overQuota');
const identity = task<<T>(v: T) => T>(tasks, 'identity');

const cluster = useCluster('cluster pool test key');
let hosts: HostProcess[];
let pool: Pool;

beforeAll(async () => {
  hosts = await Promise.all([0, 1].map(() => cluster.host({ concurrency: 2 })));
  pool = cluster.pool();
}, 120_000);

describe('the Pool API on a cluster', () => {
  test('apply and applyAsync: source functions and module exports; callbacks run once, before get()', async () => {
    expect(await pool.apply((a: number, b: number) => a + b, [2, 3])).toBe(5);
    expect(await pool.apply(square, [9])).toBe(81);
    // a package name travels as it is: each host resolves it (here multiproc itself, built)
    expect(await pool.apply(task('multiproc', 'cpuCount'))).toBeGreaterThan(0);
    const seen: number[] = [];
    const res = pool.applyAsync(square, [7], { callback: (v) => seen.push(v) });
    expect(res).toBeInstanceOf(AsyncResult);
    expect(await res.get()).toBe(49);
    expect(seen).toEqual([49]);
    const errors: Error[] = [];
    const bad = pool.applyAsync(() => { throw new RangeError('nope'); }, [], { errorCallback: (e) => errors.push(e) });
    await bad.wait();
    expect(bad.successful()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
  });

  test('map, starmap and their async forms keep input order with any chunksize; onProgress counts items', async () => {
    const xs = Array.from({ length: 300 }, (_, i) => i);
    const progress: number[] = [];
    expect(await pool.map(square, xs, 7, { onProgress: (done) => progress.push(done) })).toEqual(xs.map((x) => x * x));
    expect(progress.at(-1)).toBe(300);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(await pool.map((x: number) => x + 1, xs)).toEqual(xs.map((x) => x + 1));
    expect(await pool.starmap((a: number, b: number) => a * b, [[1, 2], [3, 4], [5, 6]], 2)).toEqual([2, 12, 30]);
    const calls: number[][] = [];
    const res = pool.starmapAsync((a: number, b: number) => a - b, [[5, 1], [9, 2]], { callback: (v) => calls.push(v) });
    expect(await res.get()).toEqual([4, 7]);
    expect(calls).toEqual([[4, 7]]);
    expect(await pool.mapAsync(square, [1, 2, 3]).get()).toEqual([1, 4, 9]);
    expect(await pool.map(square, [])).toEqual([]);
  });

  test('imap keeps input order, imapUnordered yields every result; async iterables are accepted', async () => {
    const out: number[] = [];
    for await (const v of pool.imap(square, [1, 2, 3, 4, 5], 2)) out.push(v);
    expect(out).toEqual([1, 4, 9, 16, 25]);
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered(sleepDouble, Array.from({ length: 20 }, (_, i) => i))) unordered.push(v);
    expect(unordered.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    async function* gen() {
      for (let i = 0; i < 5; i++) yield i;
    }
    expect(await pool.map(square, gen())).toEqual([0, 1, 4, 9, 16]);
  });

  test('work spreads over both hosts; stats count it', async () => {
    const who = await pool.map(async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return process.pid;
    }, Array(40).fill(30), 1);
    expect(new Set(who)).toEqual(new Set(hosts.map((h) => h.pid)));
    const stats = pool.stats();
    expect(stats.completed).toBeGreaterThanOrEqual(40);
    expect(stats.workers).toBe(2);
    expect(pool.workerIds.sort()).toEqual(hosts.map((h) => h.pid).sort());
    expect(stats.busy).toBe(0);
    expect(stats.runTime.mean).toBeGreaterThan(0);
  });

  test('stats count each task once, as a local pool does: completed + failed + aborted = submitted', async () => {
    const before = pool.stats();
    expect(before.completed + before.failed + before.aborted).toBe(before.submitted);
    await pool.apply(() => { throw new RangeError('counted as failed'); }).catch(() => {});
    await pool.map(square, [1, 2, 3], 3);
    const ac = new AbortController();
    const aborted = pool.applyAsync(sleepDouble, [1, 60_000], { signal: ac.signal });
    ac.abort();
    await aborted.wait();
    const after = pool.stats();
    expect(after.submitted - before.submitted).toBe(5);
    expect(after.completed - before.completed).toBe(3); // a failure is not a completion
    expect(after.failed - before.failed).toBe(1);
    expect(after.aborted - before.aborted).toBe(1);
    expect(after.completed + after.failed + after.aborted).toBe(after.submitted);
  });

  test('values cross hosts as they cross to a process worker, packed number chunks included', async () => {
    const value = {
      map: new Map<unknown, unknown>([['a', 1], [2, { deep: [1n, 2n] }]]),
      set: new Set(['x', 'y']),
      date: new Date(1_700_000_000_000),
      big: 2n ** 70n,
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float32Array([0.5, 1.5]),
      nested: { list: [{ k: null, u: undefined, n: NaN, inf: -Infinity }] },
    };
    // compared as printed: deserialized values belong to Node's realm, not to the test's vm context
    const back = await pool.apply(identity, [value]);
    expect(inspect(back, { depth: null })).toBe(inspect(value, { depth: null }));
    expect(inspect(back)).toContain('Map(2)');
    const numbers = Array.from({ length: 1000 }, (_, i) => i / 3);
    expect(await pool.map((x: number) => x * 2, numbers, 500)).toEqual(numbers.map((x) => x * 2));
    // large jobs: their payloads wait in Redis beside the job, not in its JSON
    const many = Array.from({ length: 100_000 }, (_, i) => i);
    const doubled = await pool.map((x: number) => x * 2, many, 25_000);
    expect(doubled.length).toBe(100_000);
    expect(doubled.every((v, i) => v === 2 * i)).toBe(true);
    expect(await cluster.redis.client().keys('multiproc:multiproc:payload:*')).toEqual([]);
    const who = await pool.apply(whoami);
    expect(who.host).toBe(hostname());
    expect(hosts.map((h) => h.pid)).toContain(who.pid);
  });

  test('a value that cannot cross fails that call only, naming its path', async () => {
    const good = pool.apply(square, [3]);
    await expect(pool.apply((o: unknown) => o, [{ cb: () => 1 }])).rejects.toMatchObject({ name: 'SerializationError', path: 'args[0].cb' });
    await expect(pool.map((x: unknown) => x, [1, 2, 3, Symbol('s')], 2)).rejects.toMatchObject({ path: 'items[3]' });
    expect(await good).toBe(9);
    const lock = new Lock();
    await expect(pool.apply((l: unknown) => l, [lock])).rejects.toThrow(SerializationError);
    await expect(pool.apply((l: unknown) => l, [lock])).rejects.toThrow(/Manager proxy/);
    // a result that cannot come back
    await expect(pool.apply(() => new SharedArrayBuffer(8))).rejects.toMatchObject({ name: 'SerializationError' });
  });

  test('errors keep their name, message, own properties and code; the remote stack names the host', async () => {
    const err = await pool.apply(overQuota, [10]).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('QuotaError');
    expect(err.message).toBe('over quota (10)');
    expect(err.limit).toBe(10);
    expect(err.code).toBe('E_QUOTA');
    const remote = remoteErrorOf(err)!;
    expect(remote.remoteStack).toContain('cluster-tasks.ts');
    expect(remote.remoteStack).toMatch(new RegExp(`on host ${hostname()} \\(multiproc worker pid (${hosts.map((h) => h.pid).join('|')})\\)`));
    expect(err.cause).toBe(remote);
    const typeErr = await pool.apply(() => { throw new TypeError('bad type'); }).catch((e) => e);
    expect(typeErr).toBeInstanceOf(TypeError);
    const refErr = await pool.apply(() => notDefined + 1).catch((e) => e);
    expect(refErr).toBeInstanceOf(ReferenceError);
    expect(refErr.message).toMatch(/enclosing scope/);
  });

  test('get(timeout) rejects TimeoutError while the task goes on; a signal cancels', async () => {
    const res = pool.applyAsync(sleepDouble, [21, 600]);
    await expect(res.get(50)).rejects.toBeInstanceOf(TimeoutError);
    expect(await res.get()).toBe(42);
    const ac = new AbortController();
    const aborted = pool.applyAsync(sleepDouble, [1, 5000], { signal: ac.signal });
    setTimeout(() => ac.abort('enough'), 100); // mid-call: an abort at any time settles it with AbortError
    const err = await aborted.get().catch((e) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.cause).toBe('enough');
    const mapAc = new AbortController();
    mapAc.abort();
    await expect(pool.map(square, [1, 2], 1, { signal: mapAc.signal })).rejects.toBeInstanceOf(AbortError);
    expect(await pool.apply(square, [4])).toBe(16); // the pool goes on
  });

  test('a Manager proxy crosses: the host connects to the manager by its TCP address and authkey', async () => {
    const manager = await Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: new TextEncoder().encode('mgr') });
    try {
      const d = await manager.dict();
      const ranOn = await pool.apply(task(tasks, 'setInDict'), [d, 'answer', 42]);
      expect(ranOn).toBe(hostname());
      expect(await d.get('answer')).toBe(42);
    } finally {
      await manager.shutdown();
    }
  });

  test('the Python facade has the cluster Pool, with Python\'s names', async () => {
    const py = new PyClusterPool({ connection: cluster.redis.url, authkey: cluster.authkey });
    try {
      const got: number[] = [];
      const res = py.apply_async(square, [6], { callback: (v: number) => got.push(v) });
      expect(await res.get()).toBe(36);
      expect(got).toEqual([36]);
      expect(await py.map(square, [1, 2, 3], { chunksize: 2 })).toEqual([1, 4, 9]);
      const out: number[] = [];
      for await (const v of py.imap_unordered(square, [2, 3])) out.push(v);
      expect(out.sort()).toEqual([4, 9]);
      expect(await py.starmap_async((a: number, b: number) => a + b, [[1, 2]]).get()).toEqual([3]);
    } finally {
      py.close();
      await py.join();
    }
  });
});

describe('life cycle', () => {
  test('close then join waits for outstanding tasks; a call after close is refused', async () => {
    const p = cluster.pool({ processes: 4 });
    const pending = p.map(sleepDouble, [1, 2, 3, 4, 5]);
    p.close();
    expect(() => p.applyAsync(square, [1])).toThrow(PoolStateError);
    await p.join();
    expect(await pending).toEqual([2, 4, 6, 8, 10]);
  });

  test('terminate rejects outstanding results with PoolStateError; dispose terminates', async () => {
    const p = cluster.pool();
    const pending = p.apply(sleepDouble, [1, 3000]);
    await p.terminate();
    await expect(pending).rejects.toBeInstanceOf(PoolStateError);
    await p.join();
    let disposed: Pool;
    {
      await using q = cluster.pool();
      disposed = q;
      expect(await q.apply(square, [2])).toBe(4);
    }
    await expect(disposed.apply(square, [2])).rejects.toBeInstanceOf(PoolStateError);
  });

  test('bad options throw at once', () => {
    expect(() => new Pool({ authkey: cluster.authkey } as any)).toThrow(TypeError);
    expect(() => new Pool({ connection: 'http://x', authkey: cluster.authkey })).toThrow(TypeError);
    expect(() => new Pool({ connection: cluster.redis.url } as any)).toThrow(TypeError);
    expect(() => new Pool({ connection: cluster.redis.url, authkey: new Uint8Array() })).toThrow(RangeError);
    expect(() => cluster.pool({ processes: 0 })).toThrow(RangeError);
    expect(() => cluster.pool({ retries: -1 })).toThrow(RangeError);
    expect(() => cluster.pool({ queue: 'a:b' })).toThrow(TypeError);
  });

  test('Redis unreachable: calls reject within 5 s naming the address', async () => {
    const port = await freePort();
    const p = new Pool({ connection: `redis://127.0.0.1:${port}`, authkey: cluster.authkey });
    const started = Date.now();
    const err = await p.apply(square, [1]).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.message).toContain(`redis://127.0.0.1:${port}`);
    await p.terminate();
  });
});

describe('what a program pays for the cluster', () => {
  const run = (file: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, '__tests__/fixtures', file)], {
      cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '', ...env },
    });

  test('importing multiproc loads neither bullmq nor ioredis and opens nothing; without them a call says what to install', () => {
    const res = run('cluster-no-bullmq.ts', { REDIS_URL: cluster.redis.url });
    if (res.status !== 0) console.log(res.stdout, res.stderr);
    expect(res.status).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    expect(out.resources).toEqual([]);
    expect(out.error).toMatch(/npm install bullmq ioredis/);
  });

  test('a pending call keeps the program alive; an idle pool does not', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, '__tests__/fixtures/cluster-keepalive.ts')], {
      cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: cluster.redis.url, KEY_FILE: cluster.keyPath, QUEUE: 'keepalive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let submitted!: () => void;
    const whenSubmitted = new Promise<void>((r) => (submitted = r));
    const collect = (c: Buffer) => {
      out += c;
      if (out.includes('submitted')) submitted();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // no host serves 'keepalive' yet: the call waits, and must hold the program until a host answers
    // (it prints the result below only if it was still running when the host started)
    await Promise.race([whenSubmitted, exited.then((code) => { throw new Error(`the program exited (${code}) before submitting:\n${out}`); })]);
    expect(child.exitCode).toBeNull();
    const host = await HostProcess.start(cluster.redis.url, { keyFile: cluster.keyPath, queue: 'keepalive', concurrency: 1 });
    try {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      expect(out).toContain('result 49');
      expect(code).toBe(0); // exited by itself, with the pool still open
    } finally {
      await host.stop();
    }
  }, 60_000);
});

declare const notDefined: number;
