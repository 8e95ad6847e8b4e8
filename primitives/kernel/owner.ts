/**
 * Owner numbers: the int32 a shared core stores to say which thread holds a lock.
 *
 * The core contract identifies callers by `ownerId()` strings (`pid:threadId`), so a remote caller
 * (a process worker, through the broker) can be told apart from local threads. Shared memory
 * wants a number: threads of this process get `threadId + 1` (unique, positive); callers from
 * other processes get a negative number derived from their pid and thread id. 0 means "nobody".
 * A server that cannot trust what its clients claim (a Manager reached over TCP, where two hosts may
 * run programs with the same pid) names each connection itself: `connectionOwner(id)`.
 */
import { threadId } from '../../lib/base/thread.js';
import { ownerId } from './core.js';

/**
 * This thread's owner id, computed once (each worker thread loads its own copy of this module).
 * Interned (a property key is), so the cores' `owner === LOCAL_OWNER` test on the hot path is a
 * pointer comparison rather than a string comparison.
 */
export const LOCAL_OWNER: string = Object.keys({ [ownerId()]: 0 })[0]!;
/** This thread's owner number (what ownerNumber(LOCAL_OWNER) returns). */
export const LOCAL_NUMBER = threadId + 1;
const numbers = new Map<string, number>();

/** Owner numbers of connection owners start below those of claimed `pid:threadId` owners (-1 .. -2^30). */
const CONNECTION_BASE = -(2 ** 30) - 1;
const CONNECTION_SPAN = 2 ** 30;

/**
 * The owner id a server gives one client connection, whatever identity the client claims: distinct
 * for distinct `id`s (up to 2^30 connections alive at once) and from every `pid:threadId` owner.
 */
export function connectionOwner(id: number): string {
  return `conn:${id}`;
}

function parseOwner(owner: string): number {
  const c = typeof owner === 'string' ? /^conn:(\d+)$/.exec(owner) : null;
  if (c) return CONNECTION_BASE - (Number(c[1]) % CONNECTION_SPAN);
  const m = typeof owner === 'string' ? /^(\d+):(\d+)$/.exec(owner) : null;
  if (!m) throw new TypeError(`owner must be an ownerId() string ('pid:threadId') or a connection owner, got ${String(owner)}`);
  const pid = Number(m[1]);
  const tid = Number(m[2]);
  if (pid === process.pid) return tid + 1;
  // 22 bits of pid (Linux pid_max <= 2^22) and 8 bits of thread id: process workers run tasks on
  // their main thread (tid 0), so a clash would need two remote threads 256 ids apart.
  return -1 - ((pid & 0x3fffff) * 256 + (tid & 0xff));
}

/** The int32 stored in shared memory for `owner`; never 0. */
export function ownerNumber(owner: string): number {
  if (owner === LOCAL_OWNER) return LOCAL_NUMBER;
  let n = numbers.get(owner);
  if (n === undefined) {
    n = parseOwner(owner);
    numbers.set(owner, n);
  }
  return n;
}
