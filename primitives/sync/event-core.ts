/**
 * Event state in shared memory: the flag, and a generation bumped by every set() that waiters
 * sleep on, so a waiter woken by set() returns true even if clear() came right after (as Python).
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';

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
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.memory = sab;
    this.#s = new Int32Array(sab);
    watchEnds(this);
  }

  /** One loop for both drivers: sleep on GEN until a set() bumps it. */
  *#wait(gen: number, timeout: number | undefined, token: WaitToken): WaitLoop<boolean> {
    const s = this.#s;
    const deadline = deadlineOf(timeout);
    let sl = null;
    while (Atomics.load(s, GEN) === gen) {
      const left = timeLeft(deadline);
      if (left === -1 || token.cancelled) return false;
      yield (sl = sleep(sl, s, GEN, gen, left));
    }
    return true;
  }

  waitSync(timeout: number | undefined, owner?: string): boolean {
    const gen = Atomics.load(this.#s, GEN);
    if (Atomics.load(this.#s, FLAG) === 1) return true;
    if (timeout === 0) return false;
    return drive(runSync, this.#waits, owner, GEN, (token) => this.#wait(gen, timeout, token));
  }

  async wait(timeout: number | undefined, owner?: string): Promise<boolean> {
    const gen = Atomics.load(this.#s, GEN);
    if (Atomics.load(this.#s, FLAG) === 1) return true;
    if (timeout === 0) return false;
    return drive(runAsync, this.#waits, owner, GEN, (token) => this.#wait(gen, timeout, token));
  }

  /** `owner` ended: its pending waits end. */
  abandon(owner: string, _died = true): void {
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

registerCoreClass(EventCore, import.meta.url);
