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
 */
import { BroadcastChannel } from 'node:worker_threads';
import type Tinypool from 'tinypool';
import { errorFromWire } from '../base/codec/error-wire.js';
import { v8Codec } from '../base/codec/message.js';
import { abortedBy, WorkerLostError } from '../base/errors.js';
import { forgetChild, reapWithParent } from '../base/reaper.js';
import { workerGone } from '../base/worker-hooks.js';
import { NOTE, type BatchReply, type Control, type Note, type WorkerConfig } from '../protocol/messages.js';
import type { Engine, Job, PoolStats } from './engine.js';
import { CoreEngine, EngineCore, type CoreJob } from './core.js';
import { WatchedWorker } from './worker-watch.js';
import { createTinypool } from './tinypool-setup.js';
import type { EngineSettings } from './settings.js';
import { isServing, newWorkers, runFailure, startWorker } from './tinypool-adapter.js';
import { BatchSizing } from './batch-sizing.js';
import { buildBatch, takeBatch } from './batch-builder.js';
import { Flights, type Flight } from './flights.js';
import { lostWorkerError } from './lost-worker.js';
import { ProgressSlots } from './progress-slots.js';

export type { EngineSettings } from './settings.js';

/** Workers that die before starting, in a row, before queued tasks are failed instead of retried. */
const MAX_STARTUP_FAILURES = 3;
/** Largest child configuration passed in its environment (base64 characters); beyond, it comes in a message. */
const MAX_ENV_CONFIG = 16 * 1024;
/** How long close() waits for workers to leave on their own before stopping them. */
const CLOSE_GRACE_MS = 5000;


type QueuedJob = CoreJob;

let poolCounter = 0;

