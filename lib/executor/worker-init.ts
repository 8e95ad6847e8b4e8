/**
 * Runs inside an executor's worker: the user's initializer, wrapped so that its failure comes back
 * as a BrokenPoolError. The executor cannot otherwise tell an initializer's error from a task's,
 * and Python breaks the whole executor (BrokenThreadPool / BrokenProcessPool) when one fails.
 */
import { BrokenPoolError } from '../base/errors.js';
import type { TaskSpec } from '../base/task.js';
import { explainReferenceError, loadTask } from '../base/load-task.js';

export async function runInitializer(spec: TaskSpec, initargs: unknown[], kind: 'thread' | 'process'): Promise<void> {
  try {
    const fn = await loadTask(spec);
    await fn(...initargs);
  } catch (err) {
    const e = explainReferenceError(err, spec);
    // Python logs the initializer's traceback in the worker ("Exception in initializer:").
    process.stderr.write(`Exception in initializer:\n${(e as Error)?.stack ?? String(e)}\n`);
    throw new BrokenPoolError(`A ${kind} initializer failed, the ${kind} pool is not usable anymore: ${(e as Error)?.message ?? String(e)}`);
  }
}
