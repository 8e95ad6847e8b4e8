/**
 * Running user callbacks (Future done callbacks, Pool callback/errorCallback). A callback that throws,
 * or an `async` one whose promise rejects, must not break the pool nor end the program with an
 * unhandled rejection: it is reported on stderr as Python's concurrent.futures reports a raising
 * callback (`exception calling callback for <Future ...>` and the traceback), and everything goes on.
 */
import { inspect } from 'node:util';

/** Writes Python's report of a failed callback: the headline, then the error with its stack and causes. */
export function reportCallbackError(headline: string, err: unknown): void {
  let detail: string;
  try {
    detail = err instanceof Error ? inspect(err) : `${typeof err === 'string' ? err : inspect(err)}`;
  } catch {
    detail = '[an error that could not be printed]';
  }
  process.stderr.write(`${headline}\n${detail}\n`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as any).then === 'function';
  } catch {
    return false;
  }
}

/**
 * Calls `fn(arg)`. If it throws, or returns a promise that rejects, reports
 * `exception calling <kind>[ for <owner>]` and the error on stderr. Never throws.
 *
 * @param kind what the function is to the user: `'callback'`, `'errorCallback'`, ...
 * @param owner the object the callback belongs to, shown by its `toString()` (a Future's repr).
 */
export function runCallback(kind: string, fn: (arg: any) => unknown, arg: unknown, owner?: { toString(): string }): void {
  const headline = () => {
    let who = '';
    try {
      if (owner !== undefined) who = ` for ${String(owner)}`;
    } catch {
      // an owner that cannot describe itself: the headline without it
    }
    return `exception calling ${kind}${who}`;
  };
  let returned: unknown;
  try {
    returned = fn(arg);
  } catch (err) {
    reportCallbackError(headline(), err);
    return;
  }
  if (isThenable(returned)) {
    Promise.resolve(returned).then(undefined, (err) => reportCallbackError(headline(), err));
  }
}
