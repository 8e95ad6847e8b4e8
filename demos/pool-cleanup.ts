// `await using` is Python's `with Pool() as p:` — leaving the block terminates the pool, even on an error.
import { Pool, PoolStateError } from 'multiproc';

let leftover;
try {
  await using pool = new Pool(2);
  console.log('inside the block:', await pool.map((x: number) => x + 1, [1, 2, 3]));
  leftover = pool.applyAsync(() => new Promise((r) => setTimeout(r, 60_000)));
  throw new Error('something went wrong in the block');
} catch (err) {
  console.log('caught:', (err as Error).message);
}
try {
  await leftover!.get();
} catch (err) {
  console.log('the unfinished task was stopped:', err instanceof PoolStateError ? `${(err as PoolStateError).code} (${(err as Error).message})` : err);
}
console.log('no worker is left: the program exits by itself now.');
