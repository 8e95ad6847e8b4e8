/**
 * The thread runtime: a node Worker. Its options (environment, flags a thread accepts, resource limits,
 * tsx from our sources), how one is started for a Process, and how a running one (ours or tinypool's)
 * is wrapped into a RuntimeWorker.
 */
import type * as WorkerThreads from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import type * as Url from 'node:url';
import { builtin } from '../base/builtin.js';
import { fromSource, inheritedExecArgv, mergedEnv } from '../base/spawn-options.js';
import { tsThreadEntry } from '../base/ts-loader.js';
import { Once } from './once.js';
import type { ExitInfo, RuntimeAdapter, RuntimeWorker, StartSettings } from './types.js';

const threads = () => builtin<typeof WorkerThreads>('node:worker_threads');
const url = () => builtin<typeof Url>('node:url');

const acceptedByThreads = new Map<string, string[]>();

/**
 * Node flags for a worker thread: the parent's (minus those of its own start, as for a child process,
 * since a thread would otherwise inherit `-e` and `--input-type` too) or the user's. Flags a thread
 * refuses — process-wide ones such as `--max-old-space-size` or `--expose-gc`, which make `new Worker`
 * throw ERR_WORKER_INVALID_EXEC_ARGV — are left out: they already apply to the whole process. Only the
 * user's own are warned about. Checked once per set of flags.
 */
export function threadExecArgv(userFlags: string[] | undefined): string[] {
  const flags = userFlags ?? inheritedExecArgv();
  if (flags.length === 0) return flags;
  const key = flags.join('\0');
  let accepted = acceptedByThreads.get(key);
  if (!accepted) {
    accepted = [...flags];
    const refused: string[] = [];
    for (let attempt = 0; attempt < 4 && accepted.length > 0; attempt++) {
      try {
        new (threads().Worker)('', { eval: true, execArgv: accepted }).unref();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
        const listed = String((err as Error).message).split(':').slice(1).join(':').split(',').map((s) => s.trim());
        const before = accepted.length;
        accepted = accepted.filter((flag) => !listed.includes(flag));
        refused.push(...listed);
        if (accepted.length === before) accepted = [];
      }
    }
    if (userFlags && refused.length > 0) {
      process.emitWarning(`execArgv flags a worker thread cannot take were left out (they apply to the whole process): ${refused.join(', ')}`, 'MultiprocWarning');
    }
    acceptedByThreads.set(key, accepted);
  }
  return accepted;
}

/** A worker thread's environment: Node's default (a copy of process.env) unless the user adds to it. */
function threadEnv(userEnv: StartSettings['env']): Record<string, string> | undefined {
  return userEnv ? mergedEnv(userEnv) : undefined;
}

/** From TypeScript sources a thread first registers tsx: Node 20's threads ignore --import. */
function entryOf(entry: URL): URL {
  return fromSource ? tsThreadEntry(entry.href) : entry;
}

function wrap(worker: Worker): RuntimeWorker {
  const exit = new Once<ExitInfo>();
  let error: unknown;
  let killedBy: string | null = null;
  worker.on('error', (err: unknown) => {
    error ??= err;
  });
  // 'exit' comes after Node has drained the thread's ports: its messages and output are in.
  worker.once('exit', (code: number) => {
    exit.settle(killedBy ? { code: null, signal: killedBy, error } : { code, signal: null, error });
  });
  return {
    runtime: 'thread',
    id: worker.threadId,
    stdout: worker.stdout ?? null,
    stderr: worker.stderr ?? null,
    send: (message) => worker.postMessage(message),
    onMessage: (listener) => void worker.on('message', listener),
    onExit: (listener) => exit.add(listener),
    onGone: (listener) => exit.add(listener),
    stopDraining: () => {},
    kill: (signal = 'SIGTERM') => {
      if (exit.done) return;
      killedBy ??= signal;
      void worker.terminate();
    },
    setRef: (ref) => (ref ? worker.ref() : worker.unref()),
    dieWithParent: () => {}, // a thread cannot outlive its process
  };
}

export const threadRuntime: RuntimeAdapter = {
  name: 'thread',
  poolOptions: (entry, settings) => ({
    filename: fromSource ? entryOf(entry).href : url().fileURLToPath(entry),
    runtime: 'worker_threads',
    env: threadEnv(settings.env),
    execArgv: threadExecArgv(settings.execArgv),
    resourceLimits: settings.resourceLimits,
    argv: undefined,
    serialization: 'advanced',
  }),
  start: (entry, settings) =>
    wrap(new (threads().Worker)(entryOf(entry), { env: threadEnv(settings.env), execArgv: threadExecArgv(settings.execArgv), resourceLimits: settings.resourceLimits })),
  wrap: (raw) => wrap(raw as Worker),
};
