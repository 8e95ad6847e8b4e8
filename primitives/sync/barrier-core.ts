/**
 * Barrier state in shared memory, following Python's threading.Barrier state machine
 * (filling -> draining -> filling, resetting, broken) under a small internal mutex.
 *
 * The action must run in the last arriving party, in that party's own thread, before anyone is
 * released. So the core does not run it: `arrive` returns index `parties - 1` to the last party,
 * leaves the barrier in the ACTION state (newcomers wait, others stay asleep), and the facade runs
 * the action and then calls `commit(ok)`, which releases everyone or breaks the barrier.
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { BrokenBarrierError } from '../../lib/base/errors.js';
import { deadlineOf, RemoteWaits, runAsync, runSync, sleep, timeLeft, type Sleep, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';
import { LOCAL_OWNER, ownerNumber } from '../kernel/owner.js';

const MUTEX = 0;
const SEQ = 1; // bumped on every state change; sleepers wait on it
const STATE = 2;
const COUNT = 3;
const PARTIES = 4;
/** Owner numbers of the parties counted in this pass, by arrival index (the first MAX_SEATS of them). */
const SEATS = 5;
const MAX_SEATS = 1024;

const FILLING = 0;
const DRAINING = 1;
const ACTION = 2;
const RESETTING = -1;
const BROKEN = -2;

export interface BarrierCoreApi {
  /** Arrives and waits for the pass; returns the arrival index (parties - 1 = run the action, then commit). */
  /** `owner`: the caller's ownerId(), so a remote party that dies can be abandoned. */
  arrive(timeout: number | undefined, owner?: string): Promise<number>;
  arriveSync(timeout: number | undefined, owner?: string): number;
  /** The last party's verdict after running the action: release everyone (true) or break (false). */
  commit(ok: boolean): void;
  abort(): void;
  reset(): void;
  nWaiting(): number;
  broken(): boolean;
  parties(): number;
}

export const BarrierCoreShape: CoreShape = {
  kind: 'Barrier',
  waiting: ['arrive'],
  immediate: ['commit', 'abort', 'reset', 'nWaiting', 'broken', 'parties'],
};

/** What a step of the arrive state machine wants: done (index or error), or sleep on SEQ. */
type Step = { done: number } | { error: Error } | { sleep: number; ms: number | undefined };
/** An arriving party: its index once counted in (-1 before). */
type Arrival = { index: number; deadline: number; owner: number; token: WaitToken };

const LOCAL_TOKEN: WaitToken = { cancelled: false, index: SEQ };

export class BarrierCore implements BarrierCoreApi {
  readonly memory: SharedArrayBuffer;
  readonly #s: Int32Array;
  readonly #waits = new RemoteWaits();
  /** The remote party (owner) running the action now, if any: if it dies, the barrier breaks. */
  #actionOwner: string | null = null;

  constructor(init: number | SharedArrayBuffer) {
    if (init instanceof SharedArrayBuffer) {
      this.memory = init;
      this.#s = new Int32Array(init);
    } else {
      this.memory = new SharedArrayBuffer((SEATS + Math.min(init, MAX_SEATS)) * 4);
      this.#s = new Int32Array(this.memory);
      this.#s[PARTIES] = init;
    }
    watchEnds(this);
  }

