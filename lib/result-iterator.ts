/**
 * ResultIterator: what imap/imapUnordered return. Pulls the input lazily and keeps a bounded
 * number of items in flight, so an endless or huge iterable does not flood memory; the bound
 * lifts when the pool is closed, because then nothing else can come and join() must finish.
 */
import { TimeoutError } from './base/errors.js';
import { normalizeTimeout, raceTimeout, type Timeout } from './base/timeout.js';
import { Deque } from './engine/deque.js';

type Entry = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Submits one chunk of items starting at position `base` of the input; `done` gets the chunk's results (or its error). */
export type ChunkSubmitter = (items: unknown[], base: number, done: (ok: boolean, value: unknown) => void) => void;

/** Submits one item, at position `index` of the input, as a call of its own; `done` gets its result (or its error). */
export type ItemSubmitter = (item: unknown, index: number, done: (ok: boolean, value: unknown) => void) => void;

export class ResultIterator<R> implements AsyncIterableIterator<R> {
  readonly #submit: ChunkSubmitter;
  readonly #submitItem: ItemSubmitter | undefined;
  readonly #ordered: boolean;
  readonly #chunksize: number;
  readonly #window: number;
  readonly #toItem: (item: unknown) => unknown;
  readonly #onProgress: ((done: number) => void) | undefined;
  readonly #dropPending: (() => void) | undefined;
  #itemsSubmitted = 0;
  #aborted = false;
  #itemsDone = 0;
  #syncSource: Iterator<unknown> | null = null;
  #asyncSource: AsyncIterator<unknown> | null = null;
  #filling = false;
  #sourceDone = false;
  #unbounded = false;
  #buffered = 0;
  // ordered: chunk slots by index; unordered: a single arrival queue
  readonly #slots = new Map<number, Entry[] | null>();
  #submittedChunks = 0;
  #nextChunk = 0;
  #posInChunk = 0;
  readonly #arrived = new Deque<Entry>();
  #wake: (() => void) | null = null;
  #finished = false;

  /** @internal made by Pool.imap / imapUnordered */
  constructor(opts: {
    source: Iterable<unknown> | AsyncIterable<unknown>;
    submit: ChunkSubmitter;
    /**
     * With chunksize 1: items go as calls of their own, with no list around each item or its result
     * (a chunk of one costs a list each way, and a walk of each to encode it).
     */
    submitItem?: ItemSubmitter;
    ordered: boolean;
    chunksize: number;
    window: number;
    toItem: (item: unknown) => unknown;
    /** Aborting stops reading the input; the next step throws `abortError()`. */
    signal?: AbortSignal;
    abortError?: () => Error;
    /** Called with the number of items done so far, as chunks complete. */
    onProgress?: (done: number) => void;
    /** Called when the loop is left early: drop the submitted chunks no worker has started. */
    dropPending?: () => void;
  }) {
    this.#submit = opts.submit;
    this.#submitItem = opts.chunksize === 1 ? opts.submitItem : undefined;
    this.#ordered = opts.ordered;
    this.#chunksize = opts.chunksize;
    this.#window = Math.max(opts.window, opts.chunksize);
    this.#toItem = opts.toItem;
    this.#onProgress = opts.onProgress;
    this.#dropPending = opts.dropPending;
    const src = opts.source as any;
    if (src != null && typeof src[Symbol.asyncIterator] === 'function') this.#asyncSource = src[Symbol.asyncIterator]();
    else if (src != null && typeof src[Symbol.iterator] === 'function') this.#syncSource = src[Symbol.iterator]();
    else throw new TypeError(`the iterable argument is not iterable (got ${src === null ? 'null' : typeof src})`);
    const signal = opts.signal;
    if (signal) {
      const abort = () => this.#abort(opts.abortError!());
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    }
    this.#fill();
  }

  /** Cancelled: nothing more is read or delivered; the next step throws `err`, then the iterator is done. */
  #abort(err: Error): void {
    if (this.#finished || this.#aborted) return;
    this.#aborted = true;
    this.#sourceDone = true;
    this.#slots.clear();
    this.#arrived.drain();
    this.#buffered = 1;
    this.#nextChunk = this.#submittedChunks;
    this.#posInChunk = 0;
    this.#deliver(this.#submittedChunks++, [{ ok: false, error: err }]);
  }

