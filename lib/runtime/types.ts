/**
 * One interface over a running worker, thread or child process, whoever started it (tinypool for a
 * pool, us for a Process): what the engine and Process need of a worker without knowing its runtime.
 * Each runtime has one adapter (thread.ts, process.ts) that owns everything runtime-specific: the Node
 * options a worker gets, how one is started, and how a running one is wrapped into this interface.
 */
import type { Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { Runtime } from '../base/codec/handles.js';

export type { Runtime };

/** How a worker ended, the same for both runtimes. */
export interface ExitInfo {
  /** The exit code; null when a signal (or our kill()) ended it, or when it could not be started. */
  code: number | null;
  /**
   * The signal that ended it: a child's real one, or for a thread the one passed to kill() (a thread is
   * terminated, but reads as killed by that signal, as a child would be).
   */
  signal: string | null;
  /** What made it fail, when Node says: a thread's uncaught error or out of memory, a failed spawn. */
  error?: unknown;
}

/** What a user may set for a worker's start (Process and Pool options). */
export interface StartSettings {
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: ResourceLimits;
}

export interface RuntimeWorker {
  readonly runtime: Runtime;
  /** Thread id, or pid (-1: a child process that could not be spawned). */
  readonly id: number;
  /** The worker's output as it reaches us (null where it is inherited and never passes through us). */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Posts a message (structured clone). Throws what the clone throws; a send racing the worker's death is silent (its exit says what happened). */
  send(message: unknown): void;
  onMessage(listener: (message: any) => void): void;
  /** The thread or process has ended (what it sent may still be on its way). Called once. */
  onExit(listener: (info: ExitInfo) => void): void;
  /**
   * It ended and everything it sent has been read: a child's pipes and IPC channel have closed (or a
   * grace period passed: a grandchild may hold them). For a thread, at its exit. Called once, after onExit.
   */
  onGone(listener: (info: ExitInfo) => void): void;
  /** Stops waiting for a child's pipes: 'gone' is reported now if it has exited. */
  stopDraining(): void;
  /** Forceful stop: a signal for a child (default SIGTERM), terminate() for a thread. */
  kill(signal?: NodeJS.Signals): void;
  /** Whether the worker may keep the program alive. */
  setRef(ref: boolean): void;
  /**
   * A child process must not outlive this one when it is killed (SIGKILL runs none of our code);
   * `evenAtNormalExit`: also not when this process exits normally (a daemon, a pool's or a spare worker).
   * May be called again to change it; forgotten at the child's exit. Nothing to do for a thread.
   */
  dieWithParent(evenAtNormalExit: boolean): void;
}

/** tinypool's constructor options that depend on the runtime. */
export interface PoolRuntimeOptions {
  filename: string;
  runtime: 'worker_threads' | 'child_process';
  env: Record<string, string> | undefined;
  execArgv: string[];
  resourceLimits: ResourceLimits | undefined;
  argv: string[] | undefined;
  serialization: 'advanced';
}

export interface RuntimeAdapter {
  readonly name: Runtime;
  /** tinypool's options for workers of this runtime loading the module `entry` (a pool's workers). */
  poolOptions(entry: URL, settings: StartSettings): PoolRuntimeOptions;
  /** Starts one worker running the module `entry` (a Process's worker). */
  start(entry: URL, settings: StartSettings): RuntimeWorker;
  /** Wraps a running node Worker / ChildProcess of this runtime, whether we or tinypool started it. */
  wrap(raw: Worker | ChildProcess): RuntimeWorker;
}