  // The mutex guards a few loads and stores only, never a wait, so blocking on it is always brief.
  #lock(): void {
    const s = this.#s;
    if (Atomics.compareExchange(s, MUTEX, 0, 1) === 0) return;
    while (Atomics.exchange(s, MUTEX, 2) !== 0) Atomics.wait(s, MUTEX, 2);
  }

  #unlock(): void {
    if (Atomics.exchange(this.#s, MUTEX, 0) === 2) Atomics.notify(this.#s, MUTEX, 1);
  }

  #notifyAll(): void {
    Atomics.add(this.#s, SEQ, 1);
    Atomics.notify(this.#s, SEQ);
  }

  /** Python's `_exit`: the last party out of a drain or reset reopens the barrier. */
  #leave(): void {
    const s = this.#s;
    s[COUNT]--;
    if (s[COUNT] === 0 && (s[STATE] === RESETTING || s[STATE] === DRAINING)) {
      s[STATE] = FILLING;
      this.#notifyAll();
    }
  }

  #break(): void {
    this.#s[STATE] = BROKEN;
    this.#notifyAll();
  }

  /** One step of arriving, under the mutex; the caller sleeps on SEQ between steps. */
  #step(me: Arrival): Step {
    const s = this.#s;
    const state = s[STATE];
    // A party that died (abandon) gives up as if its time ran out: if counted in, it breaks the barrier.
    const cancelled = me.token.cancelled;
    if (cancelled && me.index < 0) return { error: new BrokenBarrierError() };
    if (me.index < 0) {
      // Python's _enter: wait while the barrier drains, resets or runs its action.
      if (state === DRAINING || state === RESETTING || state === ACTION) return { sleep: s[SEQ], ms: undefined };
      if (state === BROKEN) return { error: new BrokenBarrierError() };
      me.index = s[COUNT]++;
      if (me.index < MAX_SEATS) s[SEATS + me.index] = me.owner;
      if (me.index + 1 === s[PARTIES]) {
        s[STATE] = ACTION;
        return { done: me.index };
      }
      return { sleep: s[SEQ], ms: timeLeft(me.deadline) };
    }
    if (state === FILLING || state === ACTION) {
      const left = cancelled ? -1 : timeLeft(me.deadline);
      // While the action runs, time does not break the barrier: in Python the waiter is blocked on
      // the lock the last party holds, and finds the barrier released when it gets it.
      if (state === ACTION) return { sleep: s[SEQ], ms: undefined };
      if (left !== -1) return { sleep: s[SEQ], ms: left };
      this.#break();
      this.#leave();
      return { error: new BrokenBarrierError() };
    }
    this.#leave();
    return state === DRAINING ? { done: me.index } : { error: new BrokenBarrierError() };
  }

  #locked(me: Arrival): Step {
    this.#lock();
    try {
      return this.#step(me);
    } finally {
      this.#unlock();
    }
  }

  /** One loop for both drivers: step under the mutex, sleep on SEQ between steps. */
  *#arrive(me: Arrival): WaitLoop<number> {
    let sl: Sleep | null = null;
    for (;;) {
      const step = this.#locked(me);
      if ('done' in step) return step.done;
      if ('error' in step) throw step.error;
      // A sleep of -1 ms (time ran out) still comes back to #step, which breaks the barrier.
      yield (sl = sleep(sl, this.#s, SEQ, step.sleep, step.ms === -1 ? 0 : step.ms));
    }
  }

  arriveSync(timeout: number | undefined, owner: string = LOCAL_OWNER): number {
    return runSync(this.#arrive({ index: -1, deadline: deadlineOf(timeout), owner: ownerNumber(owner), token: LOCAL_TOKEN }));
  }

  async arrive(timeout: number | undefined, owner: string = LOCAL_OWNER): Promise<number> {
    const me: Arrival = { index: -1, deadline: deadlineOf(timeout), owner: ownerNumber(owner), token: this.#waits.enter(owner, SEQ) };
    try {
      const index = await runAsync(this.#arrive(me));
      if (index === this.#s[PARTIES] - 1 && owner !== LOCAL_OWNER) this.#actionOwner = owner;
      return index;
    } finally {
      this.#waits.leave(owner, me.token);
    }
  }

  /**
   * `owner` (a worker thread or process) ended: a place it holds in the current pass breaks the
   * barrier (the others would wait forever), its waits give up, an action it was running failed.
   */
  abandon(owner: string, _died = true): void {
    const s = this.#s;
    const me = ownerNumber(owner);
    this.#lock();
    try {
      const state = s[STATE];
      if (state === FILLING || state === ACTION) {
        const seated = Math.min(s[COUNT], MAX_SEATS, s[PARTIES]);
        for (let i = 0; i < seated; i++) {
          if (s[SEATS + i] === me) {
            this.#break();
            break;
          }
        }
      }
    } finally {
      this.#unlock();
    }
    this.#waits.cancel(owner, s);
    if (this.#actionOwner === owner) this.commit(false);
  }

  commit(ok: boolean): void {
    const s = this.#s;
    this.#actionOwner = null;
    this.#lock();
    try {
      if (s[STATE] === ACTION) {
        if (ok) {
          s[STATE] = DRAINING;
          this.#notifyAll();
        } else {
          this.#break();
        }
      }
      // else: aborted while the action ran; the barrier stays broken (Python's abort would have
      // come right after the release), and the last party still returns its index.
      this.#leave();
    } finally {
      this.#unlock();
    }
  }

  abort(): void {
    this.#lock();
    this.#break();
    this.#unlock();
  }

  reset(): void {
    const s = this.#s;
    this.#lock();
    if (s[COUNT] > 0) {
      if (s[STATE] === FILLING || s[STATE] === BROKEN) s[STATE] = RESETTING;
    } else {
      s[STATE] = FILLING;
    }
    this.#notifyAll();
    this.#unlock();
  }

  nWaiting(): number {
    const s = this.#s;
    const state = Atomics.load(s, STATE);
    return state === FILLING || state === ACTION ? Atomics.load(s, COUNT) : 0;
  }

  broken(): boolean {
    return Atomics.load(this.#s, STATE) === BROKEN;
  }

  parties(): number {
    return this.#s[PARTIES];
  }
}

registerCoreClass(BarrierCore, import.meta.url);
