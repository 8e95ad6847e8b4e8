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
import { performance } from 'node:perf_hooks';
import Tinypool from 'tinypool';
import { errorFromWire } from '../base/codec/error-wire.js';
import { decodeHandles } from '../base/codec/handles.js';
import { abortedBy, SerializationError, WorkerLostError } from '../base/errors.js';
import type { TaskSpec } from '../base/task.js';
import { workerGone } from '../base/worker-hooks.js';
import {
  FAILED, NOTE, OK_HANDLES, OK_PACKED, type Batch, type BatchReply, type BatchTasks, type Control, type Note, type ResultRun, type WorkerConfig,
} from '../protocol/messages.js';
import { PACKED, type Engine, type Job, type PoolStats } from './engine.js';
import { CoreEngine, EngineCore, type CoreJob } from './core.js';
import { WatchedWorker } from './worker-watch.js';
import { createTinypool } from './tinypool-setup.js';
import type { EngineSettings } from './settings.js';

export type { EngineSettings } from './settings.js';
import { isServing, newWorkers, runFailure, startWorker } from './tinypool-adapter.js';
import { ownBuffer, unsendablePath } from './batch-parts.js';
import { BatchSizing } from './batch-sizing.js';
import { lostWorkerError } from './lost-worker.js';
import { allBuffers } from '../base/move.js';

/** Workers that die before starting, in a row, before queued tasks are failed instead of retried. */
const MAX_STARTUP_FAILURES = 3;
/** Progress slots of thread workers (WorkerConfig.progress): more than batches can be in flight at once. */
const PROGRESS_SLOTS = 4096;
/** How long close() waits for workers to leave on their own before stopping them. */
const CLOSE_GRACE_MS = 5000;


type QueuedJob = CoreJob;

interface Flight {
  id: number;
  jobs: QueuedJob[];
  /** Jobs from here on were handed back to the queue: no longer this flight's. */
  end: number;
  signal?: AbortSignal;
  controller?: AbortController;
  /** Notes received for this batch, and its reply when it came before some of them. */
  notes: number;
  reply?: BatchReply;
  /** The task the worker said was running when it last spoke (a slow task). */
  running?: number;
  /** Its arguments held buffers moved to the worker (move()): this process no longer has them. */
  moved?: boolean;
}

let poolCounter = 0;

export class TinypoolEngine extends CoreEngine<QueuedJob> implements Engine {
  readonly #settings: EngineSettings;
  readonly #tp: Tinypool;
  protected readonly core: EngineCore<QueuedJob>;
  readonly #inflight = new Map<number, Flight>();
  readonly #workers = new Map<number, WatchedWorker>();
  readonly #watched = new WeakSet<object>();
  readonly #sizing: BatchSizing;
  readonly #control: Int32Array;
  readonly #progress: Int32Array | undefined;
  readonly #channel: BroadcastChannel | null;
  readonly #channelName: string;
  #nextBatch = 1;
  #workerNumber = 0;
  #slowFlights = 0;
  #startupFailures = 0;
  #startupError: WorkerLostError | null = null;

