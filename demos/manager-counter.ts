/**
 * Manager counter: 50 tasks each do `d.count -= 1` on a shared dict proxy starting at 100.
 *   1. unsafe: get, then set — two round trips; updates get lost
 *   2. with a Manager Lock around the get+set: exactly 50 left
 *   3. with the atomic `d.increment('count', -1)`: exactly 50 left, one round trip, no lock
 * Run: node --import tsx demos/manager-counter.ts   (MULTIPROC_DEMO_SHORT=1: fewer pool workers)
 */
import { Pool, task, isMainThread } from 'multiproc';
import { Manager, type DictProxy, type LockProxy } from 'multiproc';

const pause = () => new Promise((r) => setTimeout(r, 1)); // widen the window between read and write

/** `d['count'] -= 1` exactly as Python spells it: a read, then a write. */
export async function unsafe(d: DictProxy<number>): Promise<void> {
  const v = (await d.get('count'))!;
  await pause();
  await d.set('count', v - 1);
}

export async function locked(d: DictProxy<number>, lock: LockProxy): Promise<void> {
  await lock.acquire();
  try {
    const v = (await d.get('count'))!;
    await pause();
    await d.set('count', v - 1);
  } finally {
    await lock.release();
  }
}

export async function atomic(d: DictProxy<number>): Promise<void> {
  await d.increment('count', -1);
}

if (isMainThread) {
  const short = process.env.MULTIPROC_DEMO_SHORT === '1';
  const N = 50;
  await using manager = await Manager.start();
  await using pool = new Pool({ processes: short ? 2 : 4 });
  console.log(`manager server pid ${manager.pid} at ${JSON.stringify(manager.address)}; ${N} tasks, count starts at 100\n`);

  const run = async (name: string, args: (d: DictProxy<number>) => Promise<unknown[]>) => {
    const d = await manager.dict({ count: 100 });
    const extra = await args(d);
    const t0 = performance.now();
    await pool.starmap(task(import.meta.url, name), Array.from({ length: N }, () => [d, ...extra]), 1);
    const left = (await d.get('count'))!;
    const ms = (performance.now() - t0).toFixed(0);
    console.log(`${name.padEnd(7)} count = ${left}  (expected ${100 - N}; ${left - (100 - N)} updates lost) in ${ms} ms`);
    return left;
  };

  const lost = await run('unsafe', async () => []);
  console.log('        each worker reads the count, then writes count-1: two round trips. Workers that read');
  console.log('        the same value before either writes both write the same result, so one decrement is lost.');
  console.log('        Each proxy call is atomic on its own; the read-modify-write pair is not (as in Python).\n');
  await run('locked', async () => [await manager.Lock()]);
  console.log('        a Manager Lock makes read+write one critical section: no update lost (4 round trips each).\n');
  await run('atomic', async () => []);
  console.log("        d.increment('count', -1) does the read-modify-write on the server in one call: no lock needed.");
  if (lost === 100 - N) console.log('\n(this run happened to lose nothing in the unsafe version: the race is timing-dependent)');
}
