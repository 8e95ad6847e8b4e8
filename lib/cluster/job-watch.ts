/**
 * The client's own watch over its jobs in Redis. BullMQ notices a dead host's jobs only from another live
 * host (its stalled-job check runs in workers), and a job can leave Redis without an answer (deleted,
 * evicted, its result refused by a full Redis, a forged message): so every few seconds, while jobs are in
 * flight, the client looks at them itself, in one pipelined round trip, and says which are lost:
 *
 * - gone: the job is no longer in Redis (or finished there), and every result pushed before that was seen
 *   has been read;
 * - orphaned: it sits in the active list without a lock (its host died) for ORPHAN_MS with no live host
 *   (ORPHAN_WITH_HOSTS_MS with one: BullMQ's stalled-job check in a live host moves it back to the queue
 *   within two of its stalled intervals, so this only catches hosts that fail to).
 *
 * It also keeps the client's liveness key fresh (hosts drop the jobs of a client that is gone) and counts
 * the live hosts, so a queue nobody serves draws one warning.
 */
import type { Link } from './link.js';
import { LIVE_HOSTS, PREFIX, clientKey, hostsKey } from './codec.js';

/** How often jobs in flight are looked at. */
export const WATCH_MS = 2000;
/** A job active without a lock this long, with no live host to take it back, is lost. */
export const ORPHAN_MS = 10_000;
/** With live hosts, their stalled-job check takes it back (within two of their stalled intervals): this long, at most. */
export const ORPHAN_WITH_HOSTS_MS = 60_000;
/**
 * How long the client's liveness key lasts unless renewed (renewed every WATCH_MS while jobs are in flight).
 * Long beside WATCH_MS: a client whose event loop is busy for a while (a long synchronous step) is not dead.
 */
export const CLIENT_ALIVE_MS = 120_000;
/** A host that has not said it lives for this long is not counted. */
export const HOST_ALIVE_MS = 10_000;

/** What the watch needs to know of a job. */
export interface WatchedJob {
  readonly id: string;
  /** In Redis (its addBulk succeeded). */
  added: boolean;
  /** The result stream's last entry id when the job was first seen gone. */
  goneAt?: string;
  /** When the job was first seen active without a lock. */
  orphanSince?: number;
}

export interface WatchReport<J extends WatchedJob> {
  /** Jobs gone from Redis whose results (if any were pushed) have all been read. */
  gone: J[];
  /** Jobs whose host died with nobody to take them back. */
  orphaned: J[];
  /** Hosts that said they live within HOST_ALIVE_MS. */
  liveHosts: number;
}

/** Compares stream ids (`ms-seq`): whether `a` is at or after `b`. */
export function streamIdAtLeast(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am > bm || (am === bm && as >= bs);
}

/**
 * Looks at `jobs` once. `readUpTo()` is the last result entry the client has handled (called after the
 * round trip, so what was read meanwhile counts).
 */
export async function watchJobs<J extends WatchedJob>(
  link: Link, queue: string, clientId: string, resultKey: string, jobs: J[], readUpTo: () => string,
): Promise<WatchReport<J>> {
  const base = `${PREFIX}:${queue}`;
  const pipe = link.cmd.pipeline();
  pipe.set(clientKey(queue, clientId), '1', 'PX', CLIENT_ALIVE_MS);
  pipe.eval(LIVE_HOSTS, 1, hostsKey(queue), HOST_ALIVE_MS);
  pipe.lrange(`${base}:active`, 0, -1);
  const added = jobs.filter((job) => job.added);
  for (const job of added) {
    pipe.hmget(`${base}:${job.id}`, 'name', 'finishedOn');
    pipe.exists(`${base}:${job.id}:lock`);
  }
  // after the jobs: every result pushed before a job was seen gone is at or before this entry
  pipe.xrevrange(resultKey, '+', '-', 'COUNT', 1);
  const replies = await pipe.exec();
  if (!replies) return { gone: [], orphaned: [], liveHosts: 0 };
  const value = (i: number) => {
    const [err, v] = replies[i];
    if (err) throw err;
    return v;
  };
  const liveHosts = Number(value(1));
  const active = new Set(value(2) as string[]);
  const last = (value(3 + 2 * added.length) as [string, string[]][])[0]?.[0] ?? '0-0';
  const now = performance.now();
  const gone: J[] = [];
  const orphaned: J[] = [];
  const upTo = readUpTo();
  added.forEach((job, i) => {
    // finished (completed or failed) counts as gone: no answer will come after that
    const [name, finishedOn] = value(3 + 2 * i) as (string | null)[];
    const exists = name !== null && finishedOn === null;
    const locked = Number(value(4 + 2 * i)) === 1;
    if (!exists) {
      job.goneAt ??= last;
      if (streamIdAtLeast(upTo, job.goneAt)) gone.push(job);
      return;
    }
    job.goneAt = undefined;
    if (active.has(job.id) && !locked) {
      job.orphanSince ??= now;
      if (now - job.orphanSince >= (liveHosts > 0 ? ORPHAN_WITH_HOSTS_MS : ORPHAN_MS)) orphaned.push(job);
    } else job.orphanSince = undefined;
  });
  return { gone, orphaned, liveHosts };
}
