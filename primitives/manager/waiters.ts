/**
 * FIFO waiters for the server-side sync objects and queues. A waiter belongs to an owner (the
 * calling client thread) so the waiters of a client that went away can be dropped; its promise is
 * then left pending, because nobody is left to read the reply.
 */
import { normalizeTimeout } from '../../lib/base/timeout.js';

/** setTimeout's limit (~24.8 days): a longer timeout is as good as forever. */
const MAX_TIMER = 2 ** 31 - 1;

/** undefined = forever; otherwise ms >= 0. TypeError for anything else (it came from the wire). */
export function timeoutArg(timeout: unknown): number | undefined {
  const ms = normalizeTimeout(timeout as number | null | undefined);
  return ms !== undefined && ms > MAX_TIMER ? undefined : ms;
}

export interface Waiter<T> {
  readonly owner: string;
  /** Extra per-waiter data (e.g. the item a blocked put carries). */
  readonly data: unknown;
  resolve(value: T): void;
  reject(err: unknown): void;
}

interface Entry<T> extends Waiter<T> {
  timer?: NodeJS.Timeout;
  done: boolean;
}

export class WaitQueue<T> {
  private entries: Entry<T>[] = [];

  get length(): number {
    return this.entries.length;
  }

  /**
   * Waits until woken, or until `timeoutMs` passes, when `onTimeout` decides the outcome
   * (return a value, or throw to reject).
   */
  wait(owner: string, timeoutMs: number | undefined, onTimeout: () => T, data?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<T> = {
        owner, data, done: false,
        resolve: (v) => { if (!entry.done) { entry.done = true; clearTimeout(entry.timer); resolve(v); } },
        reject: (e) => { if (!entry.done) { entry.done = true; clearTimeout(entry.timer); reject(e); } },
      };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.remove(entry);
          try {
            entry.resolve(onTimeout());
          } catch (err) {
            entry.reject(err);
          }
        }, timeoutMs);
      }
      this.entries.push(entry);
    });
  }

  /** Takes the first waiter out (its timer stopped); the caller settles it. */
  shift(): Waiter<T> | undefined {
    const entry = this.entries.shift();
    if (entry) clearTimeout(entry.timer);
    return entry;
  }

  peek(): Waiter<T> | undefined {
    return this.entries[0];
  }

  /** Takes every waiter out. */
  drain(): Waiter<T>[] {
    const all = this.entries;
    this.entries = [];
    for (const e of all) clearTimeout(e.timer);
    return all;
  }

  /** Drops the waiters of `owner`; returns how many there were. */
  cancel(owner: string): number {
    const keep: Entry<T>[] = [];
    let n = 0;
    for (const e of this.entries) {
      if (e.owner === owner) {
        clearTimeout(e.timer);
        e.done = true;
        n++;
      } else keep.push(e);
    }
    this.entries = keep;
    return n;
  }

  /** Stops every timer (server shutdown). */
  dispose(): void {
    for (const e of this.entries) clearTimeout(e.timer);
  }

  private remove(entry: Entry<T>): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
  }
}
