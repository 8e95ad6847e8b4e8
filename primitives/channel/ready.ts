/**
 * What `connection.wait()` asks of the objects it is given (a Connection, a Process's sentinel): whether
 * one is ready now, and a wait for it to become ready that can be called off. Kept apart from the
 * classes so that wait() needs none of their code.
 */

/** `obj[READY]()` describes how `obj` becomes ready; it throws when `obj` cannot be waited on (closed). */
export const READY: unique symbol = Symbol.for('multiproc.ready') as any;

/** A pending wait for readiness; `cancel()` ends it and leaves nothing behind. */
export interface ReadyWatch {
  /** Settles when the object may be ready (wait() checks again), or after cancel(). */
  ready: Promise<unknown>;
  /** Ends the wait; a promise when its end takes a moment (a sleeping wait loop wakes to see it). */
  cancel(): void | Promise<unknown>;
}

export interface Readiness {
  /** Ready now: a Connection has a message or its peer is closed, a Process has ended. */
  now(): boolean | Promise<boolean>;
  watch(): ReadyWatch;
}

export interface Waitable {
  [READY](): Readiness;
}

export function isWaitable(obj: unknown): obj is Waitable {
  return typeof obj === 'object' && obj !== null && typeof (obj as any)[READY] === 'function';
}

/** A watch for an end with only poll(): polls in slices, so a cancelled watch ends within one slice. */
export function slicedWatch(poll: (ms: number) => Promise<boolean>, sliceMs = 50): ReadyWatch {
  let cancelled = false;
  const ready = (async () => {
    while (!cancelled) if (await poll(sliceMs)) return;
  })();
  return { ready, cancel: () => void (cancelled = true) };
}
