/**
 * The cluster's Engine (lib/engine/engine.ts): jobs go to a BullMQ queue in Redis, worker hosts run them
 * (worker-host.ts), and each result comes back on this client's own result stream.
 *
 * - Calls submitted in the same turn of the event loop go in one `addBulk`; at most `window` jobs of this
 *   client are in Redis at once (the Pool's `processes`). A job is one call (a map chunk is one call) while
 *   there is room; when more calls wait than there is room for, each job carries several, up to about
 *   GROUP_MS of measured work (BullMQ costs about a millisecond of CPU per job, across Redis, client and
 *   host: grouping is what makes many small calls fast, and long calls do not need it). Calls with an
 *   AbortSignal share a job only with calls of the same signal.
 * - Results come back on a Redis stream per client (a host seals the results it has for a client in one
 *   entry), read in batches on a blocking connection and deleted once handled: a read lost with a dropped
 *   connection is read again. A host adds a result before it completes the job, so nothing is lost if it
 *   dies in between (the job then runs again, and the second result is dropped here: each call settles
 *   once). BullMQ's QueueEvents would do too, but every client would read every client's events, several
 *   per job, from one stream capped at a length that a burst can overrun.
 * - Redis unreachable: what is pending rejects within 5 s with ConnectionClosedError naming the address
 *   (outage.ts). A short outage of the same server loses nothing; a restarted server (its run id changed)
 *   fails the tasks that were in it.
 * - Nothing is opened before the first submission (BullMQ and ioredis are loaded then), and sockets never
 *   keep the program alive: pending jobs do, through a KeepAlive.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../base/builtin.js';
import { errorFromWire } from '../base/codec/error-wire.js';
import { decodeHandles } from '../base/codec/handles.js';
import { abortedBy, ConnectionClosedError, TimeoutError, WorkerLostError } from '../base/errors.js';
import { type Engine, type Job, type PoolStats } from '../engine/engine.js';
import { CoreEngine, EngineCore, type CoreJob } from '../engine/core.js';
import {
  REFUSED, cancelChannel, cancelMessage, clientKey, decodeResults, encodeJob, jobId, jobKey, payloadKey, readFrame, resultKey, sealContext,
  type CallResult, type JobData,
} from './codec.js';
import { CLIENT_ALIVE_MS, WATCH_MS, watchJobs, type WatchedJob } from './job-watch.js';
import { describeAddress, loadLibraries, type ClusterConnection, type Libraries } from './connection.js';
import { Link } from './link.js';
import { OUTAGE_MAX_MS, OutageClock } from './outage.js';
import { keyName, open, seal, type ClusterKeys } from './signing.js';

/** Result entries read per round trip. */
const READ_COUNT = 256;
/** A job carries at most this many calls, and calls of at most this many items (map chunks count theirs). */
const MAX_JOB_CALLS = 1024;
const MAX_JOB_ITEMS = 65536;
/** Sealed payloads above this size wait in a key of their own rather than in the job's JSON. */
const INLINE_MAX = 16 * 1024;
/** Calls share a job up to about this much measured work (a job costs about a millisecond of CPU). */
const GROUP_MS = 5;
/** A host that answered within this time counts among the pool's workers. */
const HOST_SEEN_MS = 60_000;
/**
 * How long a job stays valid (sealed in it): a host refuses it after that. It bounds how long a copy of a
 * job can be replayed by someone who also deletes its run record, and how long a dead client's work lives.
 * A job still waiting at half this age is withdrawn and sent again, sealed anew.
 */
export const JOB_TTL_MS = 60 * 60_000;
/** A job's entry in Redis outlives its seal by this much (a host refuses an expired job first, with a log line). */
const JOB_ENTRY_MARGIN_MS = 5 * 60_000;
/** Sets an expiry on the job entries (KEYS) that no host has taken yet. */
const EXPIRE_WAITING = `for _, key in ipairs(KEYS) do
  if redis.call('HEXISTS', key, 'processedOn') == 0 then redis.call('PEXPIRE', key, ARGV[1]) end
end`;
/** Calls waiting this long with no live host serving their queue draw one warning. */
const NO_HOST_WARN_MS = 10_000;

