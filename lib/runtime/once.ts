/** Listeners called once with a value that comes once; a listener added later is called at once. */
export class Once<T> {
  #value: T | undefined;
  #done = false;
  #listeners: ((value: T) => void)[] = [];

  get done(): boolean {
    return this.#done;
  }

  add(listener: (value: T) => void): void {
    if (this.#done) listener(this.#value as T);
    else this.#listeners.push(listener);
  }

  /** Settles with `value`; false if it already had one. */
  settle(value: T): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#value = value;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener(value);
    return true;
  }
}
