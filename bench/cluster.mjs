// Cluster Pool workloads (import { Pool } from 'multiproc/cluster'), each beside the local Pool measured in the
// same run (kind 'floor': what the same work costs without Redis and hosts) and the figure:
//   cluster.map.{chunks-10th,chunks-40th,default}  Pool.map over 100k tiny items in chunks of 10000, 2500 and
//                          the default size, 2 hosts of 1 worker                target >= 1M items/s
//   cluster.apply          5000 applyAsync then get() each, 2 hosts of 1 worker      target >= 2k calls/s
//   cluster.latency        one apply at a time: the round trip through Redis         (no target)
//   cluster.io.hosts{1,4}  1000 tasks of 10 ms on 1 / 4 hosts of 8 workers           target >= 0.8x the ideal
// Redis is a redis-server started here on a free port; the hosts are `multiproc worker` processes (dist/),
// stopped (and Redis with them) whatever happens. All of it shares this machine's cores: the figures include
// Redis, the hosts and the client competing for them. Rows go to bench/report/data/cluster.json.
// BENCH_QUICK=1: small sizes, one round.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from '../dist/lib/index.js';
import { Pool as ClusterPool, readAuthkey } from '../dist/lib/cluster/index.js';
import { median, now, report, size, withoutExtraCaCerts } from './_common.mjs';
import { recorder } from './_rows.mjs';

withoutExtraCaCerts(import.meta.url);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? size(5, 1));
const N_MAP = size(100_000, 10_000);
// stable ids whatever the size: chunks of a tenth and of a fortieth of the items, and the default
const CHUNKS = { 'chunks-10th': N_MAP / 10, 'chunks-40th': N_MAP / 40, default: undefined };
const N_APPLY = size(5000, 500);
const N_SEQ = size(200, 50);
const N_IO = size(1000, 200);
const IO_MS = 10;
const IO_CONCURRENCY = 8;
const TARGET_MAP = 1e6;
const TARGET_APPLY = 2000;
const TARGET_IO = 0.8;
const cli = fileURLToPath(new URL('../dist/lib/cluster/cli.js', import.meta.url));
const range = (n) => Array.from({ length: n }, (_, i) => i);
const sq = (x) => x * x;
// sent to the workers by its source: no closure over IO_MS
const io = async (x) => {
  await new Promise((r) => setTimeout(r, 10));
  return x;
};

// ---- what this bench starts, and stops whatever happens
const children = new Set();
const killAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.once('exit', killAll);

