/**
 * Waiting on a shared int32: the two ways every core waits.
 * Sync waits block the thread (`Atomics.wait`, allowed on Node's main thread too); async waits use
 * `Atomics.waitAsync`, which does not keep the event loop alive by itself: a pending wait holds a
 * ref'd timer, as a blocked Python thread keeps its process alive.
 */
import { performance } from 'node:perf_hooks';

/** Absolute deadline (performance.now() ms) for a normalised timeout; Infinity = no deadline. */
export function deadlineOf(timeout: number | undefined): number {
  return timeout === undefined ? Infinity : performance.now() + timeout;
}

/** Milliseconds left before `deadline` (undefined = forever), or -1 once it has passed. */
export function timeLeft(deadline: number): number | undefined {
  if (deadline === Infinity) return undefined;
  const left = deadline - performance.now();
  return left > 0 ? left : -1;
}

/** Blocks while `arr[index] === expected`, at most `ms` (undefined = forever). */
export function waitSync(arr: Int32Array, index: number, expected: number, ms: number | undefined): void {
  Atomics.wait(arr, index, expected, ms);
}

// Node 20 has Atomics.waitAsync; the ES2022 lib the project compiles against does not declare it.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (Atomics as unknown as {
  waitAsync(arr: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
}).waitAsync;

let pending = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;
const noop = () => {};

/** Resolves once `arr[index] !== expected` was signalled, or after `ms` (undefined = forever). */
export async function waitAsync(arr: Int32Array, index: number, expected: number, ms: number | undefined): Promise<void> {
  const r = atomicsWaitAsync(arr, index, expected, ms);
  if (!r.async) return;
  if (pending++ === 0) keepAlive = setInterval(noop, 0x7fffffff);
  try {
    await r.value;
  } finally {
    if (--pending === 0) clearInterval(keepAlive);
  }
}