/** What each host did for this client, for `hosts()`. */
export interface HostStats {
  /** The host's name (its `os.hostname()`). */
  host: string;
  /** The worker command's pid there. */
  pid: number;
  /** Tasks (a map chunk counts its items) it answered for this client. */
  completed: number;
  /** Of those, the ones that failed. */
  failed: number;
  /** When it last answered (ms since the epoch). */
  lastSeen: number;
}

export interface ClusterEngineSettings {
  connection: ClusterConnection;
  queue: string;
  keys: ClusterKeys;
  /** Jobs of this client in Redis at once. */
  window: number;
  /** Re-runs allowed after a host dies running a job. */
  retries: number;
  /** How long a job stays valid, in ms (sealed in it); default JOB_TTL_MS. */
  jobLifetime?: number;
}

/** A call (Job, in the Engine's words): one task call, or a map chunk. */
interface Call extends CoreJob {
  seq: number;
  /** Its result arrived (it may still be decoding): the watch must not call it lost. */
  answered?: boolean;
  /** The BullMQ job carrying it, once sent. */
  job?: SentJob;
}

/** A BullMQ job of this client: calls sent together. */
interface SentJob extends WatchedJob {
  seq: number;
  id: string;
  /** When it was sealed (performance.now()): a job still waiting at half its life is sent again. */
  sealedAt: number;
  calls: Call[];
  /** Calls not settled yet: at 0 the job no longer counts against the window. */
  open: number;
  /** Being withdrawn to be sent again (see #renewOld): its leaving Redis is no loss. */
  renewing?: boolean;
  /** A host took it before it could be withdrawn: it runs under its first seal. */
  kept?: boolean;
  /**
   * Its withdrawal got no answer (Redis hung and the link was reset): Redis may still have removed it. If
   * it is then gone, it was withdrawn, not lost: it is sent again.
   */
  withdrawnUnsure?: boolean;
}

/** BullMQ's options for each job: removed from Redis once done (results travel on the client's own stream). */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true } as const;

export class ClusterEngine extends CoreEngine<Call> implements Engine {
  readonly #settings: ClusterEngineSettings;
  readonly #jobLifetime: number;
  readonly #address: string;
  readonly #clientId = builtin<typeof Crypto>('node:crypto').randomBytes(8).toString('hex');
  readonly #resultKey: string;
  #seq = 0;
  protected readonly core: EngineCore<Call> = new EngineCore<Call>({
    pump: () => this.#pump(),
    abortSent: (signal, calls) => this.#abortSent(signal, calls),
    drained: () => this.core.unsettled === 0,
    stop: () => this.#stop(),
    settling: (call) => this.#settling(call),
    idle: () => this.#idle(),
  }, { abortReason: stoppedBy });
  /** Calls sent and not settled, by number. */
  readonly #inflight = new Map<number, Call>();
  /** Jobs in Redis with calls not settled, by number. */
  readonly #jobs = new Map<number, SentJob>();
  readonly #hosts = new Map<string, { pid: number; seen: number; stats: HostStats }>();
  #watchTimer: ReturnType<typeof setTimeout> | null = null;
  #watching = false;
  #noHostSince: number | null = null;
  #warnedNoHost = false;
  #warnedRefused = false;
  #warnedPaused = false;
  /** The result stream's last entry when the watch last found it before the read position. */
  #behind: string | null = null;
  /** Jobs sent to Redis (each a batch of one call or more; a map chunk is one call). */
  #sent = 0;
  #libs: Libraries | null = null;
  #loadingLibs: Promise<void> | null = null;
  #link: Link | null = null;
  #reading = false;
  /** Run time of one item (a call, or one item of a chunk) as the hosts measure it: how jobs are grouped. */
  #itemMs = 0;
  /** The last result entry handled: reading goes on after it. */
  #lastId = '0-0';
  readonly #outage = new OutageClock(() => this.#link?.ready === true, (error) => this.#onOutage(error));
  #warnedForgery = false;
  /** The last beat number seen from each host's run (see #onBeat). */
  readonly #beatsSeen = new Map<string, number>();

