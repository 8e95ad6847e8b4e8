/**
 * The pool's workers as this engine sees them: tinypool starts, feeds, replaces and stops them; here we
 * watch each one it starts (WatchedWorker), give it its name and configuration, tell it what the pool
 * wants (retire, close), and at the end stop them all through tinypool.
 */
import type * as WorkerThreads from 'node:worker_threads';
import type { BroadcastChannel } from 'node:worker_threads';
import type Tinypool from 'tinypool';
import { builtin } from '../base/builtin.js';
import { currentProcess } from '../base/context.js';
import { v8Codec } from '../base/codec/message.js';
import { NOTE, type Control, type WorkerConfig } from '../protocol/messages.js';
import type { EngineSettings } from './settings.js';
import { isServing, newWorkers, ProcessRelay, startWorker } from './tinypool-adapter.js';
import { createTinypool } from './tinypool-setup.js';
import { WatchedWorker, type WatchEvents } from './worker-watch.js';

export interface WorkersEvents extends WatchEvents {
  /** Every worker has exited after destroy(). */
  exited(): void;
}

let poolCounter = 0;
/** Largest child configuration passed in its environment (base64 characters); beyond, it comes in a message. */
const MAX_ENV_CONFIG = 16 * 1024;

export class Workers {
  readonly tp: Tinypool;
  /** Child processes: their runs cross tinypool's in-thread relay as tickets (see ProcessRelay). */
  readonly relay: ProcessRelay | undefined;
  readonly #settings: EngineSettings;
  readonly #events: WorkersEvents;
  readonly #byId = new Map<number, WatchedWorker>();
  readonly #watched = new WeakSet<object>();
  readonly #control: Int32Array;
  readonly #progress: Int32Array | undefined;
  readonly #channel: BroadcastChannel | null;
  readonly #channelName: string;
  #workerNumber = 0;
  #destroying: Promise<void> | null = null;

  /** `progress`: the thread workers' progress slots. */
  constructor(settings: EngineSettings, progress: Int32Array | undefined, events: WorkersEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#progress = progress;
    // [0]: worker-name counter (threads), [1]: 1 once the pool is closing
    this.#control = new Int32Array(new SharedArrayBuffer(8));
    this.#channelName = `multiproc:${process.pid}:${++poolCounter}:${Math.random().toString(36).slice(2)}`;
    const isThread = settings.runtime === 'thread';
    this.#channel = isThread ? new (builtin<typeof WorkerThreads>('node:worker_threads').BroadcastChannel)(this.#channelName) : null;
    this.#channel?.unref();
    this.relay = isThread ? undefined : new ProcessRelay();
    this.tp = createTinypool(settings, isThread ? this.#config(undefined) : undefined, isThread ? undefined : () => this.#forkConfig());
    // tinypool reports a worker lost while idle as a pool 'error'; we handle every loss ourselves.
    this.tp.on('error', () => {});
  }

  #config(number: number | undefined): WorkerConfig {
    const names = pythonNames();
    return {
      prefix: this.#settings.namePrefix,
      parent: currentProcess().name,
      counter: number === undefined ? this.#control : undefined,
      number,
      initializer: this.#settings.initializer ?? null,
      preload: names ? [names] : undefined,
      maxTasks: this.#settings.maxTasksPerChild ?? 0,
      channel: this.#channelName,
      progress: this.#progress,
    };
  }

  /**
   * A child's configuration, read as tinypool forks it: in its environment, so that it starts without asking
   * (a round trip to this thread before its first batch). Undefined when too large for an environment
   * variable (large initializer arguments): that child asks in its hello instead.
   */
  #forkConfig(): string | undefined {
    const number = this.#workerNumber + 1;
    let encoded: string;
    try {
      encoded = v8Codec().serialize(this.#config(number)).toString('base64');
    } catch {
      return undefined; // the welcome says why
    }
    if (encoded.length > MAX_ENV_CONFIG) return undefined;
    this.#workerNumber = number;
    return encoded;
  }

