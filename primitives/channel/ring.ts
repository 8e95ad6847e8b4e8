/**
 * MessageRing: a multi-producer, multi-consumer store of framed messages in shared memory.
 *
 * Why this shape:
 * - One small fixed control block (Int32, for Atomics) plus a *growable* SharedArrayBuffer for
 *   the bytes. A sender never blocks on a full buffer: the ring grows (up to MAX_CAPACITY), so a
 *   16 MiB message needs no streaming protocol and a thread that sends to itself cannot deadlock.
 * - Every operation holds a futex mutex for just the memcpy. Whole messages go in and out under
 *   the lock, so several readers (or writers) sharing one end never see torn messages.
 * - Waiters sleep on sequence words (DATA_SEQ for readers, SPACE_SEQ for bounded-queue putters,
 *   JOIN_SEQ for JoinableQueue.join) and are only notified when someone waits.
 *
 * Frame layout (8-byte aligned, so a header never wraps): u32 length, u32 kind, payload.
 * The payload may wrap around the end of the ring.
 */

/** Control block slots (Int32). Each lock and sequence word sits on its own 64-byte line. */
const LINE = 16;
export const LOCK_W = 0;
export const LOCK_R = LINE;
export const DATA_SEQ = 2 * LINE;
export const SPACE_SEQ = 3 * LINE;
export const JOIN_SEQ = 4 * LINE;
const TAIL = LOCK_W + 1; // writer-owned byte offset of the next frame
const HEAD = LOCK_R + 1; // reader-owned byte offset of the first frame
const READ_WAITERS = DATA_SEQ + 1;
export const SPACE_WAITERS = SPACE_SEQ + 1;
/** Space waiters that want any room at all (the others are woken for a batch of room, or time out). */
export const SPACE_EAGER = SPACE_SEQ + 2;
const JOIN_WAITERS = JOIN_SEQ + 1;
export const COUNT = 5 * LINE;
const USED = COUNT + 1;
export const WRITERS = COUNT + 2;
export const READERS = COUNT + 3;
export const UNFINISHED = COUNT + 4;
/** Bounded-queue slots reserved by producers in other processes (credits), not yet filled. */
export const RESERVED = COUNT + 5;
/** Queue items lent to consumers in other processes (fetched ahead), not yet acknowledged as got. */
export const LENT = COUNT + 6;
const CTL_SLOTS = 6 * LINE;
/** Initial byte capacity: small, so that many pipes cost little; grows on demand. */
export const INITIAL_CAPACITY = 64 * 1024;
/** The largest the byte store may grow to; a bigger message is refused. */
export const MAX_CAPACITY = 1024 * 1024 * 1024;

import { KIND_BYTES, KIND_F64, type Encoded } from '../../lib/base/codec/message.js';
import { align8, HEADER, type Packed } from '../kernel/frames.js';

