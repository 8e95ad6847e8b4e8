// JoinableQueue between child processes: 4 producers and 4 consumers that call taskDone() for every
// item, the main thread in join(); beside a plain Queue moved the same way (no taskDone, no join),
// same run. Rough same-run A/B figures (the ratio is the point). Usage: node bench/primitives-joinable.mjs
// (after `npm run build`)
import { fmt, median } from './_common.mjs';
import { Pool } from '../dist/lib/pool.js';
import { JoinableQueue, Queue } from '../dist/primitives/queues.js';
import { Barrier } from '../dist/primitives/synchronize.js';

const N = Number(process.env.N ?? 100_000);
const SIDES = 4;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

function producer(q, start, n) {
  start.waitSync();
  for (let i = 0; i < n; i++) q.putSync(i);
}

function consumer(q, start, joinable) {
  start.waitSync();
  let got = 0;
  for (;;) {
    const x = q.getSync();
    if (joinable) q.taskDone();
    if (x === null) return got;
    got++;
  }
}

async function round(pool, Q) {
  const joinable = Q === JoinableQueue;
  const q = new Q();
  const start = new Barrier(2 * SIDES + 1);
  const per = N / SIDES;
  const producers = Array.from({ length: SIDES }, () => pool.apply(producer, [q, start, per]));
  const consumers = Array.from({ length: SIDES }, () => pool.apply(consumer, [q, start, joinable]));
  await start.wait();
  const t = performance.now();
  await Promise.all(producers);
  for (let i = 0; i < SIDES; i++) await q.put(null);
  if (joinable) await q.join();
  const got = (await Promise.all(consumers)).reduce((a, b) => a + b, 0);
  const dt = (performance.now() - t) / 1000;
  if (got !== N) throw new Error(`consumers got ${got} of ${N}`);
  return N / dt;
}

const pool = new Pool({ processes: 2 * SIDES, runtime: 'process' });
await Promise.all(Array.from({ length: 2 * SIDES }, () => pool.apply(() => 0)));
await round(pool, Queue); // warm-up
const res = {};
for (const Q of [Queue, JoinableQueue]) {
  const xs = [];
  for (let r = 0; r < ROUNDS; r++) xs.push(await round(pool, Q));
  res[Q.name] = median(xs);
}
await pool.terminate();
console.log(`${SIDES} producer + ${SIDES} consumer child processes, ${N} items; median of ${ROUNDS} rounds`);
console.log(`  Queue (no taskDone)                 ${fmt(res.Queue).padStart(9)} items/s`);
console.log(`  JoinableQueue (taskDone each, join) ${fmt(res.JoinableQueue).padStart(9)} items/s`);
console.log(`  JoinableQueue / Queue               ${(res.JoinableQueue / res.Queue).toFixed(2)}x`);
