/**
 * What crosses between the parent and a worker. Pool workers are tinypool workers: a batch of tasks
 * is one tinypool `run()` and its reply is what the run resolves to; notes are the few messages that
 * travel beside tinypool's dispatch (partial results, a dying worker's last word, start-up). A Process
 * worker (lib/process.ts) is ours alone and gets one `start` message.
 */
import type { TaskSpec } from '../base/task.js';
import type { WireError } from '../base/codec/error-wire.js';

/** Flags of a job (Job.flags) and of a batch task: how its args are read and its result sent. */
export const CHUNK = 1; // args is a list of items, each called as fn(item); the result is a list
export const HANDLES = 2; // args hold handle descriptors to revive (see base/codec/handles.ts)
export const STAR = 4; // with CHUNK: each item is an argument list, called as fn(...item) (starmap)
export const PACKED = 8; // the list (args of a chunk, or a chunk's results) travels as a Float64Array

/**
 * A batch's tasks, flat: [index of its spec in `specs`, arguments (or chunk items), flags] for each task in
 * turn (one list for the whole batch, not a list per task: every list costs its own time to clone).
 */
export type BatchTasks = unknown[];
/** Entries per task in BatchTasks. */
export const TASK_FIELDS = 3;

/** One tinypool run: tasks run in order by one worker. */
export interface Batch {
  /** Batch id, echoed in notes. */
  b: number;
  specs: TaskSpec[];
  t: BatchTasks;
  /** Set by the parent in place of a batch that could not be serialized: the worker refuses it at once. */
  unsendable?: true;
  /** Threads: this batch's slot in WorkerConfig.progress. */
  s?: number;
  /** Its arguments hold buffers moved to the worker (move()): tasks it does not run come back with their arguments. */
  m?: 1;
  /**
   * Calls of specs[0] with one number argument each and no flags, packed (a Float64Array's buffer) in place of
   * `t`, which is then empty: v8 clones a list of one-number argument lists element by element, several times
   * slower on both sides than one buffer (20k `applyAsync(f, [i])`, or imap with chunksize 1 over numbers).
   */
  c?: ArrayBuffer;
  /**
   * A ticket for a batch the parent holds (child processes): the parent's relay sends the batch in its place.
   * A ticket has no tasks: a worker that got one unswapped runs nothing, and its reply hands the batch back whole.
   */
  relay?: 1;
}

/** Status of one result in a flat result list `[status, value, status, value, ...]`. */
export const FAILED = 0; // value is a WireError
export const OK = 1;
export const OK_HANDLES = 2; // value holds handle descriptors to revive
export const OK_PACKED = 3; // value is a chunk's numbers: the ArrayBuffer of a Float64Array

/** Results of consecutive tasks of a batch, starting at task index `from`. */
export interface ResultRun {
  from: number;
  r: unknown[];
}

/** What a batch run resolves to. */
export interface BatchReply extends ResultRun {
  /** The worker (thread id or pid). */
  w: number;
  /** The batch answered (Batch.b). */
  b: number;
  /** Index of the first task not run: the worker hands it and the rest back (= t.length when all ran). */
  rest: number;
  /** Milliseconds spent running this reply's tasks. */
  busy: number;
  /** Bytes the worker had written to stdout / stderr when it replied: the parent prints them first. */
  out: number;
  err: number;
  /** Notes the worker sent about this batch before replying. */
  notes: number;
  /** The worker reached maxTasksPerChild: it exits after this reply. */
  retire?: boolean;
  /** The worker holds exit hooks (primitives with data to flush): at close it must run them before it is stopped. */
  hooks?: boolean;
  /** The worker's initializer failed: no task ran. */
  initError?: WireError;
  /** Answers a batch that could not be sent (Batch.unsendable): no task ran. */
  unsendable?: true;
  /**
   * Batch.m: the arguments of the tasks handed back (from `rest` on), moved back to the parent, whose
   * own buffers were detached when they were moved to the worker.
   */
  back?: unknown[];
}

