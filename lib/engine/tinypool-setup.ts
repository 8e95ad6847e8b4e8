/**
 * How the engine asks tinypool for its workers: which task module they load (the bundled pool worker, or
 * from TypeScript sources the .ts file), the runtime's options from its adapter (lib/runtime/: the
 * environment, flags a worker accepts, limits, tsx, advanced serialization), and the options that make
 * tinypool fit (docs/tinypool-gaps.md): no Atomics wait loop, two runs per worker.
 */
import type * as NodeModule from 'node:module';
import type Tinypool from 'tinypool';
import { builtin } from '../base/builtin.js';
import { fromSource } from '../base/spawn-options.js';
import { runtimeAdapter } from '../runtime/index.js';
import { FORK_CONFIG_ENV, type WorkerConfig } from '../protocol/messages.js';
import { perChildEnv } from './tinypool-adapter.js';
import type { EngineSettings } from './settings.js';

// From dist/, the worker's task module is bundled into one file (scripts/bundle-worker.mjs).
const workerEntry = new URL(fromSource ? '../worker/pool-worker.ts' : '../worker/pool-worker.bundle.mjs', import.meta.url);

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
  return (loaded ??= (builtin<typeof NodeModule>('node:module').createRequire(import.meta.url)('tinypool') as { default: typeof Tinypool }).default);
}

/**
 * A tinypool with `processes` workers of the engine's runtime; threads find their configuration in workerData,
 * child processes in their environment, from `childConfig` (called once per child as it is forked).
 */
export function createTinypool(settings: EngineSettings, threadConfig: WorkerConfig | undefined, childConfig?: () => string | undefined): Tinypool {
  const TinypoolClass = tinypoolClass();
  // the runtime's own options: the task module as that runtime loads it, environment, flags, limits
  const options = runtimeAdapter(settings.runtime).poolOptions(workerEntry, settings);
  if (childConfig && options.env) perChildEnv(options.env, FORK_CONFIG_ENV, childConfig);
  return new TinypoolClass({
    ...options,
    minThreads: settings.processes,
    maxThreads: settings.processes,
    concurrentTasksPerWorker: 2,
    useAtomics: false, // an idle worker must keep running its event loop (timers, primitives' I/O)
    workerData: threadConfig,
  });
}
