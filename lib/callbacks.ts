/**
 * Running user callbacks (Future done callbacks, Pool callback/errorCallback). A callback that throws,
 * or an `async` one whose promise rejects, must not break the pool nor end the program with an
 * unhandled rejection: it is reported on stderr as Python's concurrent.futures reports a raising
 * callback (`exception calling callback for <Future ...>` and the traceback), and everything goes on.
 */
import type * as AsyncHooks from 'node:async_hooks';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type * as Util from 'node:util';
import { builtin } from './base/builtin.js';

/**
 * The owners whose callbacks the current async context runs inside. Waiting for an owner's callbacks
 * from inside one of them (a done callback that awaits its own future's result) would wait forever,
 * so such a wait skips them.
 * Made at the first callback run: none runs inside a callback before.
 */
let running: AsyncLocalStorage<ReadonlySet<object>> | undefined;
const runningFor = () => (running ??= new (builtin<typeof AsyncHooks>('node:async_hooks').AsyncLocalStorage)());

/** Whether the caller runs inside a callback of `owner` (directly or in something it awaits). */
export function insideCallbackOf(owner: object): boolean {
  return running?.getStore()?.has(owner) ?? false;
}

/**
 * Async callbacks still running, with the owner each belongs to: what a pool's join() and an executor's
 * shutdown() wait for.
 */
export class RunningCallbacks {
  readonly #running = new Map<Promise<void>, object>();

  /** Tracks `running`, a callback of `owner`, until it settles. */
  readonly track = (running: Promise<void>, owner: object): void => {
    this.#running.set(running, owner);
    void running.then(() => this.#running.delete(running));
  };

  /**
   * Resolves once every tracked callback has finished, but for those the caller runs inside: a callback
   * that awaits join() or shutdown() would otherwise wait for itself forever.
   */
  async finished(): Promise<void> {
    for (;;) {
      const others: Promise<void>[] = [];
      for (const [running, owner] of this.#running) if (!insideCallbackOf(owner)) others.push(running);
      if (others.length === 0) return;
      await Promise.all(others);
    }
  }
}

/** Writes Python's report of a failed callback: the headline, then the error with its stack and causes. */
export function reportCallbackError(headline: string, err: unknown): void {
  let detail: string;
  try {
    const { inspect } = builtin<typeof Util>('node:util');
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
 * Returns, for a callback that returned a promise, a promise that settles (never rejects) once that
 * one has, so the owner can wait for it; undefined for a synchronous callback.
 *
 * @param kind what the function is to the user: `'callback'`, `'errorCallback'`, ...
 * @param owner the object the callback belongs to, shown by its `toString()` (a Future's repr).
 */
export function runCallback(kind: string, fn: (arg: any) => unknown, arg: unknown, owner?: object): Promise<void> | undefined {
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
    if (owner === undefined) returned = fn(arg);
    else {
      const outer = runningFor().getStore();
      returned = runningFor().run(new Set(outer).add(owner), fn, arg);
    }
  } catch (err) {
    reportCallbackError(headline(), err);
    return undefined;
  }
  if (!isThenable(returned)) return undefined;
  return Promise.resolve(returned).then(
    () => {},
    (err) => reportCallbackError(headline(), err),
  );
}
