/** AsyncResult: Python's ApplyResult — a result that arrives later, with optional callbacks. */
import { NotReadyError, TimeoutError } from './base/errors.js';
import { normalizeTimeout, raceTimeout, type Timeout } from './base/timeout.js';
import { insideCallbackOf, runCallback } from './callbacks.js';

export interface ResultCallbacks<R> {
  /**
   * Called on the caller's thread with the result, once, before get()/wait() resolve. An async
   * callback (one returning a promise) has run when its promise settles: get(), wait() and the
   * pool's join() wait for that.
   */
  callback?: (result: R) => unknown;
  /** Called with the error, once, before get()/wait() resolve (an async one is awaited as `callback` is). */
  errorCallback?: (error: Error) => unknown;
}

/** Told of each async callback still running, so the pool's join() can wait for it. */
export type CallbackTracker = (running: Promise<void>, owner: object) => void;

const PENDING = 0;
const OK = 1;
const FAILED = 2;

/** Settles an AsyncResult; internal to the library (not exported from the package root). */
export const settleResult: unique symbol = Symbol('settleResult');

export class AsyncResult<R> {
  #state = PENDING;
  #value: unknown;
  #done: Promise<void> | null = null;
  #markDone: (() => void) | null = null;
  /** An async callback of the settled result is still running: not ready yet, as in Python. */
  #callbackRunning = false;
  readonly #callbacks: ResultCallbacks<R>;
  readonly #track: CallbackTracker | undefined;

  /** @internal results are made by Pool methods. */
  constructor(callbacks: ResultCallbacks<R> = {}, track?: CallbackTracker) {
    this.#callbacks = callbacks;
    this.#track = track;
  }

  /** @internal */
  [settleResult](ok: boolean, value: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = ok ? OK : FAILED;
    this.#value = value;
    let running: Promise<void> | undefined;
    if (ok && this.#callbacks.callback) running = runCallback('callback', this.#callbacks.callback, value, this);
    if (!ok && this.#callbacks.errorCallback) running = runCallback('errorCallback', this.#callbacks.errorCallback, value, this);
    if (running === undefined) {
      this.#markDone?.();
      return;
    }
    this.#callbackRunning = true;
    const finished = running.then(() => {
      this.#callbackRunning = false;
      this.#markDone?.();
    });
    this.#track?.(finished, this);
  }

  /** Settled and its callback has run (the caller's own callback may read it while it runs). */
  #ready(): boolean {
    return this.#state !== PENDING && (!this.#callbackRunning || insideCallbackOf(this));
  }

  #whenDone(): Promise<void> {
    if (this.#ready()) return Promise.resolve();
    this.#done ??= new Promise((resolve) => (this.#markDone = resolve));
    return this.#done;
  }

  /** The result; rejects with the task's error, or TimeoutError if not ready in time (the task keeps running). */
  async get(timeout?: Timeout): Promise<R> {
    const ms = normalizeTimeout(timeout);
    if (!this.#ready()) {
      // without a timeout there is nothing to race: one promise less per result waited for
      if (ms === undefined) await this.#whenDone();
      else if ((await raceTimeout(this.#whenDone(), ms)).timedOut) throw new TimeoutError();
    }
    if (this.#state === FAILED) throw this.#value;
    return this.#value as R;
  }

  /** Waits until the result is ready or the timeout passes; never rejects. */
  async wait(timeout?: Timeout): Promise<void> {
    const ms = normalizeTimeout(timeout);
    if (!this.#ready()) await raceTimeout(this.#whenDone(), ms);
  }

  /** Whether the call has completed. */
  ready(): boolean {
    return this.#ready();
  }

  /** `<AsyncResult state=finished returned number>`, as failed-callback reports name their result. */
  toString(): string {
    if (this.#state === PENDING) return `<${this.constructor.name} state=pending>`;
    if (this.#state === FAILED) return `<${this.constructor.name} state=finished raised ${(this.#value as Error)?.name ?? typeof this.#value}>`;
    const v = this.#value;
    return `<${this.constructor.name} state=finished returned ${v === null ? 'null' : Array.isArray(v) ? 'Array' : typeof v}>`;
  }

  /** Whether the call completed without an error; throws NotReadyError before that. */
  successful(): boolean {
    if (!this.#ready()) throw new NotReadyError(`${this.constructor.name} not ready`);
    return this.#state === OK;
  }
}
