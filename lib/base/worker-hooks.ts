/**
 * Tells whoever holds per-worker state that a worker is gone. The engines (Pool, executors, Process)
 * call `workerGone` when one of their workers exits or is terminated, for whatever reason; primitives
 * register a listener to release what that worker held (a lock of a crashed holder, its Pipe handles,
 * its place at a Barrier). Kept on globalThis: a bundled worker entry and the user's import of the
 * package are two copies of this module, and both must reach the same listeners.
 */

export interface GoneWorker {
  /** 'thread': a worker thread of this process; 'process': a child process. */
  runtime: 'thread' | 'process';
  /** The thread id (threads) or pid (processes). */
  id: number;
  /**
   * How it ended: 'normal' (it finished: a Process target returned, a pool worker retired or was
   * closed), 'died' (crash, kill, non-zero exit, out of memory) or 'terminated' (stopped by
   * terminate()/abort: treated as a death, since it stopped mid-work).
   */
  how: 'normal' | 'died' | 'terminated';
}

type Listener = (worker: GoneWorker) => void;
const listeners: Set<Listener> = ((globalThis as any)[Symbol.for('multiproc.workerGone')] ??= new Set());

/** Registers a listener; returns a function that removes it. */
export function onWorkerGone(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Called by the engines once per worker that ended. A listener that throws never stops the others. */
export function workerGone(worker: GoneWorker): void {
  for (const listener of [...listeners]) {
    try {
      listener(worker);
    } catch {
      // a listener's failure must not break the engine that reports the exit
    }
  }
}
