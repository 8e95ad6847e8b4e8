/**
 * How the engine asks tinypool for its workers: which task module they load (the bundled pool worker, or
 * from TypeScript sources the .ts file behind a tsx registration), and the options that make tinypool fit
 * (docs/tinypool-gaps.md): the user's environment for child processes, flags a worker accepts, advanced
 * serialization, no Atomics wait loop, two runs per worker.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type Tinypool from 'tinypool';
import { WORKER_ARG } from '../base/context.js';
import { childEnv, fromSource, processExecArgv, threadEnv, threadExecArgv } from '../base/spawn-options.js';
import { tsThreadEntry, tsxLoaderUrl } from '../base/ts-loader.js';
import { FORK_CONFIG_ENV, type WorkerConfig } from '../protocol/messages.js';
import { perChildEnv } from './tinypool-adapter.js';
import type { EngineSettings } from './settings.js';

const workerFile = (() => {
  if (!fromSource) return fileURLToPath(new URL('../worker/pool-worker.bundle.mjs', import.meta.url));
  return new URL('../worker/pool-worker.ts', import.meta.url).href;
})();

/** Threads ignore --import on Node 20: from sources, a thread's task module registers tsx, then loads ours. */
function threadWorkerFile(): string {
  if (!fromSource) return workerFile;
  return tsThreadEntry(workerFile).href;
}

/**
 * Only a pool needs tinypool (and node:assert, which it loads): it is loaded when the first pool starts,
 * not at `import 'multiproc'` (a few ms of every program's start). Node >= 20.19 loads an ES module synchronously
 * by require (the same instance `import 'tinypool'` gives); older Nodes, and the sources (a test runner's
 * require is not Node's), load it as the package loads.
 */
const early: typeof Tinypool | undefined =
  fromSource || !process.features.require_module ? (await import('tinypool')).default : undefined;
let loaded = early;
function tinypoolClass(): typeof Tinypool {
  return (loaded ??= (createRequire(import.meta.url)('tinypool') as { default: typeof Tinypool }).default);
}

/**
 * A tinypool with `processes` workers of the engine's runtime; threads find their configuration in workerData,
 * child processes in their environment, from `childConfig` (called once per child as it is forked).
 */
export function createTinypool(settings: EngineSettings, threadConfig: WorkerConfig | undefined, childConfig?: () => string | undefined): Tinypool {
  const isThread = settings.runtime === 'thread';
  const TinypoolClass = tinypoolClass();
  return new TinypoolClass({
    filename: isThread ? threadWorkerFile() : workerFile,
    runtime: isThread ? 'worker_threads' : 'child_process',
    minThreads: settings.processes,
    maxThreads: settings.processes,
    concurrentTasksPerWorker: 2,
    useAtomics: false, // an idle worker must keep running its event loop (timers, primitives' I/O)
    env: isThread ? threadEnv(settings.env) : perChildEnv(childEnv(settings.env), FORK_CONFIG_ENV, childConfig ?? (() => undefined)),
    execArgv: isThread ? threadExecArgv(settings.execArgv) : processExecArgv(settings.execArgv, settings.resourceLimits, tsxLoaderUrl),
    resourceLimits: isThread ? settings.resourceLimits : undefined,
    argv: isThread ? undefined : [WORKER_ARG],
    serialization: 'advanced',
    workerData: threadConfig,
  });
}
