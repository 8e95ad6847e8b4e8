// Lock throughput beside Python's mp.Lock (e_lock.py from bench/python, run in
// this same invocation, interleaved round by round):
//   E1 uncontended Lock acquireSync()+release() pairs on the main thread (py: mp.Lock acquire/release)
//   E2 2 worker threads x 200k increments of a shared Value under its getLock() (py: 2 processes)
// Usage: node bench/primitives-lock.mjs   (after `npm run build`)
import { Pool, Event, Lock, Semaphore, Value } from '../dist/lib/index.js';

import { pythonValues, size } from './_common.mjs';
import { recorder } from './_rows.mjs';
const N1 = size(1_000_000, 100_000);
const N2 = size(200_000, 20_000);
const ROUNDS = size(5, 1);

const python = () => pythonValues('e_lock.py');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const defined = (x) => x !== undefined;
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
  if (defined(py['E.py.lock_uncontended'])) rows.py1.push(py['E.py.lock_uncontended']);
  if (defined(py['E.py.lock_contended'])) rows.py2.push(py['E.py.lock_contended']);
  rows.js1.push(js1);
  rows.js2.push(js2);
  if (py['E.py.lock_uncontended']) rows.r1.push(js1 / py['E.py.lock_uncontended']);
  if (py['E.py.lock_contended']) rows.r2.push(js2 / py['E.py.lock_contended']);
}
await pool.terminate();

const line = (name, xs, unit) => xs.length === 0 ? `  ${name.padEnd(58)}      n/a` : `  ${name.padEnd(58)} ${fmt(median(xs)).padStart(8)} ${unit}  (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}, n=${xs.length})`;
console.log('E. lock acquire+release, uncontended');
console.log(line('multiproc Lock acquireSync+release (main thread)', rows.js1, 'pairs/s'));
console.log(line('py mp.Lock acquire/release (same run)', rows.py1, 'pairs/s'));
console.log(line('ratio multiproc / py (per round; target >= 1.5x)', rows.r1, 'x'));
console.log('E. lock, 2 contenders x 200k increments');
console.log(line('multiproc Value + getLock(), 2 worker threads', rows.js2, 'increments/s'));
console.log(line('py mp.Value + get_lock(), 2 processes (same run)', rows.py2, 'increments/s'));
console.log(line('ratio multiproc / py (per round; target >= 20x)', rows.r2, 'x'));

// the report's rows (bench/_rows.mjs)
const rec = recorder(import.meta.url);
const lc = rec.workload('lock.contended', {
  title: `Lock contended: 2 workers x ${N2 / 1000}k increments of a shared Value under its lock`, unit: 'increments/s', better: 'higher',
  target: 'multiproc >= 20x python', goal: { against: 'python', speedup: 20 }, note: `median of ${ROUNDS} round(s), Python's twin (e_lock.py: 2 processes) in each`,
});
lc.add('multiproc Value + getLock(), 2 worker threads', 'multiproc', rows.js2);
lc.add('python mp.Value + get_lock(), 2 processes', 'python', rows.py2);
const lu = rec.workload('lock.uncontended', {
  title: 'Lock acquire + release, uncontended, main thread', unit: 'pairs/s', better: 'higher',
  target: 'multiproc >= 1.5x python', goal: { against: 'python', speedup: 1.5 }, note: `median of ${ROUNDS} round(s)`,
});
lu.add('multiproc Lock acquireSync + release', 'multiproc', rows.js1);
lu.add('python mp.Lock acquire/release', 'python', rows.py1);
rec.save();
