/**
 * The core of one Connection end: the ring it reads from and/or the ring it writes to, plus the
 * count of open handles of this end (kept in the rings: WRITERS of its write ring, READERS of
 * its read ring), which is how the peer learns about EOF and a broken pipe.
 *
 * Every handle belongs to an owner (the thread or process holding it), recorded in a small table in
 * shared memory, so that the handles of a worker that ends without closing them (a thread stopped by
 * terminate(), a process that crashed) are closed for it and the peer sees EOF.
 */
import { registerCoreClass, type CoreShape } from '../kernel/core.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import { deadlineOf, drive, RemoteWaits, runAsync, runSync, sleep, timeLeft, type Sleep, type WaitLoop, type WaitToken } from '../kernel/wait.js';
import { watchEnds } from '../kernel/worker-gone.js';
import { ownerNumber } from '../kernel/owner.js';
import { COUNT, DATA_SEQ, LOCK_R, LOCK_W, MessageRing, READERS, WRITERS, type Frame, type RingMemory } from './ring.js';
import { checkPacked, type Packed } from '../kernel/frames.js';

/** What `recv` returns instead of a frame: end of file, or a message longer than `maxLength`. */
export type RecvResult = Frame | null | { tooLong: number };

const AGAIN = Symbol('again');

export function brokenPipe(): ConnectionClosedError {
  return new ConnectionClosedError('broken pipe: every handle of the other end is closed');
}

function pushRun(ring: MessageRing, run: Packed): void {
  ring.lock(LOCK_W);
  try {
    ring.pushPackedLocked(run);
  } finally {
    ring.unlock(LOCK_W);
  }
  ring.published();
}

export const PipeEndShape = {
  kind: 'Connection',
  waiting: ['recv', 'poll'],
  immediate: ['retain', 'adopt', 'disown', 'receivePacked'],
  fireAndForget: ['adopt', 'disown'],
  // A process worker's sends stream as packed runs (one request and one copy into the ring per run).
  packed: { send: 'sendPacked' },
} as const satisfies CoreShape;

/** The shared memory of one end: the ring it reads, the ring it writes (null when simplex), its holders. */
export interface PipeEndMemory {
  read: RingMemory | null;
  write: RingMemory | null;
  /** [owner number, handles] pairs: who holds handles of this end. */
  holders: SharedArrayBuffer;
}

/** Distinct owners tracked per end; beyond that a handle is still counted, just not tied to its owner. */
const HOLDER_SLOTS = 32;
const NO_TOKEN: WaitToken = { cancelled: false, index: DATA_SEQ };

export class PipeEndCore {
  readonly memory: PipeEndMemory;
  readonly #read: MessageRing | null;
  readonly #write: MessageRing | null;
  readonly #holders: Int32Array;
  readonly #waits = new RemoteWaits();
  /** The other end's core, when both were made here by pair() (a lane needs both; see pipe-lane.ts). */
  peer: PipeEndCore | null = null;

  constructor(memory: PipeEndMemory) {
    this.memory = memory;
    this.#read = memory.read ? new MessageRing(memory.read) : null;
    this.#write = memory.write ? new MessageRing(memory.write) : null;
    this.#holders = new Int32Array(memory.holders);
    watchEnds(this);
  }