function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** Ends a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
function stopChild(proc, graceMs = 10_000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `stream` has printed `text`; rejects if `proc` exits first. */
function waitForLine(proc, stream, text, what) {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (c) => {
      log += c;
      if (log.includes(text)) {
        proc.off('exit', onExit);
        stream.off('data', onData);
        stream.resume(); // keep draining: a full pipe would stall the child
        resolve();
      }
    };
    const onExit = (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${log.trim()}`));
    stream.on('data', onData);
    proc.once('exit', onExit);
  });
}

async function startRedis() {
  const port = await freePort();
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  await waitForLine(proc, proc.stdout, 'Ready to accept connections', 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(proc) };
}

async function startHost(url, keyFile, queue, concurrency) {
  const proc = track(spawn(process.execPath, [cli, 'worker', '--connection', url, '--authkey-file', keyFile, '--queue', queue, '--concurrency', String(concurrency)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  }));
  await waitForLine(proc, proc.stderr, 'serving queue', `host on queue ${queue}`);
  return { stop: () => stopChild(proc) };
}

/** Median wall time of `ROUNDS` runs of `fn` (ms). */
async function timed(fn) {
  const dts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    await fn();
    dts.push(now() - t);
  }
  return median(dts);
}

async function applyBatch(pool, n) {
  const rs = [];
  for (let i = 0; i < n; i++) rs.push(pool.applyAsync(sq, [i]));
  let s = 0;
  for (const r of rs) s += await r.get();
  if (s !== ((n - 1) * n * (2 * n - 1)) / 6) throw new Error(`wrong sum of squares: ${s}`);
}

async function oneAtATime(pool) {
  const ts = [];
  for (let i = 0; i < N_SEQ; i++) {
    const t = now();
    if ((await pool.apply(sq, [i])) !== i * i) throw new Error('wrong apply result');
    ts.push(now() - t);
  }
  return median(ts);
}

const checkMap = (r) => {
  if (r.length !== N_MAP || r[N_MAP - 1] !== (N_MAP - 1) ** 2) throw new Error('wrong map result');
};
const perSecond = (n, ms) => n / (ms / 1000);
const targetRow = (w, system, value) => w.add(system, 'floor', value, "the issue's figure, not a measurement: a speed-up >= 1 over it means the target is met");

// ---- the run
const rec = recorder(import.meta.url);
if (spawnSync('redis-server', ['--version']).error) {
  console.log('\n  !!! redis-server NOT FOUND on PATH: every cluster row is SKIPPED. Install Redis (apt-get install redis-server).\n');
  rec.save(); // an empty rows file: the report shows this bench ran and measured nothing
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'multiproc-bench-'));
const keyFile = join(dir, 'cluster.key');
// a fresh 32-byte key (64 hex characters), readable only by us, as the docs tell operators to make one
writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const authkey = readAuthkey(keyFile);
console.log(`Cluster Pool workloads: a redis-server and the hosts on this machine; medians of ${ROUNDS} round(s)`);
const redis = await startRedis();
const running = []; // hosts and pools to end if a workload throws

try {
  // ---- map and apply: 2 hosts of 1 worker each, against a local Pool of 2 workers ---------------------------
  const local = new Pool({ processes: 2 });
  running.push(() => local.terminate());
  await local.map(sq, range(2000), 1);
  const hosts = await Promise.all([0, 1].map(() => startHost(redis.url, keyFile, 'ab', 1)));
  running.push(...hosts.map((h) => h.stop));
  const pool = new ClusterPool({ connection: redis.url, authkey, queue: 'ab' });
  running.push(() => pool.terminate());
  // warm-up: the Redis connections, the hosts' workers, the JIT on both sides
  await pool.map(sq, range(size(20_000, 2000)), size(1000, 100));
  await Promise.all(range(size(2000, 200)).map((i) => pool.apply(sq, [i])));

  const items = range(N_MAP);
  // one workload per chunksize, so each chart sets the cluster beside the local Pool mapping the same chunks
  for (const [name, chunksize] of Object.entries(CHUNKS)) {
    const label = chunksize === undefined ? 'default chunksize' : `chunksize ${chunksize}`;
    const map = rec.workload(`cluster.map.${name}`, {
      title: `cluster Pool.map(sq, ${N_MAP / 1000}k tiny items), ${label}, 2 hosts of 1 worker, one machine`,
      unit: 'items/s', better: 'higher',
      target: `cluster map >= ${TARGET_MAP / 1e6}M items/s chunked with 2 hosts on a quiet machine; reported beside a local Pool(2) in the same run`,
      goal: { against: `target ${TARGET_MAP / 1e6}M items/s`, speedup: 1 },
      note: `median of ${ROUNDS} maps after a warm-up; Redis, 2 host processes and the client share this machine's cores`,
    });
    const ms = await timed(async () => checkMap(await pool.map(sq, items, chunksize)));
    const localMs = await timed(async () => checkMap(await local.map(sq, items, chunksize)));
    map.add('multiproc cluster', 'multiproc', perSecond(N_MAP, ms));
    map.add('local Pool(2)', 'floor', perSecond(N_MAP, localMs), `the same map (${label}) on 2 local worker threads, no Redis`);
    targetRow(map, `target ${TARGET_MAP / 1e6}M items/s`, TARGET_MAP);
    report(`map ${N_MAP} tiny items, ${label}, 2 hosts`, perSecond(N_MAP, ms), 'items/s', [
      [`local Pool(2), ${label}`, perSecond(N_MAP, localMs)], ['target', TARGET_MAP],
    ]);
  }

  const apply = rec.workload('cluster.apply', {
    title: `cluster: ${N_APPLY} applyAsync then get() each, 2 hosts of 1 worker, one machine`,
    unit: 'calls/s', better: 'higher', target: `cluster applyAsync round trips >= ${TARGET_APPLY / 1000}k/s; reported beside a local Pool(2) in the same run`,
    goal: { against: `target ${TARGET_APPLY / 1000}k calls/s`, speedup: 1 },
    note: `all submitted together, then awaited in order; median of ${ROUNDS} batches after a warm-up`,
  });
  const applyMs = await timed(() => applyBatch(pool, N_APPLY));
  const localApplyMs = await timed(() => applyBatch(local, N_APPLY));
  apply.add('multiproc cluster', 'multiproc', perSecond(N_APPLY, applyMs));
  apply.add('local Pool(2)', 'floor', perSecond(N_APPLY, localApplyMs), 'the same batch on 2 local worker threads, no Redis');
  targetRow(apply, `target ${TARGET_APPLY / 1000}k calls/s`, TARGET_APPLY);
  report(`${N_APPLY} applyAsync round trips, 2 hosts`, perSecond(N_APPLY, applyMs), 'calls/s', [
    ['local Pool(2)', perSecond(N_APPLY, localApplyMs)], ['target', TARGET_APPLY],
  ]);

  const latency = rec.workload('cluster.latency', {
    title: 'cluster: one apply at a time (round trip through Redis), 2 hosts, one machine',
    unit: 'ms', better: 'lower', note: `median of ${N_SEQ} sequential apply() calls`,
  });
  const seqMs = await oneAtATime(pool);
  const localSeqMs = await oneAtATime(local);
  latency.add('multiproc cluster', 'multiproc', seqMs);
  latency.add('local Pool(2)', 'floor', localSeqMs, 'the same calls on local worker threads');
  report('one apply at a time: round-trip latency, 2 hosts', seqMs, 'ms', [['local Pool(2)', localSeqMs]], { lowerIsBetter: true });

  await pool.terminate();
  await local.terminate();
  await Promise.all(hosts.map((h) => h.stop()));
  running.length = 0;

  // ---- I/O-bound tasks: 1 and 4 hosts of 8 workers -------------------------------------------------------
  for (const count of [1, 4]) {
    const queue = `io${count}`;
    const workers = count * IO_CONCURRENCY;
    const started = await Promise.all(range(count).map(() => startHost(redis.url, keyFile, queue, IO_CONCURRENCY)));
    running.push(...started.map((h) => h.stop));
    const p = new ClusterPool({ connection: redis.url, authkey, queue, processes: 64 });
    running.push(() => p.terminate());
    await p.map(io, range(workers * 8)); // warm-up: every host worker started
    const ms = await timed(() => p.map(io, range(N_IO)));
    await p.terminate();
    await Promise.all(started.map((h) => h.stop()));
    running.length = 0;
    // the same number of workers in one local Pool: what this machine allows without Redis and hosts
    const localIo = new Pool({ processes: workers });
    running.push(() => localIo.terminate());
    await localIo.map(io, range(workers * 8), 1);
    const localMs = await timed(() => localIo.map(io, range(N_IO)));
    await localIo.terminate();
    running.length = 0;
    const ideal = perSecond(workers, IO_MS); // every worker busy all the time
    const w = rec.workload(`cluster.io.hosts${count}`, {
      title: `cluster: ${N_IO} tasks of ${IO_MS} ms, ${count} host${count > 1 ? 's' : ''} of ${IO_CONCURRENCY} workers, default chunksize`,
      unit: 'tasks/s', better: 'higher', target: `>= ${TARGET_IO}x the ideal (${workers} workers each finishing a task every ${IO_MS} ms)`,
      goal: { against: 'ideal', speedup: TARGET_IO }, note: `median of ${ROUNDS} maps after a warm-up; every host on this machine`,
    });
    w.add(`multiproc cluster, ${count} x ${IO_CONCURRENCY} workers`, 'multiproc', perSecond(N_IO, ms));
    w.add(`local Pool(${workers})`, 'floor', perSecond(N_IO, localMs), 'the same map on local worker threads, no Redis');
    w.add('ideal', 'floor', ideal, `${workers} workers x ${1000 / IO_MS} tasks/s: a bound, not a measurement`);
    report(`${N_IO} tasks of ${IO_MS} ms, ${count} host(s) x ${IO_CONCURRENCY}`, perSecond(N_IO, ms), 'tasks/s', [
      [`local Pool(${workers})`, perSecond(N_IO, localMs)], ['ideal', ideal],
    ]);
  }
} finally {
  for (const end of running.reverse()) await end().catch(() => {});
  await redis.stop();
  killAll();
  rmSync(dir, { recursive: true, force: true });
}
rec.save();
