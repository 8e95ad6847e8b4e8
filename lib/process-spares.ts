/**
 * Spare workers for Process, Python's forkserver idea: after a Process starts, one more worker of the same
 * kind (runtime, environment, flags, limits) is started ahead and left waiting, so the next `start()` hands
 * its target to a worker that has already booted instead of paying Node's start-up (~20 ms) again.
 *
 * A spare never keeps the program alive (unref'd), dies with its parent (a child process is known to the
 * reaper), and is replaced once other settings are used twice in a row. Two threads and one child process wait by
 * default (memory they cost: docs/guide.md); `setSpareWorkers(false)` or MULTIPROC_SPARE_WORKERS=0 turns
 * them off.
 */
import type { Runtime } from './base/codec/handles.js';
import { forgetChild, reapWithParent } from './base/reaper.js';

/** What a spare needs of a started worker (process-spawn's ProcessChannel). */
export interface SpareChannel {
  readonly pid: number;
  onExit(cb: () => void): void;
  kill(signal?: NodeJS.Signals): void;
  setRef(ref: boolean): void;
}

interface Spare<C extends SpareChannel> {
  runtime: Runtime;
  key: string;
  channel: C;
  /** Exited, stopped, or handed to a Process (whose business its exit is from then on). */
  dead: boolean;
}

/** Spares kept per runtime by default: two threads boot side by side on two cores, so back-to-back starts
 * are not held to one boot's pace; a child process costs more memory, and one already keeps up. */
const DEFAULT_DEPTH: Record<Runtime, number> = { thread: 2, process: 1 };

const spares = new Map<Runtime, Spare<SpareChannel>[]>();
let depthByCall: number | null = null;
const pendingRefills = new Map<Runtime, NodeJS.Immediate>();

function depth(runtime: Runtime): number {
  if (depthByCall !== null) return depthByCall;
  const env = process.env.MULTIPROC_SPARE_WORKERS?.trim();
  if (env === undefined || env === '') return DEFAULT_DEPTH[runtime];
  if (/^(false|no|off)$/i.test(env)) return 0;
  const n = Number(env);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 8) : DEFAULT_DEPTH[runtime];
}

/**
 * Spare workers for `Process`: `true` restores the default (two waiting threads, one waiting child
 * process, each started after a Process of that kind first starts), `false` or `0` turns them off and
 * stops those waiting now, a number sets how many wait per runtime (at most 8). The environment variable
 * MULTIPROC_SPARE_WORKERS (`0`/`off`, or a number) sets the same from the start.
 */
export function setSpareWorkers(on: boolean | number): void {
  if (typeof on === 'boolean') depthByCall = on ? null : 0;
  else if (typeof on === 'number' && Number.isInteger(on) && on >= 0 && on <= 8) depthByCall = on;
  else throw new TypeError(`setSpareWorkers takes true, false or a whole number from 0 to 8, got ${typeof on === 'number' ? on : typeof on}`);
  if (depthByCall === 0) stopSpares();
}

/** Stops every waiting spare (a test's or a program's clean-up). */
export function stopSpares(): void {
  for (const refill of pendingRefills.values()) clearImmediate(refill);
  pendingRefills.clear();
  for (const [runtime, list] of spares) {
    spares.delete(runtime);
    for (const spare of list) discard(spare);
  }
}

/** The pids (thread ids) of the spares waiting for `runtime`, oldest first: for tests and diagnostics. */
export function sparePids(runtime: Runtime): number[] {
  return (spares.get(runtime) ?? []).filter((s) => !s.dead).map((s) => s.channel.pid);
}

function discard(spare: Spare<SpareChannel>): void {
  if (spare.dead) return;
  spare.dead = true;
  spare.channel.kill('SIGKILL');
  if (spare.runtime === 'process') forgetChild(spare.channel.pid);
}

function makeSpare<C extends SpareChannel>(runtime: Runtime, key: string, spawn: () => C): boolean {
  let channel: C;
  try {
    channel = spawn();
  } catch {
    return false; // out of threads or processes: the next start() reports it, on its own call
  }
  const spare: Spare<C> = { runtime, key, channel, dead: false };
  channel.setRef(false);
  if (runtime === 'process') reapWithParent(channel.pid, false);
  channel.onExit(() => {
    if (spare.dead) return;
    spare.dead = true;
    const list = spares.get(runtime) ?? [];
    const at = list.indexOf(spare as Spare<SpareChannel>);
    if (at >= 0) list.splice(at, 1);
    if (runtime === 'process') forgetChild(channel.pid);
  });
  let list = spares.get(runtime);
  if (!list) spares.set(runtime, (list = []));
  list.push(spare as Spare<SpareChannel>);
  return true;
}

/** The settings of the last start per runtime: spares follow settings used twice in a row, not every change. */
const lastKeys = new Map<Runtime, string>();

/**
 * A worker for these settings: the oldest waiting spare when it matches, else a fresh one; then spares
 * are topped up behind it. Spares started with other settings stay while those settings are still in use
 * (a program alternating between two kinds of Process does not throw spares away at every start); when
 * the same new settings come twice in a row, they are stopped and replaced. `key` names the settings;
 * `spawn` starts a fresh worker.
 */
export function takeWorker<C extends SpareChannel>(runtime: Runtime, key: string, spawn: () => C): C {
  const list = (spares.get(runtime) ?? []).filter((s) => !s.dead);
  spares.set(runtime, list);
  const previousKey = lastKeys.get(runtime);
  lastKeys.set(runtime, key);
  let channel: C | null = null;
  const at = list.findIndex((s) => s.key === key);
  if (at >= 0) {
    const [spare] = list.splice(at, 1);
    spare.dead = true; // no spare any more: its exit is the Process's business now
    channel = spare.channel as C;
    // Process.start registers it with the reaper itself (spared or not, by daemon).
    if (runtime === 'process') forgetChild(channel.pid);
  }
  const stale = list.some((s) => s.key !== key);
  if (stale && previousKey === key) for (const s of list.splice(0)) discard(s);
  channel ??= spawn();
  if (depth(runtime) > 0 && !(stale && previousKey !== key) && !pendingRefills.has(runtime)) {
    // Started after the caller's worker, outside its start(): the caller's start is not slowed.
    const refill = setImmediate(() => {
      pendingRefills.delete(runtime);
      const want = depth(runtime);
      while ((spares.get(runtime)?.length ?? 0) < want && makeSpare(runtime, key, spawn));
    });
    refill.unref();
    pendingRefills.set(runtime, refill);
  }
  return channel;
}
