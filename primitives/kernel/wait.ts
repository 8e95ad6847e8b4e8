/**
 * Waiting on a shared int32, written once. Every blocking operation of every core (acquire, wait, get,
 * recv, poll, join, arrive) is a *wait loop*: a generator that checks its state and, when it must wait,
 * yields a {@link Sleep} ("sleep while arr[index] === value, at most ms"). Two drivers run any loop:
 * {@link runSync} blocks the thread (`Atomics.wait`, allowed on Node's main thread too) and
 * {@link runAsync} never blocks the event loop (`Atomics.waitAsync`). So `acquire` and `acquireSync`
 * are the same loop under two drivers, and can never drift apart.
 *
 * `Atomics.waitAsync` does not keep the event loop alive by itself: while an async wait is pending a
 * ref'd timer does, as a blocked Python thread keeps its process alive (a promise the user awaits
 * keeps the process alive until it settles).
 */
import { LOCAL_OWNER } from './owner.js';

/** What a wait loop yields: sleep while `arr[index] === value`, at most `ms` (undefined = forever). */
export interface Sleep {
  arr: Int32Array;
  index: number;
  value: number;
  ms: number | undefined;
}

/** A wait loop: yields sleeps, returns the operation's result. Cleanup belongs in its `finally`. */
export type WaitLoop<T> = Generator<Sleep, T, void>;

/** One reusable Sleep per loop is enough: a driver reads it before resuming the loop. */
export function sleep(into: Sleep | null, arr: Int32Array, index: number, value: number, ms: number | undefined): Sleep {
  if (into === null) return { arr, index, value, ms };
  into.arr = arr;
  into.index = index;
  into.value = value;
  into.ms = ms;
  return into;
}

/** Loads before a blocking wait: a peer thread often answers within a microsecond (ping-pong). */
const SPIN = 200;

/** Runs a wait loop blocking the calling thread. */
export function runSync<T>(loop: WaitLoop<T>): T {
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value;
    const { arr, index, value, ms } = step.value;
    let changed = false;
    for (let i = 0; i < SPIN; i++) {
      if (Atomics.load(arr, index) !== value) {
        changed = true;
        break;
      }
    }
    if (changed) continue;
    sleepBlocking(arr, index, value, ms);
  }
}

/**
 * A blocking sleep for a thread that must keep serving other input meanwhile (the transport's
 * direct lanes between threads of two processes: a peer writing to a blocked thread must not
 * stall). It returns false when the thread has nothing to serve, and the plain sleep is used.
 * The transport registers it when it loads: this layer may not import the transport.
 */
export type BlockingSleep = (arr: Int32Array, index: number, value: number, ms: number | undefined) => boolean;

let blockingSleep: BlockingSleep | null = null;

/** Installs the thread's {@link BlockingSleep} (one per thread; the last one wins). */
export function setBlockingSleep(sleep: BlockingSleep | null): void {
  blockingSleep = sleep;
}

/** Blocks while `arr[index] === value`, at most `ms` (undefined = forever), serving the thread's other input if it has any. */
export function sleepBlocking(arr: Int32Array, index: number, value: number, ms: number | undefined): void {
  if (blockingSleep === null || !blockingSleep(arr, index, value, ms)) Atomics.wait(arr, index, value, ms ?? Infinity);
}

// Node 20 has Atomics.waitAsync; the ES2022 lib the project compiles against does not declare it.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (Atomics as unknown as {
  waitAsync(arr: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
}).waitAsync;

let pending = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;
const noop = () => {};

/** Resolves once `arr[index] !== value` was signalled, or after `ms` (undefined = forever). */
async function sleepAsync(arr: Int32Array, index: number, value: number, ms: number | undefined): Promise<void> {
  const r = atomicsWaitAsync(arr, index, value, ms ?? Infinity);
  if (!r.async) return;
  if (pending++ === 0) keepAlive = setInterval(noop, 0x7fffffff);
  try {
    await r.value;
  } finally {
    if (--pending === 0) clearInterval(keepAlive);
  }
}

/** Runs a wait loop without blocking the event loop. */
export async function runAsync<T>(loop: WaitLoop<T>): Promise<T> {
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value;
    const { arr, index, value, ms } = step.value;
    await sleepAsync(arr, index, value, ms);
  }
}

/** Absolute deadline (performance.now() ms) for a normalised timeout; Infinity = no deadline. */
export function deadlineOf(timeout: number | undefined): number {
  return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
}

/** Milliseconds left before `deadline` (undefined = forever), or -1 once it has passed. */
export function timeLeft(deadline: number): number | undefined {
  if (deadline === Infinity) return undefined;
  const left = deadline - performance.now();
  return left > 0 ? left : -1;
}

/** One wait that `abandon(owner)` may end early (the wait then gives up, as on a timeout). */
export interface WaitToken {
  cancelled: boolean;
  /** The int32 index the wait sleeps on (abandon wakes it there). */
  readonly index: number;
}

const LOCAL: WaitToken = { cancelled: false, index: -1 };

/**
 * The pending waits of other owners (process workers served by a broker, Manager clients), by
 * owner. When that owner ends, `cancel(owner)` marks its waits cancelled and wakes the sleepers, so a
 * gone worker neither keeps its place (a Condition ticket, a Barrier seat) nor keeps anything alive.
 * Waits of this thread are never cancelled and are not recorded.
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
  cancel(owner: string, arr: Int32Array): number {
    const set = this.#byOwner.get(owner);
    if (!set) return 0;
    this.#byOwner.delete(owner);
    const indexes = new Set<number>();
    for (const token of set) {
      token.cancelled = true;
      indexes.add(token.index);
    }
    for (const index of indexes) Atomics.notify(arr, index);
    return set.size;
  }
}

/**
 * Runs the wait loop `make(token)` under `driver` (runSync or runAsync), with a wait token for
 * `owner` that {@link RemoteWaits.cancel} can end, released when the loop ends.
 */
export function drive<T>(driver: typeof runSync, waits: RemoteWaits, owner: string | undefined, index: number, make: (token: WaitToken) => WaitLoop<T>): T;
export function drive<T>(driver: typeof runAsync, waits: RemoteWaits, owner: string | undefined, index: number, make: (token: WaitToken) => WaitLoop<T>): Promise<T>;
export function drive<T>(
  driver: typeof runSync | typeof runAsync, waits: RemoteWaits, owner: string | undefined, index: number, make: (token: WaitToken) => WaitLoop<T>,
): T | Promise<T> {
  const token = waits.enter(owner, index);
  let out: T | Promise<T>;
  try {
    out = driver(make(token));
  } catch (err) {
    waits.leave(owner, token);
    throw err;
  }
  if (out instanceof Promise) return out.finally(() => waits.leave(owner, token));
  waits.leave(owner, token);
  return out;
}
