/**
 * The engine of every local pool (Pool, ThreadPoolExecutor, ProcessPoolExecutor): tinypool starts,
 * feeds, replaces and stops the workers; this layer above it batches tasks into tinypool runs and
 * covers what tinypool lacks; every touch of tinypool's internals goes through tinypool-adapter.ts.
 *
 * Batching: tasks submitted together travel together, one tinypool `run()` per batch, because a run
 * costs ~50 µs (threads) to ~100 µs (processes) whatever it carries. A batch holds about a millisecond of
 * measured work (exactly one task until tasks have been measured), so a long task is never queued
 * behind: each worker holds at most one batch while tasks are long and two (tinypool's
 * concurrentTasksPerWorker) while they are short, and a worker hands back what it has not started as
 * soon as its current task proves slow (lib/worker/pool-worker.ts).
 *
 * This class coordinates; the parts are their own modules:
 * - core.ts: the queue, abort groups, keep-alive, stats, close/terminate (shared with the cluster engine);
 * - batch-builder.ts, batch-sizing.ts: which jobs travel together, and how many;
 * - flights.ts: the batches in flight, and how each one's jobs settle;
 * - workers.ts, worker-watch.ts: the workers tinypool runs, as we watch and talk to them;
 * - worker-notes.ts: what a worker's notes change; worker-loss.ts: what a lost worker or failed run costs.
 */
import type Tinypool from 'tinypool';
import { errorFromWire } from '../base/codec/error-wire.js';
import { workerGone } from '../base/worker-hooks.js';
import type { BatchReply } from '../protocol/messages.js';
import type { Engine, Job, PoolStats } from './engine.js';
import { CoreEngine, EngineCore, type CoreJob } from './core.js';
import type { WatchedWorker } from './worker-watch.js';
import type { EngineSettings } from './settings.js';
import { BatchSizing } from './batch-sizing.js';
import { buildBatch, takeBatch } from './batch-builder.js';
import { Flights, type Flight } from './flights.js';
import { WorkerLoss } from './worker-loss.js';
import { ProgressSlots } from './progress-slots.js';
import { Workers } from './workers.js';
import { onNote, type NoteTarget } from './worker-notes.js';

export type { EngineSettings } from './settings.js';

/** How long close() waits for workers to leave on their own before stopping them. */
const CLOSE_GRACE_MS = 5000;
/** After a retiring worker refused a batch, the longest dispatch waits for a worker to exit. */
const PARK_MS = 50;

type QueuedJob = CoreJob;

export class TinypoolEngine extends CoreEngine<QueuedJob> implements Engine {
  readonly #settings: EngineSettings;
  readonly #tp: Tinypool;
  protected readonly core: EngineCore<QueuedJob>;
  readonly #flights: Flights;
  readonly #workers: Workers;
  readonly #sizing: BatchSizing;
  readonly #progress: ProgressSlots | undefined;
  readonly #loss: WorkerLoss;
  readonly #notes: NoteTarget;
  /** Dispatch waits (see #park) until this timer fires or a worker exits. */
  #parked: ReturnType<typeof setTimeout> | null = null;

