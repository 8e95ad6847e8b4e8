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

/** Control block slots (Int32). */
export const LOCK = 0;
export const DATA_SEQ = 1;
export const SPACE_SEQ = 2;
const HEAD = 3;
const USED = 4;
export const COUNT = 5;
export const WRITERS = 6;
export const READERS = 7;
const READ_WAITERS = 8;
const SPACE_WAITERS = 9;
export const UNFINISHED = 10;
export const JOIN_SEQ = 11;
const JOIN_WAITERS = 12;
const CTL_SLOTS = 16;

const HEADER = 8;
/** Initial byte capacity: small, so that many pipes cost little; grows on demand. */
export const INITIAL_CAPACITY = 64 * 1024;
/** The largest the byte store may grow to; a bigger message is refused. */
export const MAX_CAPACITY = 1024 * 1024 * 1024;
const SPIN = 200;

/** Frame kinds: what a payload holds. */
export const KIND_V8 = 0;
export const KIND_BYTES = 1;
export const KIND_F64 = 2;
export const KIND_STRING = 3;

/** The shared memory of one ring; this is what crosses to a worker thread. */
export interface RingMemory {
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** A message as it sits in the ring: a number (KIND_F64) or [kind, bytes]. */
export type Frame = number | [kind: number, bytes: Uint8Array];

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

// ES2024 library members Node 20 has but our `lib` setting does not declare.
type WaitAsync = (a: Int32Array, i: number, v: number, ms?: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync: WaitAsync = (Atomics as any).waitAsync;
type GrowableSAB = SharedArrayBuffer & { grow(n: number): void };
const SAB = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Keeps the event loop alive while an async wait is pending: Atomics.waitAsync alone does not. */
let keepAliveCount = 0;
let keepAliveTimer: ReturnType<typeof setInterval> | null = null;
function holdLoop(): void {
  if (keepAliveCount++ === 0) keepAliveTimer = setInterval(() => {}, 1 << 30);
}
function releaseLoop(): void {
  if (--keepAliveCount === 0 && keepAliveTimer) {
    clearInterval(keepAliveTimer);
    keepAliveTimer = null;
  }
}

/** Waits until ctl[slot] != value or `ms` passes, without blocking the event loop. */
export async function waitChange(ctl: Int32Array, slot: number, value: number, ms: number | undefined): Promise<void> {
  const res = waitAsync(ctl, slot, value, ms ?? Infinity);
  if (!res.async) return;
  holdLoop();
  try {
    await res.value;
  } finally {
    releaseLoop();
  }
}

/** Blocks the calling thread until ctl[slot] != value or `ms` passes; spins briefly first. */
export function waitChangeSync(ctl: Int32Array, slot: number, value: number, ms: number | undefined): void {
  for (let i = 0; i < SPIN; i++) if (Atomics.load(ctl, slot) !== value) return;
  Atomics.wait(ctl, slot, value, ms ?? Infinity);
}

export class MessageRing {
  readonly memory: RingMemory;
  readonly ctl: Int32Array;
  #u8: Uint8Array;
  #u32: Uint32Array;

  constructor(memory?: RingMemory) {
    this.memory = memory ?? {
      ctl: new SharedArrayBuffer(CTL_SLOTS * 4),
      data: new SAB(INITIAL_CAPACITY, { maxByteLength: MAX_CAPACITY }),
    };
    this.ctl = new Int32Array(this.memory.ctl);
    // length-tracking views: they follow the buffer when another thread grows it
    this.#u8 = new Uint8Array(this.memory.data);
    this.#u32 = new Uint32Array(this.memory.data);
  }

  // ---- mutex (Drepper's futex mutex: 0 free, 1 locked, 2 locked with waiters) ----

  lock(): void {
    const ctl = this.ctl;
    if (Atomics.compareExchange(ctl, LOCK, 0, 1) === 0) return;
    for (let i = 0; i < 100; i++) {
      if (Atomics.load(ctl, LOCK) === 0 && Atomics.compareExchange(ctl, LOCK, 0, 1) === 0) return;
    }
    while (Atomics.exchange(ctl, LOCK, 2) !== 0) Atomics.wait(ctl, LOCK, 2);
  }

  unlock(): void {
    if (Atomics.sub(this.ctl, LOCK, 1) !== 1) {
      Atomics.store(this.ctl, LOCK, 0);
      Atomics.notify(this.ctl, LOCK, 1);
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

  // ---- frames (callers hold the lock) ----

  /**
   * Appends a frame; grows the store if needed (RangeError past MAX_CAPACITY, nothing written).
   * Caller holds the lock (and releases it in `finally`) and calls `published()` after unlock.
   */
  pushLocked(kind: number, payload: Uint8Array | number): void {
    const ctl = this.ctl;
    const isNum = typeof payload === 'number';
    const len = isNum ? 8 : payload.byteLength;
    const size = HEADER + align8(len);
    let cap = this.memory.data.byteLength;
    const used = ctl[USED];
    if (cap - used < size) cap = this.#grow(cap, used, size);
    const head = ctl[HEAD];
    let pos = head + used;
    if (pos >= cap) pos -= cap;
    this.#u32[pos >> 2] = len;
    this.#u32[(pos >> 2) + 1] = kind;
    let at = pos + HEADER;
    if (at >= cap) at -= cap;
    if (isNum) {
      f64[0] = payload;
      if (at + 8 <= cap) this.#u8.set(f64Bytes, at);
      else this.#copyIn(f64Bytes, at, cap);
    } else if (len > 0) {
      if (at + len <= cap) this.#u8.set(payload, at);
      else this.#copyIn(payload, at, cap);
    }
    ctl[USED] = used + size;
    ctl[COUNT]++;
  }

  #copyIn(src: Uint8Array, at: number, cap: number): void {
    const first = cap - at;
    this.#u8.set(src.subarray(0, first), at);
    this.#u8.set(src.subarray(first), 0);
  }

  #grow(cap: number, used: number, size: number): number {
    let next = cap * 2;
    while (next - used < size) next *= 2;
    if (next > MAX_CAPACITY) {
      if (MAX_CAPACITY - used < size) {
        throw new RangeError(`message of ${size - HEADER} bytes does not fit: the channel holds at most ${MAX_CAPACITY} bytes`);
      }
      next = MAX_CAPACITY;
    }
    (this.memory.data as GrowableSAB).grow(next);
    // unwrap: frames that wrapped to the start move after the old end, so the data is contiguous again
    const head = this.ctl[HEAD];
    const wrapped = head + used - cap;
    if (wrapped > 0) this.#u8.copyWithin(cap, 0, wrapped);
    return next;
  }

  /** Byte length of the first frame's payload; caller holds the lock and knows count > 0. */
  peekLengthLocked(): number {
    return this.#u32[this.ctl[HEAD] >> 2];
  }

  /** Removes the first frame; caller holds the lock and knows count > 0. */
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
      if (at + 8 <= cap) f64Bytes.set(this.#u8.subarray(at, at + 8));
      else this.#copyOut(f64Bytes, at, 8, cap);
      out = f64[0];
    } else {
      const bytes = new Uint8Array(len);
      if (at + len <= cap) bytes.set(this.#u8.subarray(at, at + len));
      else this.#copyOut(bytes, at, len, cap);
      out = [kind, bytes];
    }
    const size = HEADER + align8(len);
    const used = ctl[USED] - size;
    ctl[USED] = used;
    let next = head + size;
    if (next >= cap) next -= cap;
    ctl[HEAD] = used === 0 ? 0 : next;
    ctl[COUNT]--;
    return out;
  }

  #copyOut(dst: Uint8Array, at: number, len: number, cap: number): void {
    const first = cap - at;
    dst.set(this.#u8.subarray(at, cap));
    dst.set(this.#u8.subarray(0, len - first), first);
  }

  // ---- wake-ups ----

  /** Registers the caller as a reader about to sleep; returns the DATA_SEQ to wait on. Caller holds the lock. */
  readerWillWaitLocked(): number {
    this.ctl[READ_WAITERS]++;
    return Atomics.load(this.ctl, DATA_SEQ);
  }

  readerDoneWaiting(): void {
    Atomics.sub(this.ctl, READ_WAITERS, 1);
  }

  spaceWillWaitLocked(): number {
    this.ctl[SPACE_WAITERS]++;
    return Atomics.load(this.ctl, SPACE_SEQ);
  }

  spaceDoneWaiting(): void {
    Atomics.sub(this.ctl, SPACE_WAITERS, 1);
  }

  joinWillWaitLocked(): number {
    this.ctl[JOIN_WAITERS]++;
    return Atomics.load(this.ctl, JOIN_SEQ);
  }

  joinDoneWaiting(): void {
    Atomics.sub(this.ctl, JOIN_WAITERS, 1);
  }

  /** After a push (lock released): wakes sleeping readers, if any. */
  published(): void {
    Atomics.add(this.ctl, DATA_SEQ, 1);
    if (Atomics.load(this.ctl, READ_WAITERS) > 0) Atomics.notify(this.ctl, DATA_SEQ);
  }

  /** After a take (lock released): wakes sleeping putters, if any. */
  consumed(): void {
    Atomics.add(this.ctl, SPACE_SEQ, 1);
    if (Atomics.load(this.ctl, SPACE_WAITERS) > 0) Atomics.notify(this.ctl, SPACE_SEQ);
  }

  /** Wakes every sleeper (a handle closed: waiters re-check their state). */
  wakeAll(): void {
    this.bump(DATA_SEQ);
    this.bump(SPACE_SEQ);
    this.bump(JOIN_SEQ);
  }
}
