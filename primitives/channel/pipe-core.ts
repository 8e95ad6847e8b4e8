/**
 * The core of one Connection end: the ring it reads from and/or the ring it writes to, plus the
 * count of open handles of this end (kept in the rings: WRITERS of its write ring, READERS of
 * its read ring), which is how the peer learns about EOF and a broken pipe.
 */
import type { CoreShape } from '../transport/core.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import { normalizeTimeout } from '../../lib/base/timeout.js';
import { COUNT, DATA_SEQ, LOCK_R, LOCK_W, MessageRing, READERS, WRITERS, waitChange, waitChangeSync, type Frame, type RingMemory } from './ring.js';

/** What `recv` returns instead of a frame: end of file, or a message longer than `maxLength`. */
export type RecvResult = Frame | null | { tooLong: number };

const AGAIN = Symbol('again');

export const PipeEndShape = {
  kind: 'Connection',
  waiting: ['recv', 'poll'],
  immediate: ['send', 'retain', 'release', 'adopt', 'disown'],
  fireAndForget: ['send', 'adopt', 'disown'],
} as const satisfies CoreShape;

/** The shared memory of one end: the ring it reads and the ring it writes (null when simplex). */
export interface PipeEndMemory {
  read: RingMemory | null;
  write: RingMemory | null;
}

export class PipeEndCore {
  readonly memory: PipeEndMemory;
  readonly #read: MessageRing | null;
  readonly #write: MessageRing | null;
  /** Handles held by remote owners (process workers), so a dead owner's handles can be closed. */
  readonly #owners = new Map<string, number>();

  constructor(memory: PipeEndMemory) {
    this.memory = memory;
    this.#read = memory.read ? new MessageRing(memory.read) : null;
    this.#write = memory.write ? new MessageRing(memory.write) : null;
  }

  /** Creates both ends; each starts with one open handle (the creator's). */
  static pair(duplex: boolean): [PipeEndCore, PipeEndCore] {
    const ab = new MessageRing();
    const ba = duplex ? new MessageRing() : null;
    const a = new PipeEndCore({ read: ba?.memory ?? ab.memory, write: duplex ? ab.memory : null });
    const b = new PipeEndCore({ read: duplex ? ab.memory : null, write: ba?.memory ?? ab.memory });
    a.retain();
    b.retain();
    return [a, b];
  }

  // ---- handles ----

  /** One more handle of this end is open (a copy sent to a worker). */
  retain(): void {
    this.#read?.add(READERS, 1);
    this.#write?.add(WRITERS, 1);
  }

  /** One handle of this end closed: when it was the last, the peer sees EOF / a broken pipe. */
  release(): void {
    if (this.#read && this.#read.add(READERS, -1) === 0) this.#read.wakeAll();
    if (this.#write && this.#write.add(WRITERS, -1) === 0) this.#write.wakeAll();
  }

  /** A remote owner took one retained handle: remembered so `abandon` can close it if the owner dies. */
  adopt(owner: string): void {
    this.#owners.set(owner, (this.#owners.get(owner) ?? 0) + 1);
  }

  /** A remote owner closed one of its handles. */
  disown(owner: string): void {
    const n = this.#owners.get(owner);
    if (!n) return;
    if (n === 1) this.#owners.delete(owner);
    else this.#owners.set(owner, n - 1);
    this.release();
  }

  /** Called by the broker when a remote owner died: its handles close. */
  abandon(owner: string): void {
    const n = this.#owners.get(owner) ?? 0;
    this.#owners.delete(owner);
    for (let i = 0; i < n; i++) this.release();
  }

  // ---- data ----

  send(kind: number, payload: Uint8Array | number): void {
    const ring = this.#write!;
    if (ring.load(READERS) <= 0) {
      throw new ConnectionClosedError('broken pipe: every handle of the other end is closed');
    }
    ring.lock(LOCK_W);
    try {
      ring.pushLocked(kind, payload);
    } finally {
      ring.unlock(LOCK_W);
    }
    ring.published();
  }

  #seq = 0;

  /** One attempt: a frame, EOF (null), too long, or AGAIN (registered as a waiter; `#seq` to wait on). */
  #tryRecv(maxLength: number | null | undefined): RecvResult | typeof AGAIN {
    const ring = this.#read!;
    for (let registered = false; ; ) {
      if (ring.load(COUNT) > 0) {
        let out: RecvResult | undefined;
        ring.lock(LOCK_R);
        try {
          if (ring.load(COUNT) > 0) {
            const len = maxLength == null ? -1 : ring.peekLengthLocked();
            out = len > maxLength! ? { tooLong: len } : ring.takeLocked();
          }
        } finally {
          ring.unlock(LOCK_R);
        }
        if (out !== undefined) {
          if (registered) ring.readerDoneWaiting();
          if (typeof out === 'number' || Array.isArray(out)) ring.consumed();
          return out;
        }
      }
      if (ring.load(WRITERS) <= 0 && ring.load(COUNT) === 0) {
        if (registered) ring.readerDoneWaiting();
        return null;
      }
      if (registered) return AGAIN;
      this.#seq = ring.readerWillWait();
      registered = true; // re-check once after registering, then sleep
    }
  }

  async recv(maxLength?: number | null): Promise<RecvResult> {
    const ring = this.#read!;
    for (;;) {
      const r = this.#tryRecv(maxLength);
      if (r !== AGAIN) return r;
      try {
        await waitChange(ring.ctl, DATA_SEQ, this.#seq, undefined);
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  recvSync(maxLength?: number | null): RecvResult {
    const ring = this.#read!;
    for (;;) {
      const r = this.#tryRecv(maxLength);
      if (r !== AGAIN) return r;
      try {
        waitChangeSync(ring.ctl, DATA_SEQ, this.#seq, undefined);
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  /** True when a message is ready or the other end is closed (recv would not block), as Python. */
  #ready(): boolean {
    const ring = this.#read!;
    return ring.load(COUNT) > 0 || ring.load(WRITERS) <= 0;
  }

  async poll(timeout?: number | null): Promise<boolean> {
    const ms = normalizeTimeout(timeout);
    const ring = this.#read!;
    const deadline = ms === undefined ? Infinity : Date.now() + ms;
    for (;;) {
      const seq = ring.load(DATA_SEQ);
      if (this.#ready()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      ring.readerWillWait();
      try {
        if (this.#ready()) continue;
        await waitChange(ring.ctl, DATA_SEQ, seq, left === Infinity ? undefined : left);
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  pollSync(timeout?: number | null): boolean {
    const ms = normalizeTimeout(timeout);
    const ring = this.#read!;
    const deadline = ms === undefined ? Infinity : Date.now() + ms;
    for (;;) {
      const seq = ring.load(DATA_SEQ);
      if (this.#ready()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      ring.readerWillWait();
      try {
        if (this.#ready()) continue;
        waitChangeSync(ring.ctl, DATA_SEQ, seq, left === Infinity ? undefined : left);
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }
}
