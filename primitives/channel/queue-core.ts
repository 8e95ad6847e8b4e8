/**
 * The core of a Queue / JoinableQueue / SimpleQueue: one MessageRing shared by every producer
 * and consumer. `maxsize` bounds the number of items (Python's semaphore of slots); the byte
 * store itself grows, so an unbounded put never waits.
 */
import type { CoreShape } from '../transport/core.js';
import { COUNT, DATA_SEQ, JOIN_SEQ, LOCK_R, LOCK_W, MessageRing, SPACE_SEQ, UNFINISHED, waitChange, waitChangeSync, type Frame, type RingMemory } from './ring.js';

export const QueueShape = {
  kind: 'Queue',
  waiting: ['put', 'get', 'join'],
  immediate: ['putNowait', 'getNowait', 'qsize', 'empty', 'full', 'taskDone', 'putUnbounded'],
  // an unbounded put cannot fail for want of room: a process worker may batch it (Python's feeder thread)
  fireAndForget: ['putUnbounded'],
} as const satisfies CoreShape;

export interface QueueMemory {
  ring: RingMemory;
  maxsize: number;
  joinable: boolean;
}

const AGAIN = Symbol('again');

export class QueueCore {
  readonly memory: QueueMemory;
  readonly ring: MessageRing;
  /** Items allowed at once; Infinity when unbounded (Python's maxsize <= 0). */
  readonly #limit: number;
  readonly #joinable: boolean;
  #seq = 0;

  constructor(memory: QueueMemory) {
    this.memory = memory;
    this.ring = new MessageRing(memory.ring);
    this.#limit = memory.maxsize > 0 ? memory.maxsize : Infinity;
    this.#joinable = memory.joinable;
  }

  static create(maxsize: number, joinable: boolean): QueueCore {
    return new QueueCore({ ring: new MessageRing().memory, maxsize, joinable });
  }

  // ---- put ----

  /** One attempt: true when put, false when full and not waiting, AGAIN when registered to wait. */
  #tryPut(kind: number, payload: Uint8Array | number, wait: boolean): boolean | typeof AGAIN {
    const ring = this.ring;
    for (let registered = false; ; ) {
      if (ring.load(COUNT) < this.#limit) {
        let done = false;
        ring.lock(LOCK_W);
        try {
          // only writers add items, and they hold LOCK_W: this check cannot go stale
          if (ring.load(COUNT) < this.#limit) {
            ring.pushLocked(kind, payload);
            if (this.#joinable) Atomics.add(ring.ctl, UNFINISHED, 1);
            done = true;
          }
        } finally {
          ring.unlock(LOCK_W);
        }
        if (done) {
          if (registered) ring.spaceDoneWaiting();
          ring.published();
          return true;
        }
      }
      if (!wait) return false;
      if (registered) return AGAIN;
      this.#seq = ring.spaceWillWait();
      registered = true;
    }
  }

