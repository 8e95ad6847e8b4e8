/**
 * The engine of every local pool (Pool, ThreadPoolExecutor, ProcessPoolExecutor): tinypool starts,
 * feeds, replaces and stops the workers; this layer above it batches tasks into tinypool runs and
 * covers what tinypool lacks (tinypool-notes.md).
 *
 * Batching: tasks submitted together travel together, one tinypool `run()` per batch, because a run
 * costs ~50 µs (threads) to ~100 µs (processes) whatever it carries. A batch holds about BATCH_MS of
 * measured work (exactly one task until tasks have been measured), so a long task is never queued
 * behind: each worker holds at most one batch while tasks are long and two (tinypool's
 * concurrentTasksPerWorker) while they are short, and a worker hands back what it has not started as
 * soon as its current task proves slow (lib/worker/pool-worker.ts).
 */
import { BroadcastChannel } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import Tinypool from 'tinypool';
import type { ResourceLimits } from 'node:worker_threads';
import { errorFromWire } from '../base/codec/error-wire.js';
import { decodeHandles, type Runtime } from '../base/codec/handles.js';
import { abortedBy, SerializationError, WorkerLostError } from '../base/errors.js';
import { KeepAlive } from '../base/keep-alive.js';
import { forgetChild, reapWithParent } from '../base/reaper.js';
import type { TaskSpec } from '../base/task.js';
import { workerGone } from '../base/worker-hooks.js';
import {
  FAILED, NOTE, OK_HANDLES, OK_PACKED, type Batch, type BatchReply, type BatchTask, type Control, type Note, type ResultRun, type WorkerConfig,
} from '../worker/protocol.js';
import { CHUNK, PACKED, type Engine, type Job, type PoolStats } from './engine.js';
import { Deque } from './deque.js';
import { SignalGroups } from './signal-groups.js';
import { DurationHistogram } from './stats.js';
import { WatchedWorker, type TinypoolWorkerObject } from './worker-watch.js';
import { createTinypool, guardSend } from './tinypool-setup.js';
import { ownBuffer, unsendablePath } from './batch-parts.js';
import { allBuffers } from '../base/move.js';

/** Work per batch, in milliseconds of measured task time. */
const BATCH_MS = 1;
const MAX_BATCH = 2048;
/** Workers that die before starting, in a row, before queued tasks are failed instead of retried. */
const MAX_STARTUP_FAILURES = 3;
/** Progress slots of thread workers (WorkerConfig.progress): more than batches can be in flight at once. */
const PROGRESS_SLOTS = 4096;
/** How long close() waits for workers to leave on their own before stopping them. */
const CLOSE_GRACE_MS = 5000;

export interface EngineSettings {
  runtime: Runtime;
  processes: number;
  /** Prefix of worker names (`PoolWorker` gives PoolWorker-1, PoolWorker-2, ...). */
  namePrefix: string;
  maxTasksPerChild?: number;
  initializer?: { spec: TaskSpec; args: unknown; flags: number };
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: ResourceLimits;
  /**
   * Told when a worker dies unasked (busy, idle or still starting), with the error its tasks got.
   * ProcessPoolExecutor needs it: Python breaks the executor even when an idle worker dies.
   */
  onWorkerLost?: (error: WorkerLostError) => void;
}

interface QueuedJob extends Job {
  /** performance.now() at submission. */
  submitted: number;
  /** Items it stands for in the stats (a chunk counts its items). */
  items: number;
  done: boolean;
}

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

export class TinypoolEngine implements Engine {
  readonly #settings: EngineSettings;
  readonly #tp: Tinypool;
  readonly #queue = new Deque<QueuedJob>();
  #queued = 0;
  readonly #inflight = new Map<number, Flight>();
  readonly #workers = new Map<number, WatchedWorker>();
  readonly #watched = new WeakSet<object>();
  // one 'abort' listener per signal: queued jobs are dropped; runs in flight are stopped by tinypool
  readonly #signals = new SignalGroups<QueuedJob>((signal, jobs) => this.#aborted(signal, jobs));
  readonly #keepAlive = new KeepAlive();
  readonly #runTime = new DurationHistogram();
  readonly #waitTime = new DurationHistogram();
  readonly #control: Int32Array;
  readonly #progress: Int32Array | undefined;
  readonly #channel: BroadcastChannel | null;
  readonly #channelName: string;
  #unsettled = 0;
  #completed = 0;
  #failed = 0;
  #nextBatch = 1;
  #workerNumber = 0;
  #avgMs = Infinity;
  /** Tasks of the last batch that ran well within BATCH_MS (0 after one that did not): twice as many may go next. */
  #proven = 0;
  #slowFlights = 0;
  #startupFailures = 0;
  #startupError: WorkerLostError | null = null;
  #pumpScheduled = false;
  #tickTime = -1;
  #state: 'running' | 'closing' | 'stopping' | 'terminated' = 'running';
  readonly #exited: Promise<void>;
  #resolveExited!: () => void;

