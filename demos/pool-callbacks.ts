// Callbacks collect results as they arrive, on the caller's thread: no locking needed around `collected`.
import { Pool } from 'multiproc';

const collected: number[] = [];
const failures: string[] = [];
const pool = new Pool(2);
const cube = async (x: number) => {
  await new Promise((r) => setTimeout(r, (x % 3) * 10)); // finish out of order
  if (x === 5) throw new Error(`no cube for ${x}`);
  return x ** 3;
};

const results = Array.from({ length: 8 }, (_, x) =>
  pool.applyAsync(cube, [x], {
    callback: (v) => collected.push(v),
    errorCallback: (e) => failures.push(e.message),
  }),
);
for (const r of results) await r.wait();
console.log('collected in completion order:', collected.join(', '));
console.log('errorCallback saw:', failures.join(', '));
console.log('every callback ran before wait() resolved:', collected.length + failures.length === results.length);

const total: number[][] = [];
await pool.mapAsync((x: number) => x * 2, [1, 2, 3], undefined, { callback: (all) => total.push(all) }).wait();
console.log('mapAsync callback got the whole list once:', JSON.stringify(total));
pool.close();
await pool.join();
