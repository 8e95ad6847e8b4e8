/**
 * The client's own watch over its jobs in Redis. BullMQ notices a dead host's jobs only from another live
 * host (its stalled-job check runs in workers), and a job can leave Redis without an answer (deleted,
 * evicted, its result refused by a full Redis, a forged message): so every few seconds, while jobs are in
 * flight, the client looks at them itself, in one pipelined round trip, and says which are lost:
 *
 * - gone: the job is no longer in Redis (or finished there), and every result pushed before that was seen
 *   has been read;
 * - orphaned: it sits in the active list without a lock, or without its host's sealed beat (its host
 *   died), for ORPHAN_MS with no live host (ORPHAN_WITH_HOSTS_MS with one: BullMQ's stalled-job check in a
 *   live host moves it back to the queue within two of its stalled intervals, so this only catches hosts
 *   that fail to);
 * - misplaced: it is in Redis, unfinished, but in none of the lists hosts take jobs from or run them in (wait,
 *   paused, prioritized, active), on two looks in a row: someone with Redis access took it out of the wait
 *   list, or wrote an entry under its id before the client added it (BullMQ then adds nothing). No host
 *   would ever take it, so without this its calls would wait forever. Only jobs waiting PLACE_CHECK_MS or
 *   more are looked for (from the tail, where the oldest wait): in normal running a job is taken sooner.
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
/** A job's host beats every 2 s while it holds the job: one not heard of this long counts as stopped. */
export const BEAT_FRESH_MS = 6000;
/** A host that has not said it lives for this long is not counted. */
export const HOST_ALIVE_MS = 10_000;

/** A job not running this long is looked for in the queue's lists (see `misplaced`). */
export const PLACE_CHECK_MS = 4000;

/**
 * For each job id (ARGV[2..], the queue's key prefix in ARGV[1]): 0 when its entry exists, unfinished, in
 * none of the lists a job waits or runs in; else 1. One script, so a job moving between lists (each move is
 * one BullMQ script) is seen in one place or another, never between.
 */
const PLACED = `local base = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local key = base .. id
  local placed = 1
  if redis.call('EXISTS', key) == 1 and redis.call('HEXISTS', key, 'finishedOn') == 0 then
    local found = redis.call('LPOS', base .. 'wait', id, 'RANK', -1) or redis.call('LPOS', base .. 'active', id, 'RANK', -1)
      or redis.call('LPOS', base .. 'paused', id, 'RANK', -1) or redis.call('ZSCORE', base .. 'prioritized', id)
    if not found then placed = 0 end
  end
  out[#out + 1] = placed
end
return out`;

/** What the watch needs to know of a job. */
export interface WatchedJob {
  readonly id: string;
  /** In Redis (its addBulk succeeded). */
  added: boolean;
  /** The result stream's last entry id when the job was first seen gone. */
  goneAt?: string;
  /** When the job was first seen active without a lock, or without a recent sealed beat from its host. */
  orphanSince?: number;
  /** When a sealed beat of its host last said it runs (performance.now()). */
  beatAt?: number;
  /** When the job was first seen not running (waiting, or nowhere). */
  waitingSince?: number;
  /** Looks in a row that found it in none of the queue's lists. */
  unplaced?: number;
}

