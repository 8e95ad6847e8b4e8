/** Disposable guards: `using _ = lock.holdSync()`, `await using _ = await lock.hold()`. */

/** A disposable guard that releases once. */
export interface LockGuard extends Disposable, AsyncDisposable {}

// Node defines these as Symbol.for('nodejs.*'); a vm context (Jest) may lack the Symbol properties.
const disposeKey: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);
const asyncDisposeKey: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/** What a guard releases: a lock, a semaphore, a condition. */
export interface Releasable {
  release(): void;
}

/** One object per guard (no closures): `holdSync()` sits on hot paths. */
class Guard implements LockGuard {
  #held: Releasable | null;

  constructor(held: Releasable) {
    this.#held = held;
  }

  [disposeKey](): void {
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      held.release();
    }
  }

  async [asyncDisposeKey](): Promise<void> {
    this[disposeKey]();
  }
}

/** A guard that calls `held.release()` once, on the first dispose. */
export function guard(held: Releasable): LockGuard {
  return new Guard(held);
}