/** Settings a pool worker needs; threads find them in workerData, processes in FORK_CONFIG_ENV or `welcome`. */
export interface WorkerConfig {
  /** Worker names are `${prefix}-${n}`. */
  prefix: string;
  /** The name of the process that made the pool (parentProcess() in the worker). */
  parent?: string;
  /** For threads, on shared memory: [0] counts workers, so names never repeat; [1] is 1 once the pool closes. */
  counter?: Int32Array;
  /** For processes: this worker's number. */
  number?: number;
  initializer: { spec: TaskSpec; args: unknown; flags: number } | null;
  /** Modules to import before the first task (multiproc/python's names, when the program uses them). */
  preload?: string[];
  /** Tasks (a chunk counts once) before the worker retires; 0 = never. */
  maxTasks: number;
  /** Name of the BroadcastChannel on which thread workers hear `retire` and `close`. */
  channel: string;
  /**
   * Threads, on shared memory: one slot per batch in flight, where the worker writes 1 + the index of the
   * task it starts. A worker killed outright (out of memory) says nothing; its slot still tells which
   * task was running, so the tasks behind it can run elsewhere.
   */
  progress?: Int32Array;
}

/**
 * A child process's environment variable holding its WorkerConfig (v8-serialized, base64), set as tinypool
 * forks it: the child starts its first batch without asking the parent first. A configuration too large
 * for the environment comes in `welcome` instead.
 */
export const FORK_CONFIG_ENV = 'MULTIPROC_POOL_WORKER_CONFIG';

/** Marks our messages among tinypool's (threads: they travel on parentPort as tinypool "ready" messages). */
export const NOTE = '__multiproc__';

export type Note =
  /**
   * A process worker has started: it asks for its configuration, or (`n`) it found it in its environment
   * (FORK_CONFIG_ENV) and says which number it got.
   */
  | { t: 'hello'; w: number; n?: number }
  /** A thread worker took its number (from the shared counter): the parent names it in errors as processes are. */
  | { t: 'named'; w: number; n: number }
  /** Results so far of a batch whose current task is slow; tasks from `rest` on are handed back. */
  | ({ t: 'part'; w: number; b: number; running: number; rest: number; out: number; err: number } & ResultRun)
  /** The worker is about to die: results so far of the batch it was running, and which task was running. */
  | ({ t: 'dying'; w: number; b: number; running: number; out: number; err: number; error?: WireError } & ResultRun)
  /** The worker is dying outside any batch (`init`: while its initializer ran: it never started). */
  | { t: 'dying'; w: number; b: -1; out: number; err: number; error?: WireError; init?: true }
  /** The pool is closing: the worker ran its exit hooks and waits to be stopped. */
  | { t: 'flushed'; w: number }
  /** An idle worker retires on its own (an error a finished task left behind): its exit is no loss. */
  | { t: 'retiring'; w: number };

/**
 * Parent → worker, beside tinypool (processes: on the IPC channel; threads: on the pool's
 * BroadcastChannel, with `w` naming the worker a `retire` is for). `retire`: run the exit hooks and exit
 * (maxTasksPerChild; tinypool then replaces the worker). `close`: run the exit hooks and say `flushed`;
 * tinypool stops the worker afterwards.
 */
export type Control = { t: 'retire'; w?: number } | { t: 'close' };
export type ToProcessWorker = { [NOTE]: 1; t: 'welcome'; config: WorkerConfig } | ({ [NOTE]: 1 } & Control);

/** Parent → a Process worker (lib/process.ts): the target to run once. */
export interface ProcessStart {
  t: 'start';
  name: string;
  /** The starter's name (parentProcess() in the worker). */
  parent?: string;
  spec: TaskSpec;
  args: unknown;
  flags: number;
  /** Modules to import before the target (multiproc/python's names, when the program uses them). */
  preload?: string[];
}

