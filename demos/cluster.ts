// The same Pool on a cluster of hosts: a Redis server, two worker hosts (`multiproc worker`), and a
// prime-counting map whose progress shows as a bar. Half-way, one host is killed (SIGKILL): the tasks it
// was running go back to the queue and the other host runs them; the map finishes with every result.
//
//   node --import tsx demos/cluster.ts        (MULTIPROC_DEMO_SHORT=1 for less work)
//
// Everything runs on this machine here; on real machines each host runs
//   npx multiproc worker --connection redis://<redis host>:6379 --authkey-file cluster.key
// in a checkout of the same code (docs/cluster.md). Needs redis-server on PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, task } from 'multiproc';
import { Pool, readAuthkey } from 'multiproc/cluster';
import { progress } from './_progress.js';

/** Runs on a worker host: how many primes in [lo, hi) (a sieve of the range), and which host counted them. */
export function countPrimes([lo, hi]: [number, number]): [count: number, host: number] {
  const composite = new Uint8Array(hi - lo);
  for (let p = 2; p * p < hi; p++) {
    for (let m = Math.max(p * p, Math.ceil(lo / p) * p); m < hi; m += p) composite[m - lo] = 1;
  }
  let count = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) count += composite[n - lo] ^ 1;
  return [count, process.pid];
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `cmd` and resolves once its output says `ready`. */
function started(cmd: string, args: string[], ready: string, stream: 'stdout' | 'stderr'): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    child[stream]!.on('data', (chunk) => {
      log += chunk;
      if (log.includes(ready)) {
        child[stream]!.removeAllListeners('data');
        child[stream]!.resume();
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}):\n${log}`)));
  });
}

async function main(): Promise<void> {
  if (spawnSync('redis-server', ['--version']).error) {
    console.log('This demo needs redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).');
    console.log('It starts its own server on a free port; nothing else is needed.');
    return;
  }
  const SHORT = process.env.MULTIPROC_DEMO_SHORT === '1';
  const STEP = 500_000;
  const ranges = Array.from({ length: SHORT ? 60 : 300 }, (_, i): [number, number] => [i * STEP, (i + 1) * STEP]);

  const dir = mkdtempSync(join(tmpdir(), 'multiproc-cluster-demo-'));
  const keyFile = join(dir, 'cluster.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 }); // as `openssl rand -hex 32` makes one
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = await started('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'Ready to accept connections', 'stdout');
  console.log(`redis-server on ${url}`);
  // The worker command of this copy of multiproc (npx multiproc worker, in a project that depends on it).
  const cli = fileURLToPath(new URL('cli.js', import.meta.resolve('multiproc/cluster')));
  // A short lock: a dead host is noticed in about 2 s (the default, 5 s, suits real networks).
  const workerArgs = [cli, 'worker', '--connection', url, '--authkey-file', keyFile, '--concurrency', '1', '--lock-duration', '1500'];
  const hosts = await Promise.all([0, 1].map(() => started(process.execPath, workerArgs, 'serving queue', 'stderr')));
  const [a, b] = hosts;
  console.log(`worker hosts: A (pid ${a.pid}) and B (pid ${b.pid}), one worker each`);

  try {
    await using pool = new Pool({ connection: url, authkey: readAuthkey(keyFile) });
    const primes = task<typeof countPrimes>(import.meta.url, 'countPrimes');
    const bar = progress(ranges.length, 'ranges');
    let killedAt = 0;
    const results = await pool.map(primes, ranges, 2, {
      onProgress: (done) => {
        bar.update(done);
        if (!killedAt && done >= ranges.length / 2) {
          killedAt = done;
          a.kill('SIGKILL'); // mid-task: its jobs' locks expire, and host B runs them again
        }
      },
    });
    bar.stop();
    const total = results.reduce((sum, [count]) => sum + count, 0);
    const byA = results.filter(([, pid]) => pid === a.pid).length;
    console.log(`host A was killed (SIGKILL) after ${killedAt} of ${ranges.length} ranges were done`);
    console.log(`${total} primes below ${ranges.at(-1)![1].toLocaleString('en')}: all ${results.length} ranges came back, ` +
      `${byA} counted by host A before it died, ${results.length - byA} by host B`);
  } finally {
    for (const host of hosts) host.kill('SIGTERM');
    await Promise.all(hosts.map((host) => (host.exitCode !== null || host.signalCode !== null ? null : new Promise((r) => host.once('exit', r)))));
    redis.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