/** The shared memory of one ring; this is what crosses to a worker thread. */
export interface RingMemory {
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** A message as it sits in the ring: a number (KIND_F64) or [kind, bytes] (the message codec's form). */
export type Frame = Encoded;


// ES2024 library members Node 20 has but our `lib` setting does not declare.
type GrowableSAB = SharedArrayBuffer & { grow(n: number): void };
const SAB = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;

export class MessageRing {
  readonly memory: RingMemory;
  readonly ctl: Int32Array;
  #u8: Uint8Array;
  #u32: Uint32Array;
  #f64: Float64Array;

  constructor(memory?: RingMemory) {
    this.memory = memory ?? {
      ctl: new SharedArrayBuffer(CTL_SLOTS * 4),
      data: new SAB(INITIAL_CAPACITY, { maxByteLength: MAX_CAPACITY }),
    };
    this.ctl = new Int32Array(this.memory.ctl);
    // length-tracking views: they follow the buffer when another thread grows it
    this.#u8 = new Uint8Array(this.memory.data);
    this.#u32 = new Uint32Array(this.memory.data);
    this.#f64 = new Float64Array(this.memory.data);
  }

  // ---- mutexes (Drepper's futex mutex: 0 free, 1 locked, 2 locked with waiters) ----
  // Writers hold LOCK_W, readers LOCK_R: a producer and a consumer never contend with each
  // other, only with their own kind. Growing the store takes both (always W, then R).

  lock(slot: number): void {
    const ctl = this.ctl;
    if (Atomics.compareExchange(ctl, slot, 0, 1) === 0) return;
    for (let i = 0; i < 100; i++) {
      if (Atomics.load(ctl, slot) === 0 && Atomics.compareExchange(ctl, slot, 0, 1) === 0) return;
    }
    while (Atomics.exchange(ctl, slot, 2) !== 0) Atomics.wait(ctl, slot, 2);
  }

  unlock(slot: number): void {
    if (Atomics.sub(this.ctl, slot, 1) !== 1) {
      Atomics.store(this.ctl, slot, 0);
      Atomics.notify(this.ctl, slot, 1);
    }
  }

  // ---- counters ----

  load(slot: number): number {
    return Atomics.load(this.ctl, slot);
  }

  add(slot: number, delta: number): number {
    return Atomics.add(this.ctl, slot, delta) + delta;
  }

  /** Bumps a sequence word and wakes everyone sleeping on it. */
  bump(slot: number): void {
    Atomics.add(this.ctl, slot, 1);
    Atomics.notify(this.ctl, slot);
  }

  get count(): number {
    return Atomics.load(this.ctl, COUNT);
  }

  // ---- frames ----

  /**
   * Appends a frame; grows the store if needed (RangeError past MAX_CAPACITY, nothing written).
   * Caller holds LOCK_W (releasing it in `finally`) and calls `published()` after unlocking.
   */
  pushLocked(msg: Frame): void {
    const ctl = this.ctl;
    const isNum = typeof msg === 'number';
    const kind = isNum ? KIND_F64 : msg[0];
    const payload = isNum ? msg : msg[1];
    const len = isNum ? 8 : (payload as Uint8Array).byteLength;
    const size = HEADER + align8(len);
    let cap = this.memory.data.byteLength;
    if (cap - Atomics.load(ctl, USED) < size) cap = this.#grow(cap, size);
    const pos = ctl[TAIL];
    this.#u32[pos >> 2] = len;
    this.#u32[(pos >> 2) + 1] = kind;
    let at = pos + HEADER;
    if (at >= cap) at -= cap;
    if (isNum) {
      // 8-aligned and never wrapped (the capacity is a multiple of 8): one store
      this.#f64[at >> 3] = payload as number;
    } else if (len > 0) {
      if (at + len <= cap) this.#u8.set(payload as Uint8Array, at);
      else this.#copyIn(payload as Uint8Array, at, cap);
    }
    let tail = pos + size;
    if (tail >= cap) tail -= cap;
    ctl[TAIL] = tail;
    Atomics.add(ctl, USED, size);
    Atomics.add(ctl, COUNT, 1); // publishes the frame to readers
  }

  #copyIn(src: Uint8Array, at: number, cap: number): void {
    const first = cap - at;
    this.#u8.set(src.subarray(0, first), at);
    this.#u8.set(src.subarray(first), 0);
  }

  /** Appends a packed run (frames in ring layout) with one copy. Caller holds LOCK_W, then calls `published()`. */
  pushPackedLocked(run: Packed): void {
    const ctl = this.ctl;
    const size = run.bytes.byteLength;
    let cap = this.memory.data.byteLength;
    if (cap - Atomics.load(ctl, USED) < size) cap = this.#grow(cap, size);
    const pos = ctl[TAIL];
    if (pos + size <= cap) this.#u8.set(run.bytes, pos);
    else this.#copyIn(run.bytes, pos, cap);
    let tail = pos + size;
    if (tail >= cap) tail -= cap;
    ctl[TAIL] = tail;
    Atomics.add(ctl, USED, size);
    Atomics.add(ctl, COUNT, run.count);
  }

  /**
   * Puts a packed run back in FRONT of the ring (items a consumer fetched ahead and did not use), so
   * they are the next ones got, counting them out of the control slot `from` (LENT; -1: none) after
   * they are in COUNT, so they are never missing from both. Both steps happen under both locks (W,
   * then R, as growing does): a reader that takes them (a broker in another thread may be giving
   * back) finds them already out of `from`, so qsize() after its get never counts them twice.
   */
  unshiftPacked(run: Packed, from: number): void {
    const ctl = this.ctl;
    const size = run.bytes.byteLength;
    this.lock(LOCK_W);
    try {
      let cap = this.memory.data.byteLength;
      if (cap - Atomics.load(ctl, USED) < size) cap = this.#grow(cap, size);
      this.lock(LOCK_R);
      try {
        let head = ctl[HEAD] - size;
        if (head < 0) head += cap;
        if (head + size <= cap) this.#u8.set(run.bytes, head);
        else this.#copyIn(run.bytes, head, cap);
        ctl[HEAD] = head;
        Atomics.add(ctl, USED, size);
        Atomics.add(ctl, COUNT, run.count);
        if (from >= 0) Atomics.sub(ctl, from, run.count);
      } finally {
        this.unlock(LOCK_R);
      }
    } finally {
      this.unlock(LOCK_W);
    }
    this.published();
  }

  /** Caller holds LOCK_W; takes LOCK_R too, so no reader is inside while frames move. */
  #grow(cap: number, size: number): number {
    this.lock(LOCK_R);
    try {
      const ctl = this.ctl;
      const used = Atomics.load(ctl, USED);
      if (cap - used >= size) return cap; // readers made room meanwhile
      let next = cap * 2;
      while (next - used < size) next *= 2;
      if (next > MAX_CAPACITY) {
        if (MAX_CAPACITY - used < size) {
          throw new RangeError(`message of ${size - HEADER} bytes does not fit: the channel holds at most ${MAX_CAPACITY} bytes`);
        }
        next = MAX_CAPACITY;
      }
      (this.memory.data as GrowableSAB).grow(next);
      const head = ctl[HEAD];
      const tail = ctl[TAIL];
      if (used > 0 && tail <= head) {
        // unwrap: frames that wrapped to the start move after the old end, so the data is contiguous
        this.#u8.copyWithin(cap, 0, tail);
        ctl[TAIL] = cap + tail;
      } else if (used === 0) {
        ctl[HEAD] = 0;
        ctl[TAIL] = 0;
      }
      return next;
    } finally {
      this.unlock(LOCK_R);
    }
  }

