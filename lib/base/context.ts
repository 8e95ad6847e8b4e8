/**
 * Who we are: the main program, a pool/Process worker thread, or a worker child process.
 * Filled in by the worker entries (lib/worker/); read by currentProcess() and the `isMainThread` guard.
 */
import type * as AsyncHooks from 'node:async_hooks';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type * as Os from 'node:os';
import { builtin } from './builtin.js';
import { inMainThread, threadId } from './thread.js';
import { MultiprocError } from './errors.js';

/** Marks a child process started by multiproc (passed as an argument, not in the environment). */
export const WORKER_ARG = '--multiproc-worker';

const inChildWorker = process.argv.includes(WORKER_ARG);

/**
 * False inside every multiproc worker, thread or child process: the twin of Python's
 * `if __name__ == '__main__':` guard for modules that name their own tasks.
 */
export const isMainThread: boolean = !inChildWorker && inMainThread;

// Kept on globalThis: the bundled worker entry and the user's own import of the package are two copies of
// this module, and both must see the name the parent gave.
const stateKey = Symbol.for('multiproc.context');
const state: { name: string; parent?: { name: string; pid: number } } = ((globalThis as any)[stateKey] ??= {
  name: isMainThread ? 'MainProcess' : 'Worker',
});

// The async context of a task module's import in this worker: its top level (and what it awaits) runs
// inside it, while other work of the worker (left running by an earlier task) does not. On globalThis: the
// worker entry's copy of this module imports them, the user's copy starts Processes.
const importingKey = Symbol.for('multiproc.importingTaskModule');

function importContext(): AsyncLocalStorage<true> {
  const g = globalThis as any;
  return (g[importingKey] ??= new (builtin<typeof AsyncHooks>('node:async_hooks').AsyncLocalStorage)<true>());
}

/** Runs `load` (a worker importing the module of its task) as Python's bootstrapping phase. */
export async function importingTaskModule<T>(load: () => Promise<T>): Promise<T> {
  if (isMainThread) return load();
  return importContext().run(true, load);
}

/**
 * Python's "attempt to start a new process before the current process has finished its bootstrapping
 * phase": a worker importing the module of its task must not start workers from that module's top
 * level, or a main program without the isMainThread guard starts a worker per import, forever. Only code
 * run by that import is refused: a nested Pool started meanwhile by other work of the worker is not.
 */
export function checkNotBootstrapping(): void {
  if (!isMainThread && (globalThis as any)[importingKey]?.getStore() === true) {
    throw new MultiprocError(
      'ERR_BOOTSTRAPPING',
      'An attempt has been made to start a new process or pool while this worker is still importing the module of ' +
        'its task: the top level of that module runs again in every worker. Put the main program under ' +
        '`if (isMainThread) { ... }`, the twin of Python\'s `if __name__ == \'__main__\':`.',
    );
  }
}

/** Set by the worker entry when the parent tells the worker its name (and its own). */
export function setProcessName(name: string, parentName = 'MainProcess'): void {
  state.name = name;
  // A thread's parent runs in this very process; a child process's is the one that spawned it.
  state.parent = { name: parentName, pid: threadId === 0 ? process.ppid : process.pid };
}

export interface ProcessInfo {
  /** The Process name, or the pool worker's name (`PoolWorker-3`), or 'MainProcess'. */
  name: string;
  /** The OS process id. */
  pid: number;
  /** The worker thread id (0 on a process's main thread). */
  threadId: number;
  /** True only in the program's own main thread. */
  isMainThread: boolean;
}

/** Python's `multiprocessing.current_process()`. */
export function currentProcess(): ProcessInfo {
  const info = { name: state.name, pid: process.pid, threadId, isMainThread };
  // `${current_process()} has finished` (mp_synchronize.py) reads as Python's repr, not [object Object]
  Object.defineProperty(info, 'toString', { value: describeProcess, enumerable: false });
  return info;
}

function describeProcess(this: ProcessInfo): string {
  if (this.isMainThread) return `<_MainProcess name='${this.name}' parent=None started>`;
  return `<Process name='${this.name}' parent=${this.threadId === 0 ? process.ppid : this.pid} started>`;
}

/** What {@link parentProcess} returns: the process that started this worker. */
export interface ParentProcessInfo {
  /** Its name ('MainProcess', or the Process/pool worker that started this one). */
  readonly name: string;
  /** Its OS process id (a worker thread's parent runs in this same process). */
  readonly pid: number;
  /**
   * Whether it still runs. A child process sees its parent's exit (it is re-parented); a worker
   * thread's parent shares its process, so this is true while the thread runs.
   */
  isAlive(): boolean;
  /** Waits until the parent has ended, at most `timeout` ms (polled every 50 ms; a thread's parent: the timeout). */
  join(timeout?: number | null): Promise<void>;
}

/** Python's `multiprocessing.parent_process()`: null in the main program, else the process that started this worker. */
export function parentProcess(): ParentProcessInfo | null {
  const parent = state.parent;
  if (isMainThread || parent === undefined) return null;
  const isAlive = () => threadId !== 0 || process.ppid === parent.pid;
  return {
    name: parent.name,
    pid: parent.pid,
    isAlive,
    join: async (timeout) => {
      const deadline = timeout == null ? Infinity : performance.now() + Math.max(0, timeout);
      while (isAlive() && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(50, Math.max(0, deadline - performance.now()))));
      }
    },
  };
}

/** Python's `cpu_count()`: the parallelism this process may use. */
export function cpuCount(): number {
  return builtin<typeof Os>('node:os').availableParallelism(); // not imported: every worker loads this module at boot
}
