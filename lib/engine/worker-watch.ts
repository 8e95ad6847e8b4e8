/**
 * Our watch over one tinypool worker. tinypool starts, feeds and replaces workers; what it does not
 * see, we add here (tinypool-notes.md):
 * - death: a thread that calls process.exit() leaves tinypool's task pending (#4), and a crash reaches
 *   tinypool with the bare error or "Worker exited unexpectedly" (#5, #6). We take tinypool's 'error'
 *   listeners off the worker and call them ourselves once the worker has exited and everything it sent
 *   has been read (its notes, its last output), with a WorkerLostError that names the worker: tinypool
 *   then rejects the worker's runs with it and starts a replacement, down its own failure path.
 * - output: bytes received from the worker's stdout/stderr, so results settle after their output;
 * - notes: the messages a worker sends beside tinypool's replies (protocol.ts).
 */
import type { ChildProcess } from 'node:child_process';
import type { Worker as NodeWorker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { NOTE, type Note } from '../worker/protocol.js';

/** The parts of a tinypool worker object (ThreadWorker / ProcessWorker) we use. */
export interface TinypoolWorkerObject {
  threadId: number;
  thread?: NodeWorker;
  process?: ChildProcess & { connected: boolean };
  onUnexpectedExit?: () => void;
  isTerminating?: boolean;
}

export interface WatchEvents {
  /** A note from the worker. */
  note(worker: WatchedWorker, note: Note): void;
  /** The worker exited and everything it sent has been read. `failWith` hands tinypool the error. */
  exit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void;
}

/** How long a child process's pipes may stay open after it exited (a grandchild may hold them). */
const DRAIN_AFTER_EXIT_MS = 250;

export class WatchedWorker {
  readonly tw: TinypoolWorkerObject;
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

  constructor(tw: TinypoolWorkerObject, events: WatchEvents) {
    this.tw = tw;
    this.id = tw.threadId;
    const emitter = (tw.thread ?? tw.process)!;
    this.runtime = tw.thread ? 'thread' : 'process';
    this.#countOutput(emitter.stdout, 'out');
    this.#countOutput(emitter.stderr, 'err');

    // tinypool's failure path, called by us at the right time with the right error.
    const tinypoolOnError = emitter.listeners('error') as ((err: unknown) => void)[];
    for (const listener of tinypoolOnError) emitter.off('error', listener);
    const failWith = (error: Error) => {
      for (const listener of tinypoolOnError) listener(error);
    };
    emitter.on('error', (err: unknown) => {
      this.lastError = err;
      // a child that could not be started at all never exits: fail it now
      if (this.runtime === 'process' && tw.process!.pid === undefined && !this.gone) {
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
        } else if (msg.ready === true) {
          this.started = true;
        }
      }
    });

    if (this.runtime === 'thread') {
      // 'exit' comes after Node has drained the thread's ports: its notes and output are in.
      tw.thread!.on('exit', (code) => {
        this.exited = true;
        this.#exited(events, code, null, failWith);
      });
    } else {
      const child = tw.process!;
      child.off('exit', tw.onUnexpectedExit!);
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
