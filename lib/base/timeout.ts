/**
 * Timeouts in milliseconds, one rule for the whole package: `undefined`/`null` and `Infinity`
 * wait forever, a negative timeout is 0, NaN and non-numbers are a TypeError. Any finite value is
 * honoured in full: Node's timers stop at 2^31 - 1 ms (~24.8 days) and fire at once beyond that
 * (with a TimeoutOverflowWarning), so longer waits re-arm the timer until the time is really up.
 */

/** The longest delay `setTimeout` accepts. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Python's `timeout=` keyword, as a trailing options object: `res.get({ timeout: 1000 })`. */
export interface TimeoutKeywords {
  timeout?: number | null;
}

/** A timeout in milliseconds, or the keywords object holding one. */
export type Timeout = number | null | undefined | TimeoutKeywords;

/** `{ timeout }` of a call ported from Python (`get(timeout=1)`); any other key is a TypeError naming it. */
function timeoutKeyword(kw: object, what: string): number | null | undefined {
  for (const key of Object.keys(kw)) {
    if (key !== 'timeout') throw new TypeError(`unexpected keyword argument '${key}' (${what} takes { timeout })`);
  }
  return (kw as TimeoutKeywords).timeout;
}

/**
 * Checks and normalises a timeout: `undefined` means wait forever (for `undefined`, `null` and
 * `Infinity`), otherwise a number of milliseconds >= 0. Throws a TypeError naming `what` for NaN
 * or anything that is not a number.
 */
export function normalizeTimeout(timeout: Timeout, what = 'timeout'): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout === 'object') timeout = timeoutKeyword(timeout, what);
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number') {
    throw new TypeError(`${what} must be a number of milliseconds (or null/undefined to wait forever), got ${typeof timeout}`);
  }
  if (Number.isNaN(timeout)) {
    throw new TypeError(`${what} must be a number of milliseconds (or null/undefined to wait forever), got NaN`);
  }
  if (timeout === Infinity) return undefined;
  return timeout < 0 ? 0 : timeout;
}

/** A timer that may be longer than `setTimeout` allows; `clear()` stops it. */
export interface LongTimer {
  clear(): void;
}

/**
 * Calls `fn` once `ms` milliseconds have passed, however large `ms` is: a delay beyond
 * {@link MAX_TIMER_MS} is waited in steps. The timer is ref'd (it keeps the process alive) unless
 * `ref` is false; callers create it only while someone waits, and clear it when the wait ends.
 */
export function setLongTimeout(fn: () => void, ms: number, ref = true): LongTimer {
  const deadline = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const left = deadline - performance.now();
      if (left > 1) arm(left); // a step ended early (the step limit, or a timer firing a hair soon)
      else fn();
    }, Math.min(Math.max(delay, 0), MAX_TIMER_MS));
    if (!ref) timer.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

/**
 * Waits for `promise` at most `ms` (`undefined` = as long as it takes); resolves `{ timedOut: true }`
 * when time runs out, and rejects if `promise` rejects. The timer keeps the process alive while the
 * caller waits, and is cleared as soon as the promise settles.
 */
export function raceTimeout<T>(promise: Promise<T>, ms: number | undefined): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
  if (ms === undefined || ms === Infinity) return promise.then((value) => ({ timedOut: false as const, value }));
  return new Promise((resolve, reject) => {
    const timer = setLongTimeout(() => resolve({ timedOut: true }), ms);
    promise.then(
      (value) => {
        timer.clear();
        resolve({ timedOut: false, value });
      },
      (err) => {
        timer.clear();
        reject(err);
      },
    );
  });
}