  get ids(): number[] {
    return [...this.#byId.keys()];
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: number): WatchedWorker | undefined {
    return this.#byId.get(id);
  }

  /** destroy() was called: the workers are being stopped. */
  get destroying(): boolean {
    return this.#destroying !== null;
  }

  /** Starts watching the workers tinypool created since we last looked (it creates them inside its own calls). */
  adoptNew(): void {
    for (const handle of newWorkers(this.tp, this.#watched, this.relay)) {
      const worker = new WatchedWorker(handle, this.#events);
      this.#byId.set(worker.id, worker);
      worker.dieWithParent();
    }
  }

  /** A worker has exited and was reported: forget it. Returns whether tinypool still counted it as serving (a loss). */
  forget(worker: WatchedWorker): boolean {
    this.#byId.delete(worker.id);
    return isServing(this.tp, worker.handle);
  }

  /**
   * A child process said hello: it gets its number, name and configuration (and `close` when the pool is
   * stopping); one that found its configuration in its environment says its number (`n`) instead.
   */
  welcome(worker: WatchedWorker, stopping: boolean, n?: number): void {
    if (n !== undefined) {
      worker.name = `${this.#settings.namePrefix}-${n}`;
    } else {
      const number = ++this.#workerNumber;
      worker.name = `${this.#settings.namePrefix}-${number}`;
      worker.send({ [NOTE]: 1, t: 'welcome', config: this.#config(number) });
    }
    if (stopping) worker.send({ [NOTE]: 1, t: 'close' });
  }

  /** A thread took number `n` from the shared counter. */
  named(worker: WatchedWorker, n: number): void {
    worker.name = `${this.#settings.namePrefix}-${n}`;
  }

  /** Starts a worker where tinypool would not by itself (after a start-up failure), and watches it. */
  kick(): void {
    startWorker(this.tp);
    this.adoptNew();
  }

  /** Retires a worker (maxTasksPerChild): it runs its exit hooks and exits; tinypool then replaces it. */
  retire(worker: WatchedWorker): void {
    if (worker.advance('retiring')) this.#tell(worker, { t: 'retire', w: worker.id });
  }

  /** The pool is closing: every worker runs its exit hooks and says 'flushed'. */
  close(): void {
    Atomics.store(this.#control, 1, 1); // thread workers still starting see it
    this.#tell(null, { t: 'close' });
  }

  /** At close: no worker still has exit hooks to run (only those holding some, or not started yet, are waited for). */
  allFlushed(): boolean {
    // Only workers holding exit hooks are waited for, and, when there is an initializer, one not started yet
    // (its initializer may still add some). Without one, a worker still booting has run no code of the user's:
    // it is stopped where it is, as tinypool's destroy does, rather than waited for.
    const bootMayHook = this.#settings.initializer !== undefined;
    for (const worker of this.#byId.values()) {
      if (!worker.flushed && !worker.gone && (worker.hasHooks || (!worker.started && bootMayHook))) return false;
    }
    return true;
  }

  #tell(worker: WatchedWorker | null, msg: Control): void {
    if (this.#settings.runtime === 'thread') {
      this.#channel!.postMessage(msg);
      return;
    }
    const targets = worker ? [worker] : [...this.#byId.values()];
    for (const w of targets) if (!w.exited) w.send({ [NOTE]: 1, ...msg });
  }

  /** tinypool stops every worker; once all have exited, `exited` is told. */
  destroy(): Promise<void> {
    if (this.#destroying) return this.#destroying;
    // tinypool waits for each worker's 'exit': one that already exited must be handed to it first
    for (const worker of [...this.#byId.values()]) worker.flushExit();
    this.#destroying = this.tp.destroy().then(
      () => this.#finishExit(),
      () => this.#finishExit(),
    );
    return this.#destroying;
  }

  #finishExit(): void {
    // every worker has exited: report those whose last output we were still waiting for
    for (const worker of [...this.#byId.values()]) worker.flushExit();
    this.#byId.clear();
    this.#channel?.close();
    this.#events.exited();
  }
}

/** The URL of multiproc/python's names module, when this program loaded it: its workers load it too. */
function pythonNames(): string | undefined {
  return (globalThis as any)[Symbol.for('multiproc.pythonNames')];
}
