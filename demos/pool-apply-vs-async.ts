// apply() waits for each result before the next call is made, so tasks run one after another;
// applyAsync() submits them all at once, so the pool runs them in parallel.
import { Pool, cpuCount } from 'multiproc';

const short = process.env.MULTIPROC_DEMO_SHORT === '1';
const tasks = short ? 4 : 8;
const ms = short ? 50 : 200;
const work = (ms: number) => {
  const end = Date.now() + ms; // busy work, like a CPU-bound Python function
  while (Date.now() < end);
  return ms;
};

const pool = new Pool(Math.min(4, Math.max(2, cpuCount())));
await pool.apply(work, [1]); // start-up is not what we measure

let t = performance.now();
for (let i = 0; i < tasks; i++) await pool.apply(work, [ms]);
const serial = performance.now() - t;
console.log(`apply x${tasks} (each awaited in turn): ${serial.toFixed(0)} ms  — one task at a time`);

t = performance.now();
const results = Array.from({ length: tasks }, () => pool.applyAsync(work, [ms]));
for (const r of results) await r.get();
const parallel = performance.now() - t;
console.log(`applyAsync x${tasks} (submitted together): ${parallel.toFixed(0)} ms  — ${pool.processes} workers at once`);
console.log(`speed-up: ${(serial / parallel).toFixed(1)}x with ${pool.processes} workers`);

pool.close();
await pool.join();
