/** Process: Python's multiprocessing.Process — run one target in its own worker thread or child process. */
import type * as Os from 'node:os';
import { builtin } from './base/builtin.js';
import type { ResourceLimits } from 'node:worker_threads';
import { startProcessWorker } from './process-start.js';
import type { ExitInfo, RuntimeWorker } from './runtime/index.js';
import { encodeHandles, type Runtime } from './base/codec/handles.js';
import { toTaskSpec, type Task } from './base/task.js';
import { checkArgs, checkEnv, checkExecArgv, checkRuntime } from './options.js';
import { normalizeTimeout, raceTimeout, type Timeout } from './base/timeout.js';
import { KeepAlive } from './base/keep-alive.js';
import { checkResourceLimits } from './base/spawn-options.js';
import { workerGone } from './base/worker-hooks.js';
import { HANDLES } from './engine/engine.js';
import { quietBrokenPipes } from './base/quiet-pipes.js';
import { ValueError } from './base/errors.js';
import { checkNotBootstrapping, currentProcess } from './base/context.js';
import { unsendableValueError } from './base/codec/unserializable.js';
import { loadTask } from './base/load-task.js';
import { overridesRun, refuseRunField, runFieldError, subclassRun } from './process-subclass.js';
import { READY, type Readiness } from '../primitives/channel/ready.js';

export interface ProcessOptions {
  /** What the Process runs; leave it out in a subclass that overrides `run()`. */
  target?: Task;
  args?: unknown[];
  /** Default `Process-N`. */
  name?: string;
  /** A daemon never keeps its parent alive and ends with it. */
  daemon?: boolean;
  /** `'thread'` (default) or `'process'`. */
  runtime?: Runtime;
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  resourceLimits?: ResourceLimits;
}

let processCounter = 0;
const live = new Set<Process>();
const joining = new KeepAlive();

/** Python's `active_children()`: started Processes that have not exited yet. */
export function activeChildren(): Process[] {
  return [...live];
}

/**
 * Python's `Process.sentinel`: what `connection.wait()` waits on for a process to end (Python's is a
 * file descriptor; here an object wait() understands, the same one on every read of `sentinel`).
 */
export class ProcessSentinel {
  readonly #readiness: Readiness;
  /** The Process this sentinel stands for. */
  readonly process: Process;

  /** @internal Made by Process.sentinel. */
  constructor(process: Process, readiness: Readiness) {
    this.process = process;
    this.#readiness = readiness;
  }

  /** @internal */
  [READY](): Readiness {
    return this.#readiness;
  }

  toString(): string {
    return `<sentinel of ${this.process}>`;
  }
}

export class Process {
  readonly #options: ProcessOptions;
  readonly #runtime: Runtime;
  #name: string;
  #daemon: boolean;
  #worker: RuntimeWorker | null = null;
  #exitCode: number | null = null;
  #stopSignal: NodeJS.Signals | null = null;
  #exited: Promise<void> | null = null;
  #closed = false;
  #sentinel: ProcessSentinel | null = null;

