/**
 * How a Process gets its worker: a booted spare when one with the same settings waits
 * (process-spares.ts), else a new one from its runtime's adapter (lib/runtime/), the same adapters that
 * watch a pool's workers. The spares' code is loaded at the first start (a program that never starts a
 * Process never loads it); their first refill follows once it has loaded.
 */
import { fromSource } from './base/spawn-options.js';
import { runtimeAdapter, type Runtime, type RuntimeWorker, type StartSettings } from './runtime/index.js';

// From dist/, the worker entry is bundled into one file (scripts/bundle-worker.mjs): faster start-up.
const entryUrl = new URL(fromSource ? './worker/process-worker.ts' : './worker/process-worker.bundle.cjs', import.meta.url);

/** Spares kept per runtime by default: two threads boot side by side on two cores, so back-to-back starts
 * are not held to one boot's pace; a child process costs more memory, and one already keeps up. */
const DEFAULT_DEPTH: Record<Runtime, number> = { thread: 2, process: 1 };
let depthByCall: number | null = null;

function depth(runtime: Runtime): number {
  if (depthByCall !== null) return depthByCall;
  const env = process.env.MULTIPROC_SPARE_WORKERS?.trim();
  if (env === undefined || env === '') return DEFAULT_DEPTH[runtime];
  if (/^(false|no|off)$/i.test(env)) return 0;
  const n = Number(env);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 8) : DEFAULT_DEPTH[runtime];
}

type Spares = typeof import('./process-spares.js');
let spares: Spares | null = null;
let loading: Promise<Spares | null> | null = null;

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
  if (depthByCall === 0) spares?.stopSpares();
}

/** Everything a worker's start depends on: a spare started with other values cannot serve. */
function settingsKey(settings: StartSettings): string {
  return JSON.stringify([settings.env ?? null, settings.execArgv ?? null, settings.resourceLimits ?? null, process.env, process.execArgv]);
}

/** A worker for one Process: a waiting spare with these settings, else a new one. */
export function startProcessWorker(runtime: Runtime, settings: StartSettings): RuntimeWorker {
  const key = settingsKey(settings);
  const start = () => runtimeAdapter(runtime).start(entryUrl, settings);
  if (spares) return spares.takeWorker(runtime, key, start, depth);
  const worker = start();
  if (depth(runtime) > 0) {
    loading ??= import('./process-spares.js').then(
      (m) => (spares = m),
      () => null, // spares are a speed-up: without them every start boots its worker
    );
    void loading.then((m) => m?.afterStart(runtime, key, start, depth));
  }
  return worker;
}