  constructor(settings: EngineSettings) {
    super();
    this.#settings = settings;
    this.core = new EngineCore<QueuedJob>({
      pump: () => this.#pump(),
      abortSent: (signal) => this.#abortSent(signal),
      drained: () => this.#flights.size === 0,
      stop: () => this.#stop(),
    }, { maxSent: settings.maxSent });
    this.#flights = new Flights(this.core, settings.runtime);
    this.#sizing = new BatchSizing(settings.processes, settings.maxTasksPerChild);
    this.#progress = settings.runtime === 'thread' ? new ProgressSlots() : undefined;
    this.#loss = new WorkerLoss(this.core, this.#flights, this.#progress);
    this.#workers = new Workers(settings, this.#progress?.array, {
      note: (w, note) => onNote(w, note, this.#notes),
      exit: (w, code, signal, failWith) => this.#onWorkerExit(w, code, signal, failWith),
      exited: () => this.core.exit(),
    });
    this.#tp = this.#workers.tp;
    this.#notes = {
      workers: this.#workers,
      flights: this.#flights,
      stopping: () => this.core.state === 'stopping',
      flushed: () => this.#checkStopped(),
      applyReply: (flight, reply, worker) => this.#applyReply(flight, reply, worker),
    };
    this.#workers.adoptNew();
  }

  get workerIds(): number[] {
    return this.#workers.ids;
  }

  stats(): PoolStats {
    const workers = this.#workers.size;
    return this.core.stats({ workers, busy: Math.min(workers, this.#flights.size), batches: this.#flights.sent });
  }

  submit(job: Job): void {
    if (!this.core.submit(job)) return;
    this.#loss.moreWork();
  }

  async terminate(reason: Error): Promise<void> {
    if (!this.core.terminate(reason)) return this.core.exited;
    this.#unpark();
    this.#flights.failAll(reason);
    await this.#workers.destroy();
    return this.core.exited;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #pump(): void {
    const core = this.core;
    if (core.state === 'terminated' || core.state === 'stopping') return;
    if (this.#parked !== null) return; // a retiring worker refused: see #park
    // the share of each batch sent in this pass is set by what is queued when it starts
    let share: number | undefined;
    while (core.queuedJobs > 0 && this.#flights.size < this.#sizing.limit(core.queuedJobs, this.#flights.slow)) {
      share ??= this.#sizing.share(core.queuedJobs, this.#sizing.limit(core.queuedJobs, this.#flights.slow) - this.#flights.size);
      const jobs = takeBatch(core, this.#sizing.size(core.queuedJobs, share));
      if (jobs.length === 0) break; // as many out as settings.maxSent allows
      this.#dispatch(jobs);
    }
    core.maybeStop();
  }

  #dispatch(jobs: QueuedJob[]): void {
    const flight = this.#flights.open(jobs);
    const { batch, transferList } = buildBatch(this.core, flight);
    if (this.#progress) batch.s = this.#progress.claim(flight.id);
    const options = flight.controller || transferList ? { signal: flight.controller?.signal, transferList } : undefined;
    const relay = this.#workers.relay;
    this.#tp.run(relay ? relay.ticket(batch) : batch, options).then(
      (reply) => this.#onReply(flight, reply),
      (err) => this.#onRunFailed(flight, err),
    );
    this.#workers.adoptNew(); // tinypool may have started a worker for it
  }

  // ---- replies and failures ----------------------------------------------------------------------

  #onReply(flight: Flight, raw: unknown): void {
    const relay = this.#workers.relay;
    const reply = (relay ? relay.reply(raw) : raw) as BatchReply;
    const worker = this.#workers.get(reply.w);
    if (!this.#flights.has(flight)) return;
    if (reply.unsendable) {
      // a child process's batch that v8 refused (see the relay guard in tinypool-adapter.ts): find the culprits, send the rest again
      this.#flights.land(flight);
      this.#flights.refuseUnsendable(flight, new Error('a value could not be serialized'));
      this.#pump();
      return;
    }
    if (worker) {
      worker.advance('ready');
      worker.hasHooks = reply.hooks === true;
    }
    this.#loss.workerAnswered();
    if (reply.notes > flight.notes) {
      flight.reply = reply; // a note about this batch is still on its way (threads: another port)
      return;
    }
    this.#applyReply(flight, reply, worker);
  }

  #applyReply(flight: Flight, reply: BatchReply, worker: WatchedWorker | undefined): void {
    this.#flights.land(flight);
    if (reply.retire && reply.r.length === 0 && !reply.initError && worker?.retiring) this.#park();
    if (reply.initError) {
      const err = errorFromWire(reply.initError);
      this.#flights.fail(flight, err);
    } else {
      this.#sizing.measured(reply.r.length / 2, reply.busy);
      this.#flights.deliver(flight, reply, worker, reply.out, reply.err, reply.busy);
      this.#flights.handBack(flight, reply.rest, reply.back);
    }
    if (reply.retire && worker && !worker.retiring) this.#workers.retire(worker);
    this.#pump();
  }

  #onRunFailed(flight: Flight, err: unknown): void {
    this.#workers.relay?.drop(flight.id);
    if (!this.#flights.has(flight)) return;
    this.#flights.land(flight);
    if (this.#loss.runFailed(flight, err) === 'unsendable') this.#unstick();
    this.#pump();
  }

  /**
   * A run tinypool could not post to a thread (structured clone refused a value) may have been posted from
   * tinypool's own queue, as a worker became free: tinypool then forgets that the worker is free, and the
   * runs queued behind it wait for it forever (a worker replaced after a death, then an unsendable
   * argument, hung the pool). Its queued runs are taken back and sent again: the free worker gets them.
   */
  #unstick(): void {
    if (this.#tp.queueSize > 0) this.#tp.cancelPendingTasks();
  }

  /**
   * A retiring worker (maxTasksPerChild reached) refused a batch: tinypool sees that worker free until it
   * exits, so sending the batch again at once hands it the same worker, which refuses again, in a busy loop
   * (thousands of refusals for a few hundred tasks on threads). Dispatch waits for a worker's exit (its
   * replacement comes), or PARK_MS at most, should the exit be slow.
   */
  #park(): void {
    if (this.#parked !== null) return;
    this.#parked = setTimeout(() => this.#unpark(), PARK_MS);
  }

  #unpark(): void {
    if (this.#parked === null) return;
    clearTimeout(this.#parked);
    this.#parked = null;
    this.core.schedule();
  }

  // ---- workers ------------------------------------------------------------------------------------

  #onWorkerExit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void {
    this.#unpark();
    const knownToTinypool = this.#workers.forget(worker);
    const normal = worker.flushed || (worker.retiring && code === 0);
    workerGone({ runtime: worker.runtime, id: worker.id, how: normal ? 'normal' : knownToTinypool ? 'died' : 'terminated' });
    if (!knownToTinypool) {
      this.#workers.adoptNew(); // tinypool may have started its replacement meanwhile
      this.#checkStopped();
      return; // tinypool stopped it (destroy, abort) and knows
    }
    const asked = worker.exitExpected;
    const err = this.#loss.lost(worker, code, signal);
    // tinypool rejects the worker's runs with it (see #onRunFailed), forgets the worker and starts a replacement
    failWith(err);
    if (this.#workers.destroying) return;
    this.#workers.adoptNew();
    if (!asked) this.#settings.onWorkerLost?.(err);
    const failed = this.#loss.startupFailed(err, code, signal);
    if (failed) {
      this.core.failQueued(failed);
      this.#tp.cancelPendingTasks(); // runs waiting in tinypool for a worker that will not come
    } else if (this.#tp.threads.length < this.#settings.processes && (this.#flights.size > 0 || this.core.queuedJobs > 0)) {
      this.#workers.kick();
    }
    this.#checkStopped();
    this.core.schedule();
  }

  // ---- aborting and stopping ----------------------------------------------------------------------

  /** A signal fired: tinypool stops its runs in flight (the core drops its queued jobs). */
  #abortSent(signal: AbortSignal): void {
    this.#flights.abort(signal);
    // tinypool stopped those runs' workers and started replacements: watch them now, before a child's
    // first message (its hello) can arrive, or it would never be configured and its batches would hang
    this.#workers.adoptNew();
  }

  /**
   * After close(), once nothing is queued or running: every worker runs its exit hooks (primitives
   * flush what they hold) and says so; then tinypool stops them all.
   */
  #stop(): void {
    this.#workers.close();
    const grace = setTimeout(() => void this.#workers.destroy(), CLOSE_GRACE_MS);
    // join() waits for the workers: keep the program alive until they are gone
    void this.core.keepAlive.during(this.core.exited).then(() => clearTimeout(grace));
    this.#checkStopped();
  }

  #checkStopped(): void {
    if (this.core.state !== 'stopping') return;
    // A worker still booting is waited for when its initializer may add exit hooks; not when workers die
    // before they start (their initializer ends them): join() would wait out the grace period for nothing.
    if (this.#workers.allFlushed() || this.#loss.failingToStart) void this.#workers.destroy();
  }
}
