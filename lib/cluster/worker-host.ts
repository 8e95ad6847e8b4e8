/**
 * A worker host (`multiproc worker`): takes jobs from the BullMQ queue and runs them on a local pool of
 * worker threads or processes (the tinypool engine of the local Pool, so batching, worker-death handling
 * and both runtimes come with it), then adds each result to its client's result stream.
 *
 * - Trust: a job whose seal does not open with this host's authkey is refused (AuthenticationError, logged,
 *   the client told in a sealed answer), never run; one sealed with another authkey goes back to the queue
 *   and this host pauses. Cancel notices are sealed too. A job past its sealed expiry, one answered before
 *   (a replay: each job has a run record in Redis) and one whose client is gone are not run.
 * - Host deaths: BullMQ moves the jobs of a host that stopped renewing its locks back to the queue (its
 *   stalled-job check); the job's run record counts its starts, and one started more than `1 + retries`
 *   times (the client's setting, sealed in the job) is not run again but answered with WorkerLostError.
 * - Shutdown: `close()` takes no more jobs, hands back those not started (they go to another host at once)
 *   and finishes those running; nothing is lost.
 */
import type * as Crypto from 'node:crypto';
import type * as Os from 'node:os';
import type { Job as BullJob, Worker } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import { builtin } from '../base/builtin.js';
import { errorToWire, type WireError } from '../base/codec/error-wire.js';
import { encodeHandles, type Runtime } from '../base/codec/handles.js';
import { AbortError, AuthenticationError, WorkerLostError, remoteErrorOf } from '../base/errors.js';
import { TinypoolEngine } from '../engine/tinypool-engine.js';
import {
  HOST_BEAT, PREFIX, REFUSED, RESULT, cancelChannel, clientKey, decodeJob, encodeResults, frame, hostsKey, parseCancelMessage, parseJobId,
  jobKey, payloadKey, resultKey, startsKey, doneKey, sealContext, type CallResult, type JobData, type JobFailure, type JobPayload,
} from './codec.js';
import { createRedis, describeAddress, loadLibraries, type ClusterConnection, type Libraries } from './connection.js';
import { deriveKeys, keyIdOf, keyName, open, seal, type ClusterKeys } from './signing.js';