  constructor(settings: EngineSettings) {
    this.#settings = settings;
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve));
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
    return {
      workers,
      busy: Math.min(workers, this.#inflight.size),
      queued: this.#queued,
      completed: this.#completed,
      failed: this.#failed,
      batches: this.#nextBatch - 1,
      runTime: this.#runTime.summary(),
      waitTime: this.#waitTime.summary(),
    };
  }

  submit(job: Job): void {
    const queued = job as QueuedJob;
    // one clock read per turn of the event loop: jobs submitted together were submitted at the same time
    if (this.#tickTime < 0) this.#tickTime = performance.now();
    queued.submitted = this.#tickTime;
    queued.items = job.flags & CHUNK ? (job.args as ArrayLike<unknown>).length : 1;
    queued.done = false;
    if (this.#unsettled++ === 0) this.#keepAlive.hold();
    if (job.signal) {
      if (job.signal.aborted) {
        this.#finish(queued, false, abortedBy(job.signal), false);
        return;
      }
      this.#signals.add(job.signal, queued);
    }
    this.#queue.push(queued);
    this.#queued++;
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) this.#startupFailures = MAX_STARTUP_FAILURES - 1; // one more try
    this.#schedulePump();
  }

  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.#maybeStop();
  }

  whenExited(): Promise<void> {
    return this.#exited;
  }

  async terminate(reason: Error): Promise<void> {
    if (this.#state === 'terminated') return this.#exited;
    this.#state = 'terminated';
    for (const job of this.#queue.drain()) this.#finish(job, false, reason, false);
    this.#queued = 0;
    for (const flight of this.#inflight.values()) for (const job of flight.jobs) this.#finish(job, false, reason, false);
    this.#inflight.clear();
    await this.#destroy();
    return this.#exited;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // Everything submitted in this turn of the event loop can share batches.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#tickTime = -1;
      this.#pump();
    });
  }

  /** Runs in flight allowed now: one per worker, two while tasks are short, but one for a worker stuck on a slow task. */
  #limit(): number {
    // A second batch waits in a worker only while tasks are short, or while more work is queued than there
    // are workers: every worker then has work after its current batch, so none waits behind a long one idly.
    const perWorker = this.#avgMs < BATCH_MS || this.#queued > this.#settings.processes ? 2 : 1;
    return Math.max(1, this.#settings.processes * perWorker - this.#slowFlights * (perWorker - 1));
  }

  #batchSize(): number {
    // The mean overstates tiny tasks measured in small batches (a batch's fixed costs count as task time):
    // a batch that ran well within BATCH_MS may be doubled, so batches reach their size in a few replies.
    const measured = this.#avgMs === Infinity ? 1 : Math.max(Math.floor(BATCH_MS / Math.max(this.#avgMs, 1e-4)), 2 * this.#proven);
    const fair = Math.ceil(this.#queued / this.#settings.processes);
    return Math.max(1, Math.min(MAX_BATCH, measured, fair, this.#settings.maxTasksPerChild ?? Infinity));
  }

  #pump(): void {
    if (this.#state === 'terminated' || this.#state === 'stopping') return;
    while (this.#queued > 0 && this.#inflight.size < this.#limit()) {
      const jobs = this.#takeBatch(this.#batchSize());
      if (jobs.length > 0) this.#dispatch(jobs);
    }
    this.#maybeStop();
  }

  /** Up to `size` queued jobs; jobs with a signal go only with jobs of the same signal (one abort stops them all). */
  #takeBatch(size: number): QueuedJob[] {
    const jobs: QueuedJob[] = [];
    let signal: AbortSignal | undefined;
    while (jobs.length < size && this.#queue.length > 0) {
      const next = this.#queue.peek()!;
      if (next.done) {
        this.#queue.shift();
        continue;
      }
      if (jobs.length > 0 && (next.signal !== signal || next.transfer)) break;
      signal = next.signal;
      jobs.push(this.#queue.shift()!);
      this.#queued--;
      if (next.transfer) break; // moved buffers travel alone: a batch hands back only what it did not start
    }
    return jobs;
  }

  #dispatch(jobs: QueuedJob[]): void {
    const flight: Flight = { id: this.#nextBatch++, jobs, end: jobs.length, notes: 0, signal: jobs[0].signal };
    const specs: TaskSpec[] = [];
    const specIndex = new Map<string, number>();
    const tasks: BatchTask[] = new Array(jobs.length);
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
      tasks[i] = [index, job.flags & PACKED ? ownBuffer(job.args as Float64Array) : job.args, job.flags];
      waited += job.submitted * job.items;
      items += job.items;
    }
    this.#waitTime.record(performance.now() - waited / items, items); // the batch's mean wait, once
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
        this.#finish(job, false, new SerializationError(`cannot send to a ${target} worker: ${where}`, where.split(':')[0]), false);
      } else again.push(job);
    }
    if (refused === 0) {
      // nothing found by our walk: refuse them all with what the serializer said, rather than loop
      const message = (cause as Error)?.message ?? String(cause);
      for (const job of again) this.#finish(job, false, new SerializationError(`cannot send the task to a ${target} worker: ${message}`), false);
      return;
    }
    this.#requeue(again);
  }

  #requeue(jobs: QueuedJob[]): void {
    const live = jobs.filter((job) => !job.done);
    this.#queue.unshiftAll(live);
    this.#queued += live.length;
    this.#schedulePump();
  }

  // ---- replies, notes, failures ------------------------------------------------------------------

  #onReply(flight: Flight, raw: unknown): void {
    const reply = raw as BatchReply;
    const worker = this.#workers.get(reply.w);
    if (!this.#inflight.has(flight.id)) return;
    if (reply.unsendable) {
      // a child process's batch that v8 refused (see guardSend): find the culprits, send the rest again
      this.#land(flight);
      this.#refuseUnsendable(flight, new Error('a value could not be serialized'));
      this.#pump();
      return;
    }
    if (worker) {
      worker.started = true;
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
      this.#failFlight(flight, err, false);
    } else {
      const count = reply.r.length / 2;
      if (count > 0) {
        const per = reply.busy / count;
        this.#avgMs = this.#avgMs === Infinity ? per : this.#avgMs * 0.8 + per * 0.2;
        this.#proven = reply.busy < BATCH_MS / 2 ? count : 0;
      }
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
          this.#finish(job, false, new WorkerLostError('the worker the task was sent to was lost before it started the task, with the buffers moved to it'), false);
        }
      }
    }
    this.#requeue(back);
  }

  /** Settles the jobs of a result run, once the worker's output written before it has been printed. */
  #deliver(flight: Flight, run: ResultRun, worker: WatchedWorker | undefined, out: number, err: number, busy = 0): void {
    const count = run.r.length / 2;
    if (count === 0) return;
    const jobs = flight.jobs.slice(run.from, run.from + count);
    let items = 0;
    for (const job of jobs) items += job.items;
    if (busy > 0) this.#runTime.record(busy / items, items);
    const settleAll = () => {
      for (let i = 0; i < jobs.length; i++) {
        const status = run.r[2 * i];
        const value = run.r[2 * i + 1];
        const job = jobs[i];
        if (status === FAILED) this.#finish(job, false, errorFromWire(value as any));
        else if (status === OK_HANDLES) decodeHandles(value).then((v) => this.#finish(job, true, v), (e) => this.#finish(job, false, e));
        else if (status === OK_PACKED) this.#finish(job, true, new Float64Array(value as ArrayBuffer)); // read in place by the map
        else this.#finish(job, true, value);
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
        const child = worker.tw.process!;
        child.send({ [NOTE]: 1, t: 'welcome', config: this.#config(number) }, () => {});
        if (this.#state === 'stopping') child.send({ [NOTE]: 1, t: 'close' }, () => {});
        break;
      }
      case 'flushed':
        worker.flushed = true;
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
    if (flight.signal?.aborted && (err as Error)?.name === 'AbortError') {
      this.#failFlight(flight, abortedBy(flight.signal), false);
    } else if ((err as Error)?.message === 'Terminating worker thread' && this.#state !== 'terminated') {
      this.#afterStoppedWorker(flight);
    } else if ((err as Error)?.name === 'CancelError') {
      this.#failFlight(flight, this.#startupError ?? err, false); // tinypool's queue cancelled: its workers fail to start
    } else if ((err as Error)?.name === 'DataCloneError') {
      this.#refuseUnsendable(flight, err); // a thread worker: structured clone refused an argument
    } else if (lost) {
      this.#afterWorkerLoss(flight, err as WorkerLostError, lost);
    } else {
      this.#failFlight(flight, err);
    }
    this.#pump();
  }

  /** Which of a dead worker's jobs died with it: only the one it was running; the others run elsewhere. */
  #afterWorkerLoss(flight: Flight, err: WorkerLostError, worker: WatchedWorker): void {
    const dying = worker.dying;
    let running: number | undefined;
    if (dying && dying.b === flight.id) running = (dying as { running: number }).running;
    else if (dying || worker.exitRequested || !worker.started) {
      // this batch never started on that worker
      if (!worker.started && this.#startupFailures >= MAX_STARTUP_FAILURES) this.#failFlight(flight, err, false);
      else this.#handBack(flight, 0);
      return;
    } else running = flight.running ?? this.#startedTask(flight);
    if (running === -1) {
      this.#handBack(flight, 0); // killed outright (out of memory) before this batch started: it runs elsewhere
      return;
    }
    if (running === undefined) {
      // A child process killed outright (SIGKILL, out of memory) says nothing: its tasks may have run, so
      // none is run again; all fail with it.
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

  /** Settles a flight's jobs with `err`; `ran`: whether they count as completed (lost with a worker) or not (never ran, stopped). */
  #failFlight(flight: Flight, err: unknown, ran = true): void {
    for (let i = 0; i < flight.end; i++) this.#finish(flight.jobs[i], false, err, ran);
  }

  // ---- workers ------------------------------------------------------------------------------------

  /** Starts watching the workers tinypool created since we last looked (it creates them inside its own calls). */
  #adoptNew(): void {
    for (const tw of this.#tp.threads as unknown as TinypoolWorkerObject[]) {
      if (this.#watched.has(tw)) continue;
      this.#watched.add(tw);
      const worker = new WatchedWorker(tw, {
        note: (w, note) => this.#onNote(w, note),
        exit: (w, code, signal, failWith) => this.#onWorkerExit(w, code, signal, failWith),
      });
      this.#workers.set(worker.id, worker);
      if (worker.runtime === 'process') {
        reapWithParent(worker.id);
        guardSend(tw);
      }
    }
  }

  #onWorkerExit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void {
    this.#workers.delete(worker.id);
    if (worker.runtime === 'process') forgetChild(worker.id);
    const knownToTinypool = (this.#tp.threads as unknown as TinypoolWorkerObject[]).includes(worker.tw);
    const normal = worker.flushed || (worker.retiring && code === 0);
    workerGone({ runtime: worker.runtime, id: worker.id, how: normal ? 'normal' : knownToTinypool ? 'died' : 'terminated' });
    if (!knownToTinypool) {
      this.#checkStopped();
      return; // tinypool stopped it (destroy, abort) and knows
    }
    const asked = worker.exitRequested || worker.retiring;
    if (!worker.started && !asked) this.#startupFailures++;
    const err = this.#lostError(worker, code, signal);
    lostWorkers.set(err, worker);
    // tinypool rejects the worker's runs with it (see #onRunFailed), forgets the worker and starts a replacement
    failWith(err);
    if (this.#destroying) return;
    this.#adoptNew();
    if (!asked) this.#settings.onWorkerLost?.(err);
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) {
      const failed = new WorkerLostError(`workers of this pool fail to start: ${err.message}`, { exitCode: code, signal, cause: err.cause });
      this.#startupError = failed;
      for (const job of this.#queue.drain()) this.#finish(job, false, failed, false);
      this.#queued = 0;
      this.#tp.cancelPendingTasks(); // runs waiting in tinypool for a worker that will not come
    } else if (this.#tp.threads.length < this.#settings.processes && (this.#inflight.size > 0 || this.#queued > 0)) {
      this.#kick();
    }
    this.#checkStopped();
    this.#schedulePump();
  }

  #lostError(worker: WatchedWorker, code: number | null, signal: string | null): WorkerLostError {
    const cause = worker.dying?.error ? errorFromWire(worker.dying.error) : worker.lastError;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    // duck-typed: a thread's error event carries an Error of the main realm, not of a vm context's
    const message = (cause as { message?: unknown } | undefined)?.message;
    const why = typeof message === 'string' ? `: ${message}` : '';
    const who = worker.name ? `${worker.name} (${worker.runtime} ${worker.id})` : `${worker.runtime} ${worker.id}`;
    const when = worker.started ? 'while running the task' : 'before it could start';
    return new WorkerLostError(`worker ${who} ${how} ${when}${why}`, { exitCode: code, signal, cause });
  }

  /**
   * After a worker failed to start, tinypool no longer replaces lost workers by itself (tinypool-notes #10),
   * and a run it queued for that worker waits for one. A run finding no worker ready makes tinypool start
   * one: an empty batch does that, and costs a worker nothing.
   */
  #kick(): void {
    const empty: Batch = { b: 0, specs: [], t: [] };
    this.#tp.run(empty).then(() => {}, () => {});
    this.#adoptNew();
  }

  /** Retires a worker (maxTasksPerChild): it runs its exit hooks and exits; tinypool then replaces it. */
  #retire(worker: WatchedWorker): void {
    worker.retiring = true;
    worker.exitRequested = true;
    this.#tell(worker, { t: 'retire', w: worker.id });
  }

  #tell(worker: WatchedWorker | null, msg: Control): void {
    if (this.#settings.runtime === 'thread') {
      this.#channel!.postMessage(msg);
      return;
    }
    const targets = worker ? [worker] : [...this.#workers.values()];
    for (const w of targets) if (!w.exited) w.tw.process!.send({ [NOTE]: 1, ...msg }, () => {});
  }

  // ---- settling and stopping ----------------------------------------------------------------------

  /** Settles a job once. `ran`: it finished in a worker (counted in stats), rather than being dropped or stopped. */
  #finish(job: QueuedJob, ok: boolean, value: unknown, ran = true): void {
    if (job.done) return;
    job.done = true;
    if (job.signal) this.#signals.delete(job.signal, job);
    if (ran) {
      this.#completed += job.items;
      if (!ok) this.#failed += job.items;
    }
    try {
      job.settle(ok, value);
    } finally {
      if (--this.#unsettled === 0) this.#keepAlive.release();
    }
  }

  #aborted(signal: AbortSignal, jobs: QueuedJob[]): void {
    for (const flight of this.#inflight.values()) if (flight.signal === signal) flight.controller?.abort();
    for (const job of jobs) {
      if (this.#isInFlight(job)) continue;
      if (!job.done) this.#queued--;
      this.#finish(job, false, abortedBy(signal), false);
    }
    this.#maybeStop();
  }

  #isInFlight(job: QueuedJob): boolean {
    for (const flight of this.#inflight.values()) {
      const i = flight.jobs.indexOf(job);
      if (i >= 0 && i < flight.end) return true;
    }
    return false;
  }

  /**
   * After close(), once nothing is queued or running: every worker runs its exit hooks (primitives
   * flush what they hold) and says so; then tinypool stops them all.
   */
  #maybeStop(): void {
    if (this.#state !== 'closing' || this.#queued > 0 || this.#inflight.size > 0) return;
    this.#state = 'stopping';
    Atomics.store(this.#control, 1, 1); // thread workers still starting see it
    this.#tell(null, { t: 'close' });
    this.#keepAlive.hold(); // join() waits for the workers: keep the program alive until they are gone
    const grace = setTimeout(() => void this.#destroy(), CLOSE_GRACE_MS);
    this.#exited.then(() => {
      clearTimeout(grace);
      this.#keepAlive.release();
    });
    this.#checkStopped();
  }

  #checkStopped(): void {
    if (this.#state !== 'stopping') return;
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
    this.#signals.clear();
    this.#resolveExited();
  }
}

/** The URL of multiproc/python's names module, when this program loaded it: its workers load it too. */
function pythonNames(): string | undefined {
  return (globalThis as any)[Symbol.for('multiproc.pythonNames')];
}

/** The worker each of our WorkerLostErrors came from, so a failed run can tell what it lost. */
const lostWorkers = new WeakMap<WorkerLostError, WatchedWorker>();
