// 100 small tasks: one Pool reuses its workers; one Process per task pays a worker start-up each time.
import { Pool, Process } from 'multiproc';

const short = process.env.MULTIPROC_DEMO_SHORT === '1';
const n = short ? 20 : 100;
const square = (x: number) => x * x;

let t = performance.now();
const pool = new Pool(2);
const squares = await pool.map(square, Array.from({ length: n }, (_, i) => i));
pool.close();
await pool.join();
const poolMs = performance.now() - t;
console.log(`Pool(2).map over ${n} tasks: ${poolMs.toFixed(0)} ms (sum of squares ${squares.reduce((a, b) => a + b, 0)})`);

t = performance.now();
for (let i = 0; i < n; i += 2) {
  // two at a time, like the pool's two workers
  const ps = [i, i + 1].map((x) => new Process({ target: square, args: [x] }));
  ps.forEach((p) => p.start());
  await Promise.all(ps.map((p) => p.join()));
}
const procMs = performance.now() - t;
console.log(`one Process per task, 2 at a time: ${procMs.toFixed(0)} ms`);
console.log(`the Pool was ${(procMs / poolMs).toFixed(1)}x faster: a worker starts once and serves many tasks`);
