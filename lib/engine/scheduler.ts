/**
 * The engine under Pool, Process pools and executors: a fixed set of workers, an O(1) queue,
 * adaptive pipelining, per-worker task counts for maxTasksPerChild, and death detection.
 *
 * Pipelining: a worker runs one task at a time (as in Python), but while it does, more tasks may
 * already be waiting in its message queue so that tiny tasks do not pay a round trip each. How
 * many is adaptive: about 1 ms of measured work, and exactly one until tasks are known to be
 * short, so a long or blocking task never holds back work that an idle worker could take.
 */
import { errorFromWire } from '../base/codec/error-wire.js';
import { decodeHandles } from '../base/codec/handles.js';
import { findUnserializable } from '../base/codec/unserializable.js';
import { SerializationError, WorkerLostError } from '../base/errors.js';
import type { TaskSpec } from '../base/task.js';
import { CHUNK, HANDLES, PACKED, type FromWorker, type TaskMessage, type SpecRef } from '../worker/protocol.js';
import { Deque } from './deque.js';
import { spawnWorker, type ExitInfo, type WorkerChannel, type WorkerSettings } from './worker-channel.js';

/** One unit of work: a call, or a chunk of calls (flags & CHUNK). */
export interface Job {
  spec: TaskSpec;
  args: unknown;
  flags: number;
  settle(ok: boolean, value: unknown): void;
}

export interface SchedulerSettings extends WorkerSettings {
  processes: number;
  maxTasksPerChild?: number;
  initializer?: { spec: TaskSpec; args: unknown; flags: number };
  /** Prefix of worker names (`PoolWorker` gives PoolWorker-1, PoolWorker-2, ...). */
  namePrefix: string;
  /**
   * Told when a worker exits unasked (busy or idle), after its jobs are settled, with the error they
   * got. ProcessPoolExecutor needs it: Python breaks the executor even when an idle worker dies.
   */
  onWorkerLost?: (error: unknown) => void;
}

interface PoolWorker {
  name: string;
  channel: WorkerChannel;
  inflight: Map<number, Job>;
  knownSpecs: Set<number>;
  batch: TaskMessage[];
  dispatched: number;
  ready: boolean;
  retiring: boolean;
  stopping: boolean;
  referenced: boolean;
  initError?: unknown;
  fatalError?: unknown;
}

const MAX_PIPELINE = 64;
const PIPELINE_BUDGET_MS = 1;
const MAX_STARTUP_FAILURES = 3;

export class Scheduler {
  readonly #settings: SchedulerSettings;
  readonly #queue = new Deque<Job>();
  readonly #workers = new Set<PoolWorker>();
  // keyed by text, not object: an inline lambda is a new function (and spec) on every call
  readonly #specIds = new Map<string, number>();
  readonly #specsById = new Map<number, TaskSpec>();
  readonly #idOfSpec = new WeakMap<TaskSpec, number>(); // fast path for the same spec object
  #nextJobId = 1;
  #nextWorkerNumber = 1;
  #avgTaskMs = Infinity;
  #startupFailures = 0;
  #pumpScheduled = false;
  #state: 'running' | 'closing' | 'terminated' = 'running';
  #exited: Promise<void>;
  #resolveExited!: () => void;

