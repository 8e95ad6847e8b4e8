// A multi-producer pipeline: producers -> JoinableQueue -> workers -> results Queue.
// The main program waits with JoinableQueue.join() until every job is marked taskDone(),
// exactly like Python's `q.join()`.
import { JoinableQueue, Queue } from '../primitives/queues.js';
import { Pool } from '../lib/pool.js';

const PER_PRODUCER = process.env.MULTIPROC_DEMO_SHORT === '1' ? 500 : 5_000;
const PRODUCERS = 2;
const WORKERS = 2;

/** Puts jobs [producer, i]. Runs in a worker thread. */
async function producer(jobs: any, id: number, n: number): Promise<number> {
  for (let i = 0; i < n; i++) await jobs.put([id, i]);
  return n;
}

/** Takes jobs until null, squares them, reports the result, marks each job done. */
async function worker(jobs: any, results: any): Promise<number> {
  let handled = 0;
  for (;;) {
    const job = await jobs.get();
    if (job === null) {
      jobs.taskDone();
      return handled;
    }
    const [id, i] = job;
    await results.put({ id, i, square: i * i });
    handled++;
    jobs.taskDone();
  }
}

const jobs = new JoinableQueue<[number, number] | null>(100); // bounded: producers wait for room
const results = new Queue<{ id: number; i: number; square: number }>();
const pool = new Pool(PRODUCERS + WORKERS);

const started = Date.now();
const workers = Array.from({ length: WORKERS }, () => pool.apply(worker, [jobs, results]));
const producers = Array.from({ length: PRODUCERS }, (_, id) => pool.apply(producer, [jobs, id, PER_PRODUCER]));
await Promise.all(producers);
console.log(`${PRODUCERS} producers put ${PRODUCERS * PER_PRODUCER} jobs into a JoinableQueue(maxsize=100)`);
await jobs.join(); // every job put so far has been marked taskDone()
console.log(`jobs.join() returned after ${Date.now() - started} ms: every job was processed`);
console.log(`results.qsize() = ${results.qsize()} (one result per job)`);

// Collect every result: nothing may be lost or duplicated.
let sum = 0;
const lastSeen = new Map<number, number>();
for (let n = 0; n < PRODUCERS * PER_PRODUCER; n++) {
  const r = await results.get();
  sum += r.square;
  lastSeen.set(r.id, Math.max(lastSeen.get(r.id) ?? -1, r.i));
}
const expected = PRODUCERS * ((PER_PRODUCER - 1) * PER_PRODUCER * (2 * PER_PRODUCER - 1)) / 6;
console.log(`sum of squares = ${sum} (expected ${expected}) -> ${sum === expected ? 'nothing lost or duplicated' : 'MISMATCH'}`);

for (let w = 0; w < WORKERS; w++) await jobs.put(null); // one stop signal per worker
const handled = await Promise.all(workers);
console.log(`workers handled ${handled.join(' + ')} jobs`);
await pool.terminate();
