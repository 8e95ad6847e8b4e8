// move(): a 100 MB Float64Array round trip through pool.apply, copied vs moved (transferred), on thread
// workers; beside piscina's Piscina.move() when piscina is installed. Same run, median of ROUNDS.
// Usage: node bench/move.mjs   (after `npm run build`)
import { loadavg } from 'node:os';
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
if (piscinaMs !== undefined) console.log(`  multiproc move vs piscina move: ${(piscinaMs / moveMs).toFixed(2)}x (>1 = multiproc faster)`);
console.log(`  load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// the report's rows (bench/_rows.mjs)
const rec = recorder(import.meta.url);
const w = rec.workload('move.f64', {
  title: `${BYTES / 2 ** 20} MiB Float64Array round trip through apply, thread workers`, unit: 'ms', better: 'lower',
  target: 'move() >= 50x faster than copying', goal: { against: 'floor', speedup: 50 },
});
w.add('multiproc apply, move() both ways', 'multiproc', moveMs);
w.add('multiproc apply, copied both ways', 'floor', copyMs);
if (piscinaMs !== undefined) w.add('piscina run, Piscina.move() both ways', 'piscina', piscinaMs);
rec.save();
