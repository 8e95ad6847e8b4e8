/**
 * The batches sent to workers and not answered yet ("flights"), and how each one's jobs settle: with
 * their results, handed back to the queue (not started), or failed with what befell them.
 */
import { errorFromWire } from '../base/codec/error-wire.js';
import type { Runtime } from '../base/codec/handles.js';
import { decodeHandles } from '../base/codec/handles.js';
import { SerializationError, WorkerLostError } from '../base/errors.js';
import { allBuffers } from '../base/move.js';
import { FAILED, OK_HANDLES, OK_PACKED, type BatchReply, type ResultRun } from '../protocol/messages.js';
import { unsendablePath } from './batch-parts.js';
import type { CoreJob, EngineCore } from './core.js';
import type { WatchedWorker } from './worker-watch.js';

/** One batch in flight: one tinypool run. */
export interface Flight {
  id: number;
  jobs: CoreJob[];
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

export class Flights {
  readonly #core: EngineCore<CoreJob>;
  readonly #runtime: Runtime;
  readonly #inflight = new Map<number, Flight>();
  #nextBatch = 1;
  #slowFlights = 0;

  constructor(core: EngineCore<CoreJob>, runtime: Runtime) {
    this.#core = core;
    this.#runtime = runtime;
  }

  /** Batches in flight. */
  get size(): number {
    return this.#inflight.size;
  }

  /** Batches in flight whose worker said its task is slow: that worker takes no second batch. */
  get slow(): number {
    return this.#slowFlights;
  }

  /** Batches sent so far. */
  get sent(): number {
    return this.#nextBatch - 1;
  }

  /** A new flight for `jobs`, with its own AbortController when they have a signal. */
  open(jobs: CoreJob[]): Flight {
    const flight: Flight = { id: this.#nextBatch++, jobs, end: jobs.length, notes: 0, signal: jobs[0].signal };
    if (flight.signal) {
      flight.controller = new AbortController();
      if (flight.signal.aborted) flight.controller.abort();
    }
    this.#inflight.set(flight.id, flight);
    return flight;
  }

  get(id: number): Flight | undefined {
    return this.#inflight.get(id);
  }

  /** Still in flight (not replied, not failed). */
  has(flight: Flight): boolean {
    return this.#inflight.has(flight.id);
  }

  /** A signal fired: tinypool stops the runs of its flights. */
  abort(signal: AbortSignal): void {
    for (const flight of this.#inflight.values()) if (flight.signal === signal) flight.controller?.abort();
  }

  /** terminate(): every job in flight settles with `reason`. */
  failAll(reason: Error): void {
    for (const flight of this.#inflight.values()) for (const job of flight.jobs) this.#core.finish(job, false, reason);
    this.#inflight.clear();
  }

  /** A flight is over (replied or failed): it no longer counts against the limit. */
  land(flight: Flight): void {
    this.#inflight.delete(flight.id);
    if (flight.running !== undefined) this.#slowFlights--;
  }

  /** The worker said task `running` of this flight is under way (a slow task): one more note came. */
  noted(flight: Flight, running: number): void {
    flight.notes++;
    if (flight.running === undefined) this.#slowFlights++;
    flight.running = running;
  }

  /**
   * Jobs from `rest` on were not run: back to the front of the queue. A job whose buffers were moved to
   * the worker goes again only with the arguments the worker sent back (`args`); without them (the worker
   * died first) its data is gone, and the job fails rather than run on detached buffers.
   */
  handBack(flight: Flight, rest: number, args?: unknown[]): void {
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
          this.#core.finish(job, false, new WorkerLostError('the worker the task was sent to was lost before it started the task, with the buffers moved to it'));
        }
      }
    }
    this.#core.requeue(back);
  }

  /** A run tinypool never posted to a worker (cancelled in its queue): all its jobs go back as they are, buffers included. */
  requeueUnposted(flight: Flight): void {
    const back = flight.jobs.slice(0, flight.end);
    flight.end = 0;
    this.#core.requeue(back);
  }

  /** Settles the jobs of a result run, once the worker's output written before it has been printed. */
  deliver(flight: Flight, run: ResultRun, worker: WatchedWorker | undefined, out: number, err: number, busy = 0): void {
    const count = run.r.length / 2;
    if (count === 0) return;
    const jobs = flight.jobs.slice(run.from, run.from + count);
    let items = 0;
    for (const job of jobs) items += job.items;
    if (busy > 0) this.#core.runTime.record(busy / items, items);
    const settleAll = () => {
      for (let i = 0; i < jobs.length; i++) {
        const status = run.r[2 * i];
        const value = run.r[2 * i + 1];
        const job = jobs[i];
        if (status === FAILED) this.#core.finish(job, false, errorFromWire(value as any));
        else if (status === OK_HANDLES) decodeHandles(value).then((v) => this.#core.finish(job, true, v), (e) => this.#core.finish(job, false, e));
        else if (status === OK_PACKED) this.#core.finish(job, true, new Float64Array(value as ArrayBuffer)); // read in place by the map
        else this.#core.finish(job, true, value);
      }
    };
    if (worker) worker.afterOutput(out, err, settleAll);
    else settleAll();
  }

  /** Settles a flight's jobs with `err`. */
  fail(flight: Flight, err: unknown): void {
    for (let i = 0; i < flight.end; i++) this.#core.finish(flight.jobs[i], false, err);
  }

  /** Settles the jobs whose arguments cannot cross with SerializationError naming the value; the others go back. */
  refuseUnsendable(flight: Flight, cause: unknown): void {
    const target = this.#runtime;
    const again: CoreJob[] = [];
    let refused = 0;
    for (const job of flight.jobs.slice(0, flight.end)) {
      if (job.done) continue;
      const where = unsendablePath(job, target);
      if (where) {
        refused++;
        this.#core.finish(job, false, new SerializationError(`cannot send to a ${target} worker: ${where}`, where.split(':')[0]));
      } else again.push(job);
    }
    if (refused === 0) {
      // nothing found by our walk: refuse them all with what the serializer said, rather than loop
      const message = (cause as Error)?.message ?? String(cause);
      for (const job of again) this.#core.finish(job, false, new SerializationError(`cannot send the task to a ${target} worker: ${message}`));
      return;
    }
    this.#core.requeue(again);
  }
}
