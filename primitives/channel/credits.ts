/**
 * A process worker's puts into a bounded queue: room for a few items is reserved in one round trip,
 * then each put goes out without waiting (in order, packed with its neighbours). Unused room goes
 * back as soon as the producer pauses (the next turn of its event loop), so a paused producer never
 * makes the queue look full to others for long.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import { LOCAL_OWNER } from '../kernel/owner.js';

/** The queue core calls a producer with credits makes (a remote core). */
export interface CreditCore {
  reserve(want: number, block: boolean, timeout: number | undefined, owner: string): Promise<number>;
  putReserved(msg: Encoded, owner: string): void;
  unreserve(n: number, owner: string): void;
}

export class Credits {
  readonly #core: CreditCore;
  readonly #want: number;
  #held = 0;
  #returning = false;
  /** A reservation asked for ahead of need (async puts), so a steady stream never waits for one. */
  #ahead: Promise<void> | null = null;

  constructor(core: CreditCore, maxsize: number) {
    this.#core = core;
    // Half the queue at most: each reservation is a round trip, so a stream reserves in big batches;
    // what a producer does not use goes back when it pauses.
    this.#want = Math.max(1, Math.min(1024, Math.floor(maxsize / 2)));
  }

  /** Puts into reserved room if some is held; false if the caller must reserve first. */
  tryPut(msg: Encoded): boolean {
    if (this.#held === 0) return false;
    this.#held--;
    this.#core.putReserved(msg, LOCAL_OWNER);
    return true;
  }

  /** Took `n` slots: keeps the rest for the next puts, gives them back at the next pause. */
  took(n: number): void {
    this.#held += n;
    if (this.#returning || this.#held === 0) return;
    this.#returning = true;
    setImmediate(() => {
      this.#returning = false;
      if (this.#held > 0) {
        const n = this.#held;
        this.#held = 0;
        try {
          this.#core.unreserve(n, LOCAL_OWNER);
        } catch {
          // the creator is gone: it took the credits back when we went away from it
        }
      }
    }).unref();
  }

  get want(): number {
    return this.#want;
  }

  /**
   * For async puts: when half the credits are spent, asks for a whole batch more without waiting (no
   * room: none). Its answer is read when the producer next yields (it runs out), so each batch costs
   * one such pause: the bigger the batch, the fewer.
   */
  topUp(): void {
    if (this.#ahead !== null || this.#held * 2 > this.#want) return;
    this.#ahead = this.#core.reserve(this.#want, false, undefined, LOCAL_OWNER).then(
      (n) => {
        this.#ahead = null;
        this.took(n);
      },
      () => {
        this.#ahead = null; // the next put asks again and reports the failure
      },
    );
  }

  /** The reservation asked for ahead, if any (an async put out of credits waits for it first). */
  get ahead(): Promise<void> | null {
    return this.#ahead;
  }
}

