// Value / Array from a worker thread (shared memory) and from a child process (each access a round
// trip to the creator's broker; bulk forms one round trip each), same run. Rough A/B figures.
// Usage: node bench/primitives-value.mjs   (after `npm run build`)
import { fmt } from './_common.mjs';
import { Pool } from '../dist/lib/pool.js';
import { Value, Array as SharedArray } from '../dist/primitives/sharedctypes.js';

const N = Number(process.env.N ?? 20_000);
const LEN = 100_000;

function accesses(v, n) {
  const t = performance.now();
  for (let i = 0; i < n; i++) v.value += 1; // a read and a write
  return (2 * n) / ((performance.now() - t) / 1000);
}

function bulk(a, n) {
  let t = performance.now();
  const copy = a.slice();
  const sliceMs = performance.now() - t;
  t = performance.now();
  a.set(copy.map((x) => x + 1));
  const setMs = performance.now() - t;
  t = performance.now();
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  const perElementUs = ((performance.now() - t) * 1000) / n;
  return { sliceMs, setMs, perElementUs, s };
}

const rows = [];
for (const runtime of ['thread', 'process']) {
  const pool = new Pool({ processes: 1, runtime });
  await pool.apply(() => 0);
  const v = Value('i', 0, { lock: false });
  await pool.apply(accesses, [v, 100]); // warm-up
  const ops = await pool.apply(accesses, [v, N]);
  const a = SharedArray('i', LEN, { lock: false });
  const b = await pool.apply(bulk, [a, 2000]);
  if (a[LEN - 1] !== 1) throw new Error('bulk set did not land');
  rows.push({ runtime, ops, ...b });
  await pool.terminate();
}
console.log(`Value/Array from a worker: ${N} read+write pairs; an Array of ${LEN} int32`);
for (const r of rows) {
  console.log(
    `  ${r.runtime.padEnd(8)} value accesses ${fmt(r.ops).padStart(9)}/s   slice() ${r.sliceMs.toFixed(2)} ms   set() ${r.setMs.toFixed(2)} ms   a[i] ${r.perElementUs.toFixed(2)} us each`,
  );
}
console.log(`  process / thread value accesses: ${(rows[1].ops / rows[0].ops).toExponential(1)}x`);
