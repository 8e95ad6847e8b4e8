/**
 * Spare workers for Process, Python's forkserver idea: after a Process starts, more workers of the same
 * kind (runtime, environment, flags, limits) are started ahead and left waiting, so the next `start()`
 * hands its target to a worker that has already booted instead of paying Node's start-up (~20 ms) again.
 *
 * A spare never keeps the program alive (unref'd), dies with its parent (even at a normal exit), and is
 * replaced once other settings are used twice in a row. How many wait is process-start.ts's business
 * (setSpareWorkers). This module is loaded at the first Process.start() and imports no code of ours:
 * what it needs (how to start a worker, how many to keep) is handed to it.
 */
import type { Runtime, RuntimeWorker } from './runtime/index.js';

/** How many spares wait per runtime, read at each refill (setSpareWorkers may change it). */
export type Depth = (runtime: Runtime) => number;

interface Spare {
  runtime: Runtime;
  key: string;
  worker: RuntimeWorker;
  /** Exited, stopped, or handed to a Process (whose business its exit is from then on). */
  dead: boolean;
}

const spares = new Map<Runtime, Spare[]>();
const pendingRefills = new Map<Runtime, NodeJS.Immediate>();
/** The settings of the last start per runtime: spares follow settings used twice in a row, not every change. */
const lastKeys = new Map<Runtime, string>();

/** Stops every waiting spare (setSpareWorkers(false), a test's clean-up). */
export function stopSpares(): void {
  for (const refill of pendingRefills.values()) clearImmediate(refill);
  pendingRefills.clear();
  for (const [runtime, list] of spares) {
    spares.delete(runtime);
    for (const spare of list) discard(spare);
  }
}

/** The pids (thread ids) of the spares waiting for `runtime`, oldest first: for tests and diagnostics. */
export function sparePids(runtime: Runtime): number[] {
  return (spares.get(runtime) ?? []).filter((s) => !s.dead).map((s) => s.worker.id);
}

function discard(spare: Spare): void {
  if (spare.dead) return;
  spare.dead = true;
  spare.worker.kill('SIGKILL');
}

function makeSpare(runtime: Runtime, key: string, start: () => RuntimeWorker): boolean {
  let worker: RuntimeWorker;
  try {
    worker = start();
  } catch {
    return false; // out of threads or processes: the next start() reports it, on its own call
  }
  const spare: Spare = { runtime, key, worker, dead: false };
  worker.setRef(false);
  worker.dieWithParent(true);
  worker.onExit(() => {
    if (spare.dead) return;
    spare.dead = true;
    const list = spares.get(runtime) ?? [];
    const at = list.indexOf(spare);
    if (at >= 0) list.splice(at, 1);
  });
  let list = spares.get(runtime);
  if (!list) spares.set(runtime, (list = []));
  list.push(spare);
  return true;
}

/**
 * After a start with settings `key`: spares started with other settings stay while those settings are
 * still in use (a program alternating between two kinds of Process does not throw spares away at every
 * start); when the same new settings come twice in a row, they are stopped and replaced. Then the spares
 * are topped up, outside the caller's start (it is not slowed): `start` starts one.
 */
export function afterStart(runtime: Runtime, key: string, start: () => RuntimeWorker, depth: Depth): void {
  const list = (spares.get(runtime) ?? []).filter((s) => !s.dead);
  spares.set(runtime, list);
  const previousKey = lastKeys.get(runtime);
  lastKeys.set(runtime, key);
  const stale = list.some((s) => s.key !== key);
  if (stale && previousKey === key) for (const s of list.splice(0)) discard(s);
  if (depth(runtime) === 0 || (stale && previousKey !== key) || pendingRefills.has(runtime)) return;
  const refill = setImmediate(() => {
    pendingRefills.delete(runtime);
    const want = depth(runtime);
    while ((spares.get(runtime)?.length ?? 0) < want && makeSpare(runtime, key, start));
  });
  refill.unref();
  pendingRefills.set(runtime, refill);
}

/** A worker for the settings `key`: the oldest waiting spare made with them, else a fresh one; then afterStart. */
export function takeWorker(runtime: Runtime, key: string, start: () => RuntimeWorker, depth: Depth): RuntimeWorker {
  const list = spares.get(runtime) ?? [];
  const at = list.findIndex((s) => s.key === key && !s.dead);
  let worker: RuntimeWorker;
  if (at >= 0) {
    const [spare] = list.splice(at, 1);
    spare.dead = true; // no spare any more: its exit is the Process's business now
    worker = spare.worker;
  } else {
    worker = start();
  }
  afterStart(runtime, key, start, depth);
  return worker;
}