export interface WatchReport<J extends WatchedJob> {
  /** Jobs gone from Redis whose results (if any were pushed) have all been read. */
  gone: J[];
  /** Jobs whose host died with nobody to take them back. */
  orphaned: J[];
  /** Jobs in Redis where no host will ever take them (moved out of the lists, or their id squatted). */
  misplaced: J[];
  /** Hosts that said they live within HOST_ALIVE_MS. */
  liveHosts: number;
  /** How the queue is stopped in Redis (BullMQ's pause, or a global concurrency of 0): no host takes its jobs. */
  paused: string | null;
  /**
   * The result stream's last entry, when it is before what the client has read: entries not acknowledged
   * yet (a moment), or a stream made again under the client's read position (someone deleted it after
   * adding an entry with an id far ahead): the client must read it from the start.
   */
  behind: string | null;
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
  pipe.hmget(`${base}:meta`, 'paused', 'concurrency');
  const added = jobs.filter((job) => job.added);
  // jobs seen not running for a while (at earlier looks): where are they?
  const now0 = performance.now();
  const stale = added.filter((job) => job.waitingSince !== undefined && now0 - job.waitingSince >= PLACE_CHECK_MS);
  pipe.eval(PLACED, 0, `${base}:`, ...stale.map((job) => job.id));
  for (const job of added) {
    pipe.hmget(`${base}:${job.id}`, 'name', 'finishedOn');
    pipe.exists(`${base}:${job.id}:lock`);
  }
  // after the jobs: every result pushed before a job was seen gone is at or before this entry
  pipe.xrevrange(resultKey, '+', '-', 'COUNT', 1);
  const replies = await pipe.exec();
  if (!replies) return { gone: [], orphaned: [], misplaced: [], liveHosts: 0, paused: null, behind: null };
  const value = (i: number) => {
    const [err, v] = replies[i];
    if (err) throw err;
    return v;
  };
  const liveHosts = Number(value(1));
  const active = new Set(value(2) as string[]);
  // looks that a full Redis may refuse (a script without flags counts as one that writes): nothing learnt then
  const maybe = (i: number) => (replies[i][0] ? null : replies[i][1]);
  // BullMQ's pause, or a global concurrency under 1: no host takes a job (multiproc sets neither)
  const [pausedField, concurrency] = (maybe(3) as (string | null)[] | null) ?? [null, null];
  const paused = pausedField !== null ? 'paused' : concurrency !== null && !(Number(concurrency) >= 1) ? `set to a global concurrency of ${concurrency}` : null;
  const placed = (maybe(4) as number[] | null) ?? stale.map(() => 1);
  const first = 5;
  // not a stream (someone wrote another type there): the client deletes it when its read fails
  const last = ((maybe(first + 2 * added.length) ?? []) as [string, string[]][])[0]?.[0] ?? '0-0';
  const now = performance.now();
  const gone: J[] = [];
  const orphaned: J[] = [];
  const misplaced: J[] = [];
  stale.forEach((job, i) => {
    job.unplaced = Number(placed[i]) === 0 ? (job.unplaced ?? 0) + 1 : 0;
  });
  const upTo = readUpTo();
  // results may sit unread before the read position: nothing counts as gone until they are read
  const behind = last !== '0-0' && !streamIdAtLeast(last, upTo) ? last : null;
  added.forEach((job, i) => {
    // finished (completed or failed) counts as gone: no answer will come after that
    // an entry that is not a hash (someone wrote another type under the job's id) is no job: gone
    const [name, finishedOn] = (maybe(first + 2 * i) ?? [null, null]) as (string | null)[];
    const exists = name !== null && finishedOn === null;
    const locked = Number(value(first + 1 + 2 * i)) === 1;
    if (!exists) {
      job.goneAt ??= last;
      if (!behind && streamIdAtLeast(upTo, job.goneAt)) gone.push(job);
      return;
    }
    job.goneAt = undefined;
    if (active.has(job.id)) {
      job.waitingSince = undefined;
      job.unplaced = 0;
    } else {
      job.waitingSince ??= now;
      // nowhere twice in a row (two scripts, each atomic): not a job between two lists
      if ((job.unplaced ?? 0) >= 2) misplaced.push(job);
    }
    // alive: locked, and vouched for by its host's sealed beat lately. A lock alone proves nothing: anyone
    // with Redis access can write one, and one kept for a dead host would leave the job active forever
    const vouched = job.beatAt !== undefined && now - job.beatAt < BEAT_FRESH_MS;
    if (active.has(job.id) && !(locked && vouched)) {
      job.orphanSince ??= now;
      if (now - job.orphanSince >= (liveHosts > 0 ? ORPHAN_WITH_HOSTS_MS : ORPHAN_MS)) orphaned.push(job);
    } else job.orphanSince = undefined;
  });
  return { gone, orphaned, misplaced, liveHosts, paused, behind };
}
