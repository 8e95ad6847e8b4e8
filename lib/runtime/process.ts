/**
 * The process runtime: a child process (fork). Its options (the parent's environment plus the user's,
 * inherited flags, the heap limit as a flag, tsx from our sources, advanced serialization, the worker
 * marker argument), how one is started for a Process, and how a running one (ours or tinypool's) is
 * wrapped into a RuntimeWorker.
 */
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type * as Url from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { builtin } from '../base/builtin.js';
import { WORKER_ARG } from '../base/context.js';
import { forgetChild, reapWithParent } from '../base/reaper.js';
import { fromSource, inheritedExecArgv, mergedEnv } from '../base/spawn-options.js';
import { tsxLoaderUrl } from '../base/ts-loader.js';
import { Once } from './once.js';
import type { ExitInfo, RuntimeAdapter, RuntimeWorker } from './types.js';

const childProcesses = () => builtin<typeof ChildProcesses>('node:child_process');
const url = () => builtin<typeof Url>('node:url');

/** How long a child's pipes may stay open after it exited (a grandchild may hold them). */
const DRAIN_AFTER_EXIT_MS = 250;

/**
 * Node flags for a child process: inherited ones, the user's, the old-generation heap limit (the only
 * resource limit a process takes as a flag), and tsx when running from sources.
 */
export function processExecArgv(userFlags: string[] | undefined, limits: ResourceLimits | undefined): string[] {
  const argv = [...inheritedExecArgv(), ...(userFlags ?? [])];
  if (limits?.maxOldGenerationSizeMb) argv.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
  if (fromSource) argv.push('--import', tsxLoaderUrl());
  return argv;
}

type Child = ChildProcess & { channel?: { ref?(): void; unref?(): void } | null };

function wrap(child: Child): RuntimeWorker {
  const exit = new Once<ExitInfo>();
  const gone = new Once<ExitInfo>();
  let error: unknown;
  let held: boolean | null = null; // known to the reaper: killed even at a normal exit (true) or only when we are killed
  let drain: (() => void) | null = null;

  const exited = (info: ExitInfo) => {
    if (!exit.settle(info)) return;
    if (held !== null) forgetChild(child.pid);
    held = null;
  };
  // A failed spawn reports here: such a child never exits, so it is gone now. The other errors reported
  // here (a send racing the child's death: EPIPE) say nothing its exit does not, and depend on timing.
  child.on('error', (err: unknown) => {
    if (child.pid !== undefined || exit.done) return;
    error = err;
    exited({ code: null, signal: null, error });
    gone.settle({ code: null, signal: null, error });
  });
  child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    const info = { code, signal, error };
    exited(info);
    // Messages travel on the IPC channel and output on pipes: wait until they are read, not longer than needed.
    const finish = () => {
      if (drain === null) return;
      drain = null;
      clearTimeout(timer);
      gone.settle(info);
    };
    drain = finish;
    const timer = setTimeout(finish, DRAIN_AFTER_EXIT_MS);
    child.once('close', finish);
  });
  return {
    runtime: 'process',
    id: child.pid ?? -1,
    stdout: child.stdout ?? null,
    stderr: child.stderr ?? null,
    send: (message) => void child.send(message as any, () => {}),
    onMessage: (listener) => void child.on('message', listener),
    onExit: (listener) => exit.add(listener),
    onGone: (listener) => gone.add(listener),
    stopDraining: () => drain?.(),
    kill: (signal = 'SIGTERM') => {
      if (!exit.done) child.kill(signal);
    },
    setRef: (ref) => {
      if (ref) {
        child.ref();
        child.channel?.ref?.();
      } else {
        child.unref();
        child.channel?.unref?.();
      }
    },
    dieWithParent: (evenAtNormalExit) => {
      if (exit.done || child.pid === undefined || held === evenAtNormalExit) return;
      if (held !== null) forgetChild(child.pid);
      reapWithParent(child.pid, !evenAtNormalExit);
      held = evenAtNormalExit;
    },
  };
}

export const processRuntime: RuntimeAdapter = {
  name: 'process',
  poolOptions: (entry, settings) => ({
    filename: fromSource ? entry.href : url().fileURLToPath(entry),
    runtime: 'child_process',
    env: mergedEnv(settings.env), // tinypool would pass an empty one
    execArgv: processExecArgv(settings.execArgv, settings.resourceLimits),
    resourceLimits: undefined,
    argv: [WORKER_ARG],
    serialization: 'advanced',
  }),
  start: (entry, settings) =>
    wrap(childProcesses().fork(url().fileURLToPath(entry), [WORKER_ARG], {
      env: mergedEnv(settings.env),
      execArgv: processExecArgv(settings.execArgv, settings.resourceLimits),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })),
  wrap: (raw) => wrap(raw as Child),
};