  constructor(options?: ProcessOptions) {
    // Python's subclass form: `class Worker extends Process { run() { ... } }` needs no target.
    const subclassed = overridesRun(this, Process.prototype);
    if (!subclassed && (options == null || options.target == null)) refuseRunField(new.target, Process);
    if (options == null && subclassed) options = {};
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('Process options must be an object with a target (or subclass Process and override run())');
    }
    if (!subclassed || options.target != null) toTaskSpec(options.target, 'target');
    checkArgs(options.args);
    if (options.name !== undefined && typeof options.name !== 'string') throw new TypeError('name must be a string');
    this.#runtime = checkRuntime(options.runtime);
    checkEnv(options.env);
    checkExecArgv(options.execArgv);
    checkResourceLimits(options.resourceLimits);
    this.#options = options;
    // Python counts every Process made, named or not, and names an unnamed one after its class (`Worker-3`)
    const count = ++processCounter;
    this.#name = options.name ?? `${new.target.name || 'Process'}-${count}`;
    this.#daemon = Boolean(options.daemon);
  }

  get name(): string {
    return this.#name;
  }

  set name(value: string) {
    if (typeof value !== 'string') throw new TypeError('name must be a string');
    this.#name = value;
  }

  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#worker) throw new Error('process has already started');
    this.#daemon = Boolean(value);
  }

  /** Process id (child process) or thread id (thread); null before start(). */
  get pid(): number | null {
    return this.#worker?.id ?? null;
  }

  /** null until the process ends; then its exit code, or minus the signal number (-15, -9). */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /**
   * Python's `sentinel`: pass it (or the Process itself) to `connection.wait()`, which finds it ready
   * once the process has ended. Throws ValueError before start(), as Python does.
   */
  get sentinel(): ProcessSentinel {
    this.#checkNotClosed();
    return (this.#sentinel ??= new ProcessSentinel(this, this[READY]())); // [READY] throws before start()
  }

  /** @internal connection.wait(): ready once the process has ended (a watch is a promise; nothing to call off). */
  [READY](): Readiness {
    this.#checkNotClosed();
    const exited = this.#exited;
    if (!exited) throw new ValueError('process not started');
    return { now: () => this.#exitCode !== null, watch: () => ({ ready: exited, cancel: () => {} }) };
  }

  #checkNotClosed(): void {
    if (this.#closed) throw new ValueError('process object is closed');
  }

  /** Starts the target; a Process can be started once. */
  start(): void {
    this.#checkNotClosed();
    if (this.#worker) throw new Error('cannot start a process twice');
    checkNotBootstrapping();
    const opts = this.#options;
    if (Object.prototype.hasOwnProperty.call(this, 'run')) throw runFieldError(this.constructor);
    const sub = overridesRun(this, Process.prototype) ? subclassRun(this, Process.prototype, this.#name, this.#daemon) : undefined;
    const spec = sub ? { kind: 'src' as const, src: sub.src } : toTaskSpec(opts.target, 'target');
    const args = sub ? [sub.state] : checkArgs(opts.args);
    let enc: { value: unknown; found: boolean };
    try {
      enc = encodeHandles(args, this.#runtime);
    } catch (err) {
      // a getter or Proxy trap that threw (a revoked Proxy): named by its path
      throw unsendableValueError(err, sub ? sub.state : args, sub ? 'this' : 'args', this.#runtime);
    }
    quietBrokenPipes();
    const worker = startProcessWorker(this.#runtime, { env: opts.env, execArgv: opts.execArgv, resourceLimits: opts.resourceLimits });
    // A program that uses multiproc/python's names wants them on the objects its target receives too.
    const pythonNames: string | undefined = (globalThis as any)[Symbol.for('multiproc.pythonNames')];
    try {
      worker.send({
        t: 'start', name: this.#name, parent: currentProcess().name, spec, args: enc.value, flags: enc.found ? HANDLES : 0,
        preload: pythonNames ? [pythonNames] : undefined,
      });
    } catch (err) {
      // a value that cannot cross: this start fails, and the worker it took must not wait forever
      worker.kill('SIGKILL');
      throw unsendableValueError(err, sub ? sub.state : args, sub ? 'this' : 'args', this.#runtime);
    }
    this.#worker = worker;
    live.add(this);
    // A child must not outlive us if we are killed; a non-daemon one may when we merely exit (as in Python).
    worker.dieWithParent(this.#daemon);
    this.#exited = new Promise((resolve) => {
      worker.onExit((info) => {
        this.#exitCode = this.#codeOf(info);
        live.delete(this);
        const how = this.#stopSignal ? 'terminated' : this.#exitCode === 0 ? 'normal' : 'died';
        workerGone({ runtime: this.#runtime, id: worker.id, how });
        resolve();
      });
    });
    worker.setRef(!this.#daemon);
  }

  /**
   * The Process's activity, as Python's `run()`: calls the target with its args in the calling thread.
   * A subclass may override it instead of passing a target; `start()` then runs the override in the
   * worker, on a copy of the instance's own properties (as Python's spawn runs it on a copy).
   */
  run(): unknown {
    const { target, args = [] } = this.#options;
    if (target == null) return undefined;
    if (typeof target === 'function') return target(...args);
    const fn = loadTask(toTaskSpec(target, 'target'));
    return fn instanceof Promise ? fn.then((f) => f(...args)) : fn(...args);
  }

  #codeOf(info: ExitInfo): number {
    const signal = info.signal ?? this.#stopSignal;
    if (signal) return -(builtin<typeof Os>('node:os').constants.signals[signal as NodeJS.Signals] ?? 15);
    return info.code ?? 1;
  }

  /** Waits until the process ends, or until `timeout` ms pass (then resolves anyway, as Python does). */
  async join(timeout?: Timeout): Promise<void> {
    this.#checkNotClosed();
    if (!this.#exited) throw new Error('can only join a started process');
    const ms = normalizeTimeout(timeout);
    if (this.#exitCode !== null) return;
    // A daemon's worker is unref'd: while someone awaits its end, that wait keeps the program alive.
    await joining.during(raceTimeout(this.#exited, ms));
  }

  /** Whether the process has started and not yet ended. */
  isAlive(): boolean {
    this.#checkNotClosed();
    return this.#worker !== null && this.#exitCode === null;
  }

  /** Stops the process (SIGTERM; a thread is terminated). exitCode becomes -15. */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** Stops the process (SIGKILL; a thread is terminated). exitCode becomes -9. */
  kill(): void {
    this.#signal('SIGKILL');
  }

  /**
   * Sends SIGINT to a child process (Python 3.14's `interrupt()`). A target that does not handle
   * SIGINT itself ends as a Python target does on KeyboardInterrupt: `Process <name>:` and
   * `KeyboardInterrupt` on stderr, exitCode 1 (a target blocked in synchronous code sees it when it
   * next yields to the event loop). A target with its own `process.on('SIGINT')` listener decides.
   * A worker thread cannot receive a signal: on `runtime: 'thread'` this throws a TypeError (use
   * `terminate()`, or a child process).
   */
  interrupt(): void {
    this.#checkNotClosed();
    if (this.#runtime !== 'process') {
      throw new TypeError("interrupt() needs a Process with runtime: 'process' (a worker thread cannot receive SIGINT); use terminate() to stop a thread");
    }
    if (!this.#worker || this.#exitCode !== null) return;
    this.#worker.kill('SIGINT');
  }

  #signal(signal: NodeJS.Signals): void {
    this.#checkNotClosed();
    if (!this.#worker || this.#exitCode !== null) return;
    this.#stopSignal ??= signal;
    this.#worker.kill(signal);
  }

  /** Releases the Process object (Python 3.7's close()); throws while it is still running. */
  close(): void {
    if (this.#closed) return;
    if (this.#worker && this.#exitCode === null) {
      throw new ValueError('Cannot close a process while it is still running. You should first call join() or terminate().');
    }
    this.#closed = true;
    this.#worker = null;
  }

  /** Python's repr: `<Process name='Process-1' pid=123 parent=100 stopped exitcode=-SIGTERM>`. */
  toString(): string {
    const info = [this.constructor.name || 'Process', `name='${this.#name}'`];
    if (this.#worker !== null && this.pid !== null) info.push(`pid=${this.pid}`);
    info.push(`parent=${process.pid}`, this.#worker === null ? 'initial' : this.#exitCode === null ? 'started' : 'stopped');
    if (this.#exitCode !== null) info.push(`exitcode=${exitCodeName(this.#exitCode)}`);
    if (this.#daemon) info.push('daemon');
    return `<${info.join(' ')}>`;
  }

  /** `console.log(p)` prints the repr, as Python's `print(p)` does (not `Process {}`). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Python's `_exitcode_to_name`: a signal's negative exit code by its name (`-SIGTERM`), other codes as they are. */
function exitCodeName(code: number): string {
  if (code >= 0) return String(code);
  const signals = builtin<typeof Os>('node:os').constants.signals as Record<string, number>;
  const name = Object.keys(signals).find((n) => signals[n] === -code);
  return name ? `-${name}` : String(code);
}