  /** @internal the pool was closed: feed everything, so join() can complete. */
  unbound(): void {
    this.#unbounded = true;
    this.#fill();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next result; rejects with TimeoutError if none is ready in `timeout` ms (the iterator stays usable). */
  async next(timeout?: Timeout): Promise<IteratorResult<R>> {
    const ms = normalizeTimeout(timeout);
    for (;;) {
      const taken = this.#take();
      if (taken === 'done') return { done: true, value: undefined };
      if (taken !== null) {
        if (!taken.ok) throw taken.error;
        return { done: false, value: taken.value as R };
      }
      const signal = new Promise<void>((resolve) => (this.#wake = resolve));
      if (ms === undefined) {
        await signal; // nothing to race without a timeout
        continue;
      }
      const outcome = await raceTimeout(signal, ms);
      if (outcome.timedOut) {
        this.#wake = null;
        throw new TimeoutError();
      }
    }
  }

  /** Stops early: no more input is read; tasks not started are dropped, results of running ones ignored. */
  async return(): Promise<IteratorResult<R>> {
    const wasFinished = this.#finished;
    this.#finished = true;
    this.#sourceDone = true;
    if (!wasFinished && this.#buffered > 0) this.#dropPending?.();
    try {
      if (this.#syncSource?.return) this.#syncSource.return();
      if (this.#asyncSource?.return) await this.#asyncSource.return();
    } catch {
      // closing the input is best effort
    }
    return { done: true, value: undefined };
  }

  #take(): Entry | 'done' | null {
    if (this.#finished) return 'done';
    let entry: Entry | null = null;
    if (this.#ordered) {
      const slot = this.#slots.get(this.#nextChunk);
      if (slot) {
        entry = slot[this.#posInChunk++];
        if (this.#posInChunk >= slot.length) {
          this.#slots.delete(this.#nextChunk++);
          this.#posInChunk = 0;
        }
      }
    } else {
      entry = this.#arrived.shift() ?? null;
    }
    if (entry) {
      // Refilled once half the window is free, not after every item: what is read then goes out in a few
      // large batches instead of a trickle of runs of one or two items.
      if (--this.#buffered <= this.#window / 2) this.#fill();
      return entry;
    }
    if (this.#sourceDone && this.#buffered <= 0 && !this.#filling) {
      this.#finished = true;
      return 'done';
    }
    return null;
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #deliver(index: number, entries: Entry[]): void {
    if (this.#finished) return;
    if (this.#ordered) this.#slots.set(index, entries);
    else for (const e of entries) this.#arrived.push(e);
    this.#signal();
  }

  /** #deliver for a chunk of one item, without a list around it where it can be avoided. */
  #deliverOne(index: number, entry: Entry): void {
    if (this.#finished) return;
    if (this.#ordered) this.#slots.set(index, [entry]);
    else this.#arrived.push(entry);
    this.#signal();
  }

  #submitChunk(items: unknown[]): void {
    const index = this.#submittedChunks++;
    const count = items.length;
    const base = this.#itemsSubmitted;
    this.#itemsSubmitted += count;
    this.#buffered += count;
    if (this.#ordered) this.#slots.set(index, null);
    if (this.#submitItem && count === 1) {
      this.#submitItem(items[0], base, (ok, value) => {
        if (this.#finished || this.#aborted) return;
        this.#onProgress?.(++this.#itemsDone);
        this.#deliverOne(index, ok ? { ok: true, value } : { ok: false, error: value });
      });
      return;
    }
    this.#submit(items, base, (ok, value) => {
      if (this.#finished || this.#aborted) return; // given up, or aborted
      this.#itemsDone += count;
      this.#onProgress?.(this.#itemsDone);
      if (ok) this.#deliver(index, Array.from(value as ArrayLike<unknown>, (v) => ({ ok: true as const, value: v })));
      else {
        // a failed chunk counts as one item: the error is raised once, where the chunk stood
        this.#buffered -= count - 1;
        this.#deliver(index, [{ ok: false, error: value }]);
      }
    });
  }

  #sourceFailed(err: unknown): void {
    const index = this.#submittedChunks++;
    this.#buffered += 1;
    this.#sourceDone = true;
    this.#deliver(index, [{ ok: false, error: err }]);
  }

  #room(): boolean {
    return !this.#sourceDone && (this.#unbounded || this.#buffered < this.#window);
  }

  #fill(): void {
    if (this.#filling || !this.#room()) return;
    if (this.#syncSource) this.#fillSync(this.#syncSource);
    else void this.#fillAsync(this.#asyncSource!);
  }

  #fillSync(it: Iterator<unknown>): void {
    this.#filling = true;
    try {
      while (this.#room()) {
        const chunk: unknown[] = [];
        try {
          while (chunk.length < this.#chunksize) {
            const step = it.next();
            if (step.done) {
              this.#sourceDone = true;
              break;
            }
            chunk.push(this.#toItem(step.value));
          }
        } catch (err) {
          // As Python's Pool: a chunk whose reading fails is replaced by the error, and the items it had
          // read are dropped (imap(f, gen, 4) over a generator failing at item 7 gives 0..3, then the error).
          this.#sourceFailed(err);
          break;
        }
        if (chunk.length) this.#submitChunk(chunk);
      }
    } finally {
      this.#filling = false;
    }
    if (this.#sourceDone) this.#signal();
  }

  async #fillAsync(it: AsyncIterator<unknown>): Promise<void> {
    this.#filling = true;
    try {
      while (this.#room()) {
        const chunk: unknown[] = [];
        try {
          while (chunk.length < this.#chunksize) {
            const step = await it.next();
            if (step.done) {
              this.#sourceDone = true;
              break;
            }
            chunk.push(this.#toItem(step.value));
          }
        } catch (err) {
          // As Python's Pool: a chunk whose reading fails is replaced by the error, and the items it had
          // read are dropped (imap(f, gen, 4) over a generator failing at item 7 gives 0..3, then the error).
          this.#sourceFailed(err);
          break;
        }
        if (chunk.length) this.#submitChunk(chunk);
      }
    } finally {
      this.#filling = false;
    }
    this.#signal();
  }
}
