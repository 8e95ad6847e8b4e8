/** The runtime adapters by name (types.ts says what one is). */
import { processRuntime } from './process.js';
import { threadRuntime } from './thread.js';
import type { Runtime, RuntimeAdapter } from './types.js';

export type { ExitInfo, PoolRuntimeOptions, Runtime, RuntimeAdapter, RuntimeWorker, StartSettings } from './types.js';

export function runtimeAdapter(runtime: Runtime): RuntimeAdapter {
  return runtime === 'process' ? processRuntime : threadRuntime;
}
