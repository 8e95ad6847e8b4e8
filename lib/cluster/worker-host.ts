/**
 * A worker host (`multiproc worker`): takes jobs from the BullMQ queue and runs them on a local pool of
 * worker threads or processes (the tinypool engine of the local Pool, so batching, worker-death handling
 * and both runtimes come with it), then adds each result to its client's result stream.
 *
 * - Trust: a job whose seal does not open with this host's authkey is refused (AuthenticationError, logged,
 *   the client told), never run.
 * - Host deaths: BullMQ moves the jobs of a host that stopped renewing its locks back to the queue (its
 *   stalled-job check) and counts it on the job; a job found there more than `retries` times (the client's
 *   setting, sealed in the job) is not run again but answered with WorkerLostError.
 * - Shutdown: `close()` takes no more jobs, hands back those not started (they go to another host at once)
 *   and finishes those running; nothing is lost.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Job as BullJob, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorToWire, type WireError } from '../base/codec/error-wire.js';
import { encodeHandles, type Runtime } from '../base/codec/handles.js';
import { AbortError, AuthenticationError, WorkerLostError, remoteErrorOf } from '../base/errors.js';
import { TinypoolEngine } from '../engine/tinypool-engine.js';
import {
  PREFIX, REFUSED, RESULT, cancelChannel, decodeJob, encodeResults, frame, parseJobId, payloadKey, resultKey, sealContext,
  type CallResult, type JobData, type JobPayload,
} from './codec.js';
import { createRedis, describeAddress, loadLibraries, type ClusterConnection } from './connection.js';
import { deriveKeys, open, seal, type ClusterKeys } from './signing.js';

/** How long a result waits in Redis for its client (one that died never takes it). */
const RESULT_TTL_MS = 15 * 60_000;
/** Cancelled job ids are remembered this long (a cancel may come before the job is taken). */
const CANCEL_MEMORY_MS = 5 * 60_000;

export interface WorkerHostOptions {
  connection: ClusterConnection;
  queue: string;
  authkey: Uint8Array;
  /** Workers of the local pool: jobs run at once. */
  concurrency: number;
  runtime: Runtime;
  /** BullMQ's job lock: a host silent this long is taken for dead (default 5000 ms). */
  lockDuration?: number;
  /** How often hosts look for the jobs of dead hosts (default 2500 ms). */
  stalledInterval?: number;
  /** Where status lines and refusals go (default: stderr). */
  log?: (line: string) => void;
}

export interface WorkerHostCounts {
  /** Jobs answered with their result. */
  done: number;
  /** Jobs answered with an error (the task's, or WorkerLostError), and jobs refused. */
  failed: number;
  /** Jobs running on the local pool now. */
  running: number;
}

/** BullMQ's sign for "moved back to wait, not failed" (its WaitingError, matched by name). */
function handedBack(): Error {
  const err = new Error('bullmq:movedToWait');
  err.name = 'WaitingError';
  return err;
}

function isHandedBack(err: unknown): boolean {
  return (err as Error)?.name === 'WaitingError';
}

/**
 * What `multiproc worker` runs, for a program that wants to serve a queue itself:
 * `const host = await WorkerHost.start({ connection, queue, authkey, concurrency, runtime })`, then
 * `await host.close()` to stop gracefully.
 */
