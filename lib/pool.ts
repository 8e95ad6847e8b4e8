/** Pool: Python's multiprocessing.Pool on tinypool workers, threads (default) or child processes. */
import type { ResourceLimits } from 'node:worker_threads';
import { BasePool } from './pool-base.js';
import { TinypoolEngine } from './engine/tinypool-engine.js';
import { encodeHandles, type Runtime } from './base/codec/handles.js';
import { checkNotBootstrapping, cpuCount } from './base/context.js';
import { MAX_WORKERS, checkResourceLimits } from './base/spawn-options.js';
import { toTaskSpec, type Task, type TaskSpec } from './base/task.js';
import { checkArgs, checkCount, checkEnv, checkExecArgv, checkOptionalTask, checkRuntime } from './options.js';
import { HANDLES } from './engine/engine.js';

export type { MapOptions, ApplyOptions, MapAsyncOptions, PoolStats, TimeSummary } from './pool-base.js';

export interface PoolOptions {
  /** Number of workers; default `os.availableParallelism()`. At most 1024. */
  processes?: number;
  /** Runs once in each new worker before any task. */
  initializer?: Task;
  initargs?: unknown[];
  /** Replace a worker after this many tasks (a map chunk counts as one). */
  maxTasksPerChild?: number;
  /** `'thread'` (worker_threads, default) or `'process'` (child processes). */
  runtime?: Runtime;
  /** Environment of the workers, on top of `process.env`. */
  env?: Record<string, string | undefined>;
  /** Node flags for the workers (threads leave out those that apply to the whole process, with a warning). */
  execArgv?: string[];
  /** Heap limits (threads; `maxOldGenerationSizeMb` also for processes). */
  resourceLimits?: ResourceLimits;
}

export class Pool extends BasePool {
  readonly #runtime: Runtime;

  constructor(options?: number | PoolOptions) {
    const opts: PoolOptions = typeof options === 'number' || options === undefined || options === null ? { processes: options ?? undefined } : options;
    if (typeof opts !== 'object') throw new TypeError(`Pool options must be a number or an object, got ${typeof opts}`);
    checkNotBootstrapping();
    const processes = checkCount(opts.processes, 'processes', { max: MAX_WORKERS }) ?? cpuCount();
    const maxTasksPerChild = checkCount(opts.maxTasksPerChild, 'maxTasksPerChild');
    checkOptionalTask(opts.initializer, 'initializer');
    const initargs = checkArgs(opts.initargs, 'initargs');
    const runtime = checkRuntime(opts.runtime);
    let initializer: { spec: TaskSpec; args: unknown; flags: number } | undefined;
    if (opts.initializer) {
      const enc = encodeHandles(initargs, runtime);
      initializer = { spec: toTaskSpec(opts.initializer, 'initializer'), args: enc.value, flags: enc.found ? HANDLES : 0 };
    }
    const engine = new TinypoolEngine({
      runtime, processes, maxTasksPerChild, initializer, namePrefix: 'PoolWorker',
      env: checkEnv(opts.env), execArgv: checkExecArgv(opts.execArgv), resourceLimits: checkResourceLimits(opts.resourceLimits),
    });
    super(engine, processes, runtime);
    this.#runtime = runtime;
  }

  /** `'thread'` or `'process'`. */
  get runtime(): Runtime {
    return this.#runtime;
  }
}