  /** Creates both ends, each with one open handle held by `owner` (the creator). */
  static pair(duplex: boolean, owner: string): [PipeEndCore, PipeEndCore] {
    const ab = new MessageRing();
    const ba = duplex ? new MessageRing() : null;
    const holders = () => new SharedArrayBuffer(HOLDER_SLOTS * 8);
    const a = new PipeEndCore({ read: ba?.memory ?? ab.memory, write: duplex ? ab.memory : null, holders: holders() });
    const b = new PipeEndCore({ read: duplex ? ab.memory : null, write: ba?.memory ?? ab.memory, holders: holders() });
    for (const end of [a, b]) {
      end.retain();
      end.adopt(owner);
    }
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  // ---- handles ----

  /** One more handle of this end is open (a copy on its way to a worker, which adopts it). */
  retain(): void {
    this.#read?.add(READERS, 1);
    this.#write?.add(WRITERS, 1);
  }

  /** One handle of this end closed: when it was the last, the peer sees EOF / a broken pipe. */
  #release(n = 1): void {
    if (n <= 0) return;
    if (this.#read && this.#read.add(READERS, -n) === 0) this.#read.wakeAll();
    if (this.#write && this.#write.add(WRITERS, -n) === 0) this.#write.wakeAll();
  }

  /** The slot of owner number `me` (claiming a free one if `claim`), or -1. */
  #slot(me: number, claim: boolean): number {
    const h = this.#holders;
    let free = -1;
    for (let i = 0; i < h.length; i += 2) {
      const o = Atomics.load(h, i);
      if (o === me) return i;
      if (o === 0 && free < 0) free = i;
    }
    if (!claim) return -1;
    for (let i = free; i >= 0 && i < h.length; i += 2) {
      const o = Atomics.compareExchange(h, i, 0, me);
      if (o === 0 || o === me) return i;
    }
    return -1;
  }

  /** `owner` took one retained handle (it now closes it, or it is closed for it when `owner` ends). */
  adopt(owner: string): void {
    const i = this.#slot(ownerNumber(owner), true);
    if (i >= 0) Atomics.add(this.#holders, i + 1, 1);
  }

  /** A handle that was retained and never adopted closes (a lane's own hold on this end). */
  release(): void {
    this.#release();
  }

  /** `owner` closed one of its handles. */
  disown(owner: string): void {
    const i = this.#slot(ownerNumber(owner), false);
    if (i >= 0 && Atomics.load(this.#holders, i + 1) > 0) Atomics.sub(this.#holders, i + 1, 1);
    this.#release();
  }

  /** Open handles of this end (counted in its rings). */
  handles(): number {
    return this.#write ? this.#write.load(WRITERS) : this.#read!.load(READERS);
  }

  /** Handles of this end held by `owner`. */
  handlesOf(owner: string): number {
    const i = this.#slot(ownerNumber(owner), false);
    return i < 0 ? 0 : Atomics.load(this.#holders, i + 1);
  }

  /** `owner` (a worker thread or process) ended: its handles close and its pending receives end. */
  abandon(owner: string, _died = true): void {
    const i = this.#slot(ownerNumber(owner), false);
    if (i >= 0) this.#release(Atomics.exchange(this.#holders, i + 1, 0));
    if (this.#read) this.#waits.cancel(owner, this.#read.ctl);
  }

  // ---- data ----

  /** Some handle of the other end is open (else a send is a broken pipe). */
  peerOpen(): boolean {
    return this.#write!.load(READERS) > 0;
  }

  send(msg: Frame): void {
    const ring = this.#write!;
    if (ring.load(READERS) <= 0) throw brokenPipe();
    ring.lock(LOCK_W);
    try {
      ring.pushLocked(msg);
    } finally {
      ring.unlock(LOCK_W);
    }
    ring.published();
  }

  /** send() for a packed run of messages (a process worker's stream of sends). */
  sendPacked(bytes: Uint8Array, count: number): void {
    if (!checkPacked(bytes, count)) throw new TypeError('sendPacked: malformed run');
    if (this.#write!.load(READERS) <= 0) throw brokenPipe();
    pushRun(this.#write!, { bytes, count });
  }

  /** Messages that were on their way to this end by another path (a lane) join its ring, after what is there. */
  receivePacked(bytes: Uint8Array, count: number): void {
    if (!checkPacked(bytes, count)) throw new TypeError('receivePacked: malformed run');
    pushRun(this.#read!, { bytes, count });
  }

  /** Takes every message waiting for the other end (a lane carries them from now on); null if none. */
  takeSent(): Packed | null {
    const ring = this.#write;
    if (ring === null || ring.load(COUNT) === 0) return null;
    ring.lock(LOCK_R);
    try {
      return ring.load(COUNT) > 0 ? ring.takePackedLocked(Infinity, Infinity, -1) : null;
    } finally {
      ring.unlock(LOCK_R);
      ring.consumed();
    }
  }

  /** recv() without waiting: undefined when it would wait. */
  recvNowait(maxLength?: number | null): RecvResult | undefined {
    const r = this.#tryRecv(maxLength);
    return r === AGAIN ? undefined : r;
  }

  /** A message is waiting in this end's ring. */
  pending(): boolean {
    return this.#read!.load(COUNT) > 0;
  }

  /** One attempt: a frame, EOF (null), too long, or AGAIN. */
  #tryRecv(maxLength: number | null | undefined): RecvResult | typeof AGAIN {
    const ring = this.#read!;
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
        if (typeof out === 'number' || Array.isArray(out)) ring.consumed();
        return out;
      }
    }
    if (ring.load(WRITERS) <= 0 && ring.load(COUNT) === 0) return null;
    return AGAIN;
  }

  /** Registered as a reader, re-check, then sleep on DATA_SEQ: one loop for recv and recvSync. */
  *#recv(maxLength: number | null | undefined, token: WaitToken): WaitLoop<RecvResult> {
    const ring = this.#read!;
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.readerWillWait();
      try {
        if (token.cancelled) return null;
        const r = this.#tryRecv(maxLength);
        if (r !== AGAIN) return r;
        yield (sl = sleep(sl, ring.ctl, DATA_SEQ, seq, undefined));
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  async recv(maxLength?: number | null, owner?: string): Promise<RecvResult> {
    const r = this.#tryRecv(maxLength);
    if (r !== AGAIN) return r;
    return drive(runAsync, this.#waits, owner, DATA_SEQ, (token) => this.#recv(maxLength, token));
  }

  recvSync(maxLength?: number | null): RecvResult {
    const r = this.#tryRecv(maxLength);
    return r !== AGAIN ? r : runSync(this.#recv(maxLength, NO_TOKEN));
  }

  /** True when a message is ready or the other end is closed (recv would not block), as Python. */
  #ready(): boolean {
    const ring = this.#read!;
    return ring.load(COUNT) > 0 || ring.load(WRITERS) <= 0;
  }

  *#poll(timeout: number | undefined, token: WaitToken): WaitLoop<boolean> {
    const ring = this.#read!;
    const deadline = deadlineOf(timeout);
    let sl: Sleep | null = null;
    for (;;) {
      const seq = ring.readerWillWait();
      try {
        if (this.#ready()) return true;
        const left = timeLeft(deadline);
        if (left === -1 || token.cancelled) return false;
        yield (sl = sleep(sl, ring.ctl, DATA_SEQ, seq, left));
      } finally {
        ring.readerDoneWaiting();
      }
    }
  }

  async poll(timeout?: number, owner?: string): Promise<boolean> {
    if (this.#ready()) return true;
    if (timeout === 0) return false;
    return drive(runAsync, this.#waits, owner, DATA_SEQ, (token) => this.#poll(timeout, token));
  }

  pollSync(timeout?: number): boolean {
    if (this.#ready()) return true;
    return timeout !== 0 && runSync(this.#poll(timeout, NO_TOKEN));
  }

  /** poll() with no timeout that the caller can call off (connection.wait() over several ends). */
  watchReady(): { ready: Promise<boolean>; cancel(): Promise<boolean> } {
    const token: WaitToken = { cancelled: false, index: DATA_SEQ };
    const ring = this.#read!;
    const ready = runAsync(this.#poll(undefined, token));
    return {
      ready,
      cancel: () => {
        token.cancelled = true;
        Atomics.notify(ring.ctl, DATA_SEQ); // the sleeping loop wakes, sees the cancel and ends
        return ready;
      },
    };
  }
}

registerCoreClass(PipeEndCore, import.meta.url);
