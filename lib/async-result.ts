/** AsyncResult: Python's ApplyResult — a result that arrives later, with optional callbacks. */
import { NotReadyError, TimeoutError } from './base/errors.js';
import { normalizeTimeout, raceTimeout } from './base/timeout.js';
import { runCallback } from './callbacks.js';

export interface ResultCallbacks<R> {
  /** Called on the caller's thread with the result, once, before get()/wait() resolve. */
  callback?: (result: R) => void;
  /** Called with the error, once, before get()/wait() resolve. */
  errorCallback?: (error: Error) => void;
}

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
  readonly #callbacks: ResultCallbacks<R>;

  /** @internal results are made by Pool methods. */
  constructor(callbacks: ResultCallbacks<R> = {}) {
    this.#callbacks = callbacks;
  }

  /** @internal */
  [settleResult](ok: boolean, value: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = ok ? OK : FAILED;
    this.#value = value;
    if (ok && this.#callbacks.callback) runCallback('callback', this.#callbacks.callback, value, this);
    if (!ok && this.#callbacks.errorCallback) runCallback('errorCallback', this.#callbacks.errorCallback, value, this);
    this.#markDone?.();
  }

  #whenDone(): Promise<void> {
    if (this.#state !== PENDING) return Promise.resolve();
    this.#done ??= new Promise((resolve) => (this.#markDone = resolve));
    return this.#done;
  }

  /** The result; rejects with the task's error, or TimeoutError if not ready in time (the task keeps running). */
  async get(timeout?: number | null): Promise<R> {
    const ms = normalizeTimeout(timeout);
    if (this.#state === PENDING) {
      const outcome = await raceTimeout(this.#whenDone(), ms);
      if (outcome.timedOut) throw new TimeoutError();
    }
    if (this.#state === FAILED) throw this.#value;
    return this.#value as R;
  }

  /** Waits until the result is ready or the timeout passes; never rejects. */
  async wait(timeout?: number | null): Promise<void> {
    const ms = normalizeTimeout(timeout);
    if (this.#state === PENDING) await raceTimeout(this.#whenDone(), ms);
  }

  /** Whether the call has completed. */
  ready(): boolean {
    return this.#state !== PENDING;
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
    if (this.#state === PENDING) throw new NotReadyError(`${this.constructor.name} not ready`);
    return this.#state === OK;
  }
}
