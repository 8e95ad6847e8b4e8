/**
 * Future, wait() and asCompleted(): Python's concurrent.futures._base, with promises for blocking.
 *
 * The states are Python's, including the distinction between CANCELLED (cancel() succeeded) and
 * CANCELLED_AND_NOTIFIED (the executor has acknowledged it): `wait()` and `asCompleted()` count a
 * cancelled future as done only once notified, while `result()` wakes at once — exactly as in Python.
 * Our executors notify as soon as a queued future is cancelled, so users never see the gap.
 */
import { CancelledError, InvalidStateError, TimeoutError } from './base/errors.js';
import { normalizeTimeout, raceTimeout, setLongTimeout, type LongTimer, type Timeout } from './base/timeout.js';
import { insideCallbackOf, runCallback } from './callbacks.js';

export { InvalidStateError };


type State = 'PENDING' | 'RUNNING' | 'CANCELLED' | 'CANCELLED_AND_NOTIFIED' | 'FINISHED';

const DESCRIPTION: Record<State, string> = {
  PENDING: 'pending', RUNNING: 'running', CANCELLED: 'cancelled', CANCELLED_AND_NOTIFIED: 'cancelled', FINISHED: 'finished',
};

/** @internal called by the executor when a queued future is cancelled, so it can drop and notify it. */

export const onCancel: unique symbol = Symbol('onCancel');
/** @internal set by the executor: told of each async done callback still running, so shutdown() waits for it. */
export const trackCallbacks: unique symbol = Symbol('trackCallbacks');
const addWaiter: unique symbol = Symbol('addWaiter');
const removeWaiter: unique symbol = Symbol('removeWaiter');
const peek: unique symbol = Symbol('peek');

type Waiter = (future: Future<any>) => void;

let nextId = 1;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
  return (value as object).constructor?.name ?? 'Object';
}

/**
 * The eventual result of a call submitted to an executor (Python's `concurrent.futures.Future`).
 *
 * Made by `submit()`; `new Future()` is for executor implementers and tests, as in Python.
 */
export class Future<T = unknown> {
  #state: State = 'PENDING';
  #ok = true;
  #value: unknown = undefined;
  #callbacks: ((future: Future<any>) => unknown)[] = [];
  #waiters = new Set<Waiter>();
  #wakeResult: (() => void) | null = null;
  #whenDone: Promise<void> | null = null;
  /** Async done callbacks still running: result() and exception() wait for them. */
  #callbacksRunning = 0;
  readonly #id = nextId++;
  /** @internal */
  [onCancel]?: () => void;
  /** @internal */
  [trackCallbacks]?: (running: Promise<void>, owner: object) => void;

