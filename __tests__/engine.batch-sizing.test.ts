// How many tasks go in a batch (lib/engine/batch-sizing.ts): one until measured, doubling while batches
// run well within their time, and a single slow reply halving the size rather than dropping it to one.
import { BatchSizing } from '../lib/engine/batch-sizing.js';

/** Replies of `count` tiny tasks (well within the batch time) until the size stops growing. */
function grow(sizing: BatchSizing): number {
  let size = sizing.size(1e6);
  for (let i = 0; i < 20; i++) {
    sizing.measured(size, 0.05);
    size = sizing.size(1e6);
  }
  return size;
}

test('an unmeasured pool sends one task per batch; fast replies let batches grow to the cap', () => {
  const sizing = new BatchSizing(2);
  expect(sizing.size(1000)).toBe(1);
  expect(grow(sizing)).toBe(2048);
  expect(sizing.size(10)).toBe(5); // never more than a fair share of what is queued
});

test('one slow reply (a single task that took 6 ms) halves the batch size instead of dropping it to one', () => {
  const sizing = new BatchSizing(2);
  grow(sizing);
  sizing.measured(1, 6);
  expect(sizing.size(1e6)).toBe(1024);
  sizing.measured(1024, 0.1); // fast again: doubles from there
  expect(sizing.size(1e6)).toBe(2048);
});

test('tasks that stay slow shrink batches reply after reply, down to one task', () => {
  const sizing = new BatchSizing(2);
  grow(sizing);
  const sizes: number[] = [];
  for (let i = 0; i < 8; i++) {
    sizing.measured(1, 20); // each reply: one long task run, the rest handed back
    sizes.push(sizing.size(1e6));
  }
  expect(sizes.slice(0, 3)).toEqual([1024, 256, 64]);
  expect(sizes[sizes.length - 1]).toBe(1);
});

test('small batches that run fast (the tail of a map, split by the fair share) keep what larger ones proved', () => {
  const sizing = new BatchSizing(2);
  for (let size = 1; size <= 256; size *= 2) sizing.measured(size, 0.05); // a map's batches growing
  for (const size of [64, 16, 4, 1, 1]) sizing.measured(size, 0.3); // its tail: few tasks each, fixed costs dominating
  expect(sizing.size(1e6)).toBe(512); // the next burst starts from twice the largest proven batch, not from 2
  sizing.measured(1, 6); // a slow reply still lowers it
  expect(sizing.size(1e6)).toBe(128);
});

test('a burst is shared over every free run: 8 queued chunks with 4 runs free go 2 by 2, not 4, 2, 1, 1', () => {
  const sizing = new BatchSizing(2);
  grow(sizing);
  let queued = 8;
  const share = sizing.share(queued, 4);
  const sizes: number[] = [];
  for (let free = 4; free > 0; free--) {
    const size = Math.min(queued, sizing.size(queued, share));
    sizes.push(size);
    queued -= size;
  }
  expect(sizes).toEqual([2, 2, 2, 2]);
  // one run free (a reply came): the share is over the workers, as before
  expect(sizing.share(8, 1)).toBe(4);
});
