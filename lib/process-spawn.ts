/**
 * Starts the worker of one Process, a thread or a child process, behind one small interface: send,
 * receive, exit, kill, ref. (Pools do not use this: tinypool starts their workers.)
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WORKER_ARG } from './base/context.js';
import { childEnv, fromSource, processExecArgv, threadEnv, threadExecArgv } from './base/spawn-options.js';
import { tsThreadEntry, tsxLoaderUrl } from './base/ts-loader.js';
import type { Runtime } from './base/codec/handles.js';
import type { ProcessStart } from './protocol/messages.js';
import { takeWorker } from './process-spares.js';

export interface SpawnSettings {
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

export interface ProcessChannel {
  /** Process id for a child process, thread id for a thread. */
  readonly pid: number;
  send(msg: ProcessStart): void;
  onExit(cb: (info: ExitInfo) => void): void;
  /** Forceful stop (Worker.terminate / a signal). */
  kill(signal?: NodeJS.Signals): void;
  /** Whether the worker may keep the program alive. */
  setRef(ref: boolean): void;
}

// From dist/, the worker entry is bundled into one file (scripts/bundle-worker.mjs): faster start-up.
const entryUrl = new URL(fromSource ? './worker/process-worker.ts' : './worker/process-worker.bundle.cjs', import.meta.url);

/** A thread; from TypeScript sources it first registers tsx (threads ignore --import on Node 20). */
function spawnThread(settings: SpawnSettings): ProcessChannel {
  const options = { env: threadEnv(settings.env), execArgv: threadExecArgv(settings.execArgv), resourceLimits: settings.resourceLimits };
  const worker = fromSource
    ? new Worker(tsThreadEntry(entryUrl.href), options)
    : new Worker(entryUrl, options);
  let lastError: unknown;
  worker.on('error', (err) => {
    lastError = err;
  });
  return {
    pid: worker.threadId,
    send: (msg) => worker.postMessage(msg),
    onExit: (cb) => worker.on('exit', (code) => cb({ code, signal: null, error: lastError })),
    kill: () => void worker.terminate(),
    setRef: (ref) => (ref ? worker.ref() : worker.unref()),
  };
}

function spawnProcess(settings: SpawnSettings): ProcessChannel {
  const child = fork(fileURLToPath(entryUrl), [WORKER_ARG], {
    env: childEnv(settings.env),
    execArgv: processExecArgv(settings.execArgv, settings.resourceLimits, tsxLoaderUrl),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A send racing the child's death reports here; the exit handler says what happened.
  child.on('error', () => {});
  return {
    pid: child.pid ?? -1,
    send: (msg) => void child.send(msg),
    onExit: (cb) => child.on('exit', (code, signal) => cb({ code, signal })),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    setRef: (ref) => {
      const channel = (child as unknown as { channel?: { ref?(): void; unref?(): void } }).channel;
      if (ref) {
        child.ref();
        channel?.ref?.();
      } else {
        child.unref();
        channel?.unref?.();
      }
    },
  };
}

/** Everything a worker's start depends on: a spare started with other values cannot serve. */
function settingsKey(settings: SpawnSettings): string {
  return JSON.stringify([settings.env ?? null, settings.execArgv ?? null, settings.resourceLimits ?? null, process.env, process.execArgv]);
}

/** A booted spare when one with the same settings waits (process-spares.ts), else a new worker. */
export function spawnProcessWorker(settings: SpawnSettings): ProcessChannel {
  const spawn = settings.runtime === 'process' ? () => spawnProcess(settings) : () => spawnThread(settings);
  return takeWorker(settings.runtime, settingsKey(settings), spawn);
}