export class TinypoolEngine extends CoreEngine<QueuedJob> implements Engine {
  readonly #settings: EngineSettings;
  readonly #tp: Tinypool;
  protected readonly core: EngineCore<QueuedJob>;
  readonly #flights: Flights;
  readonly #workers = new Map<number, WatchedWorker>();
  readonly #watched = new WeakSet<object>();
  readonly #sizing: BatchSizing;
  readonly #control: Int32Array;
  readonly #progress: ProgressSlots | undefined;
  readonly #channel: BroadcastChannel | null;
  readonly #channelName: string;
  #workerNumber = 0;
  #startupFailures = 0;
  #startupError: WorkerLostError | null = null;

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
    // [0]: worker-name counter (threads), [1]: 1 once the pool is closing
    this.#control = new Int32Array(new SharedArrayBuffer(8));
    this.#channelName = `multiproc:${process.pid}:${++poolCounter}:${Math.random().toString(36).slice(2)}`;
    const isThread = settings.runtime === 'thread';
    this.#progress = isThread ? new ProgressSlots() : undefined;
    this.#channel = isThread ? new BroadcastChannel(this.#channelName) : null;
    this.#channel?.unref();
    this.#tp = createTinypool(settings, isThread ? this.#config(undefined) : undefined, isThread ? undefined : () => this.#forkConfig());
    // tinypool reports a worker lost while idle as a pool 'error'; we handle every loss ourselves.
    this.#tp.on('error', () => {});
    this.#adoptNew();
  }

  #config(number: number | undefined): WorkerConfig {
    const names = pythonNames();
    return {
      prefix: this.#settings.namePrefix,
      counter: number === undefined ? this.#control : undefined,
      number,
      initializer: this.#settings.initializer ?? null,
      preload: names ? [names] : undefined,
      maxTasks: this.#settings.maxTasksPerChild ?? 0,
      channel: this.#channelName,
      progress: this.#progress?.array,
    };
  }

  /**
   * A child's configuration, read as tinypool forks it: in its environment, so that it starts without asking
   * (a round trip to this thread before its first batch). Undefined when too large for an environment
   * variable (large initializer arguments): that child asks in its hello instead.
   */
  #forkConfig(): string | undefined {
    const number = this.#workerNumber + 1;
    let encoded: string;
    try {
      encoded = v8Codec().serialize(this.#config(number)).toString('base64');
    } catch {
      return undefined; // the welcome says why
    }
    if (encoded.length > MAX_ENV_CONFIG) return undefined;
    this.#workerNumber = number;
    return encoded;
  }

  get workerIds(): number[] {
    return [...this.#workers.keys()];
  }

  stats(): PoolStats {
    const workers = this.#workers.size;
    return this.core.stats({ workers, busy: Math.min(workers, this.#flights.size), batches: this.#flights.sent });
  }

  submit(job: Job): void {
    if (!this.core.submit(job)) return;
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) this.#startupFailures = MAX_STARTUP_FAILURES - 1; // one more try
  }

  async terminate(reason: Error): Promise<void> {
    if (!this.core.terminate(reason)) return this.core.exited;
    this.#flights.failAll(reason);
    await this.#destroy();
    return this.core.exited;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #pump(): void {
    const core = this.core;
    if (core.state === 'terminated' || core.state === 'stopping') return;
    while (core.queuedJobs > 0 && this.#flights.size < this.#sizing.limit(core.queuedJobs, this.#flights.slow)) {
      const jobs = takeBatch(core, this.#sizing.size(core.queuedJobs));
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
    this.#tp.run(batch, options).then(
      (reply) => this.#onReply(flight, reply),
      (err) => this.#onRunFailed(flight, err),
    );
    this.#adoptNew(); // tinypool may have started a worker for it
  }

  // ---- replies, notes, failures ------------------------------------------------------------------

  #onReply(flight: Flight, raw: unknown): void {
    const reply = raw as BatchReply;
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
    this.#startupFailures = 0;
    this.#startupError = null;
    if (reply.notes > flight.notes) {
      flight.reply = reply; // a note about this batch is still on its way (threads: another port)
      return;
    }
    this.#applyReply(flight, reply, worker);
  }

  #applyReply(flight: Flight, reply: BatchReply, worker: WatchedWorker | undefined): void {
    this.#flights.land(flight);
    if (reply.initError) {
      const err = errorFromWire(reply.initError);
      this.#flights.fail(flight, err);
    } else {
      this.#sizing.measured(reply.r.length / 2, reply.busy);
      this.#flights.deliver(flight, reply, worker, reply.out, reply.err, reply.busy);
      this.#flights.handBack(flight, reply.rest, reply.back);
    }
    if (reply.retire && worker && !worker.retiring) this.#retire(worker);
    this.#pump();
  }

  #onNote(worker: WatchedWorker, note: Note): void {
    switch (note.t) {
      case 'hello': {
        const child = worker.handle.child!;
        if (note.n !== undefined) {
          worker.name = `${this.#settings.namePrefix}-${note.n}`; // configured from its environment
        } else {
          const number = ++this.#workerNumber;
          worker.name = `${this.#settings.namePrefix}-${number}`;
          child.send({ [NOTE]: 1, t: 'welcome', config: this.#config(number) }, () => {});
        }
        if (this.core.state === 'stopping') child.send({ [NOTE]: 1, t: 'close' }, () => {});
        break;
      }
      case 'named':
        worker.name = `${this.#settings.namePrefix}-${note.n}`;
        break;
      case 'flushed':
        worker.advance('flushed');
        this.#checkStopped();
        break;
      case 'part': {
        const flight = this.#flights.get(note.b);
        if (!flight) return;
        this.#flights.noted(flight, note.running);
        this.#flights.deliver(flight, note, worker, note.out, note.err);
        this.#flights.handBack(flight, note.rest);
        if (flight.reply && flight.notes >= flight.reply.notes) {
          const reply = flight.reply;
          flight.reply = undefined;
          this.#applyReply(flight, reply, worker);
        }
        break;
      }
      case 'dying': {
        worker.dying = note;
        if (note.b < 0) return;
        const flight = this.#flights.get(note.b);
        if (!flight) return;
        const { from, r, running } = note as Extract<Note, { t: 'dying'; running: number }>;
        this.#flights.deliver(flight, { from, r }, worker, note.out, note.err);
        this.#flights.handBack(flight, running + 1); // not started: another worker takes them now
        break;
      }
    }
  }

  #onRunFailed(flight: Flight, err: unknown): void {
    if (!this.#flights.has(flight)) return;
    this.#flights.land(flight);
    const lost = err instanceof WorkerLostError ? lostWorkers.get(err) : undefined;
    const kind = runFailure(err);
    if (flight.signal?.aborted && kind === 'aborted') {
      this.#flights.fail(flight, abortedBy(flight.signal));
    } else if (kind === 'stopped' && this.core.state !== 'terminated') {
      this.#afterStoppedWorker(flight);
    } else if (kind === 'cancelled') {
      this.#flights.fail(flight, this.#startupError ?? err); // tinypool's queue cancelled: its workers fail to start
    } else if (lost) {
      this.#afterWorkerLoss(flight, err as WorkerLostError, lost);
    } else {
      // Our worker answers every batch, so a run fails otherwise only when tinypool could not post it to
      // its MessagePort (for a child process too, before the relay): structured clone refused an argument
      // (DataCloneError, or what a getter threw while being read).
      this.#flights.refuseUnsendable(flight, err);
    }
    this.#pump();
  }

  /** Which of a dead worker's jobs died with it: only the one it was running; the others run elsewhere. */
  #afterWorkerLoss(flight: Flight, err: WorkerLostError, worker: WatchedWorker): void {
    const dying = worker.dying;
    let running: number | undefined;
    if (dying && dying.b === flight.id) running = (dying as { running: number }).running;
    else if (dying || worker.exitExpected || !worker.started) {
      // this batch never started on that worker
      if (!worker.started && this.#startupFailures >= MAX_STARTUP_FAILURES) this.#flights.fail(flight, err);
      else this.#flights.handBack(flight, 0);
      return;
    } else running = flight.running ?? this.#startedTask(flight);
    // A worker runs its batches one at a time, in the order sent, and answers each before starting the
    // next; tinypool fails a dead worker's runs in that same order. So only the first of them can have
    // started: the others waited behind it.
    const first = worker.lostRuns++ === 0;
    if (running === -1 || (running === undefined && !first)) {
      this.#flights.handBack(flight, 0); // killed outright before this batch started: it runs elsewhere
      return;
    }
    if (running === undefined) {
      // A child process killed outright (SIGKILL, out of memory) says nothing: the tasks of the batch it
      // was running may have run, so none is run again; all fail with it.
      this.#flights.fail(flight, err);
      return;
    }
    this.#flights.handBack(flight, running + 1);
    this.#flights.fail(flight, err);
  }

  /**
   * tinypool stopped the worker this batch went to: the worker was running a run that was aborted, and
   * tinypool, seeing that run answered late, gave the worker this batch as it went. A child process then
   * never got it (tinypool sends nothing to a worker it terminates); a thread may have started it, and its
   * progress slot says where it was.
   */
  #afterStoppedWorker(flight: Flight): void {
    const running = flight.running ?? this.#startedTask(flight) ?? -1;
    this.#flights.handBack(flight, running + 1);
    if (running >= 0) {
      this.#flights.fail(flight, new WorkerLostError('the task was stopped with its worker, which was running a task that was aborted'));
    }
  }

  /** Threads: the task a worker killed outright was running, from its progress slot (-1: none had started). */
  #startedTask(flight: Flight): number | undefined {
    return this.#progress?.startedTask(flight.id);
  }

  // ---- workers ------------------------------------------------------------------------------------

  /** Starts watching the workers tinypool created since we last looked (it creates them inside its own calls). */
  #adoptNew(): void {
    for (const handle of newWorkers(this.#tp, this.#watched)) {
      const worker = new WatchedWorker(handle, {
        note: (w, note) => this.#onNote(w, note),
        exit: (w, code, signal, failWith) => this.#onWorkerExit(w, code, signal, failWith),
      });
      this.#workers.set(worker.id, worker);
      if (worker.runtime === 'process') reapWithParent(worker.id);
    }
  }

  #onWorkerExit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void {
    this.#workers.delete(worker.id);
    if (worker.runtime === 'process') forgetChild(worker.id);
    const knownToTinypool = isServing(this.#tp, worker.handle);
    const normal = worker.flushed || (worker.retiring && code === 0);
    workerGone({ runtime: worker.runtime, id: worker.id, how: normal ? 'normal' : knownToTinypool ? 'died' : 'terminated' });
    if (!knownToTinypool) {
      this.#adoptNew(); // tinypool may have started its replacement meanwhile
      this.#checkStopped();
      return; // tinypool stopped it (destroy, abort) and knows
    }
    const asked = worker.exitExpected;
    if (!worker.started && !asked) this.#startupFailures++;
    const err = lostWorkerError(worker, code, signal);
    lostWorkers.set(err, worker);
    // tinypool rejects the worker's runs with it (see #onRunFailed), forgets the worker and starts a replacement
    failWith(err);
    if (this.#destroying) return;
    this.#adoptNew();
    if (!asked) this.#settings.onWorkerLost?.(err);
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) {
      const failed = new WorkerLostError(`workers of this pool fail to start: ${err.message}`, { exitCode: code, signal, cause: err.cause });
      this.#startupError = failed;
      this.core.failQueued(failed);
      this.#tp.cancelPendingTasks(); // runs waiting in tinypool for a worker that will not come
    } else if (this.#tp.threads.length < this.#settings.processes && (this.#flights.size > 0 || this.core.queuedJobs > 0)) {
      this.#kick();
    }
    this.#checkStopped();
    this.core.schedule();
  }

  /** Starts a worker where tinypool would not by itself (after a start-up failure), and watches it. */
  #kick(): void {
    startWorker(this.#tp);
    this.#adoptNew();
  }

  /** Retires a worker (maxTasksPerChild): it runs its exit hooks and exits; tinypool then replaces it. */
  #retire(worker: WatchedWorker): void {
    if (worker.advance('retiring')) this.#tell(worker, { t: 'retire', w: worker.id });
  }

  #tell(worker: WatchedWorker | null, msg: Control): void {
    if (this.#settings.runtime === 'thread') {
      this.#channel!.postMessage(msg);
      return;
    }
    const targets = worker ? [worker] : [...this.#workers.values()];
    for (const w of targets) if (!w.exited) w.handle.child!.send({ [NOTE]: 1, ...msg }, () => {});
  }

  // ---- settling and stopping ----------------------------------------------------------------------

  /** A signal fired: tinypool stops its runs in flight (the core drops its queued jobs). */
  #abortSent(signal: AbortSignal): void {
    this.#flights.abort(signal);
    // tinypool stopped those runs' workers and started replacements: watch them now, before a child's
    // first message (its hello) can arrive, or it would never be configured and its batches would hang
    this.#adoptNew();
  }

  /**
   * After close(), once nothing is queued or running: every worker runs its exit hooks (primitives
   * flush what they hold) and says so; then tinypool stops them all.
   */
  #stop(): void {
    Atomics.store(this.#control, 1, 1); // thread workers still starting see it
    this.#tell(null, { t: 'close' });
    const grace = setTimeout(() => void this.#destroy(), CLOSE_GRACE_MS);
    // join() waits for the workers: keep the program alive until they are gone
    void this.core.keepAlive.during(this.core.exited).then(() => clearTimeout(grace));
    this.#checkStopped();
  }

  #checkStopped(): void {
    if (this.core.state !== 'stopping') return;
    // Only workers holding exit hooks are waited for, and, when there is an initializer, one not started yet
    // (its initializer may still add some). Without one, a worker still booting has run no code of the user's:
    // it is stopped where it is, as tinypool's destroy does, rather than waited for.
    const bootMayHook = this.#settings.initializer !== undefined;
    for (const worker of this.#workers.values()) {
      if (!worker.flushed && !worker.gone && (worker.hasHooks || (!worker.started && bootMayHook))) return;
    }
    void this.#destroy();
  }

  #destroying: Promise<void> | null = null;

  #destroy(): Promise<void> {
    if (this.#destroying) return this.#destroying;
    // tinypool waits for each worker's 'exit': one that already exited must be handed to it first
    for (const worker of [...this.#workers.values()]) worker.flushExit();
    this.#destroying = this.#tp.destroy().then(
      () => this.#finishExit(),
      () => this.#finishExit(),
    );
    return this.#destroying;
  }

  #finishExit(): void {
    // every worker has exited: report those whose last output we were still waiting for
    for (const worker of [...this.#workers.values()]) worker.flushExit();
    this.#workers.clear();
    this.#channel?.close();
    this.core.exit();
  }
}

/** The URL of multiproc/python's names module, when this program loaded it: its workers load it too. */
function pythonNames(): string | undefined {
  return (globalThis as any)[Symbol.for('multiproc.pythonNames')];
}

/** The worker each of our WorkerLostErrors came from, so a failed run can tell what it lost. */
const lostWorkers = new WeakMap<WorkerLostError, WatchedWorker>();
