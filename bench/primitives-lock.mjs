// Lock throughput beside Python's mp.Lock (e_lock.py from /work/shared/reference/python, run in
// this same invocation, interleaved round by round):
//   E1 uncontended Lock acquireSync()+release() pairs on the main thread (py: mp.Lock acquire/release)
//   E2 2 worker threads x 200k increments of a shared Value under its getLock() (py: 2 processes)
// Usage: node bench/primitives-lock.mjs   (after `npm run build`)
import { spawnSync } from 'node:child_process';
import { Pool } from '../dist/lib/pool.js';
import { Event, Lock, Semaphore } from '../dist/primitives/synchronize.js';
import { Value } from '../dist/primitives/sharedctypes.js';

import { pythonDir as PY_DIR } from './_common.mjs'; // ../shared beside the checkout, as CI lays it out
const N1 = 1_000_000;
const N2 = 200_000;
const ROUNDS = 5;

function python() {
  const res = spawnSync('python3', ['e_lock.py'], { cwd: PY_DIR, encoding: 'utf8' });
  const out = {};
  for (const line of (res.stdout ?? '').split('\n')) {
    if (line.startsWith('{')) out[JSON.parse(line).id] = JSON.parse(line).value;
  }
  if (res.status !== 0) console.log(`(python3 e_lock.py failed: ${res.stderr?.slice(0, 300)})`);
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)}k` : v.toFixed(2));

function uncontended() {
  const lock = new Lock();
  for (let i = 0; i < 100_000; i++) {
    lock.acquireSync();
    lock.release();
  }
  const t = performance.now();
  for (let i = 0; i < N1; i++) {
    lock.acquireSync();
    lock.release();
  }
  return N1 / ((performance.now() - t) / 1000);
}

// Runs in a worker thread (sent by source): announce readiness, wait for go, increment under the lock.
function incr(v, ready, go, n) {
  ready.release();
  go.waitSync();
  const lock = v.getLock();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    v.value += 1;
    lock.release();
  }
}

async function contended(pool) {
  const v = new Value('i', 0);
  const ready = new Semaphore(0);
  const go = new Event();
  const done = [pool.apply(incr, [v, ready, go, N2]), pool.apply(incr, [v, ready, go, N2])];
  await ready.acquire();
  await ready.acquire();
  const t = performance.now();
  go.set();
  await Promise.all(done);
  const dt = (performance.now() - t) / 1000;
  if (v.value !== 2 * N2) throw new Error(`lost updates: ${v.value}`);
  return (2 * N2) / dt;
}

const pool = new Pool({ processes: 2 });
await pool.map((x) => x, [1, 2]);
const rows = { py1: [], py2: [], js1: [], js2: [], r1: [], r2: [] };
for (let r = 0; r < ROUNDS; r++) {
  const py = python();
  const js1 = uncontended();
  const js2 = await contended(pool);
  rows.py1.push(py['E.py.lock_uncontended']);
  rows.py2.push(py['E.py.lock_contended']);
  rows.js1.push(js1);
  rows.js2.push(js2);
  rows.r1.push(js1 / py['E.py.lock_uncontended']);
  rows.r2.push(js2 / py['E.py.lock_contended']);
}
await pool.terminate();

const line = (name, xs, unit) => `  ${name.padEnd(58)} ${fmt(median(xs)).padStart(8)} ${unit}  (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}, n=${xs.length})`;
console.log('E. lock acquire+release, uncontended');
console.log(line('multiproc Lock acquireSync+release (main thread)', rows.js1, 'pairs/s'));
console.log(line('py mp.Lock acquire/release (same run)', rows.py1, 'pairs/s'));
console.log(line('ratio multiproc / py (per round; target >= 1.5x)', rows.r1, 'x'));
console.log('E. lock, 2 contenders x 200k increments');
console.log(line('multiproc Value + getLock(), 2 worker threads', rows.js2, 'increments/s'));
console.log(line('py mp.Value + get_lock(), 2 processes (same run)', rows.py2, 'increments/s'));
console.log(line('ratio multiproc / py (per round; target >= 20x)', rows.r2, 'x'));