  constructor(settings: EngineSettings) {
    super();
    this.#settings = settings;
    this.core = new EngineCore<QueuedJob>({
      pump: () => this.#pump(),
      abortSent: (signal) => this.#abortSent(signal),
      drained: () => this.#inflight.size === 0,
      stop: () => this.#stop(),
    }, { maxSent: settings.maxSent });
    this.#sizing = new BatchSizing(settings.processes, settings.maxTasksPerChild);
    // [0]: worker-name counter (threads), [1]: 1 once the pool is closing
    this.#control = new Int32Array(new SharedArrayBuffer(8));
    this.#channelName = `multiproc:${process.pid}:${++poolCounter}:${Math.random().toString(36).slice(2)}`;
    const isThread = settings.runtime === 'thread';
    this.#progress = isThread ? new Int32Array(new SharedArrayBuffer(4 * PROGRESS_SLOTS)) : undefined;
    this.#channel = isThread ? new BroadcastChannel(this.#channelName) : null;
    this.#channel?.unref();
    this.#tp = createTinypool(settings, isThread ? this.#config(undefined) : undefined);
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
      progress: this.#progress,
    };
  }

  get workerIds(): number[] {
    return [...this.#workers.keys()];
  }

  stats(): PoolStats {
    const workers = this.#workers.size;
    return this.core.stats({ workers, busy: Math.min(workers, this.#inflight.size), batches: this.#nextBatch - 1 });
  }

  submit(job: Job): void {
    if (!this.core.submit(job)) return;
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) this.#startupFailures = MAX_STARTUP_FAILURES - 1; // one more try
  }

  async terminate(reason: Error): Promise<void> {
    if (!this.core.terminate(reason)) return this.core.exited;
    for (const flight of this.#inflight.values()) for (const job of flight.jobs) this.core.finish(job, false, reason);
    this.#inflight.clear();
    await this.#destroy();
    return this.core.exited;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #pump(): void {
    const core = this.core;
    if (core.state === 'terminated' || core.state === 'stopping') return;
    while (core.queuedJobs > 0 && this.#inflight.size < this.#sizing.limit(core.queuedJobs, this.#slowFlights)) {
      const jobs = this.#takeBatch(this.#sizing.size(core.queuedJobs));
      if (jobs.length === 0) break; // as many out as settings.maxSent allows
      this.#dispatch(jobs);
    }
    core.maybeStop();
  }

  /** Up to `size` queued jobs; jobs with a signal go only with jobs of the same signal (one abort stops them all). */
  #takeBatch(size: number): QueuedJob[] {
    const jobs: QueuedJob[] = [];
    let signal: AbortSignal | undefined;
    while (jobs.length < size) {
      const next = this.core.peek();
      if (!next) break;
      if (jobs.length > 0 && (next.signal !== signal || next.transfer)) break;
      signal = next.signal;
      jobs.push(this.core.take());
      if (next.transfer) break; // moved buffers travel alone: a batch hands back only what it did not start
    }
    return jobs;
  }

  #dispatch(jobs: QueuedJob[]): void {
    const flight: Flight = { id: this.#nextBatch++, jobs, end: jobs.length, notes: 0, signal: jobs[0].signal };
    const specs: TaskSpec[] = [];
    const specIndex = new Map<string, number>();
    // filled by push, never preallocated: v8 clones an array with holes (new Array(n)) element by element, as a sparse one
    const tasks: BatchTasks = [];
    let waited = 0;
    let items = 0;
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
      waited += job.submitted * job.items;
      items += job.items;
    }
    this.core.waitTime.record(performance.now() - waited / items, items); // the batch's mean wait, once
    const batch: Batch = { b: flight.id, specs, t: tasks };
    const transferList = jobs.length === 1 ? jobs[0].transfer : undefined;
    if (transferList) {
      batch.m = 1;
      flight.moved = true;
    }
    if (this.#progress) {
      batch.s = flight.id % PROGRESS_SLOTS;
      Atomics.store(this.#progress, batch.s, 0);
    }
    if (flight.signal) {
      flight.controller = new AbortController();
      if (flight.signal.aborted) flight.controller.abort();
    }
    this.#inflight.set(flight.id, flight);
    const options = flight.controller || transferList ? { signal: flight.controller?.signal, transferList } : undefined;
    this.#tp.run(batch, options).then(
      (reply) => this.#onReply(flight, reply),
      (err) => this.#onRunFailed(flight, err),
    );
    this.#adoptNew(); // tinypool may have started a worker for it
  }

  /** Settles the jobs whose arguments cannot cross with SerializationError naming the value; the others go back. */
  #refuseUnsendable(flight: Flight, cause: unknown): void {
    const target = this.#settings.runtime;
    const again: QueuedJob[] = [];
    let refused = 0;
    for (const job of flight.jobs.slice(0, flight.end)) {
      if (job.done) continue;
      const where = unsendablePath(job, target);
      if (where) {
        refused++;
        this.core.finish(job, false, new SerializationError(`cannot send to a ${target} worker: ${where}`, where.split(':')[0]));
      } else again.push(job);
    }
    if (refused === 0) {
      // nothing found by our walk: refuse them all with what the serializer said, rather than loop
      const message = (cause as Error)?.message ?? String(cause);
      for (const job of again) this.core.finish(job, false, new SerializationError(`cannot send the task to a ${target} worker: ${message}`));
      return;
    }
    this.core.requeue(again);
  }

  // ---- replies, notes, failures ------------------------------------------------------------------

  #onReply(flight: Flight, raw: unknown): void {
    const reply = raw as BatchReply;
    const worker = this.#workers.get(reply.w);
    if (!this.#inflight.has(flight.id)) return;
    if (reply.unsendable) {
      // a child process's batch that v8 refused (see the relay guard in tinypool-adapter.ts): find the culprits, send the rest again
      this.#land(flight);
      this.#refuseUnsendable(flight, new Error('a value could not be serialized'));
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
    this.#land(flight);
    if (reply.initError) {
      const err = errorFromWire(reply.initError);
      this.#failFlight(flight, err);
    } else {
      this.#sizing.measured(reply.r.length / 2, reply.busy);
      this.#deliver(flight, reply, worker, reply.out, reply.err, reply.busy);
      this.#handBack(flight, reply.rest, reply.back);
    }
    if (reply.retire && worker && !worker.retiring) this.#retire(worker);
    this.#pump();
  }

  /** A flight is over (replied or failed): it no longer counts against the limit. */
  #land(flight: Flight): void {
    this.#inflight.delete(flight.id);
    if (flight.running !== undefined) this.#slowFlights--;
  }

  /**
   * Jobs from `rest` on were not run: back to the front of the queue. A job whose buffers were moved to
   * the worker goes again only with the arguments the worker sent back (`args`); without them (the worker
   * died first) its data is gone, and the job fails rather than run on detached buffers.
   */
  #handBack(flight: Flight, rest: number, args?: unknown[]): void {
    if (rest >= flight.end) return;
    const back = flight.jobs.slice(rest, flight.end);
    flight.end = rest;
    if (flight.moved) {
      for (let i = 0; i < back.length; i++) {
        const job = back[i];
        if (args && i < args.length) {
          job.args = args[i];
          job.transfer = allBuffers(args[i]);
        } else if (!job.done) {
          this.core.finish(job, false, new WorkerLostError('the worker the task was sent to was lost before it started the task, with the buffers moved to it'));
        }
      }
    }
    this.core.requeue(back);
  }

  /** Settles the jobs of a result run, once the worker's output written before it has been printed. */
  #deliver(flight: Flight, run: ResultRun, worker: WatchedWorker | undefined, out: number, err: number, busy = 0): void {
    const count = run.r.length / 2;
    if (count === 0) return;
    const jobs = flight.jobs.slice(run.from, run.from + count);
    let items = 0;
    for (const job of jobs) items += job.items;
    if (busy > 0) this.core.runTime.record(busy / items, items);
    const settleAll = () => {
      for (let i = 0; i < jobs.length; i++) {
        const status = run.r[2 * i];
        const value = run.r[2 * i + 1];
        const job = jobs[i];
        if (status === FAILED) this.core.finish(job, false, errorFromWire(value as any));
        else if (status === OK_HANDLES) decodeHandles(value).then((v) => this.core.finish(job, true, v), (e) => this.core.finish(job, false, e));
        else if (status === OK_PACKED) this.core.finish(job, true, new Float64Array(value as ArrayBuffer)); // read in place by the map
        else this.core.finish(job, true, value);
      }
    };
    if (worker) worker.afterOutput(out, err, settleAll);
    else settleAll();
  }

  #onNote(worker: WatchedWorker, note: Note): void {
    switch (note.t) {
      case 'hello': {
        const number = ++this.#workerNumber;
        worker.name = `${this.#settings.namePrefix}-${number}`;
        worker.send({ [NOTE]: 1, t: 'welcome', config: this.#config(number) });
        if (this.core.state === 'stopping') worker.send({ [NOTE]: 1, t: 'close' });
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
        const flight = this.#inflight.get(note.b);
        if (!flight) return;
        flight.notes++;
        if (flight.running === undefined) this.#slowFlights++;
        flight.running = note.running;
        this.#deliver(flight, note, worker, note.out, note.err);
        this.#handBack(flight, note.rest);
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
        const flight = this.#inflight.get(note.b);
        if (!flight) return;
        const { from, r, running } = note as Extract<Note, { t: 'dying'; running: number }>;
        this.#deliver(flight, { from, r }, worker, note.out, note.err);
        this.#handBack(flight, running + 1); // not started: another worker takes them now
        break;
      }
    }
  }

  #onRunFailed(flight: Flight, err: unknown): void {
    if (!this.#inflight.has(flight.id)) return;
    this.#land(flight);
    const lost = err instanceof WorkerLostError ? lostWorkers.get(err) : undefined;
    const kind = runFailure(err);
    if (flight.signal?.aborted && kind === 'aborted') {
      this.#failFlight(flight, abortedBy(flight.signal));
    } else if (kind === 'stopped' && this.core.state !== 'terminated') {
      this.#afterStoppedWorker(flight);
    } else if (kind === 'cancelled') {
      this.#failFlight(flight, this.#startupError ?? err); // tinypool's queue cancelled: its workers fail to start
    } else if (lost) {
      this.#afterWorkerLoss(flight, err as WorkerLostError, lost);
    } else {
      // Our worker answers every batch, so a run fails otherwise only when tinypool could not post it to
      // its MessagePort (for a child process too, before the relay): structured clone refused an argument
      // (DataCloneError, or what a getter threw while being read).
      this.#refuseUnsendable(flight, err);
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
      if (!worker.started && this.#startupFailures >= MAX_STARTUP_FAILURES) this.#failFlight(flight, err);
      else this.#handBack(flight, 0);
      return;
    } else running = flight.running ?? this.#startedTask(flight);
    // A worker runs its batches one at a time, in the order sent, and answers each before starting the
    // next; tinypool fails a dead worker's runs in that same order. So only the first of them can have
    // started: the others waited behind it.
    const first = worker.lostRuns++ === 0;
    if (running === -1 || (running === undefined && !first)) {
      this.#handBack(flight, 0); // killed outright before this batch started: it runs elsewhere
      return;
    }
    if (running === undefined) {
      // A child process killed outright (SIGKILL, out of memory) says nothing: the tasks of the batch it
      // was running may have run, so none is run again; all fail with it.
      this.#failFlight(flight, err);
      return;
    }
    this.#handBack(flight, running + 1);
    this.#failFlight(flight, err);
  }

  /**
   * tinypool stopped the worker this batch went to: the worker was running a run that was aborted, and
   * tinypool, seeing that run answered late, gave the worker this batch as it went. A child process then
   * never got it (tinypool sends nothing to a worker it terminates); a thread may have started it, and its
   * progress slot says where it was.
   */
  #afterStoppedWorker(flight: Flight): void {
    const running = flight.running ?? this.#startedTask(flight) ?? -1;
    this.#handBack(flight, running + 1);
    if (running >= 0) {
      this.#failFlight(flight, new WorkerLostError('the task was stopped with its worker, which was running a task that was aborted'));
    }
  }

  /** Threads: the task a worker killed outright was running, from its progress slot (-1: none had started). */
  #startedTask(flight: Flight): number | undefined {
    if (!this.#progress) return undefined;
    return Atomics.load(this.#progress, flight.id % PROGRESS_SLOTS) - 1;
  }

  /** Settles a flight's jobs with `err`. */
  #failFlight(flight: Flight, err: unknown): void {
    for (let i = 0; i < flight.end; i++) this.core.finish(flight.jobs[i], false, err);
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
      worker.dieWithParent();
    }
  }

  #onWorkerExit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void {
    this.#workers.delete(worker.id);
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
    } else if (this.#tp.threads.length < this.#settings.processes && (this.#inflight.size > 0 || this.core.queuedJobs > 0)) {
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
    for (const w of targets) if (!w.exited) w.send({ [NOTE]: 1, ...msg });
  }

  // ---- settling and stopping ----------------------------------------------------------------------

  /** A signal fired: tinypool stops its runs in flight (the core drops its queued jobs). */
  #abortSent(signal: AbortSignal): void {
    for (const flight of this.#inflight.values()) if (flight.signal === signal) flight.controller?.abort();
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
    // Only workers holding exit hooks are waited for (and one not started yet, which may still get some).
    for (const worker of this.#workers.values()) if (!worker.flushed && !worker.gone && (worker.hasHooks || !worker.started)) return;
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