  /** Byte length of the first frame's payload; caller holds LOCK_R and knows count > 0. */
  peekLengthLocked(): number {
    return this.#u32[this.ctl[HEAD] >> 2];
  }

  /** Removes the first frame; caller holds LOCK_R and knows count > 0. */
  takeLocked(): Frame {
    const ctl = this.ctl;
    const cap = this.memory.data.byteLength;
    const head = ctl[HEAD];
    const len = this.#u32[head >> 2];
    const kind = this.#u32[(head >> 2) + 1];
    let at = head + HEADER;
    if (at >= cap) at -= cap;
    let out: Frame;
    if (kind === KIND_F64) {
      out = this.#f64[at >> 3];
    } else {
      // filled right below, so no need to zero it; sendBytes payloads get their own ArrayBuffer
      // (users see `.buffer`), the rest is decoded at once and may use Node's pool
      const bytes = kind === KIND_BYTES ? new Uint8Array(Buffer.allocUnsafeSlow(len).buffer, 0, len) : Buffer.allocUnsafe(len);
      if (at + len <= cap) bytes.set(this.#u8.subarray(at, at + len));
      else this.#copyOut(bytes, at, len, cap);
      out = [kind, bytes];
    }
    const size = HEADER + align8(len);
    let next = head + size;
    if (next >= cap) next -= cap;
    ctl[HEAD] = next;
    Atomics.sub(ctl, COUNT, 1);
    Atomics.sub(ctl, USED, size); // frees the bytes for writers
    return out;
  }

  /**
   * Removes up to `max` frames from the front as one packed run (at least one, then no more than
   * `maxBytes` in all), counting them into the control slot `into` (LENT; -1: none) before they leave
   * COUNT, so they are never missing from both. Caller holds LOCK_R and knows count > 0.
   */
  takePackedLocked(max: number, maxBytes: number, into: number): Packed {
    const ctl = this.ctl;
    const cap = this.memory.data.byteLength;
    const head = ctl[HEAD];
    const avail = Atomics.load(ctl, COUNT);
    let n = 0;
    let size = 0;
    let at = head;
    while (n < max && n < avail) {
      const s = HEADER + align8(this.#u32[at >> 2]);
      if (n > 0 && size + s > maxBytes) break;
      size += s;
      n++;
      at += s;
      if (at >= cap) at -= cap;
    }
    // A plain Uint8Array over an ArrayBuffer of its own: v8 serializes it several times faster than a Buffer.
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
    if (head + size <= cap) bytes.set(this.#u8.subarray(head, head + size));
    else this.#copyOut(bytes, head, size, cap);
    ctl[HEAD] = at;
    if (into >= 0) Atomics.add(ctl, into, n);
    Atomics.sub(ctl, COUNT, n);
    Atomics.sub(ctl, USED, size);
    return { bytes, count: n };
  }

  #copyOut(dst: Uint8Array, at: number, len: number, cap: number): void {
    const first = cap - at;
    dst.set(this.#u8.subarray(at, cap));
    dst.set(this.#u8.subarray(0, len - first), first);
  }

  // ---- wake-ups ----
  // A sleeper registers (WAITERS++), reads the sequence word, re-checks its condition, then
  // sleeps on that value. A waker changes the state, then bumps the word only if someone
  // registered. Sequentially consistent atomics make one of the two always see the other.

  readerWillWait(): number {
    Atomics.add(this.ctl, READ_WAITERS, 1);
    return Atomics.load(this.ctl, DATA_SEQ);
  }

  readerDoneWaiting(): void {
    Atomics.sub(this.ctl, READ_WAITERS, 1);
  }

  spaceWillWait(eager = true): number {
    Atomics.add(this.ctl, SPACE_WAITERS, 1);
    if (eager) Atomics.add(this.ctl, SPACE_EAGER, 1);
    return Atomics.load(this.ctl, SPACE_SEQ);
  }

  spaceDoneWaiting(eager = true): void {
    Atomics.sub(this.ctl, SPACE_WAITERS, 1);
    if (eager) Atomics.sub(this.ctl, SPACE_EAGER, 1);
  }

  joinWillWait(): number {
    Atomics.add(this.ctl, JOIN_WAITERS, 1);
    return Atomics.load(this.ctl, JOIN_SEQ);
  }

  joinDoneWaiting(): void {
    Atomics.sub(this.ctl, JOIN_WAITERS, 1);
  }

  /** After a push: wakes sleeping readers, if any. */
  published(): void {
    if (Atomics.load(this.ctl, READ_WAITERS) > 0) this.bump(DATA_SEQ);
  }

  /** After a take: wakes sleeping putters, if any. */
  consumed(): void {
    if (Atomics.load(this.ctl, SPACE_WAITERS) > 0) this.bump(SPACE_SEQ);
  }

  /** Wakes every sleeper (a handle closed, a join finished: sleepers re-check their state). */
  wakeAll(): void {
    this.bump(DATA_SEQ);
    this.bump(SPACE_SEQ);
    this.bump(JOIN_SEQ);
  }
}
