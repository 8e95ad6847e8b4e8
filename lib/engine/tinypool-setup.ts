/**
 * How the engine asks tinypool for its workers: which task module they load (the bundled pool worker, or
 * from TypeScript sources the .ts file), the runtime's options from its adapter (lib/runtime/: the
 * environment, flags a worker accepts, limits, tsx, advanced serialization), and the options that make
 * tinypool fit (docs/tinypool-gaps.md): no Atomics wait loop, two runs per worker.
 *
 * tinypool (and node:assert, which it loads) costs a few ms to load: in the bundle the engine is loaded at the
 * first pool, not at `import 'multiproc'` (scripts/first-use.mjs), and tinypool with it.
 */
import Tinypool from 'tinypool';
import { fromSource } from '../base/spawn-options.js';
import { runtimeAdapter } from '../runtime/index.js';
import { FORK_CONFIG_ENV, type WorkerConfig } from '../protocol/messages.js';
import { perChildEnv } from './tinypool-adapter.js';
import type { EngineSettings } from './settings.js';

// From dist/, the worker's task module is bundled into one file (scripts/bundle-worker.mjs).
const workerEntry = new URL(fromSource ? '../worker/pool-worker.ts' : '../worker/pool-worker.bundle.mjs', import.meta.url);

/**
 * A tinypool with `processes` workers of the engine's runtime; threads find their configuration in workerData,
 * child processes in their environment, from `childConfig` (called once per child as it is forked).
 */
export function createTinypool(settings: EngineSettings, threadConfig: WorkerConfig | undefined, childConfig?: () => string | undefined): Tinypool {
  // the runtime's own options: the task module as that runtime loads it, environment, flags, limits
  const options = runtimeAdapter(settings.runtime).poolOptions(workerEntry, settings);
  if (childConfig && options.env) perChildEnv(options.env, FORK_CONFIG_ENV, childConfig);
  return new Tinypool({
    ...options,
    minThreads: settings.processes,
    maxThreads: settings.processes,
    concurrentTasksPerWorker: 2,
    useAtomics: false, // an idle worker must keep running its event loop (timers, primitives' I/O)
    workerData: threadConfig,
  });
}
