/**
 * The half every engine shares, written once: the queue of jobs waiting for a worker, the jobs grouped
 * by AbortSignal, the KeepAlive held while any job is unsettled, settling each job once and counting
 * it once (completed, failed or aborted), and the close/terminate states. What differs between the
 * engines, how a batch reaches a worker (tinypool here, BullMQ on a cluster), is the Dispatcher's.
 */
import { AbortError, abortedBy } from '../base/errors.js';
import { KeepAlive } from '../base/keep-alive.js';
import { CHUNK, type Job, type PoolStats } from './engine.js';
import { Deque } from './deque.js';
import { SignalGroups } from './signal-groups.js';
import { DurationHistogram, TaskCounts } from './stats.js';

/** A job as the core keeps it. */
export interface CoreJob extends Job {
  /** performance.now() at submission (one reading per turn of the event loop). */
  submitted: number;
  /** Tasks it stands for in the stats (a chunk counts its items). */
  items: number;
  /** Settled (it may still sit in the queue: settled jobs are skipped there, not searched for). */
  done: boolean;
  /** Taken from the queue for a worker, and not handed back since. */
  sent: boolean;
  /** In the window of `maxSent` jobs: in the queue (or sent), not waiting behind it. */
  admitted: boolean;
}

type Outcome = 'completed' | 'failed' | 'aborted';

/** How an engine gets jobs to its workers: the part the core leaves to it. */
export interface Dispatcher<J extends CoreJob> {
  /** Sends what waits in the queue (once per turn of the event loop in which jobs came). */
  pump(): void;
  /** `signal` fired: stop its jobs that were sent (the core settles the queued ones). */
  abortSent(signal: AbortSignal, sent: J[]): void;
  /** Nothing sent is still out: after close(), the workers may stop. */
  drained(): boolean;
  /** close() was called and all is done: stop the workers (the core's state is 'stopping'). */
  stop(): void;
  /** `job` is settling, before its callback: forget where it was sent. */
  settling?(job: J): void;
  /** The last unsettled job settled. */
  idle?(): void;
}

export interface CoreOptions {
  /** What a job cancelled through its signal settles with; AbortError by default. */
  abortReason?: (signal: AbortSignal) => Error;
  /**
   * Jobs admitted at once (queued to be sent, or sent): the others wait behind, in order, and are
   * admitted as admitted ones settle. Unbounded by default.
   */
  maxSent?: number;
}

export class EngineCore<J extends CoreJob> {
  readonly #dispatcher: Dispatcher<J>;
  readonly #abortReason: (signal: AbortSignal) => Error;
  readonly #maxSent: number;
  /** Jobs submitted beyond `maxSent` admitted ones, in order. */
  readonly #waiting = new Deque<J>();
  /** Jobs admitted and not settled. */
  #admitted = 0;
  readonly #queue = new Deque<J>();
  readonly #signals = new SignalGroups<J>((signal, jobs) => this.#onAbort(signal, jobs));
  readonly #counts = new TaskCounts();
  /** Held while a job is unsettled: a promise the user awaits keeps the program alive. */
  readonly keepAlive = new KeepAlive();
  /** Time a task ran in its worker, and waited for one. */
  readonly runTime = new DurationHistogram();
  readonly waitTime = new DurationHistogram();
  /** Admitted jobs in the queue (what the dispatcher may send now), and jobs waiting behind the bound. */
  #queuedJobs = 0;
  #waitingJobs = 0;
  #queuedItems = 0;
  #unsettled = 0;
  #pumpScheduled = false;
  #tickTime = -1;
  #state: 'running' | 'closing' | 'stopping' | 'terminated' = 'running';
  readonly exited: Promise<void>;
  #resolveExited!: () => void;

