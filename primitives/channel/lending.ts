/**
 * Items a queue lent to consumers in other processes, by consumer (owner), kept by the creator's
 * broker until the consumer says it got them.
 *
 * A process worker's `get` fetches items ahead in one round trip; until it reports them as got
 * (acknowledged: they left the queue), they still count as in the queue (`LENT`, for qsize and for
 * a bounded queue's room), and the broker keeps a copy. What the consumer does not use goes back to
 * the FRONT of the queue: when it pauses, before it blocks, when it ends, or when it dies — so an
 * item fetched ahead is never lost with its consumer, and never stranded with one that stopped.
 */
import { FrameReader, type Packed } from '../kernel/frames.js';
import { LENT, type MessageRing } from './ring.js';

export class Lending {
  readonly #ring: MessageRing;
  readonly #byOwner = new Map<string, FrameReader[]>();
  /** Room was freed (the queue wakes its putters as it sees fit). */
  readonly #freed: () => void;

  constructor(ring: MessageRing, freed: () => void) {
    this.#ring = ring;
    this.#freed = freed;
  }

  /** Records `run` (already counted in LENT by the ring) as lent to `owner`. */
  lend(owner: string, run: Packed): void {
    let runs = this.#byOwner.get(owner);
    if (!runs) this.#byOwner.set(owner, (runs = []));
    runs.push(new FrameReader(run));
  }

  /** `owner` got the first `n` items it holds: they leave the queue (room for a bounded queue's putters). */
  ack(owner: string, n: number): void {
    if (!(n > 0)) return;
    const runs = this.#byOwner.get(owner);
    if (!runs) return;
    let done = 0;
    while (done < n && runs.length > 0) {
      const run = runs[0];
      const k = Math.min(n - done, run.left);
      run.skip(k);
      done += k;
      if (run.left === 0) runs.shift();
    }
    if (runs.length === 0) this.#byOwner.delete(owner);
    if (done === 0) return;
    Atomics.sub(this.#ring.ctl, LENT, done);
    this.#freed();
  }

  /** Everything `owner` still holds goes back to the front of the queue, in its order. */
  giveBack(owner: string): void {
    const runs = this.#byOwner.get(owner);
    if (!runs) return;
    this.#byOwner.delete(owner);
    // The last run first: each goes in front of the ones after it.
    for (let i = runs.length - 1; i >= 0; i--) {
      const rest = runs[i].rest();
      if (rest.count === 0) continue;
      // queued and no longer lent in one step (see unshiftPacked): qsize and room never see it missing or twice
      this.#ring.unshiftPacked(rest, LENT);
    }
  }
}
