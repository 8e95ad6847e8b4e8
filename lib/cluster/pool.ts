/**
 * The Pool on a cluster of hosts (Ray's `ray.util.multiprocessing.Pool`, on BullMQ and Redis): the same
 * API as the local Pool (lib/pool-base.ts), with an engine that sends the work through Redis to the hosts
 * running `multiproc worker`.
 */
import { readFileSync } from 'node:fs';
import { BasePool } from '../pool-base.js';
import { checkCount } from '../options.js';
import { checkConnection, type ClusterConnection } from './connection.js';
import { ClusterEngine } from './engine.js';
import { deriveKeys } from './signing.js';

export type { ClusterConnection, RedisConnectionOptions } from './connection.js';

/** Tasks in flight from one client when `processes` is not given. */
export const DEFAULT_IN_FLIGHT = 32;

export interface ClusterPoolOptions {
  /** Where Redis is: `redis://host:6379` (`rediss://` for TLS), or ioredis options (password, tls, ...). */
  connection: ClusterConnection;
  /** The BullMQ queue the worker hosts serve; default `'multiproc'`. */
  queue?: string;
  /** The cluster's secret: jobs are signed and encrypted with it; hosts refuse others. Never sent. */
  authkey: Uint8Array;
  /** Tasks (jobs: a map chunk counts once) this client keeps in Redis at once; default 32. */
  processes?: number;
  /** Times a task runs again after the host running it died (default 1); then it rejects with WorkerLostError. */
  retries?: number;
}

/** Checks a queue name: BullMQ's keys use ':' as a separator. */
export function checkQueueName(queue: unknown): string {
  if (queue === undefined || queue === null) return 'multiproc';
  if (typeof queue !== 'string' || queue === '') throw new TypeError(`queue must be a non-empty string, got ${JSON.stringify(queue)}`);
  if (queue.includes(':')) throw new TypeError(`queue must not contain ':', got ${JSON.stringify(queue)}`);
  return queue;
}

/** Checks an authkey: a non-empty Uint8Array (an empty one would let anyone who can write to Redis run code). */
export function checkAuthkey(authkey: unknown): Uint8Array {
  if (!(authkey instanceof Uint8Array)) {
    throw new TypeError(`authkey must be a Uint8Array (e.g. readAuthkey(file)), got ${authkey === null ? 'null' : typeof authkey}`);
  }
  if (authkey.length === 0) throw new RangeError('authkey must not be empty: anyone who can write to Redis could run code on the hosts');
  return authkey;
}

/**
 * Reads an authkey file as `multiproc worker --authkey-file` does: its bytes, less one trailing newline
 * (so `openssl rand -hex 32 > cluster.key` makes a key both sides read the same).
 */
export function readAuthkey(file: string): Uint8Array {
  const bytes = readFileSync(file);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return new Uint8Array(bytes.subarray(0, end));
}

/**
 * A Pool whose tasks run on worker hosts (`npx multiproc worker --connection redis://...`).
 *
 * ```ts
 * await using pool = new Pool({ connection: 'redis://10.0.0.5:6379', authkey: readAuthkey('cluster.key') });
 * const squares = await pool.map(task(import.meta.url, 'square'), range, 1000);
 * ```
 *
 * Differences from the local Pool (docs/cluster.md): a task whose host dies runs again on another host
 * (at most `retries` times), so tasks should be safe to run twice; `processes` counts tasks in flight, not
 * workers; each task costs a Redis round trip, so map with chunks.
 */
export class Pool extends BasePool {
  readonly #queue: string;

  constructor(options: ClusterPoolOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`cluster Pool options must be an object with connection and authkey, got ${options === null ? 'null' : typeof options}`);
    }
    if (options.connection === undefined) throw new TypeError('connection is required (e.g. "redis://host:6379")');
    const connection = checkConnection(options.connection);
    const queue = checkQueueName(options.queue);
    const authkey = checkAuthkey(options.authkey);
    const processes = checkCount(options.processes, 'processes', { max: 1_000_000 }) ?? DEFAULT_IN_FLIGHT;
    const retries = options.retries ?? 1;
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
      throw new RangeError(`retries must be an integer >= 0, got ${String(retries)}`);
    }
    super(new ClusterEngine({ connection, queue, keys: deriveKeys(authkey), window: processes, retries }), processes, 'remote');
    this.#queue = queue;
  }

  /** The BullMQ queue this pool sends its tasks to. */
  get queue(): string {
    return this.#queue;
  }
}