  constructor(settings: ClusterEngineSettings) {
    super();
    this.#settings = settings;
    this.#jobLifetime = settings.jobLifetime ?? JOB_TTL_MS;
    this.#address = describeAddress(settings.connection);
    this.#resultKey = resultKey(settings.queue, this.#clientId);
  }

  get workerIds(): number[] {
    return [...this.#liveHosts()].map((h) => h.pid);
  }

  stats(): PoolStats {
    return this.core.stats({ workers: [...this.#liveHosts()].length, busy: this.#inflight.size, batches: this.#sent });
  }

  /** Each host that answered this client, with what it did. */
  hosts(): HostStats[] {
    return [...this.#hosts.values()].map((h) => ({ ...h.stats }));
  }

  *#liveHosts(): Iterable<{ pid: number; seen: number }> {
    const since = performance.now() - HOST_SEEN_MS;
    for (const host of this.#hosts.values()) if (host.seen >= since) yield host;
  }

  submit(job: Job): void {
    (job as Call).seq = ++this.#seq;
    this.core.submit(job);
  }

  async terminate(reason: Error): Promise<void> {
    if (this.core.state === 'terminated') return this.core.exited;
    const wasOpen = this.core.state !== 'stopping';
    const sent = [...this.#jobs.values()].map((job) => job.id);
    this.core.terminate(reason);
    this.#failSent(reason);
    this.#outage.stop();
    if (this.#watchTimer) clearTimeout(this.#watchTimer);
    this.#watchTimer = null;
    const link = this.#link;
    this.#link = null;
    if (link && wasOpen) {
      if (link.ready) await withTimeout(this.#withdraw(link, sent, true), 2000);
      await link.close();
    }
    this.core.exit();
    return this.core.exited;
  }

  // ---- sending ----------------------------------------------------------------------------------------

  /** Everything submitted in a turn of the event loop goes in one addBulk. */
  #pump(): void {
    if (this.core.state === 'terminated' || this.core.state === 'stopping') return;
    if (this.core.queuedItems === 0) return this.core.maybeStop();
    let room = this.#settings.window - this.#jobs.size;
    if (room <= 0) return;
    const link = this.#ensureLink();
    if (!link?.ready) return this.#armOutage();
    // spread what waits over the room there is (one call per job when it fits), but never more than about
    // GROUP_MS of measured work per job: long tasks gain nothing from sharing a job, and lose balance
    const byTime = this.#itemMs > 0 ? Math.max(1, Math.floor(GROUP_MS / this.#itemMs)) : MAX_JOB_ITEMS;
    const target = Math.min(MAX_JOB_ITEMS, byTime, Math.ceil(this.core.queuedItems / room));
    const entries: { name: string; data: JobData; opts: typeof JOB_OPTIONS & { jobId: string } }[] = [];
    const external: (string | Buffer)[] = [];
    const sent: SentJob[] = [];
    while (room > 0 && this.core.queuedItems > 0) {
      const calls = this.#takeCalls(target);
      if (calls.length === 0) break;
      const job: SentJob = { seq: calls[0].seq, id: jobId(this.#clientId, calls[0].seq), calls, open: 0, added: false, sealedAt: performance.now() };
      let sealed: Buffer;
      try {
        const { bytes, refused } = encodeJob({ calls, retries: this.#settings.retries, expires: Date.now() + this.#jobLifetime });
        for (const [call, err] of refused) this.core.finish(call as Call, false, err); // fails that call only
        if (!bytes) continue;
        sealed = seal(this.#settings.keys, sealContext('job', this.#settings.queue, job.id), bytes);
      } catch (err) {
        for (const call of calls) this.core.finish(call, false, err);
        continue;
      }
      for (const call of calls) {
        if (call.done) continue;
        call.job = job;
        job.open++;
        this.#inflight.set(call.seq, call);
      }
      this.#jobs.set(job.seq, job);
      sent.push(job);
      room--;
      // BullMQ keeps job data as JSON: small sealed payloads travel in it as base64, large ones beside it
      let data: JobData;
      if (sealed.length > INLINE_MAX) {
        external.push(payloadKey(this.#settings.queue, job.id), sealed);
        data = { x: 1 };
      } else data = { p: sealed.toString('base64') };
      entries.push({ name: this.#clientId, data, opts: { ...JOB_OPTIONS, jobId: job.id } });
    }
    if (sent.length === 0) return this.core.maybeStop();
    this.#sent += sent.length;
    // first that this client lives (hosts drop a dead client's jobs) and the payloads, which expire with
    // their jobs: a host that takes the job finds them
    const pipe = link.cmd.pipeline().set(clientKey(this.#settings.queue, this.#clientId), '1', 'PX', CLIENT_ALIVE_MS);
    for (let i = 0; i < external.length; i += 2) pipe.set(external[i], external[i + 1], 'PX', this.#jobLifetime);
    // sent at once, not one after the other: the connection keeps their order (a payload whose SET failed
    // while its job was added is answered by the host as gone)
    const stored = pipe.exec().then((replies) => {
      const failed = replies?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    });
    Promise.all([stored, link.queue.addBulk(entries)])
      .then(() => {
        for (const job of sent) job.added = true;
        // a job waiting when its client died must not wait in Redis forever: its entry expires a little after
        // its seal (a host that starts one makes it last while it runs)
        // only jobs no host has taken yet (processedOn unset): a running one must not vanish
        const keys = sent.map((job) => jobKey(this.#settings.queue, job.id));
        link.cmd.eval(EXPIRE_WAITING, keys.length, ...keys, this.#jobLifetime + JOB_ENTRY_MARGIN_MS).catch(() => {});
      })
      .catch((err) => this.#sendFailed(link, sent, err));
    this.#startReading(link);
    this.#startWatching();
  }

  /** The next calls for one job: up to `target` items, all with the same signal (one abort withdraws the job). */
  #takeCalls(target: number): Call[] {
    const calls: Call[] = [];
    let items = 0;
    while (items < target && calls.length < MAX_JOB_CALLS) {
      const next = this.core.peek();
      if (!next) break;
      if (calls.length > 0 && (next.signal !== calls[0].signal || items + next.items > MAX_JOB_ITEMS)) break;
      calls.push(this.core.take());
      items += next.items;
    }
    return calls;
  }

  /** Jobs whose addBulk failed: back in line while Redis is unreachable (the outage timer bounds it), else failed. */
  #sendFailed(link: Link, jobs: SentJob[], err: unknown): void {
    const live: Call[] = [];
    for (const job of jobs) {
      this.#jobs.delete(job.seq);
      for (const call of job.calls) {
        if (call.done) continue;
        this.#inflight.delete(call.seq);
        call.job = undefined;
        live.push(call);
      }
    }
    if (Link.failed(err) || !link.ready) {
      // in line again; sent again they may group differently, under new job ids: a job that did reach
      // Redis then runs twice, and the second result is dropped
      this.core.requeue(live);
      if (link.ready) link.reset();
      this.#armOutage();
    } else {
      const error = new Error(`Redis at ${this.#address} refused the jobs: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      for (const call of live) this.core.finish(call, false, error);
    }
    this.core.schedule();
  }

  #ensureLink(): Link | null {
    if (this.#link) return this.#link;
    if (!this.#libs) {
      this.#loadingLibs ??= loadLibraries().then(
        (libs) => {
          this.#libs = libs;
          this.core.schedule();
        },
        (err) => {
          this.#loadingLibs = null;
          this.#failAll(err);
        },
      );
      return null;
    }
    const link = new Link(this.#libs, this.#settings.connection, this.#settings.queue, () => this.core.unsettled > 0 && this.core.state !== 'terminated');
    link.on('ready', (restarted) => this.#onReady(link, restarted));
    link.on('down', (error) => {
      if (this.#link === link && this.core.unsettled > 0) this.#outage.failed(error);
    });
    link.on('end', () => {
      if (this.#link !== link) return;
      this.#link = null;
      if (this.core.unsettled > 0) this.core.schedule(); // work came while it gave up: a new link
    });
    this.#link = link;
    link.start();
    return link;
  }

  #onReady(link: Link, restarted: boolean): void {
    if (this.#link !== link) return;
    this.#outage.stop();
    if (restarted) this.#lastId = '0-0';
    if (restarted && this.#inflight.size > 0) {
      const error = new ConnectionClosedError(`Redis at ${this.#address} restarted: the tasks that were in it are lost`);
      for (const call of [...this.#inflight.values()]) this.core.finish(call, false, error);
    }
    this.core.schedule();
    this.#startReading(link);
  }

  /** Pending calls wait for Redis while the outage clock runs (outage.ts); nothing pending, no clock. */
  #armOutage(): void {
    if (this.core.unsettled > 0) this.#outage.start();
  }

  #onOutage(error: Error | null): void {
    if (this.core.unsettled === 0) return;
    const seconds = OUTAGE_MAX_MS / 1000;
    const cause = error?.message ?? (this.#link?.connectedNotReady ? `connected, but it did not answer within ${seconds} s` : `no connection within ${seconds} s`);
    this.#failAll(new ConnectionClosedError(`cannot reach Redis at ${this.#address} (${cause})`));
  }

  #failAll(error: unknown): void {
    this.core.failQueued(error);
    this.#failSent(error);
  }

  #failSent(error: unknown): void {
    for (const call of [...this.#inflight.values()]) this.core.finish(call, false, error);
  }

  // ---- receiving --------------------------------------------------------------------------------------

  #startReading(link: Link): void {
    if (this.#reading || !link.ready || this.#inflight.size === 0) return;
    this.#reading = true;
    void this.#read(link);
  }

  async #read(link: Link): Promise<void> {
    try {
      while (this.#link === link && link.ready && this.#inflight.size > 0) {
        const entries = await link.readResults(this.#resultKey, this.#lastId, READ_COUNT);
        if (entries.length === 0) continue;
        this.#lastId = entries[entries.length - 1][0];
        link.ack(this.#resultKey, entries.map(([id]) => id));
        for (const [, frame] of entries) this.#onFrame(frame);
      }
    } catch (err) {
      // the link failed: its 'down' arms the outage timer, its 'ready' reads again
      if (/WRONGTYPE/.test(String((err as Error)?.message)) && this.#link === link) {
        // someone with Redis access put another type of value under this client's result stream: it holds no
        // result of ours (hosts cannot add to it either; the watch then fails their jobs' calls). Deleted, and
        // read again, so later results arrive
        this.#lastId = '0-0';
        await link.cmd.del(this.#resultKey).catch(() => {});
        this.#reading = false;
        return this.#startReading(link);
      }
    } finally {
      this.#reading = false;
    }
  }

  #onFrame(bytes: Buffer): void {
    const frame = readFrame(bytes);
    if (!frame) return;
    if (frame.type === REFUSED) {
      // unauthenticated (the host's key differs from ours): a warning without its text, never a failed call
      if (!this.#warnedRefused && frame.body.length === 8) {
        this.#warnedRefused = true;
        process.emitWarning(
          `a worker host of queue '${this.#settings.queue}' holds another authkey (key id ${keyName(frame.body)}; this client's is ` +
          `${keyName(this.#settings.keys.id)}): it handed this client's jobs back. An unauthenticated notice.`,
          'MultiprocClusterWarning',
        );
      }
      return;
    }
    let batch;
    try {
      batch = decodeResults(open(this.#settings.keys, sealContext('results', this.#settings.queue, this.#clientId), frame.body));
    } catch (err) {
      // not from a host of ours: ignored (the calls wait for their real results; the caller's timeout applies)
      if (!this.#warnedForgery) {
        this.#warnedForgery = true;
        process.stderr.write(`multiproc: ignored results that failed their check: ${(err as Error).message}\n`);
      }
      return;
    }
    const now = performance.now();
    const name = `${batch.host}:${batch.pid}`;
    let host = this.#hosts.get(name);
    if (!host) this.#hosts.set(name, (host = { pid: batch.pid, seen: now, stats: { host: batch.host, pid: batch.pid, completed: 0, failed: 0, lastSeen: 0 } }));
    host.seen = now;
    host.stats.lastSeen = Date.now();
    if (batch.beat && batch.running) this.#onBeat(batch.beat, batch.running, now);
    if (batch.itemMs > 0) this.#itemMs = this.#itemMs === 0 ? batch.itemMs : this.#itemMs * 0.8 + batch.itemMs * 0.2;
    for (const failure of batch.jobs ?? []) {
      const error = errorFromWire(failure.error);
      for (const call of this.#jobs.get(failure.job)?.calls ?? []) if (!call.answered) this.core.finish(call, false, error);
    }
    for (const result of batch.results) this.#onResult(result, now, host.stats);
  }

  /**
   * A host's sealed beat: the jobs it holds still run. Counted only when its number is above the last seen
   * from that host's run, so a beat copied and added again later does not keep a dead host's jobs alive.
   */
  #onBeat([run, n]: [string, number], running: number[], now: number): void {
    if (typeof run !== 'string' || typeof n !== 'number' || !((this.#beatsSeen.get(run) ?? 0) < n)) return;
    this.#beatsSeen.set(run, n);
    if (this.#beatsSeen.size > 10_000) this.#beatsSeen.delete(this.#beatsSeen.keys().next().value!); // hosts long gone
    for (const seq of running) {
      const job = this.#jobs.get(seq);
      if (job) job.beatAt = now;
    }
  }

  #onResult(result: CallResult, now: number, host: HostStats): void {
    const call = this.#inflight.get(result.seq);
    if (!call || call.done || call.answered) return; // a late duplicate (a job run again after its host died)
    call.answered = true;
    host.completed += call.items;
    if (!result.ok) host.failed += call.items;
    this.core.runTime.record(result.run / call.items, call.items);
    this.core.waitTime.record(Math.max(0, now - call.submitted - result.run) / call.items, call.items);
    if (!result.ok) this.core.finish(call, false, errorFromWire(result.error!));
    else if (result.handles) decodeHandles(result.value).then((v) => this.core.finish(call, true, v), (e) => this.core.finish(call, false, e));
    else this.core.finish(call, true, result.value);
  }

  // ---- watching jobs in Redis (job-watch.ts) ------------------------------------------------------------

  #startWatching(): void {
    if (this.#watchTimer || this.core.state === 'terminated') return;
    this.#watchTimer = setTimeout(() => void this.#watch(), WATCH_MS);
    this.#watchTimer.unref(); // pending calls keep the program alive, not this
  }

  async #watch(): Promise<void> {
    this.#watchTimer = null;
    const link = this.#link;
    if (this.#watching || this.core.unsettled === 0 || this.core.state === 'terminated') return;
    if (!link?.ready || this.#jobs.size === 0) return void (this.core.unsettled > 0 && this.#startWatching());
    this.#watching = true;
    try {
      const jobs = [...this.#jobs.values()];
      const report = await watchJobs(link, this.#settings.queue, this.#clientId, this.#resultKey, jobs, () => this.#lastId);
      // entries before the read position on two looks in a row: not acknowledgements on their way but a stream
      // made again below it (deleted after someone added an entry far ahead): read it from the start (what
      // was read already and is read again is dropped: each call settles once)
      if (report.behind !== null && report.behind === this.#behind) this.#lastId = '0-0';
      this.#behind = report.behind;
      for (const job of report.gone) {
        if (job.renewing) continue; // withdrawn by #renewOld, to be sent again
        if (job.withdrawnUnsure) {
          this.#sendAgain(job);
          continue;
        }
        this.#lose(job, new WorkerLostError(
          `the job carrying this task (${job.id}) left Redis without an answer: deleted, evicted, or its result could not be stored`,
        ));
      }
      const orphaned = report.orphaned.filter((job) => this.#jobs.get(job.seq) === job);
      for (const job of orphaned) {
        this.#lose(job, new WorkerLostError(
          `the host running this task stopped (its job lock expired) and no live host took the task back; queue '${this.#settings.queue}'`,
        ));
      }
      if (orphaned.length > 0) void this.#withdraw(link, orphaned.map((job) => job.id), false);
      // in Redis but in none of the queue's lists (moved by someone with Redis access, or its id taken before
      // it was added): no host would ever take it, so its calls would wait forever
      const misplaced = report.misplaced.filter((job) => this.#jobs.get(job.seq) === job);
      for (const job of misplaced) {
        this.#lose(job, new WorkerLostError(
          `the job carrying this task (${job.id}) sits in Redis outside the queue's lists, where no host takes it ` +
          `(moved there, or its id was taken before it was added); queue '${this.#settings.queue}'`,
        ));
      }
      if (misplaced.length > 0) void this.#withdraw(link, misplaced.map((job) => job.id), false);
      this.#renewOld(link);
      this.#checkHosts(report.liveHosts);
      this.#checkPaused(report.paused);
    } catch {
      // the link failed: the outage clock deals with that; look again next time
    } finally {
      this.#watching = false;
      if (this.core.unsettled > 0) this.#startWatching();
    }
  }

  /** A job lost in Redis: its calls not answered yet fail with `error`. */
  #lose(job: SentJob, error: Error): void {
    if (this.#jobs.get(job.seq) !== job) return;
    for (const call of job.calls) if (!call.answered) this.core.finish(call, false, error);
  }

  /**
   * Jobs still waiting at half their sealed life are withdrawn and sent again, sealed anew (a job that is
   * no longer waiting, taken by a host meanwhile, stays: BullMQ refuses to remove a locked job).
   */
  #renewOld(link: Link): void {
    const old = performance.now() - this.#jobLifetime / 2;
    for (const job of this.#jobs.values()) {
      if (!job.added || job.sealedAt > old || job.renewing || job.kept) continue;
      job.renewing = true;
      job.withdrawnUnsure = false;
      link.queue.remove(job.id).then((removed) => {
        job.renewing = false;
        if (removed !== 1) job.kept = true;
        if (removed === 1) this.#sendAgain(job);
      }, () => {
        // no answer (the link failed or timed out): a Redis that hung may run the removal once it goes on
        job.renewing = false;
        job.withdrawnUnsure = true;
      });
    }
  }

  /** A job withdrawn from Redis: its calls not settled yet go back in line, to be sent in a new job. */
  #sendAgain(job: SentJob): void {
    if (this.#jobs.get(job.seq) !== job) return;
    this.#jobs.delete(job.seq);
    const again = job.calls.filter((call) => !call.done);
    for (const call of again) {
      this.#inflight.delete(call.seq);
      call.job = undefined;
    }
    this.core.requeue(again);
  }

  /** Calls waiting on a queue no live host serves: one warning naming the queue. */
  #checkHosts(liveHosts: number): void {
    if (liveHosts > 0) {
      this.#noHostSince = null;
      return;
    }
    this.#noHostSince ??= performance.now();
    if (this.#warnedNoHost || performance.now() - this.#noHostSince < NO_HOST_WARN_MS) return;
    this.#warnedNoHost = true;
    process.emitWarning(
      `no worker host serves queue '${this.#settings.queue}' at ${this.#address}: ${this.core.unsettled} calls are waiting ` +
      `(start \`multiproc worker --queue ${this.#settings.queue}\`, or give calls a timeout)`,
      'MultiprocClusterWarning',
    );
  }

  /**
   * A queue stopped in Redis (BullMQ's pause, or a global concurrency of 0; multiproc uses neither): hosts
   * take none of its jobs, and still say they live, so the no-host warning would not come. One warning.
   */
  #checkPaused(paused: string | null): void {
    if (paused === null || this.#warnedPaused) return;
    this.#warnedPaused = true;
    process.emitWarning(
      `queue '${this.#settings.queue}' at ${this.#address} is ${paused} in Redis (BullMQ's queue settings): no host takes its jobs, and ` +
      `${this.core.unsettled} calls are waiting (undo it, or give calls a timeout)`,
      'MultiprocClusterWarning',
    );
  }

  // ---- settling, cancelling, stopping ---------------------------------------------------------------------

  /** A call settles: it no longer holds its job's place in the window. */
  #settling(call: Call): void {
    const job = call.job;
    if (job) {
      this.#inflight.delete(call.seq);
      if (--job.open === 0) this.#jobs.delete(job.seq);
    }
    this.core.schedule();
  }

  /** Nothing pending: the program may end, and the result stream goes (a late duplicate recreates it, expiring). */
  #idle(): void {
    const link = this.#link;
    if (link?.ready) {
      link.cmd.del(this.#resultKey).catch(() => {});
      this.#lastId = '0-0';
    }
  }

  /** A signal fired: its sent calls reject; their jobs (which hold only calls of this signal) are withdrawn. */
  #abortSent(signal: AbortSignal, calls: Call[]): void {
    const sent = new Set<string>();
    for (const call of calls) if (call.job) sent.add(call.job.id);
    for (const call of calls) this.core.finish(call, false, stoppedBy(signal), 'aborted');
    if (sent.size > 0 && this.#link?.ready) void this.#withdraw(this.#link, [...sent], false);
  }

  /**
   * Takes jobs back: those still waiting are removed from the queue, those running are stopped by their
   * hosts (told on the cancel channel); with `all`, this client's result stream goes too.
   */
  async #withdraw(link: Link, ids: string[], all: boolean): Promise<void> {
    const work: Promise<unknown>[] = ids.map((id) => link.queue.remove(id).catch(() => 0)); // a running job is locked: the host stops it
    work.push(link.cmd.del(...ids.map((id) => payloadKey(this.#settings.queue, id))).catch(() => 0));
    // sealed, with when it was sent: hosts obey no cancel they cannot open
    const notice = seal(this.#settings.keys, sealContext('cancel', this.#settings.queue, this.#clientId), Buffer.from(`${Date.now()} ${ids.join(' ')}`));
    work.push(link.cmd.publish(cancelChannel(this.#settings.queue), cancelMessage(this.#clientId, notice)).catch(() => 0));
    if (all) work.push(link.cmd.del(this.#resultKey).catch(() => 0));
    await Promise.all(work);
  }

  /** After close(), once every call settled. */
  #stop(): void {
    const link = this.#link;
    this.#link = null;
    this.#outage.stop();
    if (this.#watchTimer) clearTimeout(this.#watchTimer);
    this.#watchTimer = null;
    void (link ? this.core.keepAlive.during(link.close()) : Promise.resolve()).then(() => this.core.exit());
  }
}

/** How a signal's calls settle: with the call's TimeoutError when its `timeout` fired (pool.ts), else AbortError. */
function stoppedBy(signal: AbortSignal): Error {
  return signal.reason instanceof TimeoutError ? signal.reason : abortedBy(signal);
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
