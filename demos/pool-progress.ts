// Three things a Python Pool does not have: progress of a long map, cancellation, and statistics.
//
//   node --import tsx demos/pool-progress.ts        (MULTIPROC_DEMO_SHORT=1 for less work)
//
// - map(fn, items, chunksize, { onProgress }) calls onProgress(done, total) on this thread as chunks
//   finish: the bar below is driven by it.
// - { signal } cancels: chunks still queued are dropped, running ones stopped (their workers replaced),
//   and the map rejects with AbortError whose cause is the signal's reason.
// - pool.stats() counts workers, tasks, batches, and the time tasks ran and waited.
import { AbortError, Pool, isMainThread, task } from 'multiproc';
import { progress } from './_progress.js';

/** Runs in a worker: how many primes in [lo, hi). */
export function countPrimes([lo, hi]: [number, number]): number {
  let count = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

if (isMainThread) {
  const SHORT = process.env.MULTIPROC_DEMO_SHORT === '1';
  const STEP = 20_000;
  const ranges = Array.from({ length: SHORT ? 40 : 200 }, (_, i): [number, number] => [i * STEP, (i + 1) * STEP]);
  const primes = task<typeof countPrimes>(import.meta.url, 'countPrimes');

  await using pool = new Pool();
  const bar = progress(ranges.length, 'ranges');
  const counts = await pool.map(primes, ranges, 2, { onProgress: (done) => bar.update(done) });
  bar.stop();
  const last = ranges.at(-1)![1];
  console.log(`${counts.reduce((a, b) => a + b, 0)} primes below ${last.toLocaleString('en')}, counted in ${ranges.length} ranges`);

  // Cancel a much bigger map after 200 ms.
  const huge = Array.from({ length: 2000 }, (_, i): [number, number] => [i * STEP, (i + 1) * STEP]);
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('200 ms are up')), 200);
  try {
    await pool.map(primes, huge, 1, { signal: stop.signal });
    console.log('the big map finished before it could be cancelled');
  } catch (err) {
    if (!(err instanceof AbortError)) throw err;
    console.log(`the big map was cancelled: ${err.name} (${err.code}), cause: ${(err.cause as Error).message}`);
  }
  console.log(`and the pool goes on: ${await pool.apply(primes, [[0, 100]])} primes below 100`);

  const s = pool.stats();
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  console.log(`pool.stats(): ${s.workers} workers, ${s.busy} busy, ${s.queued} queued; ${s.submitted} tasks: ${s.completed} completed, ${s.failed} failed, ${s.aborted} aborted, in ${s.batches} batches`);
  console.log(`  run time  mean ${ms(s.runTime.mean)}, p50 ${ms(s.runTime.p50)}, p99 ${ms(s.runTime.p99)}`);
  console.log(`  wait time mean ${ms(s.waitTime.mean)}, p50 ${ms(s.waitTime.p50)}, p99 ${ms(s.waitTime.p99)}`);
}
