/**
 * A lane: a socket between two threads of two processes that carries one thing only (a Pipe whose
 * two ends each have a single holder, channel/pipe-lane.ts), read by the owning thread's own event
 * loop — so a message costs one wake-up, the floor for two event loops, instead of two hops through
 * a broker thread.
 *
 * The thread may also read and write its lanes synchronously (the fd directly; nothing else reads it
 * in between, all in one thread), which is what keeps a lane from ever deadlocking:
 * - a write waits only while the peer's socket buffer is full, and meanwhile drains this thread's
 *   own incoming lanes (two peers sending each other a lot both progress);
 * - every blocking wait of this thread (kernel/wait.ts runSync, link.ts callSync) drains its lanes now and
 *   then ({@link waitSlices}), so a peer writing to it never stalls because it is blocked.
 *
 * Frames: u32 length (of what follows), u8 type, payload.
 */
import type * as Fs from 'node:fs';
import type { Socket } from 'node:net';
import { builtin } from '../../lib/base/builtin.js';
import { setBlockingSleep } from '../kernel/wait.js';

const fs = () => builtin<typeof Fs>('node:fs');

const HEADER = 5;
/** Bytes before a frame's payload (see {@link LaneSocket.frame}). */
export const LANE_HEADER = HEADER;
const READ_CHUNK = 64 * 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** The open lanes of this thread: every blocking wait drains them. */
const live = new Set<LaneSocket>();

export class LaneSocket {
  readonly socket: Socket;
  readonly fd: number;
  #onFrame: (type: number, payload: Uint8Array) => void = () => {};
  #onClose: ((err?: Error) => void) | null = null;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #closed = false;
  /** Re-entrance guard: a frame handler may drain or write itself. */
  #pumping = false;
  /** A write is in progress (waiting for room): frames written meanwhile (by a handler) queue behind it. */
  #writing = false;
  #later: Buffer[] = [];
  /** The owner's batched frames (see {@link setPending}). */
  #pending: (() => void) | null = null;
  #readBuf: Buffer | null = null;