  constructor(settings: SchedulerSettings) {
    this.#settings = settings;
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve));
    for (let i = 0; i < settings.processes; i++) this.#spawn();
  }

  /** Ids (pid or thread id) of the live workers. */
  get workerIds(): number[] {
    return [...this.#workers].map((w) => w.channel.pid);
  }

  /** Jobs queued or running. */
  get pending(): number {
    let n = this.#queue.length;
    for (const w of this.#workers) n += w.inflight.size;
    return n;
  }

  submit(job: Job): void {
    this.#queue.push(job);
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) {
      this.#startupFailures = MAX_STARTUP_FAILURES - 1; // a new submit earns one more try
      this.#ensureWorkers();
    }
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      queueMicrotask(() => {
        this.#pumpScheduled = false;
        this.#pump();
      });
    }
  }

  /** No new work; workers exit once everything queued has finished. */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.#stopIdleWhenDrained();
  }

  /** Resolves once every worker has exited (after close or terminate). */
  whenExited(): Promise<void> {
    return this.#exited;
  }

  /** Stops every worker now; queued and running jobs are settled with `reason`. */
  terminate(reason: Error): Promise<void> {
    if (this.#state !== 'terminated') {
      this.#state = 'terminated';
      for (const job of this.#queue.drain()) job.settle(false, reason);
      for (const w of this.#workers) {
        const jobs = [...w.inflight.values()];
        w.inflight.clear();
        w.stopping = true;
        w.channel.setRef(true);
        w.channel.kill('SIGTERM');
        for (const job of jobs) job.settle(false, reason);
      }
      this.#checkExited();
    }
    return this.#exited;
  }

  #spawn(): PoolWorker {
    const name = `${this.#settings.namePrefix}-${this.#nextWorkerNumber++}`;
    const channel = spawnWorker(this.#settings);
    const w: PoolWorker = {
      name, channel, inflight: new Map(), knownSpecs: new Set(), batch: [], dispatched: 0,
      ready: false, retiring: false, stopping: false, referenced: false,
    };
    this.#workers.add(w);
    channel.onMessage((msg) => this.#onMessage(w, msg));
    channel.onExit((info) => this.#onExit(w, info));
    channel.setRef(false); // after the listeners: adding a 'message' listener refs a MessagePort again
    const init = this.#settings.initializer;
    channel.send({
      t: 'init', name, role: 'pool',
      init: init ? [0, this.#specRef(w, init.spec), init.args, init.flags] : null,
    });
    return w;
  }

  /** Keeps `processes` workers serving while there is reason to. */
  #ensureWorkers(): void {
    if (this.#state === 'terminated') return;
    if (this.#state === 'closing' && this.pending === 0) return;
    if (this.#startupFailures > 0 && this.#queue.length === 0) return; // do not crash-loop while idle
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) return;
    let serving = 0;
    for (const w of this.#workers) if (!w.retiring && !w.stopping) serving++;
    for (; serving < this.#settings.processes; serving++) this.#spawn();
  }

  #specRef(w: PoolWorker, spec: TaskSpec): SpecRef {
    let id = this.#idOfSpec.get(spec);
    if (id === undefined) {
      const key = spec.kind === 'src' ? `s:${spec.src}` : `m:${spec.url}#${spec.name}`;
      id = this.#specIds.get(key);
      if (id === undefined) {
        this.#specIds.set(key, (id = this.#specIds.size + 1));
        this.#specsById.set(id, spec);
      }
      this.#idOfSpec.set(spec, id);
    }
    if (w.knownSpecs.has(id)) return id;
    w.knownSpecs.add(id);
    return [id, spec];
  }

  #capacity(w: PoolWorker): number {
    if (w.retiring || w.stopping) return 0;
    let limit = this.#avgTaskMs === Infinity ? 1 : Math.floor(PIPELINE_BUDGET_MS / Math.max(this.#avgTaskMs, 1e-3));
    limit = Math.max(1, Math.min(MAX_PIPELINE, limit));
    const max = this.#settings.maxTasksPerChild;
    if (max) limit = Math.min(limit, max - w.dispatched);
    return limit - w.inflight.size;
  }

  #pump(): void {
    if (this.#state === 'terminated') return;
    while (this.#queue.length > 0) {
      let best: PoolWorker | null = null;
      let bestRoom = 0;
      for (const w of this.#workers) {
        const room = this.#capacity(w);
        // Prefer the least loaded worker: idle workers first, so nothing waits behind a busy one.
        if (room > 0 && (best === null || w.inflight.size < best.inflight.size)) {
          best = w;
          bestRoom = room;
        }
      }
      if (best === null) break;
      const take = Math.min(bestRoom, Math.max(1, Math.ceil(this.#queue.length / this.#workers.size)));
      for (let i = 0; i < take && this.#queue.length > 0; i++) this.#assign(best, this.#queue.shift()!);
    }
    for (const w of this.#workers) if (w.batch.length > 0) this.#sendBatch(w);
  }

  #assign(w: PoolWorker, job: Job): void {
    const id = this.#nextJobId++;
    w.inflight.set(id, job);
    w.dispatched++;
    w.batch.push([id, this.#specRef(w, job.spec), job.args, job.flags]);
    if (!w.referenced) {
      w.referenced = true;
      w.channel.setRef(true);
    }
    const max = this.#settings.maxTasksPerChild;
    if (max && w.dispatched >= max) {
      w.retiring = true;
      this.#ensureWorkers(); // start the successor now, so its start-up overlaps the last tasks
    }
  }

  #sendBatch(w: PoolWorker): void {
    const tasks = w.batch;
    w.batch = [];
    try {
      w.channel.send({ t: 'run', tasks });
    } catch {
      // Some argument cannot cross: find which, reject those, send the rest one by one.
      const runtime = this.#settings.runtime;
      for (const t of tasks) {
        const where = findUnserializable(t[2], t[3] & CHUNK ? 'items' : 'args', runtime);
        if (where) {
          const job = w.inflight.get(t[0]);
          w.inflight.delete(t[0]);
          job?.settle(false, new SerializationError(`cannot send ${where} to a ${runtime} worker`, where.split(':')[0]));
          continue;
        }
        const specId = typeof t[1] === 'number' ? t[1] : t[1][0];
        try {
          w.channel.send({ t: 'run', tasks: [[t[0], [specId, this.#specFromRef(t[1])], t[2], t[3]]] });
        } catch (err) {
          const job = w.inflight.get(t[0]);
          w.inflight.delete(t[0]);
          job?.settle(false, new SerializationError(`cannot send the task to a ${runtime} worker: ${(err as Error).message}`));
        }
      }
      this.#afterSettle(w);
    }
  }

  #specFromRef(ref: SpecRef): TaskSpec {
    return typeof ref === 'number' ? this.#specsById.get(ref)! : ref[1];
  }

  #onMessage(w: PoolWorker, msg: FromWorker): void {
    switch (msg.t) {
      case 'done': {
        const n = msg.r.length;
        const per = msg.busy / n;
        this.#avgTaskMs = this.#avgTaskMs === Infinity ? per : this.#avgTaskMs * 0.8 + per * 0.2;
        for (const [id, ok, value, flags] of msg.r) {
          const job = w.inflight.get(id);
          if (!job) continue;
          w.inflight.delete(id);
          if (!ok) job.settle(false, errorFromWire(value as any));
          else if (flags & PACKED) job.settle(true, value); // a chunk's numbers, still a Float64Array
          else if (flags & HANDLES) decodeHandles(value).then((v) => job.settle(true, v), (e) => job.settle(false, e));
          else job.settle(true, value);
        }
        this.#afterSettle(w);
        this.#pump();
        break;
      }
      case 'ready':
        w.ready = true;
        this.#startupFailures = 0;
        break;
      case 'initError':
        w.initError = errorFromWire(msg.error);
        break;
      case 'fatal':
        w.fatalError = errorFromWire(msg.error);
        break;
    }
  }

  #afterSettle(w: PoolWorker): void {
    if (w.inflight.size > 0) return;
    if (w.referenced) {
      w.referenced = false;
      w.channel.setRef(false);
    }
    if (w.retiring && !w.stopping) this.#stop(w);
    this.#stopIdleWhenDrained();
  }

  #stop(w: PoolWorker): void {
    w.stopping = true;
    w.channel.setRef(true); // join() waits for this exit: keep the program alive until it comes
    w.channel.send({ t: 'exit' });
  }

  #stopIdleWhenDrained(): void {
    if (this.#state !== 'closing' || this.pending > 0) return;
    for (const w of this.#workers) if (!w.stopping) this.#stop(w);
    this.#checkExited();
  }

  #onExit(w: PoolWorker, info: ExitInfo): void {
    this.#workers.delete(w);
    const jobs = [...w.inflight.values()];
    w.inflight.clear();
    if (!w.stopping || jobs.length > 0) {
      if (!w.ready) this.#startupFailures++;
      const err = w.initError ?? this.#lostError(w, info);
      for (const job of jobs) job.settle(false, err);
      if (this.#startupFailures >= MAX_STARTUP_FAILURES) {
        for (const job of this.#queue.drain()) job.settle(false, err);
      }
      if (!w.stopping) this.#settings.onWorkerLost?.(err);
    }
    this.#ensureWorkers();
    this.#pump();
    this.#stopIdleWhenDrained();
    this.#checkExited();
  }

  #lostError(w: PoolWorker, info: ExitInfo): WorkerLostError {
    const cause = w.fatalError ?? info.error;
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    // duck-typed: a thread's error event carries an Error of the main realm, not of a vm context's
    const message = (cause as { message?: unknown } | undefined)?.message;
    const why = typeof message === 'string' ? `: ${message}` : '';
    const kind = this.#settings.runtime === 'process' ? 'process' : 'thread';
    return new WorkerLostError(`worker ${w.name} (${kind} ${w.channel.pid}) ${how} while running the task${why}`, {
      exitCode: info.code, signal: info.signal, cause,
    });
  }

  #checkExited(): void {
    if (this.#state !== 'running' && this.#workers.size === 0) this.#resolveExited();
  }
}
