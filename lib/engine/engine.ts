/**
 * The contract between the Pool's front end (lib/pool.ts: chunking, results, callbacks, imap,
 * progress) and what runs the work: the tinypool engine on this machine (lib/engine/tinypool-engine.ts)
 * or BullMQ on a cluster (lib/cluster/). The front end never asks which one it has.
 */
import type { TaskSpec } from '../base/task.js';

/** Flags of a job. */
export { CHUNK, HANDLES, STAR, PACKED } from '../protocol/messages.js';

/** One unit of work: a call, or a chunk of calls (flags & CHUNK). */
export interface Job {
  spec: TaskSpec;
  /** The argument list of a call, or the items of a chunk; already encoded (handles, packing). */
  args: unknown;
  flags: number;
  /**
   * For a chunk: the position of its first item in the user's input, so errors name `items[base + i]`; for a
   * call made for one item (its only argument), that item's position, so errors name `items[base]`.
   */
  base?: number;
  /** Cancels the job: dropped while queued, its worker replaced while running; settles with AbortError. */
  signal?: AbortSignal;
  /**
   * What dropQueued() names to drop this job while it is queued (an imap loop's jobs, so leaving the loop
   * early drops those not started). A tag only: unlike a signal, it costs the engine nothing per job.
   */
  group?: object;
  /** Buffers marked with move() in `args`: transferred to a thread worker instead of copied. */
  transfer?: ArrayBuffer[];
  /**
   * Called when the job enters the engine's window of `maxSent` jobs (at once when there is room): from
   * then on it goes to a worker as soon as one is free. An executor's future turns running then.
   */
  onAdmit?(): void;
  /**
   * Called exactly once with the outcome: the call's result, or a chunk's results (an ArrayLike:
   * an Array, or a Float64Array when flags & PACKED came back), or the error.
   */
  settle(ok: boolean, value: unknown): void;
}

/** mean / p50 / p99 of a duration, in milliseconds (0 when nothing was measured yet). */
export interface TimeSummary {
  mean: number;
  p50: number;
  p99: number;
}

/** What `pool.stats()` returns. */
export interface PoolStats {
  /** Workers alive (starting or serving). */
  workers: number;
  /** Workers running a task now. */
  busy: number;
  /** Tasks waiting for a worker. */
  queued: number;
  /**
   * Tasks submitted so far (a map chunk counts its items). Once they have all settled,
   * `completed + failed + aborted === submitted`: each is counted once, in one of the three.
   */
  submitted: number;
  /** Tasks that returned a result. */
  completed: number;
  /** Tasks that failed: threw, died with their worker, could not be sent, or were stopped by terminate(). */
  failed: number;
  /** Tasks cancelled through their AbortSignal, queued or running. */
  aborted: number;
  /** Batches sent to workers so far (tinypool runs, cluster jobs): `completed / batches` is how much batching saved. */
  batches: number;
  /** Time a task ran in its worker. */
  runTime: TimeSummary;
  /** Time a task waited from submission until a worker took it. */
  waitTime: TimeSummary;
}

export interface Engine {
  /** Queues a job; never throws (a job that cannot be sent settles with SerializationError). */
  submit(job: Job): void;
  /** No new jobs will come: finish those queued and running, then let the workers exit. */
  close(): void;
  /**
   * Settles with `reason` the jobs of `group` (their `group`, or their `signal`) not yet sent to a worker;
   * those running go on. (An imap loop left early drops its read-ahead this way.) Optional: an engine
   * without it lets them run.
   */
  dropQueued?(group: object, reason: Error): void;
  /**
   * Takes back a job not yet sent to a worker: it will not run and `settle` is not called (a cancelled
   * future). False once it was sent or settled. Optional: an engine without it lets the job run.
   */
  withdraw?(job: Job): boolean;
  /**
   * Fails a job that could not even be queued (an argument whose getter throws while it is encoded): it is
   * counted as submitted and failed, so the stats still add up. Optional: without it the job just settles.
   */
  refuse?(job: Job, error: unknown): void;
  /** Stops every worker now; every job not yet settled settles with `reason`. */
  terminate(reason: Error): Promise<void>;
  /** Resolves once every worker has exited (after close or terminate). */
  whenExited(): Promise<void>;
  stats(): PoolStats;
  /** Ids of the live workers (thread ids, pids, or host-scoped ids), for tests and diagnostics. */
  readonly workerIds: number[];
}