  /**
   * Cancels the call if it is still queued. Returns false if it is running or done, true otherwise
   * (also when it was already cancelled). Done callbacks run at once.
   */
  cancel(): boolean {
    if (this.#state === 'RUNNING' || this.#state === 'FINISHED') return false;
    if (this.#state === 'CANCELLED' || this.#state === 'CANCELLED_AND_NOTIFIED') return true;
    this.#state = 'CANCELLED';
    this.#invokeCallbacks();
    this.#wake();
    this[onCancel]?.();
    return true;
  }

  /** Whether the call was cancelled. */
  cancelled(): boolean {
    return this.#state === 'CANCELLED' || this.#state === 'CANCELLED_AND_NOTIFIED';
  }

  /** Whether the call is running (handed to a worker) and cannot be cancelled. */
  running(): boolean {
    return this.#state === 'RUNNING';
  }

  /** Whether the call finished, failed or was cancelled. */
  done(): boolean {
    return this.#state !== 'PENDING' && this.#state !== 'RUNNING';
  }

  /**
   * The call's return value. Rejects with the call's error, with `CancelledError` if the future was
   * cancelled, or with `TimeoutError` if it is not done within `timeout` ms (the call keeps running).
   */
  async result(timeout?: Timeout): Promise<T> {
    await this.#waitDone(timeout);
    if (!this.#ok) throw this.#value;
    return this.#value as T;
  }

  /**
   * The error the call threw, or `null` if it succeeded. Rejects with `CancelledError` or
   * `TimeoutError` as {@link Future.result} does.
   */
  async exception(timeout?: Timeout): Promise<unknown> {
    await this.#waitDone(timeout);
    return this.#ok ? null : this.#value;
  }

  /**
   * The call's return value, read at once without waiting: for done callbacks and other code that
   * runs once the future is done (Python's `def callback(f): print(f.result())` is
   * `(f) => console.log(f.resultNow())`). Throws the call's error if it failed, `CancelledError` if
   * it was cancelled, and `InvalidStateError` if it is not done yet.
   */
  resultNow(): T {
    this.#checkDoneNow('resultNow');
    if (!this.#ok) throw this.#value;
    return this.#value as T;
  }

  /**
   * The error the call threw, or `null` if it succeeded, read at once without waiting. Throws
   * `CancelledError` if the future was cancelled and `InvalidStateError` if it is not done yet.
   */
  exceptionNow(): unknown {
    this.#checkDoneNow('exceptionNow');
    return this.#ok ? null : this.#value;
  }

  #checkDoneNow(what: string): void {
    if (!this.done()) throw new InvalidStateError(`${what}() needs a done future (await result() to wait for it): ${this}`);
    if (this.cancelled()) throw new CancelledError();
  }

  /** Done, and its async done callbacks have finished (a callback of this future need not wait for itself). */
  #settled(): boolean {
    return this.done() && (this.#callbacksRunning === 0 || insideCallbackOf(this));
  }

  async #waitDone(timeout: Timeout): Promise<void> {
    const ms = normalizeTimeout(timeout);
    if (!this.#settled()) {
      this.#whenDone ??= new Promise((resolve) => (this.#wakeResult = resolve));
      const outcome = await raceTimeout(this.#whenDone, ms);
      if (outcome.timedOut) throw new TimeoutError();
    }
    if (this.cancelled()) throw new CancelledError();
  }

  /**
   * Calls `fn(future)` when the future is done (finished or cancelled), in the order added; at once
   * if it is already done. Read the outcome with {@link Future.resultNow} / {@link Future.exceptionNow}
   * (no `await` needed). A callback that throws, or an `async` one whose promise rejects, is reported on
   * stderr as Python does (`exception calling callback for <Future ...>`) and does not stop the others.
   */
  addDoneCallback(fn: (future: Future<T>) => unknown): void {
    if (typeof fn !== 'function') throw new TypeError(`addDoneCallback() needs a function, got ${typeof fn}`);
    if (this.done()) this.#runCallback(fn);
    else this.#callbacks.push(fn);
  }

  /**
   * For executors: marks the future running and returns true, or returns false (and notifies
   * waiters) if it was cancelled. Throws `InvalidStateError` in any other state.
   */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === 'CANCELLED') {
      this.#state = 'CANCELLED_AND_NOTIFIED';
      for (const w of [...this.#waiters]) w(this);
      return false;
    }
    if (this.#state === 'PENDING') {
      this.#state = 'RUNNING';
      return true;
    }
    throw new InvalidStateError(`Future in unexpected state: ${this}`);
  }

  /** For executors: completes the future with `value`. Throws `InvalidStateError` if already done. */
  setResult(value: T): void {
    this.#finish(true, value);
  }

  /** For executors: completes the future with `error`. Throws `InvalidStateError` if already done. */
  setException(error: unknown): void {
    this.#finish(false, error);
  }

  #finish(ok: boolean, value: unknown): void {
    if (this.done()) throw new InvalidStateError(`${this.#state}: ${this}`);
    this.#state = 'FINISHED';
    this.#ok = ok;
    this.#value = value;
    for (const w of [...this.#waiters]) w(this);
    this.#invokeCallbacks();
    this.#wake();
  }

  /** Wakes result()/exception() once the future is done and no async done callback is still running. */
  #wake(): void {
    if (this.#callbacksRunning > 0) return;
    const wake = this.#wakeResult;
    this.#wakeResult = null;
    wake?.();
  }

  #invokeCallbacks(): void {
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const fn of callbacks) this.#runCallback(fn);
  }

  #runCallback(fn: (future: Future<T>) => unknown): void {
    const running = runCallback('callback', fn, this, this);
    if (running === undefined) return;
    this.#callbacksRunning++;
    const finished = running.then(() => {
      this.#callbacksRunning--;
      this.#wake();
    });
    this[trackCallbacks]?.(finished, this);
  }

  /** @internal for wait()/asCompleted(): notified completions (FINISHED or CANCELLED_AND_NOTIFIED). */
  [addWaiter](w: Waiter): void {
    this.#waiters.add(w);
  }

  /** @internal */
  [removeWaiter](w: Waiter): void {
    this.#waiters.delete(w);
  }

  /** @internal the state and, when finished with an error, that error — without waiting. */
  [peek](): { state: State; error: unknown } {
    return { state: this.#state, error: this.#state === 'FINISHED' && !this.#ok ? this.#value : null };
  }

  /** `<Future at 0x1 state=finished returned number>`, as Python's repr. */
  toString(): string {
    const head = `<Future at 0x${this.#id.toString(16)} state=${DESCRIPTION[this.#state]}`;
    if (this.#state !== 'FINISHED') return `${head}>`;
    if (!this.#ok) return `${head} raised ${(this.#value as any)?.name ?? typeName(this.#value)}>`;
    return `${head} returned ${typeName(this.#value)}>`;
  }

  /** @internal readable in console.log / util.inspect */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** `wait()` returns when any future finishes or is cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** `wait()` returns when any future fails, or when all are done if none fails. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** `wait()` returns when every future is done. */
export const ALL_COMPLETED = 'ALL_COMPLETED';

export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

export interface WaitOptions {
  /** Milliseconds; undefined/null waits as long as it takes. */
  timeout?: number | null;
  /** When to return; default `'ALL_COMPLETED'`. */
  returnWhen?: ReturnWhen;
}

/** What {@link wait} resolves to (Python's `DoneAndNotDoneFutures`). */
export interface DoneAndNotDone<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

function toFutureSet<T>(fs: Iterable<Future<T>>, what: string): Set<Future<T>> {
  if (fs == null || typeof (fs as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what}() needs an iterable of futures, got ${fs === null ? 'null' : typeof fs}`);
  }
  const set = new Set(fs);
  for (const f of set) if (!(f instanceof Future)) throw new TypeError(`${what}() got a ${typeName(f)}, not a Future`);
  return set;
}

function notifiedDone(f: Future<any>): boolean {
  const { state } = f[peek]();
  return state === 'FINISHED' || state === 'CANCELLED_AND_NOTIFIED';
}

function failed(f: Future<any>): boolean {
  const { state, error } = f[peek]();
  return state === 'FINISHED' && error !== null;
}

/**
 * Waits for some of `futures` to complete (Python's `concurrent.futures.wait`) and resolves with the
 * done and not-done sets. Never rejects on timeout: what is done by then is in `done`.
 * `options` may be the timeout alone.
 */
export function wait<T>(futures: Iterable<Future<T>>, options: WaitOptions | number | null = {}): Promise<DoneAndNotDone<T>> {
  const opts: WaitOptions = typeof options === 'number' || options === null ? { timeout: options } : options ?? {};
  const ms = normalizeTimeout(opts.timeout);
  const returnWhen = opts.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new TypeError(`Invalid return condition: ${JSON.stringify(returnWhen)}`);
  }
  const fs = toFutureSet(futures, 'wait');
  const done = new Set([...fs].filter(notifiedDone));
  const result = () => ({ done, notDone: new Set([...fs].filter((f) => !done.has(f))) });
  if (returnWhen === FIRST_COMPLETED && done.size > 0) return Promise.resolve(result());
  if (returnWhen === FIRST_EXCEPTION && [...done].some(failed)) return Promise.resolve(result());
  if (done.size === fs.size) return Promise.resolve(result());

  return new Promise((resolve) => {
    let pending = fs.size - done.size;
    let timer: LongTimer | undefined;
    const finish = () => {
      timer?.clear();
      for (const f of fs) f[removeWaiter](waiter);
      resolve(result());
    };
    const waiter: Waiter = (f) => {
      done.add(f);
      if (returnWhen === FIRST_COMPLETED || (returnWhen === FIRST_EXCEPTION && failed(f)) || --pending === 0) finish();
    };
    for (const f of fs) if (!done.has(f)) f[addWaiter](waiter);
    if (ms !== undefined) timer = setLongTimeout(finish, ms);
  });
}

/**
 * Yields each of `futures` as it completes (finished or cancelled), those already done first
 * (Python's `concurrent.futures.as_completed`); a future given twice is yielded once. Throws
 * `TimeoutError` ("2 (of 5) futures unfinished") when `timeout` ms after the call some are not done.
 */
export function asCompleted<T>(futures: Iterable<Future<T>>, timeout?: number | null | { timeout?: number | null }): AsyncGenerator<Future<T>, void, undefined> {
  const ms = normalizeTimeout(typeof timeout === 'object' && timeout !== null ? timeout.timeout : timeout);
  const deadline = ms === undefined ? undefined : performance.now() + ms;
  const fs = toFutureSet(futures, 'asCompleted');
  return (async function* () {
    const finished = [...fs].filter(notifiedDone);
    const pending = new Set(fs);
    for (const f of finished) pending.delete(f);
    const arrived: Future<T>[] = [];
    let wake: (() => void) | null = null;
    const waiter: Waiter = (f) => {
      arrived.push(f);
      wake?.();
    };
    for (const f of pending) f[addWaiter](waiter);
    try {
      yield* finished;
      while (pending.size > 0) {
        while (arrived.length > 0) {
          const f = arrived.shift()!;
          if (pending.delete(f)) yield f;
        }
        if (pending.size === 0) break;
        let left: number | undefined;
        if (deadline !== undefined) {
          left = deadline - performance.now();
          if (left <= 0) throw new TimeoutError(`${pending.size} (of ${fs.size}) futures unfinished`);
        }
        await raceTimeout(new Promise<void>((resolve) => (wake = resolve)), left);
        wake = null;
      }
    } finally {
      for (const f of fs) f[removeWaiter](waiter);
    }
  })();
}
