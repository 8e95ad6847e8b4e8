/**
 * Our watch over one tinypool worker, through its runtime adapter (lib/runtime/: exit, messages, output
 * read the same for a thread and a child). tinypool starts, feeds and replaces workers; what it does not
 * see, we add here:
 * - death: a thread that calls process.exit() leaves tinypool's run pending, and a crash reaches
 *   tinypool with the bare error or "Worker exited unexpectedly". Once the worker has exited and
 *   everything it sent has been read (its notes, its last output), the engine fails it down tinypool's
 *   own failure path (WorkerHandle.fail) with a WorkerLostError that names the worker;
 * - output: bytes received from the worker's stdout/stderr, so results settle after their output;
 * - notes: the messages a worker sends beside tinypool's replies (protocol.ts).
 */
import type { Readable } from 'node:stream';
import { NOTE, type Note } from '../protocol/messages.js';
import { runtimeAdapter, type RuntimeWorker } from '../runtime/index.js';
import { isReadyMessage, type WorkerHandle } from './tinypool-adapter.js';

export interface WatchEvents {
  /** A note from the worker. */
  note(worker: WatchedWorker, note: Note): void;
  /** The worker exited and everything it sent has been read. `failWith` hands tinypool the error. */
  exit(worker: WatchedWorker, code: number | null, signal: string | null, failWith: (error: Error) => void): void;
}

/**
 * A worker's life, as the engine sees it:
 * - starting: tinypool made it; it has said nothing yet (a death now is a start-up failure);
 * - ready: it answered (tinypool's handshake, a note of ours, a reply);
 * - retiring: we asked it to exit (maxTasksPerChild); its exit is expected;
 * - flushed: the pool is closing; it ran its exit hooks and waits to be stopped;
 * - exited: its thread or process ended; what it sent last may still be on its way;
 * - gone: everything it sent has been read, and the engine was told.
 */
export type WorkerState = 'starting' | 'ready' | 'retiring' | 'flushed' | 'exited' | 'gone';

/** The transitions a worker may take; any other event comes late (a message from a retiring worker) and changes nothing. */
const NEXT: Record<WorkerState, readonly WorkerState[]> = {
  starting: ['ready', 'exited', 'gone'], // gone: a child process that could not be spawned never exits
  ready: ['retiring', 'flushed', 'exited'],
  retiring: ['flushed', 'exited'],
  flushed: ['exited'],
  exited: ['gone'],
  gone: [],
};

export class WatchedWorker {
  readonly handle: WorkerHandle;
  /** Thread id or pid. */
  readonly id: number;
  readonly runtime: 'thread' | 'process';
  #state: WorkerState = 'starting';
  /** The last state it had while alive: what it was doing when it exited. */
  #lastAlive: WorkerState = 'starting';
  name = '';
  /** The worker's last word before dying, if it had time to say it. */
  dying: Extract<Note, { t: 'dying' }> | null = null;
  /** It said it holds exit hooks (BatchReply.hooks): at close it must run them before it is stopped. */
  hasHooks = false;
  /** Runs of this worker failed so far because it died (the first may have started; later ones waited). */
  lostRuns = 0;

  get state(): WorkerState {
    return this.#state;
  }

  /** Moves to `next` if the worker's life allows it from where it is; returns whether it moved. */
  advance(next: WorkerState): boolean {
    if (this.#state === 'exited' && next !== 'gone') {
      // a message it sent before exiting, read after the exit (a child's IPC drains later): it tells
      // what the worker was doing when it exited
      if (!NEXT[this.#lastAlive].includes(next) || next === 'exited') return false;
      this.#lastAlive = next;
      return true;
    }
    if (!NEXT[this.#state].includes(next)) return false;
    if (this.#state !== 'exited') this.#lastAlive = this.#state;
    this.#state = next;
    return true;
  }

  /** It answered before it exited, and did not die in its initializer: a death is not a start-up failure. */
  get started(): boolean {
    return this.#alive() !== 'starting' && !(this.dying && 'init' in this.dying);
  }

  /** It was asked to exit (maxTasksPerChild). */
  get retiring(): boolean {
    return this.#alive() === 'retiring';
  }

  /** We asked it to exit (retiring) or to be ready to be stopped (flushed): its exit is no loss. */
  get exitExpected(): boolean {
    const alive = this.#alive();
    return alive === 'retiring' || alive === 'flushed';
  }

  /** At close: it ran its exit hooks. */
  get flushed(): boolean {
    return this.#alive() === 'flushed';
  }

  get exited(): boolean {
    return this.#state === 'exited' || this.#state === 'gone';
  }

  get gone(): boolean {
    return this.#state === 'gone';
  }

  #alive(): WorkerState {
    return this.exited ? this.#lastAlive : this.#state;
  }

  /** The worker through its runtime's adapter. */
  readonly #worker: RuntimeWorker;
  lastError: unknown;
  #outSeen = 0;
  #errSeen = 0;
  #waiters: { out: number; err: number; run: () => void }[] = [];

  constructor(handle: WorkerHandle, events: WatchEvents) {
    this.handle = handle;
    this.id = handle.id;
    this.runtime = handle.runtime;
    const worker = (this.#worker = runtimeAdapter(handle.runtime).wrap(handle.emitter));
    this.#countOutput(worker.stdout, 'out');
    this.#countOutput(worker.stderr, 'err');
    worker.onMessage((msg: any) => {
      if (msg !== null && typeof msg === 'object') {
        if (msg[NOTE]) {
          this.advance('ready');
          events.note(this, msg[NOTE] as Note);
        } else if (isReadyMessage(msg)) {
          this.advance('ready');
        }
      }
    });
    worker.onExit(() => this.advance('exited'));
    // Reported once everything it sent has been read (a child's IPC and pipes drain after its exit).
    worker.onGone((info) => {
      this.lastError = info.error;
      if (!this.advance('gone')) return;
      this.#releaseWaiters();
      events.exit(this, info.code, info.signal, handle.fail);
    });
  }

  /** A message of ours beside tinypool's (a child process only: threads hear the pool's channel). */
  send(message: unknown): void {
    this.#worker.send(message);
  }

  /** A child process must not outlive this process, however it ends. */
  dieWithParent(): void {
    this.#worker.dieWithParent(true);
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
    this.#worker.stopDraining();
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
}