  constructor(socket: Socket) {
    const fd = (socket as any)._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new Error('a lane needs a socket with a file descriptor');
    this.socket = socket;
    this.fd = fd;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#feed(chunk));
    socket.on('error', (err) => this.#finish(err));
    socket.on('close', () => this.#finish());
    socket.on('end', () => this.#finish());
    live.add(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  onFrame(handler: (type: number, payload: Uint8Array) => void): void {
    this.#onFrame = handler;
    this.#pump();
  }

  /** Called once when the peer is gone (EOF, error, or our own close). */
  onClose(handler: (err?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => handler());
    else this.#onClose = handler;
  }

  /**
   * Writes one frame now. Waits only while the peer's buffer is full, draining this thread's own
   * lanes meanwhile. False when the peer is gone.
   */
  write(type: number, payload?: Uint8Array): boolean {
    const buf = this.frame(type, payload?.byteLength ?? 0);
    if (payload) buf.set(payload, HEADER);
    return this.send(buf);
  }

  /** A frame of `type` with room for `len` bytes of payload at offset LANE_HEADER, for {@link send}. */
  frame(type: number, len: number): Buffer {
    const buf = Buffer.allocUnsafe(HEADER + len);
    buf.writeUInt32BE(1 + len, 0);
    buf[4] = type;
    return buf;
  }

  /**
   * The owner batches frames: `flush` writes them, and is called before this lane writes anything
   * else and before any blocking wait of this thread (drainLanes), so nothing overtakes them.
   */
  setPending(flush: (() => void) | null): void {
    this.#pending = flush;
  }

  #flushPending(): void {
    const f = this.#pending;
    if (f === null) return;
    this.#pending = null;
    f();
  }

  /** Writes a frame made by {@link frame} (see write). */
  send(buf: Buffer): boolean {
    this.#flushPending();
    if (this.#closed) return false;
    if (this.#writing) {
      this.#later.push(buf);
      return true;
    }
    this.#writing = true;
    try {
      if (!this.#writeAll(buf)) return false;
      while (this.#later.length > 0) if (!this.#writeAll(this.#later.shift()!)) return false;
      return true;
    } finally {
      this.#writing = false;
    }
  }

  #writeAll(buf: Buffer): boolean {
    let off = 0;
    let ms = 0.02;
    while (off < buf.length) {
      try {
        off += fs().writeSync(this.fd, buf, off, buf.length - off);
        ms = 0.02;
      } catch (err: any) {
        if (err?.code !== 'EAGAIN' && err?.code !== 'EWOULDBLOCK') {
          this.#finish(err);
          return false;
        }
        if (drainLanes() === 0) Atomics.wait(pause, 0, 0, ms);
        ms = Math.min(ms * 2, 2);
        if (this.#closed) return false;
      }
    }
    return true;
  }

  /** Reads what the peer sent so far without waiting, and handles its frames; returns how many bytes came. */
  drain(): number {
    if (this.#closed) return 0;
    let got = 0;
    this.#readBuf ??= Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      let n: number;
      try {
        n = fs().readSync(this.fd, this.#readBuf, 0, READ_CHUNK, null);
      } catch (err: any) {
        if (err?.code === 'EAGAIN' || err?.code === 'EWOULDBLOCK') break;
        this.#finish(err);
        break;
      }
      if (n === 0) {
        this.#finish();
        break;
      }
      got += n;
      this.#feed(Buffer.from(this.#readBuf.subarray(0, n)));
      if (n < READ_CHUNK) break;
    }
    return got;
  }

  /** Writes the owner's batched frames now. */
  flush(): void {
    this.#flushPending();
  }

  /** The lane keeps the process alive only while someone waits on it. */
  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.socket.destroy();
    this.#finish();
  }

  #feed(chunk: Buffer): void {
    if (this.#closed && chunk.length === 0) return;
    if (this.#buffered === 0 && !this.#pumping) chunk = this.#frames(chunk);
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#pump();
  }

  /**
   * The common case, nothing buffered: handles the whole frames of `chunk` in place (no copy, no
   * queue); returns the rest, which goes ahead of anything a handler fed meanwhile (by drain).
   */
  #frames(chunk: Buffer): Buffer {
    let at = 0;
    let done = false;
    this.#pumping = true;
    try {
      while (chunk.length - at >= HEADER) {
        const end = at + 4 + chunk.readUInt32BE(at);
        if (end > chunk.length) break;
        const type = chunk[at + 4];
        const payload = chunk.subarray(at + HEADER, end);
        at = end;
        this.#onFrame(type, payload);
      }
      done = true;
    } finally {
      this.#pumping = false;
      if (this.#buffered > 0 || !done) {
        // a handler drained more meanwhile (or threw): our rest comes first
        if (at < chunk.length) {
          this.#chunks.unshift(chunk.subarray(at));
          this.#buffered += chunk.length - at;
        }
        at = chunk.length;
        if (done) this.#pump();
      }
    }
    return at === 0 ? chunk : chunk.subarray(at);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#buffered >= HEADER) {
        const head = this.#peek(HEADER);
        const len = head.readUInt32BE(0);
        if (this.#buffered < 4 + len) return;
        const frame = this.#take(4 + len);
        this.#onFrame(frame[4], frame.subarray(HEADER));
      }
    } finally {
      this.#pumping = false;
    }
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    return first.length >= n ? first : Buffer.concat(this.#chunks, n);
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, n - off);
      out.set(k === c.length ? c : c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }

  #finish(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    if (!this.socket.destroyed) this.socket.destroy();
    const h = this.#onClose;
    this.#onClose = null;
    h?.(err);
  }
}

/** Writes every lane's batched frames, then drains every lane of this thread (see the module notes); returns the bytes that came. */
export function drainLanes(): number {
  if (live.size === 0) return 0;
  let got = 0;
  for (const lane of [...live]) {
    lane.flush();
    got += lane.drain();
  }
  return got;
}

/** How long the first wait of a blocking call polls its lanes before it sleeps (ms). */
const SPIN_MS = 0.1;

/**
 * The first wait of a blocking call on a thread with lanes: a peer's answer often comes within tens
 * of microseconds, sooner than a sleep would notice it (Node cannot block on a socket), so poll the
 * lanes that long; true when something came.
 */
export function spinLanes(): boolean {
  for (const until = performance.now() + SPIN_MS; performance.now() < until; ) if (drainLanes() > 0) return true;
  return false;
}

/** True when this thread has open lanes (its blocking waits must then wake up to drain them). */
export function haveLanes(): boolean {
  return live.size > 0;
}

/**
 * For a blocking wait: how long to sleep before draining the lanes again, given the last slice (ms)
 * and whether the last drain brought anything — short while a peer is active, up to 2 ms when idle.
 */
export function nextSlice(last: number, busy: boolean): number {
  return busy ? 0.02 : Math.min(last * 2, 2);
}

/** A blocking wait of a thread with lanes: it wakes up now and then to drain them. */
export function sleepDrainingLanes(arr: Int32Array, index: number, value: number, ms: number | undefined): void {
  const deadline = ms === undefined || ms === Infinity ? Infinity : performance.now() + ms;
  if (spinLanes() && Atomics.load(arr, index) !== value) return;
  for (let slice = 0.02; Atomics.load(arr, index) === value; ) {
    slice = nextSlice(slice, drainLanes() > 0);
    const left = deadline - performance.now();
    if (left <= 0) return;
    Atomics.wait(arr, index, value, Math.min(slice, left));
  }
}

// Every blocking wait of this thread (kernel/wait.ts runSync, link.ts callSync) drains its lanes
// while it has any. A lane exists only once this module is loaded, so registering here is enough.
setBlockingSleep((arr, index, value, ms) => {
  if (live.size === 0) return false;
  sleepDrainingLanes(arr, index, value, ms);
  return true;
});