export class WorkerHost {
  readonly #options: WorkerHostOptions;
  readonly #keys: ClusterKeys;
  readonly #engine: TinypoolEngine;
  readonly #host = hostname();
  readonly #log: (line: string) => void;
  #worker!: Worker;
  /** The Worker's own connection: BullMQ leaves a connection it was given open. */
  #workerRedis!: Redis;
  #results!: Redis;
  #cancels!: Redis;
  readonly #cancelled = new Map<string, number>();
  /** Jobs held until a local worker is free: handed back on shutdown. */
  readonly #waiting: { start: () => void; handBack: () => void }[] = [];
  #running = 0;
  #done = 0;
  #failed = 0;
  #closing: Promise<void> | null = null;
  #killed = false;
  /** Settles once kill() has closed every connection (see #run). */
  #markDisconnectedByKill!: () => void;
  readonly #disconnectedByKill = new Promise<void>((resolve) => (this.#markDisconnectedByKill = resolve));
  /** Results wait here for the end of the turn, then go to each client in one frame. */
  readonly #sink = new ResultSink((clientId, results) => this.#send(clientId, results), (err) => this.#log(`multiproc worker: results not sent: ${err.message}`));
  #lastErrorLog = 0;

  private constructor(options: WorkerHostOptions) {
    this.#options = options;
    this.#keys = deriveKeys(options.authkey);
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#engine = new TinypoolEngine({ runtime: options.runtime, processes: options.concurrency, namePrefix: 'PoolWorker' });
  }

  /** Starts serving the queue. */
  static async start(options: WorkerHostOptions): Promise<WorkerHost> {
    const host = new WorkerHost(options);
    await host.#connect();
    return host;
  }

  get counts(): WorkerHostCounts {
    return { done: this.#done, failed: this.#failed, running: this.#running };
  }

  /** One line for the log: who serves what, and the counts. */
  status(): string {
    const { done, failed, running } = this.counts;
    return `multiproc worker ${this.#host} pid ${process.pid}: ${done} done, ${failed} failed, ${running} running`;
  }

  async #connect(): Promise<void> {
    const libs = await loadLibraries();
    const { connection, queue } = this.#options;
    const reconnect = { maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
    this.#results = createRedis(libs, connection, reconnect);
    this.#cancels = createRedis(libs, connection, reconnect);
    this.#workerRedis = createRedis(libs, connection, reconnect);
    for (const redis of [this.#results, this.#cancels, this.#workerRedis]) redis.on('error', (err: Error) => this.#logError(err));
    this.#cancels.on('message', (_channel: string, message: string) => this.#cancel(message.split(' ')));
    await this.#cancels.subscribe(cancelChannel(queue));
    const lockDuration = this.#options.lockDuration ?? 5000;
    this.#worker = new libs.Worker(queue, (job, token, signal) => this.#process(job, token, signal), {
      connection: this.#workerRedis,
      prefix: PREFIX,
      name: `multiproc-worker@${this.#host}:${process.pid}`,
      // jobs beyond the local workers wait here, ready to start, and go back to the queue on shutdown
      concurrency: this.#options.concurrency * 2,
      lockDuration,
      stalledInterval: this.#options.stalledInterval ?? lockDuration / 2,
      maxStalledCount: Number.MAX_SAFE_INTEGER, // each job's own retries decide (see #process)
      removeOnFail: { count: 1000 }, // refused jobs that asked to be kept: a bounded record
    });
    this.#worker.on('error', (err) => this.#logError(err));
    await this.#worker.waitUntilReady();
  }

  #logError(err: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return; // an outage would print one line per retry
    this.#lastErrorLog = now;
    this.#log(`multiproc worker: Redis at ${describeAddress(this.#options.connection)}: ${err.message}`);
  }

  #cancel(ids: string[]): void {
    const now = Date.now();
    for (const [id, at] of this.#cancelled) if (now - at > CANCEL_MEMORY_MS) this.#cancelled.delete(id);
    for (const id of ids) {
      this.#cancelled.set(id, now);
      this.#worker?.cancelJob(id, 'withdrawn by its client');
    }
  }

