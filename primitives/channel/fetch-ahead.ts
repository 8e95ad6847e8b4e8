/**
 * A process worker's `get` from a queue: items fetched ahead, so a stream of gets costs one round
 * trip per run of items instead of one per item, without giving up what a get means in Python.
 *
 * - The creator lends up to `window` items at once (QueueCore.getPacked); they count as in the queue
 *   until this worker reports them got. Each get returns the next one; the report rides ahead of
 *   this thread's next request to the creator (any primitive), so whoever this worker signals next
 *   sees qsize()/empty()/room as after its gets.
 * - Items it does not use go back to the FRONT of the queue when it stops consuming: at the next
 *   turn of its event loop (it awaits something else), before it waits in a blocking call, when it
 *   closes the queue, after each task and at exit — and the creator takes them back if it dies. So a
 *   consumer never strands items another consumer is waiting for, and none is lost with it.
 * - The window adapts: it doubles while the consumer comes back for more at once (a run used up
 *   within HOLD_MS, no event-loop turn), and halves when items had to be given back or a run took
 *   long to use: a consumer that works long on each item, or awaits something between gets, fetches
 *   one at a time and never sits on items others could take.
 *
 * Ordering: items come out in queue order. Given-back items are got again first, so they may come
 * after later items of the same producer that another consumer got meanwhile (only then).
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import type { BeforeNext } from '../transport/link.js';
import { BEFORE_NEXT } from '../transport/remote-core.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { FrameReader, type Packed } from '../kernel/frames.js';

/** The queue core calls a fetching consumer makes (a remote core). */
export interface LendingCore {
  getPacked(max: number, block: boolean, timeout: number | null, owner: string, consumed: number): Promise<Packed | null>;
  getPackedSync(max: number, block: boolean, timeout: number | null, owner: string, consumed: number): Packed | null;
  settleLent(consumed: number, giveBack: boolean, owner: string): void;
  [BEFORE_NEXT](hook: BeforeNext): void;
}

/** A run used up within this time (ms) lets the window grow. */
const HOLD_MS = 1;
const MAX_WINDOW = 4096;
let fixedWindow: number | null = null;

/** Tests: every fetch of this thread asks for exactly `n` items (null: adapt again), so holding items is deterministic. */
export function fixWindowForTests(n: number | null): void {
  fixedWindow = n;
}

export class FetchAhead {
  readonly #core: LendingCore;
  #reader: FrameReader | null = null;
  /** Items got from lent runs and not yet reported. */
  #consumed = 0;
  #window = 1;
  #arrived = 0;
  /** No event-loop turn since the current run arrived. */
  #fresh = false;
  #hooked = false;
  #pauseCheck = false;

  constructor(core: LendingCore) {
    this.#core = core;
  }

  /** The next item fetched ahead, or undefined when none is left. */
  take(): Encoded | undefined {
    const r = this.#reader;
    if (r === null) return undefined;
    const frame = r.next();
    this.#consumed++;
    if (!this.#hooked) {
      this.#hooked = true;
      this.#core[BEFORE_NEXT](this.#beforeNext);
    }
    if (r.left === 0) this.#reader = null;
    return frame;
  }

  /** Fetches a run (waiting as get does) and takes its first item; null when none came. */
  async fetch(block: boolean, timeout: number | undefined): Promise<Encoded | null> {
    const consumed = this.#consumed;
    this.#consumed = 0;
    const run = await this.#core.getPacked(this.#adapt(), block, timeout ?? null, LOCAL_OWNER, consumed); // null: JSON carries it
    return run === null ? null : this.#arrive(run);
  }

  /** Blocking twin of {@link fetch}. */
  fetchSync(block: boolean, timeout: number | undefined): Encoded | null {
    const consumed = this.#consumed;
    this.#consumed = 0;
    const run = this.#core.getPackedSync(this.#adapt(), block, timeout ?? null, LOCAL_OWNER, consumed);
    return run === null ? null : this.#arrive(run);
  }

  /**
   * The window for the next run: doubled when this consumer comes back for more at once (the last run
   * used up within HOLD_MS, no event-loop turn since it came), halved when it took long.
   */
  #adapt(): number {
    if (fixedWindow !== null) return fixedWindow;
    if (this.#arrived !== 0) {
      const took = performance.now() - this.#arrived;
      if (this.#fresh && took < HOLD_MS) this.#window = Math.min(MAX_WINDOW, this.#window * 2);
      else if (took > 2 * HOLD_MS) this.#window = Math.max(1, this.#window >> 1);
    }
    return this.#window;
  }

  /** Reports what was got and gives back what was not (the handle closes). */
  giveBack(): void {
    this.#settle(true);
  }

  #arrive(run: Packed): Encoded {
    this.#reader = new FrameReader(run);
    this.#arrived = performance.now();
    this.#fresh = true;
    if (!this.#pauseCheck) {
      this.#pauseCheck = true;
      setImmediate(this.#onTurn).unref();
    }
    return this.take()!;
  }

  /** The event loop turned: this worker is doing something else, so what it holds goes back. */
  readonly #onTurn = () => {
    this.#pauseCheck = false;
    this.#fresh = false;
    if (this.#reader !== null) this.#settle(true);
  };

  readonly #beforeNext = (blocking: boolean) => {
    this.#hooked = false;
    this.#settle(blocking);
    // Still holding items after a request that does not wait (`ev.set()`): a blocking call may come
    // next (`go.waitSync()`), with no event-loop turn between, and must give them back first.
    if (this.#reader !== null) {
      this.#hooked = true;
      this.#core[BEFORE_NEXT](this.#beforeNext);
    }
  };

  #settle(giveBack: boolean): void {
    const back = giveBack && this.#reader !== null;
    if (this.#consumed === 0 && !back) return;
    const consumed = this.#consumed;
    this.#consumed = 0;
    if (back) {
      this.#reader = null;
      this.#window = Math.max(1, this.#window >> 1);
    }
    try {
      this.#core.settleLent(consumed, back, LOCAL_OWNER);
    } catch {
      // the creator is gone: nothing left to report to (and it takes back what we held)
    }
  }
}