  constructor(dispatcher: Dispatcher<J>, options: CoreOptions = {}) {
    this.#dispatcher = dispatcher;
    this.#abortReason = options.abortReason ?? abortedBy;
    this.#maxSent = options.maxSent ?? Infinity;
    this.exited = new Promise((resolve) => (this.#resolveExited = resolve));
  }

  /** running → closing (close()) → stopping (all done, workers told to stop); terminated from any. */
  get state(): 'running' | 'closing' | 'stopping' | 'terminated' {
    return this.#state;
  }

  /** Jobs the dispatcher may send now (admitted, not sent). */
  get queuedJobs(): number {
    return this.#queuedJobs;
  }

  /** Tasks not sent yet, admitted or waiting. */
  get queuedItems(): number {
    return this.#queuedItems;
  }

  /** Jobs submitted and not settled yet. */
  get unsettled(): number {
    return this.#unsettled;
  }

  stats(engine: { workers: number; busy: number; batches: number }): PoolStats {
    const counts = this.#counts;
    return {
      ...engine,
      queued: this.#queuedItems,
      submitted: counts.submitted,
      completed: counts.completed,
      failed: counts.failed,
      aborted: counts.aborted,
      runTime: this.runTime.summary(),
      waitTime: this.waitTime.summary(),
    };
  }

  /** Queues a job; false when it settled at once instead (its signal had already fired). */
  submit(job: Job): boolean {
    const queued = job as J;
    // one clock read per turn of the event loop: jobs submitted together were submitted at the same time
    if (this.#tickTime < 0) this.#tickTime = performance.now();
    queued.submitted = this.#tickTime;
    queued.items = job.flags & CHUNK ? (job.args as ArrayLike<unknown>).length : 1;
    queued.done = false;
    queued.sent = false;
    queued.admitted = false;
    this.#counts.submitted += queued.items;
    if (this.#unsettled++ === 0) this.keepAlive.hold();
    if (job.signal) {
      if (job.signal.aborted) {
        this.finish(queued, false, this.#abortReason(job.signal), 'aborted');
        return false;
      }
      this.#signals.add(job.signal, queued);
    }
    this.#queuedItems += queued.items;
    if (this.#admitted < this.#maxSent) this.#admit(queued);
    else {
      this.#waiting.push(queued);
      this.#waitingJobs++;
    }
    this.schedule();
    return true;
  }

  #admit(job: J): void {
    this.#admitted++;
    this.#queuedJobs++;
    job.admitted = true;
    this.#queue.push(job);
    job.onAdmit?.();
  }

  /** An admitted job settled: the next waiting ones come in. */
  #admitWaiting(): void {
    while (this.#admitted < this.#maxSent) {
      const next = this.#waiting.shift();
      if (next === undefined) break;
      if (next.done) continue;
      this.#waitingJobs--;
      this.#admit(next);
    }
    this.schedule();
  }

  /** Pumps once this turn of the event loop is over: everything submitted in it can share batches. */
  schedule(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#tickTime = -1;
      this.#dispatcher.pump();
    });
  }

  /** The first admitted job not settled yet, left in the queue. */
  peek(): J | undefined {
    for (;;) {
      const next = this.#queue.peek();
      if (next === undefined || !next.done) return next;
      this.#queue.shift();
    }
  }

  /** Takes the job peek() returned: it is on its way to a worker. */
  take(): J {
    const job = this.peek()!;
    this.#queue.shift();
    this.#unqueued(job);
    job.sent = true;
    return job;
  }

  /** Sent jobs that did not run go back to the front of the queue, in their order. */
  requeue(jobs: J[]): void {
    const live = jobs.filter((job) => !job.done);
    for (const job of live) {
      job.sent = false;
      this.#queuedJobs++;
      this.#queuedItems += job.items;
    }
    this.#queue.unshiftAll(live);
    this.schedule();
  }

  /** Settles every queued job with `error`. */
  failQueued(error: unknown): void {
    const jobs = [...this.#queue.drain(), ...this.#waiting.drain()];
    this.#queuedJobs = 0;
    this.#waitingJobs = 0;
    this.#queuedItems = 0;
    for (const job of jobs) this.finish(job, false, error);
  }

  /**
   * Settles a job once, and counts it once: completed, failed, or aborted (an AbortError, or
   * `outcome` when the caller knows better, as for a job dropped before it started).
   */
  finish(job: J, ok: boolean, value: unknown, outcome?: Outcome): void {
    if (job.done) return;
    this.#settled(job, outcome ?? (ok ? 'completed' : value instanceof AbortError ? 'aborted' : 'failed'));
    try {
      job.settle(ok, value);
    } finally {
      this.#released();
    }
  }

  /** Fails a job that never entered the queue, counted as submitted and failed like any other. */
  refuse(job: Job, error: unknown): void {
    const items = job.flags & CHUNK ? (job.args as ArrayLike<unknown>).length : 1;
    this.#counts.submitted += items;
    this.#counts.settled(items, 'failed');
    job.settle(false, error);
  }

  /** Takes back a job still queued, without settling it (its caller gave up on it); false once sent or settled. */
  withdraw(job: J): boolean {
    if (job.done || job.sent || job.items === undefined) return false;
    this.#unqueued(job);
    this.#settled(job, 'aborted');
    this.#released();
    this.maybeStop();
    return true;
  }

  #settled(job: J, outcome: Outcome): void {
    job.done = true;
    if (job.signal) this.#signals.delete(job.signal, job);
    if (job.admitted && this.#admitted-- === this.#maxSent) this.#admitWaiting(); // room again for what waits
    this.#counts.settled(job.items, outcome);
    this.#dispatcher.settling?.(job);
  }

  #released(): void {
    if (--this.#unsettled === 0) {
      this.keepAlive.release();
      this.#dispatcher.idle?.();
    }
  }

  /**
   * Settles with `reason` the jobs of `group` (their group, or their signal) still queued; those sent go
   * on. The queue is searched: rare (a loop left early), it costs nothing per job until then.
   */
  dropQueued(group: object, reason: Error): void {
    const dropped: J[] = [];
    for (const queue of [this.#queue, this.#waiting]) {
      for (const job of queue) if (!job.done && !job.sent && (job.group === group || job.signal === group)) dropped.push(job);
    }
    for (const job of dropped) {
      if (job.done) continue; // settled meanwhile by the settling of another
      this.#unqueued(job);
      this.finish(job, false, reason, 'aborted');
    }
    this.maybeStop();
  }

  #onAbort(signal: AbortSignal, jobs: J[]): void {
    this.#dispatcher.abortSent(signal, jobs.filter((job) => job.sent && !job.done));
    for (const job of jobs) {
      if (job.done || job.sent) continue;
      this.#unqueued(job);
      this.finish(job, false, this.#abortReason(signal), 'aborted');
    }
    this.maybeStop();
  }

  /** A job left the queue's counts (taken, or settled where it stands). */
  #unqueued(job: J): void {
    if (job.admitted) this.#queuedJobs--;
    else this.#waitingJobs--;
    this.#queuedItems -= job.items;
  }

  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.maybeStop();
  }

  /** After close(), once nothing is queued and the dispatcher has nothing out: the workers stop. */
  maybeStop(): void {
    if (this.#state !== 'closing' || this.#queuedJobs + this.#waitingJobs > 0 || !this.#dispatcher.drained()) return;
    this.#state = 'stopping';
    this.#dispatcher.stop();
  }

  /** Enters 'terminated' and settles the queued jobs with `reason`; false if it already was. */
  terminate(reason: Error): boolean {
    if (this.#state === 'terminated') return false;
    this.#state = 'terminated';
    this.failQueued(reason);
    return true;
  }

  /** Every worker is gone: whenExited() resolves. */
  exit(): void {
    this.#signals.clear();
    this.#resolveExited();
  }
}

/** What an engine answers straight from its core: close(), whenExited(), dropQueued(). */
export abstract class CoreEngine<J extends CoreJob> {
  protected abstract readonly core: EngineCore<J>;

  /** No new jobs will come: finish those queued and running, then let the workers exit. */
  close(): void {
    this.core.close();
  }

  /** Resolves once every worker has exited (after close or terminate). */
  whenExited(): Promise<void> {
    return this.core.exited;
  }

  /** Settles with `reason` the jobs of `group` (their group, or their signal) not yet sent to a worker; those running go on. */
  dropQueued(group: object, reason: Error): void {
    this.core.dropQueued(group, reason);
  }

  /** Fails a job that could not be queued (its arguments could not be encoded); the stats count it. */
  refuse(job: Job, error: unknown): void {
    this.core.refuse(job, error);
  }

  /** Takes back a job not yet sent to a worker, without settling it; false once it was sent or settled. */
  withdraw(job: Job): boolean {
    return this.core.withdraw(job as J);
  }
}
