/** Timeouts in milliseconds, normalised as SPEC says: undefined/null wait forever, negatives are 0. */
export function normalizeTimeout(timeout: number | null | undefined, what = 'timeout'): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`${what} must be a number of milliseconds, got ${typeof timeout}`);
  }
  return timeout < 0 ? 0 : timeout;
}

/**
 * Waits for `promise` at most `ms`; resolves `{ timedOut: true }` when time runs out.
 * The timer keeps the process alive while the caller waits, and is cleared as soon as it can be.
 */
export function raceTimeout<T>(promise: Promise<T>, ms: number | undefined): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
  if (ms === undefined) return promise.then((value) => ({ timedOut: false as const, value }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ timedOut: true }), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ timedOut: false, value });
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