/** How long a result waits in Redis for its client (one that died never takes it). */
const RESULT_TTL_MS = 15 * 60_000;
/** Cancelled job ids are remembered this long (a cancel may come before the job is taken); older notices are ignored. */
const CANCEL_MEMORY_MS = 5 * 60_000;
/** How often a host says it lives (clients warn when no host serves their queue). */
const HEARTBEAT_MS = 2000;
/** A host that met a job of another authkey takes no jobs for this long, doubling up to PAUSE_MAX_MS. */
const PAUSE_MIN_MS = 5000;
const PAUSE_MAX_MS = 5 * 60_000;
/** A job of another authkey handed back this many times is failed: no host opens it (a forgery with a made-up key id). */
const MAX_FOREIGN_BOUNCES = 20;
/** A job's run record outlives the job's sealed expiry by this much (clocks differ a little between machines). */
const RUNS_MARGIN_MS = 5 * 60_000;

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
  readonly #host = builtin<typeof Os>('node:os').hostname();
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
  readonly #sink = new ResultSink((clientId, results, jobs, answered) => this.#send(clientId, results, jobs, answered), (err) => this.#log(`multiproc worker: results not sent: ${err.message}`));
  #lastErrorLog = 0;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  /**
   * Jobs this host holds (running, or waiting for a local worker), by client: each such client gets a sealed
   * beat naming them every HEARTBEAT_MS, numbered after a random id of this run so a copied beat cannot be
   * played again. Only that tells a client its job still runs: a BullMQ lock can be written by anyone with
   * Redis access, and a lock kept alive for a dead host would leave its calls waiting forever.
   */
  readonly #held = new Map<string, Set<number>>();
  readonly #beatId = builtin<typeof Crypto>('node:crypto').randomBytes(8).toString('hex');
  #beats = 0;
  #runBeat: ReturnType<typeof setInterval> | null = null;
  readonly #name = `${builtin<typeof Os>('node:os').hostname()}:${process.pid}`;
  /** Taking no jobs until then (a job of another authkey was seen): see #otherKey. */
  #pausedUntil = 0;
  #pauseMs = 0;
  #pauseTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(options: WorkerHostOptions) {
    this.#options = options;
    this.#keys = deriveKeys(options.authkey);
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#engine = new TinypoolEngine({ runtime: options.runtime, processes: options.concurrency, namePrefix: 'PoolWorker' });
  }

  /** Starts serving the queue. */
  static async start(options: WorkerHostOptions): Promise<WorkerHost> {
    const host = new WorkerHost(options);
    try {
      await host.#connect();
    } catch (err) {
      // its message only: ioredis's errors carry the command, and AUTH's arguments are the password
      const reason = (err as Error)?.message ?? String(err);
      host.#killed = true;
      host.#stopTimers();
      await host.#engine.terminate(new WorkerLostError('the worker host did not start'));
      for (const redis of [host.#results, host.#cancels, host.#workerRedis]) redis?.disconnect();
      await host.#worker?.close(true).catch(() => {});
      // eslint-disable-next-line preserve-caught-error -- the cause (an ioredis error) would carry the password
      throw new Error(`cannot serve queue '${options.queue}' at ${describeAddress(options.connection)}: ${reason}`);
    }
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
    // a refused password or user is not an outage to wait out: starting fails, saying so
    let refused!: (err: Error) => void;
    const authFailed = new Promise<never>((_, reject) => (refused = reject));
    authFailed.catch(() => {});
    for (const redis of [this.#results, this.#cancels, this.#workerRedis]) {
      redis.on('error', (err: Error) => {
        if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username-password/i.test(err.message)) refused(err);
        this.#logError(err);
      });
    }
    this.#cancels.on('message', (_channel: string, message: string) => this.#onCancel(message));
    await Promise.race([this.#cancels.subscribe(cancelChannel(queue)), authFailed]);
    const lockDuration = this.#options.lockDuration ?? 5000;
    this.#worker = new (tolerantWorker(libs.Worker))(queue, (job, token, signal) => this.#process(job, token, signal), {
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
    await Promise.race([this.#worker.waitUntilReady(), authFailed]);
    this.#beat();
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    // on until disconnected: a closing host still runs (and must vouch for) the jobs it finishes
    this.#runBeat = setInterval(() => this.#beatHeld(), HEARTBEAT_MS);
  }

  /** Says this host lives and serves (not while it takes no jobs), and forgets hosts silent for a minute. */
  #beat(): void {
    if (this.#closing || this.#killed || Date.now() < this.#pausedUntil) return;
    this.#results.eval(HOST_BEAT, 1, hostsKey(this.#options.queue), this.#name, 60_000).catch(() => {});
  }

  /** A sealed beat to each client with jobs held here, naming them. */
  #beatHeld(): void {
    if (this.#killed) return;
    for (const [clientId, seqs] of this.#held) {
      if (seqs.size === 0) continue;
      const bytes = encodeResults({ host: this.#host, pid: process.pid, itemMs: 0, results: [], running: [...seqs], beat: [this.#beatId, ++this.#beats] }, (err) => this.#wire(err));
      void this.#push(clientId, frame(RESULT, 0, seal(this.#keys, sealContext('results', this.#options.queue, clientId), bytes))).catch(() => {});
    }
  }

  #hold(clientId: string, seq: number): void {
    let seqs = this.#held.get(clientId);
    if (!seqs) this.#held.set(clientId, (seqs = new Set()));
    seqs.add(seq);
  }

  /** Before a job's last answer is pushed: no beat names it after its result (results and beats share a connection, in order). */
  #unhold(clientId: string, seq: number): void {
    const seqs = this.#held.get(clientId);
    if (!seqs) return;
    seqs.delete(seq);
    if (seqs.size === 0) this.#held.delete(clientId);
  }

  #logError(err: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return; // an outage would print one line per retry
    this.#lastErrorLog = now;
    this.#log(`multiproc worker: Redis at ${describeAddress(this.#options.connection)}: ${err.message}`);
  }

  /** A cancel notice: obeyed only when it opens with our key and is recent, for the jobs of the client that sealed it. */
  #onCancel(message: string): void {
    const notice = parseCancelMessage(message);
    if (!notice) return;
    let text: string;
    try {
      text = open(this.#keys, sealContext('cancel', this.#options.queue, notice.clientId), notice.sealed).toString('utf8');
    } catch {
      return; // not from a client of ours: ignored
    }
    const [sent, ...ids] = text.split(' ');
    if (!(Math.abs(Date.now() - Number(sent)) < CANCEL_MEMORY_MS)) return;
    this.#cancel(ids.filter((id) => parseJobId(id)?.clientId === notice.clientId));
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
    if (data === MALFORMED) {
      await this.#refuse(job, new AuthenticationError('its entry in Redis was changed: its data is not JSON'));
      throw new Error('malformed job entry'); // BullMQ fails the job with it
    }
    const external = data.x === 1 ? payloadKey(this.#options.queue, id) : null;
    let sealed: Buffer | null = null;
    if (external) {
      sealed = await this.#results.getBuffer(external);
      if (!sealed) {
        // its client withdrew it (then nobody waits), or it was deleted or evicted: its client is told
        if (owner && job.name === owner.clientId) {
          const lost = new WorkerLostError(`the task's stored argument is gone from Redis (deleted or evicted), job ${id}; not run`);
          await this.#sink.fail(owner.clientId, { job: owner.seq, error: this.#wire(lost) });
        }
        return;
      }
    }
    let payload: JobPayload;
    try {
      if (!owner || job.name !== owner.clientId) throw new AuthenticationError('not a multiproc job (its id and name are not a client\'s)');
      sealed ??= Buffer.from(String(data.p ?? ''), 'base64');
      const keyId = keyIdOf(sealed);
      if (keyId && !keyId.equals(this.#keys.id)) return await this.#otherKey(job, token, owner, keyId);
      payload = decodeJob(open(this.#keys, sealContext('job', this.#options.queue, id), sealed));
    } catch (err) {
      if (isHandedBack(err)) throw err;
      await this.#refuse(job, err);
      if (external) await this.#results.del(external).catch(() => {});
      throw err; // BullMQ fails the job with it
    }
    if (payload.expires < Date.now()) {
      // past its sealed life: a replayed copy, or the work of a client long gone
      this.#log(`multiproc worker: dropped job ${JSON.stringify(id)}: it expired ${new Date(payload.expires).toISOString()}`);
      if (external) await this.#results.del(external).catch(() => {});
      return;
    }
    let wentBack = false;
    this.#hold(owner!.clientId, owner!.seq);
    try {
      await this.#run(job, token, signal, owner!.clientId, payload);
    } catch (err) {
      wentBack = isHandedBack(err);
      throw err;
    } finally {
      this.#unhold(owner!.clientId, owner!.seq);
      // answered: its payload is not needed again; moved back to the queue: it stays for the next host
      if (external && !wentBack) await this.#results.del(external).catch(() => {});
    }
  }

  /**
   * Runs a job's calls on the local pool. Each start is counted in the job's run record first: a job
   * answered before (a replay), or whose client is gone, is not run; one started more than `1 + retries`
   * times (its hosts died running it) is answered with WorkerLostError.
   */
  async #run(job: BullJob, token: string | undefined, signal: AbortSignal | undefined, clientId: string, payload: JobPayload): Promise<void> {
    const id = job.id!;
    if (this.#cancelled.has(id)) return; // withdrawn before it started
    if (!(await this.#localWorker())) {
      await job.moveToWait(token);
      throw handedBack();
    }
    const record = new RunRecord(this.#results, this.#options.queue, clientId, parseJobId(id)!.seq, payload.expires);
    try {
      const { starts, answered, clientAlive } = await record.start(jobKey(this.#options.queue, id));
      if (answered) {
        this.#log(`multiproc worker: refused job ${JSON.stringify(id)}: it was answered before (a replay); not run`);
        return;
      }
      if (!clientAlive) {
        this.#log(`multiproc worker: dropped job ${JSON.stringify(id)}: its client is gone`);
        return;
      }
      if (starts > 1 + payload.retries) {
        const lost = new WorkerLostError(
          `the task's host died while running it, ${starts - 1} times (retries: ${payload.retries}); not run again`,
        );
        const last = payload.calls.length - 1;
        await Promise.all(payload.calls.map((call, i) => this.#answer(clientId, call.seq, false, lost, 0, i === last ? record : undefined)));
        return;
      }
      // every call at once: the local engine batches them over its workers. The last answer marks the job
      // answered in its run record, in the same round trip: a copy added again is then refused
      let left = payload.calls.length;
      await Promise.all(payload.calls.map((call) => new Promise<void>((resolve) => {
        const started = performance.now();
        this.#engine.submit({
          spec: call.spec, args: call.args, flags: call.flags, base: call.base, signal,
          settle: (ok, value) => {
            const last = --left === 0;
            if (last) this.#unhold(clientId, parseJobId(id)!.seq);
            // stopped with the host (kill): settled only once Redis is out of reach, so BullMQ can neither
            // complete the job nor drop its payload, and its stalled-job check runs it again on another host
            if (this.#killed) return void this.#disconnectedByKill.then(resolve);
            // withdrawn by its client: nobody waits for it
            if (signal?.aborted && value instanceof AbortError) (last ? record.answered() : Promise.resolve()).then(resolve, resolve);
            else this.#answer(clientId, call.seq, ok, value, performance.now() - started, last ? record : undefined).then(resolve, resolve);
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
  /** Sends a call's outcome to its client; resolves once it is in Redis (with `record` marked answered, if given). */
  #answer(clientId: string, seq: number, ok: boolean, value: unknown, run: number, record?: RunRecord): Promise<void> {
    let result: CallResult;
    if (ok) {
      this.#done++;
      const enc = typeof value === 'object' && value !== null ? encodeHandles(value, 'remote') : { value, found: false };
      result = { seq, ok: true, value: enc.value, run, ...(enc.found ? { handles: true } : {}) };
    } else {
      this.#failed++;
      result = { seq, ok: false, error: this.#wire(value), run };
    }
    return this.#sink.add(clientId, result, record);
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

  /**
   * Seals the results gathered for each client in one frame and pushes it. If Redis refuses it (memory
   * full, a result too large), the calls are answered with that error instead, in a frame a few bytes long.
   */
  async #send(clientId: string, results: CallResult[], jobs: JobFailure[], answered: RunRecord[]): Promise<void> {
    const itemMs = this.#engine.stats().runTime.mean;
    const push = (results: CallResult[]) => {
      const bytes = encodeResults({ host: this.#host, pid: process.pid, itemMs, results, ...(jobs.length > 0 ? { jobs } : {}) }, (err) => this.#wire(err));
      return this.#push(clientId, frame(RESULT, 0, seal(this.#keys, sealContext('results', this.#options.queue, clientId), bytes)), answered);
    };
    try {
      await push(results);
    } catch (err) {
      if (results.length === 0) throw err;
      const lost = this.#wire(new WorkerLostError(
        `the task's result could not be stored in Redis at ${describeAddress(this.#options.connection)}: ${(err as Error)?.message ?? String(err)}`,
      ));
      await push(results.map((r) => ({ seq: r.seq, ok: false, error: lost, run: r.run })));
    }
  }

  async #push(clientId: string, bytes: Buffer, answered: RunRecord[] = []): Promise<void> {
    const key = resultKey(this.#options.queue, clientId);
    const multi = this.#results.multi().xadd(key, '*', 'r', bytes).pexpire(key, RESULT_TTL_MS);
    for (const record of answered) record.markAnswered(multi);
    const replies = await multi.exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  /**
   * A job whose seal does not open with this host's key although it names it (forged, or changed in
   * Redis): logged, failed, and its client (if it names one) told why, in a sealed answer.
   */
  async #refuse(job: BullJob, err: unknown): Promise<void> {
    this.#failed++;
    const reason = (err as Error)?.message ?? String(err);
    this.#log(`multiproc worker: refused job ${JSON.stringify(job.id)} (name ${JSON.stringify(job.name)}): ${reason}`);
    const owner = parseJobId(job.id ?? '');
    if (!owner || owner.clientId !== job.name) return;
    const refusal = new AuthenticationError(`worker host ${this.#host} (multiproc worker pid ${process.pid}) refused the task: ${reason}`);
    await this.#sink.fail(owner.clientId, { job: owner.seq, error: errorToWire(refusal) });
  }

  /**
   * A job sealed with another authkey (mid key rotation, or a host given the wrong key): not this host's to
   * judge. It goes back to the queue for a host that holds that key; this host says so (its key id only),
   * and takes no jobs for a while (5 s, doubling up to 5 min), so it cannot fail the cluster's work.
   */
  async #otherKey(job: BullJob, token: string | undefined, owner: { clientId: string; seq: number }, keyId: Buffer): Promise<never> {
    // a job no host can open (forged with a made-up key id) must not bounce between hosts forever
    const starts = startsKey(this.#options.queue, owner.clientId);
    const [[, bounces]] = (await this.#results.multi().hincrby(starts, `foreign ${job.id}`, 1).pexpire(starts, 60 * 60_000).exec()) ?? [[null, 0]];
    if (Number(bounces) > MAX_FOREIGN_BOUNCES) {
      throw new AuthenticationError(`no host could open it: sealed with an authkey none of them holds (key id ${keyName(keyId)})`);
    }
    const now = Date.now();
    if (now >= this.#pausedUntil) {
      this.#pauseMs = Math.min(PAUSE_MAX_MS, this.#pauseMs === 0 ? PAUSE_MIN_MS : this.#pauseMs * 2);
      this.#pausedUntil = now + this.#pauseMs;
      this.#log(`multiproc worker: job ${JSON.stringify(job.id)} is sealed with another authkey (key id ${keyName(keyId)}; this host's is ` +
        `${keyName(this.#keys.id)}): handed back; taking no jobs for ${this.#pauseMs / 1000} s`);
      void this.#worker.pause(true).catch(() => {});
      this.#pauseTimer = setTimeout(() => {
        this.#pauseTimer = null;
        if (!this.#closing && !this.#killed) void Promise.resolve(this.#worker.resume()).catch(() => {});
      }, this.#pauseMs);
    }
    await this.#push(owner.clientId, frame(REFUSED, 0, this.#keys.id)).catch(() => {});
    await job.moveToWait(token);
    throw handedBack();
  }

  /**
   * Stops gracefully: no new jobs; those waiting for a local worker go back to the queue (another host
   * takes them now); those running finish and are answered. Then everything is closed.
   */
  close(): Promise<void> {
    this.#stopTimers();
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
    this.#stopTimers();
    await this.#engine.terminate(new WorkerLostError('the worker host was stopped'));
    await Promise.race([this.#worker.close(true), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#disconnect();
    this.#markDisconnectedByKill();
  }

  #stopTimers(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    if (this.#killed && this.#runBeat) clearInterval(this.#runBeat);
    this.#heartbeat = this.#pauseTimer = null;
  }

  async #disconnect(): Promise<void> {
    if (this.#runBeat) clearInterval(this.#runBeat);
    this.#runBeat = null;
    if (!this.#killed) await this.#results.zrem(hostsKey(this.#options.queue), this.#name).catch(() => {});
    await Promise.all([this.#results, this.#cancels, this.#workerRedis].map((redis) => redis.quit().catch(() => redis.disconnect())));
  }
}

/** The data of a job whose entry BullMQ could not read (see tolerantWorker): refused, never run. */
const MALFORMED: JobData = Object.freeze({});

/**
 * BullMQ's Worker, reading job entries that anyone with Redis access may have rewritten: BullMQ parses a
 * job's data as JSON after taking it, and a parse error there leaves the job taken by nobody (moved back by
 * the stalled-job check, taken, dropped again, forever), so its call would never answer. Such a job is
 * handed to the processor with MALFORMED data instead: refused like any job whose seal does not open, and
 * its client told.
 */
function tolerantWorker(Base: Libraries['Worker']): Libraries['Worker'] {
  return class TolerantWorker extends Base {
    protected override createJob(data: Parameters<Worker['createJob']>[0], jobId: string): ReturnType<Worker['createJob']> {
      try {
        return super.createJob(data, jobId);
      } catch {
        const job = super.createJob({ ...data, data: '{}' }, jobId);
        job.data = MALFORMED;
        return job;
      }
    }
  } as Libraries['Worker'];
}

/**
 * A job's run record in Redis (startsKey, doneKey): counts each start, says whether the job was answered
 * before (a replay) and whether its client still lives; marks it answered. It lives as long as the job's
 * seal is valid, plus a margin for clocks that differ.
 */
class RunRecord {
  readonly #redis: Redis;
  readonly #starts: string;
  readonly #done: string;
  readonly #alive: string;
  readonly #seq: number;
  readonly #ttl: number;

  constructor(redis: Redis, queue: string, clientId: string, seq: number, expires: number) {
    this.#redis = redis;
    this.#starts = startsKey(queue, clientId);
    this.#done = doneKey(queue, clientId);
    this.#alive = clientKey(queue, clientId);
    this.#seq = seq;
    this.#ttl = Math.max(0, expires - Date.now()) + RUNS_MARGIN_MS;
  }

  /** Counts a start; `job` is the job's entry, which stops expiring now that it runs (its client set it to expire while waiting). */
  async start(job: string): Promise<{ starts: number; answered: boolean; clientAlive: boolean }> {
    const replies = await this.#redis.multi()
      .hincrby(this.#starts, String(this.#seq), 1).pexpire(this.#starts, this.#ttl)
      .getbit(this.#done, this.#seq)
      .exists(this.#alive)
      .persist(job)
      .exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (!replies || failed) throw failed ?? new Error('the run record could not be read');
    return { starts: Number(replies[0][1]), answered: Number(replies[2][1]) === 1, clientAlive: Number(replies[3][1]) === 1 };
  }

  /** Marks the job answered: a copy of it added again is refused. */
  async answered(): Promise<void> {
    await this.markAnswered(this.#redis.multi()).exec().catch(() => {});
  }

  /** Adds what marks the job answered to `multi` (sent with its last result, in one round trip). */
  markAnswered(multi: ChainableCommander): ChainableCommander {
    return multi.setbit(this.#done, this.#seq, 1).pexpire(this.#done, this.#ttl).hdel(this.#starts, String(this.#seq));
  }
}

/** Gathers results per client until the end of the event-loop turn, so a batch of calls answers in one push. */
class ResultSink {
  readonly #send: (clientId: string, results: CallResult[], jobs: JobFailure[], answered: RunRecord[]) => Promise<void>;
  readonly #onError: (err: Error) => void;
  #pending = new Map<string, { results: CallResult[]; jobs: JobFailure[]; answered: RunRecord[]; done: Promise<void>; resolve: () => void }>();
  #scheduled = false;

  constructor(send: (clientId: string, results: CallResult[], jobs: JobFailure[], answered: RunRecord[]) => Promise<void>, onError: (err: Error) => void) {
    this.#send = send;
    this.#onError = onError;
  }

  /** Resolves once the result is in Redis (or could not be sent: the client's watch then fails the call). */
  add(clientId: string, result: CallResult, answered?: RunRecord): Promise<void> {
    const entry = this.#entry(clientId);
    entry.results.push(result);
    if (answered) entry.answered.push(answered);
    this.#schedule();
    return entry.done;
  }

  /** A job answered as a whole (its calls unknown here); resolves as add() does. */
  fail(clientId: string, failure: JobFailure): Promise<void> {
    const entry = this.#entry(clientId);
    entry.jobs.push(failure);
    this.#schedule();
    return entry.done;
  }

  #entry(clientId: string) {
    let entry = this.#pending.get(clientId);
    if (!entry) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      entry = { results: [], jobs: [], answered: [], done, resolve };
      this.#pending.set(clientId, entry);
    }
    return entry;
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [clientId, entry] of pending) {
      this.#send(clientId, entry.results, entry.jobs, entry.answered).then(entry.resolve, (err) => {
        // Redis refused the entry (a full Redis): its calls wait until their callers' timeouts
        this.#onError(err);
        entry.resolve();
      });
    }
  }
}
