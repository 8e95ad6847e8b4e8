/**
 * Event state in shared memory: the flag, and a generation bumped by every set() that waiters
 * sleep on, so a waiter woken by set() returns true even if clear() came right after (as Python).
 */
import type { CoreShape } from '../transport/core.js';
import { deadlineOf, RemoteWaits, timeLeft, waitAsync, waitSync } from './wait.js';

const FLAG = 0;
const GEN = 1;

export interface EventCoreApi {
  /** `owner`: the caller's ownerId(), so a remote waiter that dies can be abandoned. */
  wait(timeout: number | undefined, owner?: string): Promise<boolean>;
  waitSync(timeout: number | undefined, owner?: string): boolean;
  set(): void;
  clear(): void;
  isSet(): boolean;
}

export const EventCoreShape: CoreShape = { kind: 'Event', waiting: ['wait'], immediate: ['set', 'clear', 'isSet'] };

export class EventCore implements EventCoreApi {
  readonly sab: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.sab = sab;
    this.#s = new Int32Array(sab);
  }

  waitSync(timeout: number | undefined): boolean {
    const s = this.#s;
    const gen = Atomics.load(s, GEN);
    if (Atomics.load(s, FLAG) === 1) return true;
    const deadline = deadlineOf(timeout);
    while (Atomics.load(s, GEN) === gen) {
      const left = timeLeft(deadline);
      if (left === -1) return false;
      waitSync(s, GEN, gen, left);
    }
    return true;
  }

  async wait(timeout: number | undefined, owner?: string): Promise<boolean> {
    const s = this.#s;
    const gen = Atomics.load(s, GEN);
    if (Atomics.load(s, FLAG) === 1) return true;
    const deadline = deadlineOf(timeout);
    const token = this.#waits.enter(owner, GEN);
    try {
      while (Atomics.load(s, GEN) === gen) {
        const left = timeLeft(deadline);
        if (left === -1 || token.cancelled) return false;
        await waitAsync(s, GEN, gen, left);
      }
      return true;
    } finally {
      this.#waits.leave(owner, token);
    }
  }

  /** `owner` (a remote worker) died: its pending waits end. */
  abandon(owner: string): void {
    this.#waits.cancel(owner, this.#s);
  }

  set(): void {
    const s = this.#s;
    if (Atomics.exchange(s, FLAG, 1) === 0) {
      Atomics.add(s, GEN, 1);
      Atomics.notify(s, GEN);
    }
  }

  clear(): void {
    Atomics.store(this.#s, FLAG, 0);
  }

  isSet(): boolean {
    return Atomics.load(this.#s, FLAG) === 1;
  }
}
