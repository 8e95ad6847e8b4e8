/**
 * Private socket directories: `$TMPDIR/multiproc-<pid>-XXXXXX`, mode 0700, one per local server
 * (broker, broker thread, pipe lanes, a Manager server without an address).
 *
 * Each is removed when its process ends: at a normal exit by the 'exit' handler, and when the process
 * is killed (SIGKILL, SIGTERM, Ctrl-C) by its reaper (lib/base/reaper.ts), which outlives it. No signal
 * handler of ours is installed: one would keep Ctrl-C from ending a program blocked in a `...Sync` call.
 * If the reaper was killed too (the whole process group with SIGKILL), the directory stays until the
 * next process that makes one sweeps the directories whose owner pid (in the name) is dead.
 */
import type * as Fs from 'node:fs';
import type * as Net from 'node:net';
import type * as Os from 'node:os';
import type * as Path from 'node:path';
import { builtin } from '../../lib/base/builtin.js';
import { removeWithParent } from '../../lib/base/reaper.js';

const fs = () => builtin<typeof Fs>('node:fs');
const net = () => builtin<typeof Net>('node:net');

const PREFIX = 'multiproc-';
/** What mkdtemp made from the prefix: the owner pid, then six random characters. */
const OWNED = /^multiproc-(\d+)-[A-Za-z0-9]{6}$/;

/** Private socket directories this thread made: removed when it exits, even without close(). */
const privateDirs = new Set<string>();
let cleanupAtExit = false;
let swept = false;

/** A fresh private Unix socket address (a 0700 directory under os.tmpdir()), removed when this process ends. */
export function privateAddress(): { dir: string; address: string } {
  const base = builtin<typeof Os>('node:os').tmpdir();
  if (!swept) {
    swept = true;
    sweepStale(base);
  }
  // mkdtemp creates the directory with mode 0700: only this user can reach the socket.
  const dir = fs().mkdtempSync(builtin<typeof Path>('node:path').join(base, `${PREFIX}${process.pid}-`));
  privateDirs.add(dir);
  removeWithParent(dir);
  if (!cleanupAtExit) {
    cleanupAtExit = true;
    process.on('exit', () => {
      for (const d of privateDirs) fs().rmSync(d, { recursive: true, force: true });
    });
  }
  return { dir, address: builtin<typeof Path>('node:path').join(dir, 's') };
}

/** Removes a directory made by {@link privateAddress}. */
export function removePrivate(dir: string): void {
  privateDirs.delete(dir);
  fs().rmSync(dir, { recursive: true, force: true });
}

/** Whether `pid` is a live process (a zombie is not: it has ended and only waits to be reaped). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // someone else's live process
  }
  try {
    const stat = fs().readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: kill(0) said it exists
  }
}

/**
 * Removes directories of ours under `base` whose owner process is dead. A directory whose socket
 * still answers is kept whatever its name says (its owner may live in another pid namespace that shares
 * this temp directory); the check is asynchronous and takes a moment, once per process.
 */
function sweepStale(base: string): void {
  let names: string[];
  try {
    names = fs().readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = OWNED.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const dir = builtin<typeof Path>('node:path').join(base, name);
    try {
      const st = fs().lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    } catch {
      continue;
    }
    removeIfSilent(dir);
  }
}

/** Removes `dir` unless a server answers on its socket. */
function removeIfSilent(dir: string): void {
  const remove = () => {
    try {
      fs().rmSync(dir, { recursive: true, force: true });
    } catch {
      // another process swept it first, or it is not ours to remove
    }
  };
  const socket = net().connect(builtin<typeof Path>('node:path').join(dir, 's'));
  socket.once('connect', () => socket.destroy()); // alive: keep it
  socket.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') remove();
  });
}
