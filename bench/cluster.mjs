// Cluster Pool benchmarks (issue: "the same Pool on a cluster of hosts"), in one run against the local Pool:
//   (a) 100k tiny items, map with chunks: 2 worker hosts vs the local Pool          target >= 1M items/s
//   (b) 5000 applyAsync round trips, submitted together                             target >= 2k/s
//   (c) 1000 I/O-bound tasks of 10 ms: 1, 2 and 4 hosts of concurrency 8, vs ideal  target >= 0.8x at 4 hosts
// Redis is a redis-server started here on a free port; the hosts are `multiproc worker` processes (dist/).
// All of it shares this machine's cores: the figures include Redis, the hosts and the client competing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from '../dist/lib/index.js';
import { Pool as ClusterPool, readAuthkey } from '../dist/lib/cluster/index.js';
import { median, now, report, withoutExtraCaCerts } from './_common.mjs';

withoutExtraCaCerts(import.meta.url);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const cli = fileURLToPath(new URL('../dist/lib/cluster/cli.js', import.meta.url));
const range = (n) => Array.from({ length: n }, (_, i) => i);
const sq = (x) => x * x;
const io = async (x) => {
  await new Promise((r) => setTimeout(r, 10));
  return x;
};

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let log = '';
    proc.stdout.on('data', (c) => {
      log += c;
      if (log.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  proc.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

async function startHost(url, keyFile, queue, concurrency) {
  const proc = spawn(process.execPath, [cli, 'worker', '--connection', url, '--authkey-file', keyFile, '--queue', queue, '--concurrency', String(concurrency)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let log = '';
    proc.stderr.on('data', (c) => {
      log += c;
      if (log.includes('serving queue')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`host exited with ${code}: ${log}`)));
  });
  return { stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) };
}

async function timed(fn) {
  const dts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    await fn();
    dts.push(now() - t);
  }
  return median(dts);
}

const dir = mkdtempSync(join(tmpdir(), 'multiproc-bench-'));
const keyFile = join(dir, 'cluster.key');
writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const authkey = readAuthkey(keyFile);
const redis = await startRedis();
console.log(`  machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start; ${ROUNDS} rounds, medians`);

try {
  // ---- (a) and (b): 2 hosts of 1 worker each, against a local Pool of 2 workers -------------------------
  const local = new Pool({ processes: 2 });
  await local.map(sq, range(2000), 1);
  const hosts = await Promise.all([0, 1].map(() => startHost(redis.url, keyFile, 'ab', 1)));
  const pool = new ClusterPool({ connection: redis.url, authkey, queue: 'ab' });
  await pool.map(sq, range(20_000), 1000); // warm-up: connections, JIT, workers
  await Promise.all(range(2000).map((i) => pool.apply(sq, [i])));

  const items = range(100_000);
  for (const chunksize of [10_000, 2_500]) {
    const check = (r) => {
      if (r[99_999] !== 99_999 ** 2) throw new Error('wrong map result');
    };
    const ms = await timed(async () => check(await pool.map(sq, items, chunksize)));
    const localMs = await timed(async () => check(await local.map(sq, items, chunksize)));
    report(`(a) map 100k tiny items, chunksize ${chunksize}, 2 hosts`, 100_000 / (ms / 1000), 'items/s', [
      ['local Pool(2), same chunksize', 100_000 / (localMs / 1000)],
      ['target', 1e6],
    ]);
  }
  const defaultMs = await timed(async () => pool.map(sq, items));
  report('(a) map 100k tiny items, default chunksize, 2 hosts', 100_000 / (defaultMs / 1000), 'items/s', [['target', 1e6]]);

  const N = 5000;
  const applyMs = await timed(async () => {
    const rs = [];
    for (let i = 0; i < N; i++) rs.push(pool.applyAsync(sq, [i]));
    for (const r of rs) await r.get();
  });
  const localApplyMs = await timed(async () => {
    const rs = [];
    for (let i = 0; i < N; i++) rs.push(local.applyAsync(sq, [i]));
    for (const r of rs) await r.get();
  });
  report('(b) 5000 applyAsync round trips, 2 hosts', N / (applyMs / 1000), 'calls/s', [
    ['local Pool(2)', N / (localApplyMs / 1000)],
    ['target', 2000],
  ]);
  const seq = [];
  for (let i = 0; i < 200; i++) {
    const t = now();
    await pool.apply(sq, [i]);
    seq.push(now() - t);
  }
  report('(b) one apply at a time: round-trip latency', median(seq), 'ms', [], { lowerIsBetter: true });
  await pool.terminate();
  await local.terminate();
  await Promise.all(hosts.map((h) => h.stop()));

  // ---- (c) I/O-bound tasks: 1, 2, 4 hosts of concurrency 8 ----------------------------------------------
  const TASKS = 1000;
  const times = {};
  for (const count of [1, 2, 4]) {
    const queue = `io${count}`;
    const started = await Promise.all(range(count).map(() => startHost(redis.url, keyFile, queue, 8)));
    const p = new ClusterPool({ connection: redis.url, authkey, queue, processes: 64 });
    await p.map(io, range(count * 64)); // warm-up: every local worker started
    times[count] = await timed(() => p.map(io, range(TASKS)));
    await p.terminate();
    await Promise.all(started.map((h) => h.stop()));
    const ideal = (TASKS * 10) / (count * 8);
    // the same workers in one local Pool on this machine: what its cores allow, without Redis and hosts
    const local = new Pool({ processes: count * 8 });
    await local.map(io, range(count * 64), 1);
    const localMs = await timed(() => local.map(io, range(TASKS)));
    await local.terminate();
    report(`(c) 1000 tasks of 10 ms, ${count} host${count > 1 ? 's' : ''} x 8: efficiency vs ideal`, ideal / times[count], 'x', [
      [`local Pool(${count * 8}) on this machine`, ideal / localMs],
      ['target', 0.8],
    ]);
    console.log(`      measured ${times[count].toFixed(0)} ms, ideal ${ideal.toFixed(0)} ms (1000 x 10 ms / ${count * 8} workers), local Pool ${localMs.toFixed(0)} ms`);
  }
  report('(c) speed-up from 1 to 4 hosts', times[1] / times[4], 'x', [['ideal', 4]]);
  console.log(`  load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
