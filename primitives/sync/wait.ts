/**
 * Waiting on a shared int32: the two ways every core waits.
 * Sync waits block the thread (`Atomics.wait`, allowed on Node's main thread too); async waits use
 * `Atomics.waitAsync`, which does not keep the event loop alive by itself: a pending wait holds a
 * ref'd timer, as a blocked Python thread keeps its process alive.
 */
import { performance } from 'node:perf_hooks';
import { LOCAL_OWNER } from './owner.js';

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

/** One async wait that `abandon(owner)` may end early (the wait then reports a timeout). */
export interface WaitToken {
  cancelled: boolean;
  /** The int32 index the wait sleeps on (abandon wakes it there). */
  readonly index: number;
}

const LOCAL: WaitToken = { cancelled: false, index: -1 };

/**
 * The pending async waits of remote callers, by owner. A process worker's waits run here, in its
 * creator's broker, as async waits; when that worker dies the broker calls `abandon(owner)` and
 * the core cancels them (then wakes the sleepers so they notice), so a dead worker neither keeps
 * its place (a Condition ticket, a Barrier seat) nor keeps this process alive. Waits of this
 * thread are never abandoned and are not recorded.
 */
export class RemoteWaits {
  readonly #byOwner = new Map<string, Set<WaitToken>>();

  enter(owner: string | undefined, index: number): WaitToken {
    if (owner === undefined || owner === LOCAL_OWNER) return LOCAL;
    const token: WaitToken = { cancelled: false, index };
    let set = this.#byOwner.get(owner);
    if (!set) this.#byOwner.set(owner, (set = new Set()));
    set.add(token);
    return token;
  }

  leave(owner: string | undefined, token: WaitToken): void {
    if (token === LOCAL || owner === undefined) return;
    const set = this.#byOwner.get(owner);
    if (set?.delete(token) && set.size === 0) this.#byOwner.delete(owner);
  }

  /**
   * Cancels every pending wait of `owner` and wakes every sleeper on their indexes: the cancelled
   * ones give up, the others check again (so no wake-up meant for them is lost).
   */
  cancel(owner: string, arr: Int32Array): void {
    const set = this.#byOwner.get(owner);
    if (!set) return;
    this.#byOwner.delete(owner);
    const indexes = new Set<number>();
    for (const token of set) {
      token.cancelled = true;
      indexes.add(token.index);
    }
    for (const index of indexes) Atomics.notify(arr, index);
  }
}

/** How many async waits of this thread are pending (diagnostics, tests). */
export function pendingAsyncWaits(): number {
  return pending;
}
