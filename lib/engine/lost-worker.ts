/** The error the tasks of a worker that died get: one format for threads and processes. */
import { errorFromWire } from '../base/codec/error-wire.js';
import { WorkerLostError } from '../base/errors.js';
import type { WatchedWorker } from './worker-watch.js';

/** `worker PoolWorker-2 (thread 5) exited with code 1 while running the task: <why>`. */
export function lostWorkerError(worker: WatchedWorker, code: number | null, signal: string | null): WorkerLostError {
  const cause = worker.dying?.error ? errorFromWire(worker.dying.error) : worker.lastError;
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  // duck-typed: a thread's error event carries an Error of the main realm, not of a vm context's
  const message = (cause as { message?: unknown } | undefined)?.message;
  const why = typeof message === 'string' ? `: ${message}` : '';
  const who = worker.name ? `${worker.name} (${worker.runtime} ${worker.id})` : `${worker.runtime} ${worker.id}`;
  const when = worker.started ? 'while running the task' : 'before it could start';
  return new WorkerLostError(`worker ${who} ${how} ${when}${why}`, { exitCode: code, signal, cause });
}
