/**
 * What happens to a primitive's state when a worker THREAD of this process ends (the engines report
 * it through lib/base/worker-hooks.ts): every core this thread knows is told `abandon(owner, died)`,
 * so a Lock of a thread that died is released (one that ended normally stays held, as Python), an
 * RLock is released whenever its owner ends, a Barrier place breaks the barrier, a Condition ticket is
 * given up, and the Connection handles the thread held are closed (the peer sees EOF).
 *
 * Process workers are not handled here: their calls reach the cores through a broker connection,
 * and the broker abandons on disconnect (a goodbye first means the process ended normally).
 */
import { onWorkerGone, type GoneWorker } from '../../lib/base/worker-hooks.js';

/** A core that can release what an ended owner held. */
export interface Abandonable {
  abandon(owner: string, died?: boolean): void;
}

const cores = new Set<WeakRef<Abandonable>>();
let added = 0;

/** Called by every core built in this thread (created or rebuilt from shared memory). */
export function watchEnds(core: Abandonable): void {
  cores.add(new WeakRef(core));
  if (++added % 1024 === 0) for (const ref of cores) if (!ref.deref()) cores.delete(ref);
}

/** Tells every known core that thread `threadId` of this process ended. */
export function threadEnded(threadId: number, died: boolean): void {
  const owner = `${process.pid}:${threadId}`;
  for (const ref of cores) {
    const core = ref.deref();
    if (!core) {
      cores.delete(ref);
      continue;
    }
    try {
      core.abandon(owner, died);
    } catch {
      // one core's failure must not keep the others from being told
    }
  }
}

onWorkerGone((worker: GoneWorker) => {
  if (worker.runtime === 'thread') threadEnded(worker.id, worker.how !== 'normal');
});
