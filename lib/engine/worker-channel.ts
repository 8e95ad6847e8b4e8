/**
 * One worker, thread or child process, behind one small interface: send, receive, exit, ref.
 * The rest of the engine never asks which kind it has.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WORKER_ARG } from '../base/context.js';
import { tsxApiUrl, tsxLoaderUrl } from '../base/ts-loader.js';
import type { FromWorker, ToWorker } from '../worker/protocol.js';
import type { Runtime } from '../base/codec/handles.js';

export interface WorkerSettings {
  runtime: Runtime;
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: ResourceLimits;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** The error that killed a thread (uncaught exception, out of memory), when known. */
  error?: unknown;
}

export interface WorkerChannel {
  /** Process id for a child process, thread id for a thread. */
  readonly pid: number;
  send(msg: ToWorker): void;
  onMessage(cb: (msg: FromWorker) => void): void;
  onExit(cb: (info: ExitInfo) => void): void;
  /** Forceful stop (Worker.terminate / a signal). */
  kill(signal?: NodeJS.Signals): void;
  /** Whether an idle worker may keep the program alive. */
  setRef(ref: boolean): void;
}

const fromSource = import.meta.url.endsWith('.ts');
// From dist/, the worker entry is bundled into one file (scripts/bundle-worker.mjs): faster worker start-up.
const bootstrapUrl = new URL(fromSource ? '../worker/bootstrap.ts' : '../worker/bootstrap.bundle.cjs', import.meta.url);

/**
 * The parent's Node flags, minus those that belong to the parent's own start: module loaders (`--import tsx`:
 * re-running one costs ~150 ms per worker, and we register tsx in a worker only when a `.ts` module needs it),
 * `-e`/`-p` scripts, the inspector (its port is taken), watch and test modes.
 */
const PARENT_ONLY_WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '-e', '--eval', '-p', '--print', '--input-type']);
const PARENT_ONLY = /^(--inspect|--debug|--watch|--test|-i$|--interactive|-c$|--check)/;

function inheritedExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i];
    const flag = arg.split('=')[0];
    if (PARENT_ONLY_WITH_VALUE.has(flag)) {
      if (!arg.includes('=')) i++; // skip the value too
    } else if (!PARENT_ONLY.test(arg)) out.push(arg);
  }
  return out;
}

/** A thread worker; from TypeScript sources it first registers tsx (threads ignore --import on Node 20). */
function spawnThread(settings: WorkerSettings): WorkerChannel {
  const options = {
    env: settings.env ? { ...process.env, ...settings.env } : process.env,
    execArgv: settings.execArgv ?? inheritedExecArgv(),
    resourceLimits: settings.resourceLimits,
  };
  const worker = fromSource
    ? new Worker(
        `import(${JSON.stringify(tsxApiUrl())}).then((api) => { api.register(); globalThis.__multiprocTsx = true; return import(${JSON.stringify(bootstrapUrl.href)}); });`,
        { ...options, eval: true },
      )
    : new Worker(bootstrapUrl, options);
  let lastError: unknown;
  let referenced = true;
  worker.on('error', (err) => {
    lastError = err;
  });
  return {
    pid: worker.threadId,
    send: (msg) => worker.postMessage(msg),
    onMessage: (cb) => {
      worker.on('message', cb);
      if (!referenced) worker.unref(); // a new 'message' listener refs the port again
    },
    onExit: (cb) => worker.on('exit', (code) => cb({ code, signal: null, error: lastError })),
    kill: () => void worker.terminate(),
    setRef: (ref) => {
      referenced = ref;
      if (ref) worker.ref();
      else worker.unref();
    },
  };
}

function spawnProcess(settings: WorkerSettings): WorkerChannel {
  const execArgv = [...(settings.execArgv ?? inheritedExecArgv())];
  const heapMb = settings.resourceLimits?.maxOldGenerationSizeMb;
  if (heapMb) execArgv.push(`--max-old-space-size=${heapMb}`);
  if (fromSource) execArgv.push('--import', tsxLoaderUrl());
  const child: ChildProcess = fork(fileURLToPath(bootstrapUrl), [WORKER_ARG], {
    // tinypool starts children with an empty environment; we pass the user's through (SPEC).
    env: { ...process.env, ...(settings.env ?? {}) },
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A send racing the child's death reports here; the exit handler already rejects its tasks.
  child.on('error', () => {});
  return {
    pid: child.pid ?? -1,
    send: (msg) => void child.send(msg),
    onMessage: (cb) => child.on('message', cb as (m: unknown) => void),
    onExit: (cb) => child.on('exit', (code, signal) => cb({ code, signal })),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    setRef: (ref) => {
      if (ref) {
        child.ref();
        (child as any).channel?.ref?.();
      } else {
        child.unref();
        (child as any).channel?.unref?.();
      }
    },
  };
}

export function spawnWorker(settings: WorkerSettings): WorkerChannel {
  return settings.runtime === 'process' ? spawnProcess(settings) : spawnThread(settings);
}
