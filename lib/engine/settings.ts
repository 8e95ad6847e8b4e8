/** What a local engine is built from: the pool's options, as the engine needs them. */
import type { ResourceLimits } from 'node:worker_threads';
import type { Runtime } from '../base/codec/handles.js';
import type { TaskSpec } from '../base/task.js';
import type { WorkerLostError } from '../base/errors.js';

export interface EngineSettings {
  runtime: Runtime;
  processes: number;
  /** Prefix of worker names (`PoolWorker` gives PoolWorker-1, PoolWorker-2, ...). */
  namePrefix: string;
  maxTasksPerChild?: number;
  initializer?: { spec: TaskSpec; args: unknown; flags: number };
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: ResourceLimits;
  /**
   * Told when a worker dies unasked (busy, idle or still starting), with the error its tasks got.
   * ProcessPoolExecutor needs it: Python breaks the executor even when an idle worker dies.
   */
  onWorkerLost?: (error: WorkerLostError) => void;
  /**
   * Jobs admitted at once, sent or next in line (default: all). The executors bound it, as Python
   * bounds its call queue, so that what waits beyond it stays cancellable.
   */
  maxSent?: number;
}
