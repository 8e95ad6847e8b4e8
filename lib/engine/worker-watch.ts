/**
 * Our watch over one tinypool worker. tinypool starts, feeds and replaces workers; what it does not
 * see, we add here:
 * - death: a thread that calls process.exit() leaves tinypool's run pending, and a crash reaches
 *   tinypool with the bare error or "Worker exited unexpectedly". Once the worker has exited and
 *   everything it sent has been read (its notes, its last output), the engine fails it down tinypool's
 *   own failure path (WorkerHandle.fail) with a WorkerLostError that names the worker;
 * - output: bytes received from the worker's stdout/stderr, so results settle after their output;
 * - notes: the messages a worker sends beside tinypool's replies (protocol.ts).
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { NOTE, type Note } from '../worker/protocol.js';
import { isReadyMessage, type WorkerHandle } from './tinypool-adapter.js';

export interface WatchEvents {
  /** A note from the worker. */
  note(worker: WatchedWorker, note: Note): void;
  /** The worker exited and everything it sent has been read. `failWith` hands tinypool the error. */
  exit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void;
}

/** How long a child process's pipes may stay open after it exited (a grandchild may hold them). */
const DRAIN_AFTER_EXIT_MS = 250;

export class WatchedWorker {
  readonly handle: WorkerHandle;
  /** Thread id or pid. */
  readonly id: number;
  readonly runtime: 'thread' | 'process';
  /** Set once it answered tinypool's start-up or sent a note: a death before that is a start-up failure. */
  started = false;
  name = '';
  /** The worker's last word before dying, if it had time to say it. */
  dying: Extract<Note, { t: 'dying' }> | null = null;
  /** The worker reached maxTasksPerChild; its exit is expected. */
  retiring = false;
  /** We asked it to exit (close, retire). */
  exitRequested = false;
  /** At close: it ran its exit hooks and waits to be stopped. */
  flushed = false;
  /** It said it holds exit hooks (BatchReply.hooks): at close it must run them before it is stopped. */
  hasHooks = false;
  /** Runs of this worker failed so far because it died (the first may have started; later ones waited). */
  lostRuns = 0;
  /** It exited; `gone` once everything it sent has been read and the engine was told. */
  exited = false;
  gone = false;
  #finishExit: (() => void) | null = null;
  lastError: unknown;
  #outSeen = 0;
  #errSeen = 0;
  #waiters: { out: number; err: number; run: () => void }[] = [];

  constructor(handle: WorkerHandle, events: WatchEvents) {
    this.handle = handle;
    this.id = handle.id;
    this.runtime = handle.runtime;
    const emitter = handle.emitter;
    this.#countOutput(emitter.stdout, 'out');
    this.#countOutput(emitter.stderr, 'err');
    const failWith = handle.fail;
    emitter.on('error', (err: unknown) => {
      this.lastError = err;
      // a child that could not be started at all never exits: fail it now
      if (this.runtime === 'process' && handle.child!.pid === undefined && !this.gone) {
        this.gone = true;
        this.#releaseWaiters();
        events.exit(this, null, null, failWith);
      }
    });

    emitter.on('message', (msg: any) => {
      if (msg !== null && typeof msg === 'object') {
        if (msg[NOTE]) {
          this.started = true;
          events.note(this, msg[NOTE] as Note);
        } else if (isReadyMessage(msg)) {
          this.started = true;
        }
      }
    });

    if (this.runtime === 'thread') {
      // 'exit' comes after Node has drained the thread's ports: its notes and output are in.
      (emitter as NodeWorker).on('exit', (code) => {
        this.exited = true;
        this.#exited(events, code, null, failWith);
      });
    } else {
      const child = handle.child!;
      child.on('exit', (code, signal) => {
        this.exited = true;
        // Notes travel on the IPC channel and output on pipes: wait until they are read, not longer than needed.
        const finish = () => {
          if (this.#finishExit === null) return;
          this.#finishExit = null;
          clearTimeout(timer);
          this.#exited(events, code, signal, failWith);
        };
        this.#finishExit = finish;
        const timer = setTimeout(finish, DRAIN_AFTER_EXIT_MS);
        child.once('close', finish);
      });
    }
  }

  #countOutput(stream: Readable | null | undefined, which: 'out' | 'err'): void {
    if (!stream) return;
    stream.on('data', (chunk: Buffer | string) => {
      // tinypool piped this stream to ours before this listener was added: the bytes are printed already
      if (which === 'out') this.#outSeen += chunk.length;
      else this.#errSeen += chunk.length;
      this.#runWaiters();
    });
  }

  /** An exit still waiting for the last output is reported now (the pool is being torn down). */
  flushExit(): void {
    this.#finishExit?.();
  }

  /** Runs `fn` once the worker's first `out`/`err` bytes of output have been printed (at once if they have). */
  afterOutput(out: number, err: number, fn: () => void): void {
    if (this.gone || (this.#waiters.length === 0 && this.#outSeen >= out && this.#errSeen >= err)) fn();
    else this.#waiters.push({ out, err, run: fn });
  }

  #runWaiters(): void {
    while (this.#waiters.length > 0) {
      const w = this.#waiters[0];
      if (this.#outSeen < w.out || this.#errSeen < w.err) return;
      this.#waiters.shift();
      w.run();
    }
  }

  #releaseWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.run();
  }

  #exited(events: WatchEvents, code: number | null, signal: string | null, failWith: (error: Error) => void): void {
    if (this.gone) return;
    this.gone = true;
    this.#releaseWaiters();
    events.exit(this, code, signal, failWith);
  }
}
