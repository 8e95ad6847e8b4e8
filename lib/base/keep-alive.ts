/**
 * A promise the user awaits keeps the process alive until it settles. Some of ours wait on
 * handles that are unref'd while idle (a daemon's exit, a worker's output still in flight): while such a
 * wait is pending, `hold()` keeps one ref'd timer; the last `release()` clears it.
 */
export class KeepAlive {
  #holders = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  hold(): void {
    if (this.#holders++ === 0) this.#timer = setInterval(() => {}, 2 ** 30);
  }

  release(): void {
    if (this.#holders === 0) return;
    if (--this.#holders === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Holds while `promise` is pending. */
  during<T>(promise: Promise<T>): Promise<T> {
    this.hold();
    return promise.finally(() => this.release());
  }
}
