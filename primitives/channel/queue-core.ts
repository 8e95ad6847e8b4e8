/**
 * The core of a Queue / JoinableQueue / SimpleQueue: one MessageRing shared by every producer
 * and consumer. `maxsize` bounds the number of items (Python's semaphore of slots); the byte
 * store itself grows, so an unbounded put never waits.
 */
import type { CoreShape } from '../transport/core.js';
import { COUNT, DATA_SEQ, JOIN_SEQ, MessageRing, SPACE_SEQ, UNFINISHED, waitChange, waitChangeSync, type Frame, type RingMemory } from './ring.js';

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

  #tryPut(kind: number, payload: Uint8Array | number, wait: boolean): boolean | typeof AGAIN {
    const ring = this.ring;
    ring.lock();
    try {
      if (ring.load(COUNT) >= this.#limit) {
        if (!wait) return false;
        this.#seq = ring.spaceWillWaitLocked();
        return AGAIN;
      }
      ring.pushLocked(kind, payload);
      if (this.#joinable) ring.ctl[UNFINISHED]++;
    } finally {
      ring.unlock();
    }
    ring.published();
    return true;
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
    let out: Frame;
    ring.lock();
    try {
      if (ring.load(COUNT) === 0) {
        if (!wait) return null;
        this.#seq = ring.readerWillWaitLocked();
        return AGAIN;
      }
      out = ring.takeLocked();
    } finally {
      ring.unlock();
    }
    ring.consumed();
    return out;
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
    const ring = this.ring;
    let left: number;
    ring.lock();
    try {
      left = ring.ctl[UNFINISHED];
      if (left <= 0) return false;
      ring.ctl[UNFINISHED] = --left;
    } finally {
      ring.unlock();
    }
    if (left === 0) ring.bump(JOIN_SEQ);
    return true;
  }

  #joinSeq(): number | null {
    const ring = this.ring;
    ring.lock();
    try {
      if (ring.ctl[UNFINISHED] === 0) return null;
      return ring.joinWillWaitLocked();
    } finally {
      ring.unlock();
    }
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
