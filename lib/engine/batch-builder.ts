/**
 * What goes into one batch, and how it is written for the worker: which queued jobs travel together,
 * and the Batch message (each task module once, each task as index, arguments, flags).
 */
import type { TaskSpec } from '../base/task.js';
import type { Batch, BatchTasks } from '../protocol/messages.js';
import { ownBuffer } from './batch-parts.js';
import type { CoreJob, EngineCore } from './core.js';
import { PACKED } from './engine.js';
import type { Flight } from './flights.js';

/** Up to `size` queued jobs; jobs with a signal go only with jobs of the same signal (one abort stops them all). */
export function takeBatch(core: EngineCore<CoreJob>, size: number): CoreJob[] {
  const jobs: CoreJob[] = [];
  let signal: AbortSignal | undefined;
  while (jobs.length < size) {
    const next = core.peek();
    if (!next) break;
    if (jobs.length > 0 && (next.signal !== signal || next.transfer)) break;
    signal = next.signal;
    jobs.push(core.take());
    if (next.transfer) break; // moved buffers travel alone: a batch hands back only what it did not start
  }
  return jobs;
}

/** Calls in a batch from which their arguments are packed (fewer clone fast enough as they are). */
const PACK_CALLS = 32;

/** The one-number arguments of calls of one spec with no flags, packed; null when the jobs are not all such calls. */
function packedCalls(jobs: CoreJob[]): Float64Array | null {
  if (jobs.length < PACK_CALLS) return null;
  const spec = jobs[0].spec;
  const packed = new Float64Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const args = job.args as unknown[];
    // the same spec object: a pool's applyAsync(f, ...) caches one spec per function
    if (job.spec !== spec || job.flags !== 0 || !Array.isArray(args) || args.length !== 1 || typeof args[0] !== 'number') return null;
    packed[i] = args[0];
  }
  return packed;
}

/**
 * The message for a flight's jobs, and the buffers it moves (a batch of one job with move()d buffers).
 * Records the batch's mean wait in `core.waitTime`.
 */
export function buildBatch(core: EngineCore<CoreJob>, flight: Flight): { batch: Batch; transferList: ArrayBuffer[] | undefined } {
  const jobs = flight.jobs;
  recordMeanWait(core, jobs);
  const calls = packedCalls(jobs);
  // calls of specs[0] with one number each: their arguments in one buffer, `t` empty
  if (calls) return { batch: { b: flight.id, specs: [jobs[0].spec], t: [], c: calls.buffer as ArrayBuffer }, transferList: undefined };
  const specs: TaskSpec[] = [];
  const specIndex = new Map<string, number>();
  // filled by push, never preallocated: v8 clones an array with holes (new Array(n)) element by element, as a sparse one
  const tasks: BatchTasks = [];
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const spec = job.spec;
    // keyed by text, not object: an inline lambda is a new function (and spec) on every call
    const key = spec.kind === 'src' ? spec.src : `\0${spec.url}#${spec.name}`;
    let index = specIndex.get(key);
    if (index === undefined) {
      specIndex.set(key, (index = specs.length));
      specs.push(spec);
    }
    // packed numbers travel as their bare ArrayBuffer: v8 serializes a typed array view several times slower
    tasks.push(index, job.flags & PACKED ? ownBuffer(job.args as Float64Array) : job.args, job.flags);
  }
  const batch: Batch = { b: flight.id, specs, t: tasks };
  const transferList = jobs.length === 1 ? jobs[0].transfer : undefined;
  if (transferList) {
    batch.m = 1;
    flight.moved = true;
  }
  return { batch, transferList };
}

/** Records the batch's mean wait (per item) in `core.waitTime`, once. */
function recordMeanWait(core: EngineCore<CoreJob>, jobs: CoreJob[]): void {
  let waited = 0;
  let items = 0;
  for (let i = 0; i < jobs.length; i++) {
    waited += jobs[i].submitted * jobs[i].items;
    items += jobs[i].items;
  }
  core.waitTime.record(performance.now() - waited / items, items);
}
