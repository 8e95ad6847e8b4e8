// move(): a 100 MB Float64Array round trip through pool.apply, copied vs moved (transferred), on thread
// workers; beside piscina's Piscina.move() when piscina is installed, and beside the floor: the same array
// transferred to a bare Worker and back with postMessage (no pool). Same run, median of ROUNDS.
// The floor is not free: each 100 MB buffer a thread receives is counted as external memory by V8, which
// answers with a garbage collection in the receiving thread (see `node --trace-gc`, "external memory pressure").
// Usage: node bench/move.mjs   (after `npm run build`)
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Pool, task, move } from '../dist/lib/index.js';
import { median, now } from './_common.mjs';
import { recorder } from './_rows.mjs';

const BYTES = 100 * 1024 * 1024;
const ROUNDS = 5;
const tasks = new URL('./_move-tasks.mjs', import.meta.url).href;
const echoCopy = task(tasks, 'echoCopy');
const echoMove = task(tasks, 'echoMove');

console.log(`move(): ${BYTES / 2 ** 20} MiB Float64Array round trip through apply (thread workers); load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

let size = BYTES / 8;
const fresh = () => new Float64Array(size).fill(1);

async function measure(label, roundTrip) {
  await roundTrip(new Float64Array(1024)); // warm: worker started, task module loaded
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = fresh();
    const t0 = now();
    const back = await roundTrip(a);
    times.push(now() - t0);
    if (back.length !== size) throw new Error(`${label}: got ${back.length} numbers back`);
    if (back[0] !== 2) throw new Error(`${label}: the worker's change did not come back`);
  }
  const ms = median(times);
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms  (min ${Math.min(...times).toFixed(2)})`);
  return ms;
}

const pool = new Pool({ processes: 2, runtime: 'thread' });
const copyMs = await measure('multiproc apply, copied both ways', (a) => pool.apply(echoCopy, [a]));
const moveMs = await measure('multiproc apply, move() both ways', (a) => pool.apply(echoMove, [move(a)]));
size = 8;
const floorMs = await measure('floor: the same with 8 numbers, copied', (a) => pool.apply(echoCopy, [a]));
size = BYTES / 8;
await pool.close();
await pool.join();

// the floor: a bare Worker that touches the array and transfers it back, measured as above
const bare = new Worker(
  "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (a) => { a[0] += 1; parentPort.postMessage(a, [a.buffer]); });",
  { eval: true },
);
const bareMs = await measure('floor: bare Worker, postMessage transfer both ways', (a) => new Promise((resolve, reject) => {
  bare.once('message', resolve);
  bare.once('error', reject);
  bare.postMessage(a, [a.buffer]);
}));
await bare.terminate();

let piscinaMs;
try {
  const { default: Piscina } = await import('piscina');
  const piscina = new Piscina({ filename: new URL('./_move-piscina.mjs', import.meta.url).href, maxThreads: 2, minThreads: 2 });
  piscinaMs = await measure('piscina run, Piscina.move() both ways', (a) => piscina.run(Piscina.move(a)));
  await piscina.destroy();
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  console.log('  (piscina is not installed: skipped)');
}

console.log(`  move vs copy: ${(copyMs / moveMs).toFixed(1)}x faster (target >= 50x); a move costs ${(moveMs / floorMs).toFixed(2)}x an 8-number apply`);
console.log(`  bare transfer vs copy: ${(copyMs / bareMs).toFixed(1)}x (the most a move can gain); multiproc move / bare transfer: ${(moveMs / bareMs).toFixed(2)}x`);
if (piscinaMs !== undefined) console.log(`  multiproc move vs piscina move: ${(piscinaMs / moveMs).toFixed(2)}x (>1 = multiproc faster)`);
console.log(`  load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// the report's rows (bench/_rows.mjs)
const rec = recorder(import.meta.url);
const w = rec.workload('move.f64', {
  title: `${BYTES / 2 ** 20} MiB Float64Array round trip through apply, thread workers`, unit: 'ms', better: 'lower',
  target: 'move() >= 50x faster than copying', goal: { against: 'multiproc apply, copied both ways', speedup: 50 },
  note: 'the floor row is what two threads pay for the transfer itself (V8 collects garbage in the receiving thread for each 100 MB buffer): copy / floor is the most a move can gain',
});
w.add('multiproc apply, move() both ways', 'multiproc', moveMs);
w.add('multiproc apply, copied both ways', 'floor', copyMs);
w.add('floor: bare Worker, postMessage transfer both ways', 'floor', bareMs, 'no pool: one Worker, the array transferred there and back');
if (piscinaMs !== undefined) w.add('piscina run, Piscina.move() both ways', 'piscina', piscinaMs);
rec.save();