  /** Puts one item; false when it timed out (or `block` is false) with the queue full. */
  async put(kind: number, payload: Uint8Array | number, block = true, timeout?: number): Promise<boolean> {
    const deadline = block ? (timeout === undefined ? Infinity : Date.now() + timeout) : 0;
    for (;;) {
      const r = this.#tryPut(kind, payload, block);
      if (r !== AGAIN) return r;
      const left = deadline - Date.now();
      try {
        if (left <= 0) return false;
        await waitChange(this.ring.ctl, SPACE_SEQ, this.#seq, left === Infinity ? undefined : left);
      } finally {
        this.ring.spaceDoneWaiting();
      }
    }
  }

  putSync(kind: number, payload: Uint8Array | number, block = true, timeout?: number): boolean {
    const deadline = block ? (timeout === undefined ? Infinity : Date.now() + timeout) : 0;
    for (;;) {
      const r = this.#tryPut(kind, payload, block);
      if (r !== AGAIN) return r;
      const left = deadline - Date.now();
      try {
        if (left <= 0) return false;
        waitChangeSync(this.ring.ctl, SPACE_SEQ, this.#seq, left === Infinity ? undefined : left);
      } finally {
        this.ring.spaceDoneWaiting();
      }
    }
  }

  putNowait(kind: number, payload: Uint8Array | number): boolean {
    return this.#tryPut(kind, payload, false) as boolean;
  }

  /** Put into an unbounded queue: never waits, so a remote caller need not wait for the answer. */
  putUnbounded(kind: number, payload: Uint8Array | number): void {
    this.#tryPut(kind, payload, false);
  }

  // ---- get ----

  #tryGet(wait: boolean): Frame | null | typeof AGAIN {
    const ring = this.ring;
    for (let registered = false; ; ) {
      if (ring.load(COUNT) > 0) {
        let out: Frame | undefined;
        ring.lock(LOCK_R);
        try {
          if (ring.load(COUNT) > 0) out = ring.takeLocked();
        } finally {
          ring.unlock(LOCK_R);
        }
        if (out !== undefined) {
          if (registered) ring.readerDoneWaiting();
          ring.consumed();
          return out;
        }
      }
      if (!wait) return null;
      if (registered) return AGAIN;
      this.#seq = ring.readerWillWait();
      registered = true;
    }
  }

  /** Takes one item; null when it timed out (or `block` is false) with the queue empty. */
  async get(block = true, timeout?: number): Promise<Frame | null> {
    const deadline = block ? (timeout === undefined ? Infinity : Date.now() + timeout) : 0;
    for (;;) {
      const r = this.#tryGet(block);
      if (r !== AGAIN) return r;
      const left = deadline - Date.now();
      try {
        if (left <= 0) return null;
        await waitChange(this.ring.ctl, DATA_SEQ, this.#seq, left === Infinity ? undefined : left);
      } finally {
        this.ring.readerDoneWaiting();
      }
    }
  }

  getSync(block = true, timeout?: number): Frame | null {
    const deadline = block ? (timeout === undefined ? Infinity : Date.now() + timeout) : 0;
    for (;;) {
      const r = this.#tryGet(block);
      if (r !== AGAIN) return r;
      const left = deadline - Date.now();
      try {
        if (left <= 0) return null;
        waitChangeSync(this.ring.ctl, DATA_SEQ, this.#seq, left === Infinity ? undefined : left);
      } finally {
        this.ring.readerDoneWaiting();
      }
    }
  }

  getNowait(): Frame | null {
    return this.#tryGet(false) as Frame | null;
  }

  // ---- queries ----

  qsize(): number {
    return this.ring.load(COUNT);
  }

  empty(): boolean {
    return this.ring.load(COUNT) === 0;
  }

  full(): boolean {
    return this.ring.load(COUNT) >= this.#limit;
  }

  // ---- JoinableQueue ----

  /** One item finished; false when no task was unfinished (the facade throws Python's ValueError). */
  taskDone(): boolean {
    const ctl = this.ring.ctl;
    for (;;) {
      const left = Atomics.load(ctl, UNFINISHED);
      if (left <= 0) return false;
      if (Atomics.compareExchange(ctl, UNFINISHED, left, left - 1) === left) {
        if (left === 1) this.ring.bump(JOIN_SEQ);
        return true;
      }
    }
  }

  /** Registers a join waiter and returns the JOIN_SEQ to sleep on, or null when nothing is unfinished. */
  #joinSeq(): number | null {
    const ring = this.ring;
    if (ring.load(UNFINISHED) === 0) return null;
    const seq = ring.joinWillWait();
    if (ring.load(UNFINISHED) === 0) {
      ring.joinDoneWaiting();
      return null;
    }
    return seq;
  }

  async join(): Promise<void> {
    for (;;) {
      const seq = this.#joinSeq();
      if (seq === null) return;
      try {
        await waitChange(this.ring.ctl, JOIN_SEQ, seq, undefined);
      } finally {
        this.ring.joinDoneWaiting();
      }
    }
  }

  joinSync(): void {
    for (;;) {
      const seq = this.#joinSeq();
      if (seq === null) return;
      try {
        waitChangeSync(this.ring.ctl, JOIN_SEQ, seq, undefined);
      } finally {
        this.ring.joinDoneWaiting();
      }
    }
  }
}
