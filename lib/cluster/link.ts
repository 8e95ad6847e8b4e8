/**
 * A client's link to Redis: a command connection (BullMQ's Queue: bulk adds, removals; cancel notices), a
 * blocking connection that reads results, and what the engine must know about them: ready or not, and
 * whether the server restarted meanwhile (its run id changed: what it held may be gone).
 *
 * Commands fail at once while disconnected (no offline queue, nothing resent behind our back): the engine
 * decides what waits and for how long. While the engine has nothing pending, a lost link is not
 * reconnected (ioredis's retry timer would keep the program alive); the engine makes a new one when needed.
 */
import type * as Events from 'node:events';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, isConnectionError, serverRunId, unrefSockets, type ClusterConnection, type Libraries } from './connection.js';
import { PREFIX } from './codec.js';
import { builtin } from '../base/builtin.js';

// needed as this module loads (a base class); node:events is loaded by Node's own start
const { EventEmitter } = builtin<typeof Events>('node:events');

/** How long a connection attempt may take. */
const CONNECT_TIMEOUT_MS = 3000;
/** A command not answered in this time means the link is dead (a partition, not a refusal). */
const COMMAND_TIMEOUT_MS = 4000;
/** Blocking reads wait this long for results, so a silent link is noticed. */
const BLOCK_MS = 1000;
/** A blocking read not answered this long after its own timeout means the link is dead. */
const SILENCE_MS = 1000;

export interface LinkEvents {
  /** Connected (again); `restarted` when Redis is not the server it was (run id changed). */
  ready: [restarted: boolean];
  /** The link was lost (it reconnects on its own while `keepTrying()` says so). */
  down: [error: Error];
  /** The link gave up (nothing pending): make a new one when needed. */
  end: [];
}

export class Link extends EventEmitter<LinkEvents> {
  readonly cmd: Redis;
  readonly #block: Redis;
  #queue: Queue | null = null;
  readonly #libs: Libraries;
  readonly #queueName: string;
  #ready = false;
  #runId = '';
  #ended = false;
  #lastError: Error | null = null;

  constructor(libs: Libraries, connection: ClusterConnection, queueName: string, keepTrying: () => boolean) {
    super();
    this.#libs = libs;
    this.#queueName = queueName;
    const settings = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) => (keepTrying() ? Math.min(times * 100, 500) : null),
    };
    this.cmd = createRedis(libs, connection, { ...settings, commandTimeout: COMMAND_TIMEOUT_MS, enableAutoPipelining: false });
    this.#block = createRedis(libs, connection, settings);
    for (const redis of [this.cmd, this.#block]) {
      unrefSockets(redis);
      redis.on('error', (err: Error) => (this.#lastError = err));
      redis.on('close', () => this.#lost());
      redis.on('ready', () => void this.#maybeReady());
      redis.on('end', () => this.#end());
    }
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Connected to the server (TCP, and TLS), though it has not answered enough to be ready. */
  get connectedNotReady(): boolean {
    return !this.#ready && [this.cmd, this.#block].some((redis) => redis.status === 'connect' || redis.status === 'ready');
  }

  get queue(): Queue {
    return this.#queue!;
  }

  /** Starts connecting; 'ready' or 'down' follow. */
  start(): void {
    for (const redis of [this.cmd, this.#block]) redis.connect().catch(() => {}); // failures arrive as 'close'
  }

  async #maybeReady(): Promise<void> {
    if (this.#ready || this.#ended || this.cmd.status !== 'ready' || this.#block.status !== 'ready') return;
    let runId: string;
    try {
      runId = await serverRunId(this.cmd);
    } catch (err) {
      this.#lastError = err as Error;
      return; // the link dropped again: 'close' says so
    }
    if (this.#ready || this.#ended || this.cmd.status !== 'ready' || this.#block.status !== 'ready') return;
    const restarted = this.#runId !== '' && runId !== this.#runId;
    this.#runId = runId;
    if (!this.#queue) {
      this.#queue = new this.#libs.Queue(this.#queueName, {
        connection: this.cmd, prefix: PREFIX,
        streams: { events: { maxLen: 100 } }, // we read no BullMQ events: keep the stream short
      });
      this.#queue.on('error', (err: Error) => (this.#lastError = err));
      await this.#queue.waitUntilReady().catch(() => {});
      if (this.#ended || this.cmd.status !== 'ready') return;
    }
    this.#ready = true;
    this.emit('ready', restarted);
  }

  #lost(): void {
    this.#ready = false;
    if (!this.#ended) this.emit('down', this.#lastError ?? new Error('connection closed'));
  }

  /** One connection gave up reconnecting: so does the link. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ready = false;
    this.cmd.disconnect();
    this.#block.disconnect();
    this.emit('end');
  }

  /**
   * Reads up to `count` result frames after `lastId` from a client's result stream, waiting up to
   * BLOCK_MS for the first. Reading does not remove them (see `ack`): a reply lost with a dropped
   * connection is read again. A link that stops answering is reset, so a silent partition is noticed
   * like a refused one.
   */
  async readResults(key: string, lastId: string, count: number): Promise<[id: string, frame: Buffer][]> {
    const reply = await this.#answered(this.#block.xreadBuffer('COUNT', count, 'BLOCK', BLOCK_MS, 'STREAMS', key, lastId));
    const entries = (reply?.[0]?.[1] ?? []) as [Buffer, Buffer[]][];
    return entries.map(([id, fields]) => [id.toString(), fields[1]]);
  }

  /** Removes result frames that were handled. */
  ack(key: string, ids: string[]): void {
    if (ids.length > 0 && this.#ready) this.cmd.xdel(key, ...ids).catch(() => {}); // left over, they expire with the stream
  }

  async #answered<T>(reply: Promise<T>): Promise<T> {
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    // bytes still arriving are an answer on its way, not silence: a large result (or a huge entry someone
    // with Redis access wrote) can take longer than the timeout to read, and resetting the link then would
    // read it again, and again, forever
    const received = () => (this.#block as unknown as { stream?: { bytesRead?: number } }).stream?.bytesRead ?? 0;
    let seen = received();
    const silent = new Promise<never>((_, reject) => {
      const check = () => {
        const now = received();
        if (now !== seen) {
          seen = now;
          watchdog = setTimeout(check, SILENCE_MS);
          watchdog.unref();
          return;
        }
        this.reset();
        reject(new Error('Redis did not answer'));
      };
      watchdog = setTimeout(check, BLOCK_MS + SILENCE_MS);
      watchdog.unref();
    });
    try {
      return await Promise.race([reply, silent]);
    } finally {
      clearTimeout(watchdog);
    }
  }

  /**
   * Drops both connections and reconnects them: for a link that stopped answering. The sockets are
   * destroyed, not ended: ending waits for the peer's answer, which a dead link never sends.
   */
  reset(): void {
    if (this.#ended) return;
    for (const redis of [this.cmd, this.#block]) (redis as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  }

  /** Whether `err` is the link failing rather than the command. */
  static failed(err: unknown): boolean {
    return isConnectionError(err);
  }

  /** Closes everything; quick even when Redis is gone. */
  async close(): Promise<void> {
    this.#ended = true;
    this.#ready = false;
    const queue = this.#queue;
    this.#queue = null;
    await Promise.race([queue?.close().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.cmd.disconnect();
    this.#block.disconnect();
  }
}
