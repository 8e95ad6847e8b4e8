/**
 * Python's start-method functions, so a ported program's `set_start_method('spawn')`,
 * `get_context('spawn')` and `freeze_support()` run. Node cannot fork: every worker starts fresh (as
 * with 'spawn'), and whether it is a thread or a child process is each Pool's and Process's `runtime`
 * option (threads by default), whatever the start method. The method is checked and remembered, as
 * Python does, so `get_start_method()` answers what was set.
 */
import * as mp from '../index.js';
import { Pool } from './pool.js';
import { Process } from './process.js';
import { ProcessPoolExecutor, ThreadPoolExecutor, wait } from './futures.js';
import { Array, Pipe } from './names.js';

const METHODS = ['spawn', 'fork', 'forkserver'] as const;
export type StartMethod = (typeof METHODS)[number];

let chosen: StartMethod | null = null;

function checkMethod(method: unknown): StartMethod {
  if (!(METHODS as readonly unknown[]).includes(method)) throw new mp.ValueError(`cannot find context for ${JSON.stringify(method)}`);
  return method as StartMethod;
}

/** Python's `set_start_method(method, force=False)`: a second call needs `{ force: true }` (RuntimeError otherwise). */
export function set_start_method(method: StartMethod | null, options?: { force?: boolean }): void {
  if (chosen !== null && !options?.force) throw new Error('context has already been set');
  chosen = method === null ? null : checkMethod(method);
}

/** Python's `get_start_method(allow_none=False)`: 'spawn' unless another was set. */
export function get_start_method(allow_none = false): StartMethod | null {
  if (chosen === null && !allow_none) chosen = 'spawn';
  return chosen;
}

/** Python's `get_all_start_methods()`. */
export function get_all_start_methods(): StartMethod[] {
  return [...METHODS];
}

/** Python's `freeze_support()`: nothing to do (no frozen Windows executables here). */
export function freeze_support(): void {}

/** What `get_context()` returns: the same classes and functions as `multiproc/python`. */
export type Context = typeof mp & {
  Pool: typeof Pool; Process: typeof Process; Array: typeof Array; Pipe: typeof Pipe;
  ThreadPoolExecutor: typeof ThreadPoolExecutor; ProcessPoolExecutor: typeof ProcessPoolExecutor; wait: typeof wait;
  get_start_method(allow_none?: boolean): StartMethod | null;
};

/** Python's `get_context(method=None)`: a context whose `Queue`, `Process`, `Pool`... are the module's own. */
export function get_context(method?: StartMethod | null): Context {
  const m = method == null ? get_start_method() : checkMethod(method);
  return {
    ...mp, Pool, Process, Array, Pipe, ThreadPoolExecutor, ProcessPoolExecutor, wait,
    get_start_method: () => m,
  };
}
