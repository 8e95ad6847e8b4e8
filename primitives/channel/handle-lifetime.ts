/**
 * When a Connection handle closes if its holder never calls close(): like a file descriptor in
 * Python, when the object is garbage-collected, and at the latest when the worker exits.
 */
import { beforeWorkerExit } from '../../lib/base/exit-hooks.js';

/** Closes one handle exactly once. */
export class HandleToken {
  #release: (() => void) | null;
  constructor(release: () => void) {
    this.#release = release;
  }
  get open(): boolean {
    return this.#release !== null;
  }
  release(): void {
    const release = this.#release;
    if (!release) return;
    this.#release = null;
    open.delete(this);
    registry.unregister(this);
    release();
  }
}

const open = new Set<HandleToken>();
const registry = new FinalizationRegistry<HandleToken>((token) => {
  try {
    token.release();
  } catch {
    // a finalizer must not throw; the other end may already be gone
  }
});

beforeWorkerExit(() => {
  for (const token of [...open]) {
    try {
      token.release();
    } catch {
      // closing is best effort at exit
    }
  }
});

/** Ties `release` to `owner`: runs on token.release(), when `owner` is collected, or at worker exit. */
export function trackHandle(owner: object, release: () => void): HandleToken {
  const token = new HandleToken(release);
  open.add(token);
  registry.register(owner, token, token);
  return token;
}
