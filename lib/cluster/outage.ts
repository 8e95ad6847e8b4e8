/**
 * When Redis counts as unreachable: once it has failed us (a refused or reset connection, a connection
 * attempt timed out, a link gone silent) and not come back within OUTAGE_MS. A new connection that is
 * still being made without any failure (a loaded machine, a TLS handshake far away, or a server that
 * accepts connections and never answers) gets until OUTAGE_MAX_MS. Either way pending calls reject
 * within 5 s.
 */

/** Redis failing this long: pending calls reject. */
const OUTAGE_MS = 2500;
/** A connection slow to be made, without failing: pending calls reject after this long. */
export const OUTAGE_MAX_MS = 4000;

export class OutageClock {
  readonly #isUp: () => boolean;
  readonly #expired: (error: Error | null) => void;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #error: Error | null = null;

  /** `expired` is called once the outage is long enough (and Redis still down), with the failure seen. */
  constructor(isUp: () => boolean, expired: (error: Error | null) => void) {
    this.#isUp = isUp;
    this.#expired = expired;
  }

  /** Starts the clock, unless it runs already. */
  start(): void {
    if (this.#timer) return;
    const since = performance.now();
    this.#error = null;
    const check = () => {
      this.#timer = null;
      if (this.#isUp()) return;
      if (!this.#error && performance.now() - since < OUTAGE_MAX_MS) {
        this.#timer = setTimeout(check, 250);
        this.#timer.unref();
        return;
      }
      this.#expired(this.#error);
    };
    this.#timer = setTimeout(check, OUTAGE_MS);
    this.#timer.unref(); // what is pending keeps the program alive, not this
  }

  /** The link failed: starts the clock if needed, and counts the failure. */
  failed(error: Error): void {
    this.start();
    this.#error = error;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