  async #process(job: BullJob, token: string | undefined, signal?: AbortSignal): Promise<void> {
    const id = job.id ?? '';
    const owner = parseJobId(id);
    const data = (job.data ?? {}) as JobData;
    const external = data.x === 1 ? payloadKey(this.#options.queue, id) : null;
    let sealed: Buffer | null = null;
    if (external) {
      sealed = await this.#results.getBuffer(external);
      // gone: its client withdrew the job (terminate, abort) after a host had taken it
      if (!sealed) return;
    }
    let payload: JobPayload;
    try {
      if (!owner || job.name !== owner.clientId) throw new AuthenticationError('not a multiproc job (its id and name are not a client\'s)');
      sealed ??= Buffer.from(String(data.p ?? ''), 'base64');
      payload = decodeJob(open(this.#keys, sealContext('job', this.#options.queue, id), sealed));
    } catch (err) {
      await this.#refuse(job, err);
      if (external) await this.#results.del(external).catch(() => {});
      throw err; // BullMQ fails the job with it
    }
    let wentBack = false;
    try {
      await this.#run(job, token, signal, owner!.clientId, payload);
    } catch (err) {
      wentBack = isHandedBack(err);
      throw err;
    } finally {
      // answered: its payload is not needed again; moved back to the queue: it stays for the next host
      if (external && !wentBack) await this.#results.del(external).catch(() => {});
    }
  }

  /** Runs a job's calls on the local pool (or answers WorkerLostError when it has died on hosts too often). */
  async #run(job: BullJob, token: string | undefined, signal: AbortSignal | undefined, clientId: string, payload: JobPayload): Promise<void> {
    const id = job.id!;
    if (this.#cancelled.has(id)) return; // withdrawn before it started
    if (job.stalledCounter > payload.retries) {
      const lost = new WorkerLostError(
        `the task's host died while running it, ${job.stalledCounter} times (retries: ${payload.retries}); not run again`,
      );
      await Promise.all(payload.calls.map((call) => this.#answer(clientId, call.seq, false, lost, 0)));
      return;
    }
    if (!(await this.#localWorker())) {
      await job.moveToWait(token);
      throw handedBack();
    }
    try {
      // every call at once: the local engine batches them over its workers
      await Promise.all(payload.calls.map((call) => new Promise<void>((resolve) => {
        const started = performance.now();
        this.#engine.submit({
          spec: call.spec, args: call.args, flags: call.flags, base: call.base, signal,
          settle: (ok, value) => {
            // stopped with the host (kill): settled only once Redis is out of reach, so BullMQ can neither
            // complete the job nor drop its payload, and its stalled-job check runs it again on another host
            if (this.#killed) return void this.#disconnectedByKill.then(resolve);
            // withdrawn by its client: nobody waits for it
            if (signal?.aborted && value instanceof AbortError) resolve();
            else this.#answer(clientId, call.seq, ok, value, performance.now() - started).then(resolve, resolve);
          },
        });
      })));
    } finally {
      this.#running--;
      this.#waiting.shift()?.start();
    }
  }

  /** Takes a local worker for the next job (true), or says the host is closing and the job goes back (false). */
  #localWorker(): Promise<boolean> {
    if (this.#closing) return Promise.resolve(false);
    if (this.#running < this.#options.concurrency) {
      this.#running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiting.push({
      start: () => {
        this.#running++;
        resolve(true);
      },
      handBack: () => resolve(false),
    }));
  }

  /** Sends a call's outcome to its client; resolves once it is in Redis. */
  #answer(clientId: string, seq: number, ok: boolean, value: unknown, run: number): Promise<void> {
    let result: CallResult;
    if (ok) {
      this.#done++;
      const enc = typeof value === 'object' && value !== null ? encodeHandles(value, 'remote') : { value, found: false };
      result = { seq, ok: true, value: enc.value, run, ...(enc.found ? { handles: true } : {}) };
    } else {
      this.#failed++;
      result = { seq, ok: false, error: this.#wire(value), run };
    }
    return this.#sink.add(clientId, result);
  }

  /** An error as its client gets it: the worker's stack, on this host. */
  #wire(err: unknown): WireError {
    const remote = remoteErrorOf(err);
    // the RemoteError of the hop from the local worker is ours, not the task's: the client makes its own
    if (remote && (err as { cause?: unknown }).cause === remote) delete (err as { cause?: unknown }).cause;
    const wire = errorToWire(err);
    if (wire.isError) wire.stack = `${remote?.remoteStack ?? wire.stack}\n    on host ${this.#host} (multiproc worker pid ${process.pid})`;
    return wire;
  }

  /** Seals the results gathered for each client in one frame and pushes it. */
  async #send(clientId: string, results: CallResult[]): Promise<void> {
    const itemMs = this.#engine.stats().runTime.mean;
    const bytes = encodeResults({ host: this.#host, pid: process.pid, itemMs, results }, (err) => this.#wire(err));
    const sealed = seal(this.#keys, sealContext('results', this.#options.queue, clientId), bytes);
    await this.#push(clientId, frame(RESULT, 0, sealed));
  }

  async #push(clientId: string, bytes: Buffer): Promise<void> {
    const key = resultKey(this.#options.queue, clientId);
    await this.#results.multi().xadd(key, '*', 'r', bytes).pexpire(key, RESULT_TTL_MS).exec();
  }

  /** A job whose seal does not open: logged, and its client (if it is one) told why. */
  async #refuse(job: BullJob, err: unknown): Promise<void> {
    this.#failed++;
    const reason = (err as Error)?.message ?? String(err);
    this.#log(`multiproc worker: refused job ${JSON.stringify(job.id)} (name ${JSON.stringify(job.name)}): ${reason}`);
    const owner = parseJobId(job.id ?? '');
    if (!owner || owner.clientId !== job.name) return;
    const message = `worker host ${this.#host} (multiproc worker pid ${process.pid}) refused the task: ${reason}`;
    await this.#push(owner.clientId, frame(REFUSED, owner.seq, Buffer.from(message))).catch(() => {}); // the job's number
  }

  /**
   * Stops gracefully: no new jobs; those waiting for a local worker go back to the queue (another host
   * takes them now); those running finish and are answered. Then everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const waiter of this.#waiting.splice(0)) waiter.handBack();
      await this.#worker.close();
      this.#engine.close();
      await this.#engine.whenExited();
      await this.#disconnect();
    })();
    return this.#closing;
  }

  /** Stops now: running jobs are left to BullMQ's stalled-job check (they run again elsewhere). */
  async kill(): Promise<void> {
    this.#killed = true;
    await this.#engine.terminate(new WorkerLostError('the worker host was stopped'));
    await Promise.race([this.#worker.close(true), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#disconnect();
    this.#markDisconnectedByKill();
  }

  async #disconnect(): Promise<void> {
    await Promise.all([this.#results, this.#cancels, this.#workerRedis].map((redis) => redis.quit().catch(() => redis.disconnect())));
  }
}

/** Gathers results per client until the end of the event-loop turn, so a batch of calls answers in one push. */
class ResultSink {
  readonly #send: (clientId: string, results: CallResult[]) => Promise<void>;
  readonly #onError: (err: Error) => void;
  #pending = new Map<string, { results: CallResult[]; done: Promise<void>; resolve: () => void }>();
  #scheduled = false;

  constructor(send: (clientId: string, results: CallResult[]) => Promise<void>, onError: (err: Error) => void) {
    this.#send = send;
    this.#onError = onError;
  }

  /** Resolves once the result is in Redis (or could not be sent: the job is then run again elsewhere). */
  add(clientId: string, result: CallResult): Promise<void> {
    let entry = this.#pending.get(clientId);
    if (!entry) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      entry = { results: [], done, resolve };
      this.#pending.set(clientId, entry);
    }
    entry.results.push(result);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return entry.done;
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [clientId, entry] of pending) {
      this.#send(clientId, entry.results).then(entry.resolve, (err) => {
        // Redis refused the entry (a full Redis): its calls wait until their callers' timeouts
        this.#onError(err);
        entry.resolve();
      });
    }
  }
}
