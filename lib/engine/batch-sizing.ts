/**
 * How much goes into a batch, and how many batches may be in flight: a batch holds about BATCH_MS of
 * measured work (exactly one task until tasks have been measured), so a long task is never queued
 * behind; each worker holds at most one batch while tasks are long and two while they are short.
 */

/** Work per batch, in milliseconds of measured task time. */
export const BATCH_MS = 1;
const MAX_BATCH = 2048;

export class BatchSizing {
  readonly #workers: number;
  readonly #maxTasksPerChild: number;
  /** Mean measured task time (ms), Infinity until a task has been measured. */
  #avgMs = Infinity;
  /**
   * Most tasks a batch ran well within BATCH_MS since the last slow reply: twice as many may go next. A slow reply keeps a
   * quarter of it (next batch: half the last proven size) rather than nothing: one hiccup (a worker
   * descheduled, collecting garbage, or a task slow once) no longer drops batches to one task, to climb back
   * by doubling reply after reply; long tasks still shrink batches reply by reply, and a worker hands back
   * what it has not started as soon as its current task proves slow.
   */
  #proven = 0;

  constructor(workers: number, maxTasksPerChild?: number) {
    this.#workers = workers;
    this.#maxTasksPerChild = maxTasksPerChild ?? Infinity;
  }

  /** A reply ran `count` tasks in `busyMs`. */
  measured(count: number, busyMs: number): void {
    if (count <= 0) return;
    const per = busyMs / count;
    this.#avgMs = this.#avgMs === Infinity ? per : this.#avgMs * 0.8 + per * 0.2;
    // a small batch that ran fast disproves nothing (it was small for want of queued tasks: the tail of a map,
    // where the fair share halves reply by reply); only a slow reply lowers what was proven. Otherwise each new
    // burst of tiny tasks after a map started again from batches of a few tasks, doubling reply by reply.
    this.#proven = busyMs < BATCH_MS / 2 ? Math.max(this.#proven, count) : this.#proven >> 2;
  }

  /** Runs in flight allowed now: one per worker, two while tasks are short, but one for a worker stuck on a slow task. */
  limit(queued: number, slowFlights: number): number {
    // A second batch waits in a worker only while tasks are short, or while more work is queued than there
    // are workers: every worker then has work after its current batch, so none waits behind a long one idly.
    const perWorker = this.#avgMs < BATCH_MS || queued > this.#workers ? 2 : 1;
    return Math.max(1, this.#workers * perWorker - slowFlights * (perWorker - 1));
  }

  /**
   * The fair share of a batch when `free` runs may be sent now: what is queued, spread over the workers, or
   * over the free runs when there are more (a burst fills both runs of every worker: a map's 8 chunks go 2 by
   * 2, not 4, 2, 1 and 1, which gave one worker 5 chunks of 8 and the other 3).
   */
  share(queued: number, free: number): number {
    return Math.ceil(queued / Math.max(this.#workers, free));
  }

  /** Tasks for the next batch, with `queued` waiting; `share` (from share()) in place of a share over the workers. */
  size(queued: number, share?: number): number {
    // The mean overstates tiny tasks measured in small batches (a batch's fixed costs count as task time):
    // a batch that ran well within BATCH_MS may be doubled, so batches reach their size in a few replies.
    const measured = this.#avgMs === Infinity ? 1 : Math.max(Math.floor(BATCH_MS / Math.max(this.#avgMs, 1e-4)), 2 * this.#proven);
    const fair = share ?? Math.ceil(queued / this.#workers);
    return Math.max(1, Math.min(MAX_BATCH, measured, fair, this.#maxTasksPerChild));
  }
}
