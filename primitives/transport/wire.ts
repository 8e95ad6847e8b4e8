/**
 * The wire format: length-prefixed frames over a stream socket. A payload is encoded by the one
 * message codec (lib/base/codec/message.ts: JSON text when JSON rebuilds it exactly, else v8, told
 * apart by the first byte), so a value crosses a socket with the same structured-clone semantics as
 * a Pipe or Queue. Every message of one tick is written as ONE frame (an array of messages).
 */
import type * as Fs from 'node:fs';
import { builtin } from '../../lib/base/builtin.js';
import type { Socket } from 'node:net';
import { ConnectionClosedError, SerializationError } from '../../lib/base/errors.js';
import { decode, jsonExact, v8Encode } from '../../lib/base/codec/message.js';

/** Largest frame accepted after authentication. */
export const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;
/** Largest frame accepted before authentication: a stranger cannot make us buffer much. */
export const HANDSHAKE_MAX_FRAME = 1024;
const HEADER = 4;
/** Payloads up to this size are copied behind their header and written once. */
const SMALL = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export { encode, decode } from '../../lib/base/codec/message.js';

const pause = new Int32Array(new SharedArrayBuffer(4));
/** How long a goodbye at exit may wait for a peer that reads nothing (ms). */
export const EXIT_WRITE_LIMIT_MS = 1000;

/**
 * Writes `buf` to a non-blocking fd, riding out a full socket buffer with short sleeps; false if the
 * fd fails, or if `limitMs` passes with the peer reading nothing (last words at exit must not hang).
 */
export function writeAllSync(fd: number, buf: Uint8Array, limitMs = Infinity): boolean {
  let off = 0;
  let ms = 0.05;
  const deadline = limitMs === Infinity ? Infinity : Date.now() + limitMs;
  while (off < buf.length) {
    try {
      off += builtin<typeof Fs>('node:fs').writeSync(fd, buf, off, buf.length - off);
      ms = 0.05;
    } catch (err: any) {
      if (err?.code !== 'EAGAIN' && err?.code !== 'EWOULDBLOCK') return false;
      if (Date.now() > deadline) return false;
      Atomics.wait(pause, 0, 0, ms);
      ms = Math.min(ms * 2, 5);
    }
  }
  return true;
}

/**
 * Frames over one socket. A frame over `maxFrame` or a socket error destroys this socket only,
 * and reports the reason once through onClose.
 */
export class FrameSocket {
  readonly socket: Socket;
  maxFrame: number;
  #closed = false;
  #handler: ((frame: Buffer) => void) | null = null;
  #queued: Buffer[] = [];
  #waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  #closeHandlers: ((err?: Error) => void)[] = [];
  #closeReason: Error | undefined;
  // Receive state: chunks not yet consumed, with their total length.
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1; // payload length of the frame being read, -1 while reading a header
  #paused = false;

  constructor(socket: Socket, opts: { maxFrame?: number } = {}) {
    this.socket = socket;
    this.maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#finish(err));
    socket.on('close', () => this.#finish(undefined));
    socket.on('end', () => this.#onEnd());
  }

  get closed(): boolean {
    return this.#closed;
  }

  onFrame(handler: ((frame: Buffer) => void) | null): void {
    this.#handler = handler;
    if (!handler) return;
    while (this.#queued.length > 0 && this.#handler === handler) handler(this.#queued.shift()!);
    this.#resume();
  }

  /** The next frame, for request/response exchanges such as the handshake. */
  readFrame(timeoutMs?: number): Promise<Buffer> {
    if (this.#queued.length > 0) return Promise.resolve(this.#queued.shift()!);
    if (this.#closed) return Promise.reject(this.#closedError());
    const promise = new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: (b: Buffer) => {
          if (timer) clearTimeout(timer);
          resolve(b);
        },
        reject: (e: Error) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          const err = new ConnectionClosedError('connection timed out waiting for the peer');
          this.close(err);
          reject(err);
        }, timeoutMs);
        timer.unref();
      }
      this.#waiters.push(waiter);
    });
    this.#resume();
    return promise;
  }

  onClose(handler: (err?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => handler(this.#closeReason));
    else this.#closeHandlers.push(handler);
  }

  /** Writes one frame of raw bytes. */
  sendFrame(payload: Uint8Array): void {
    this.#checkOutgoing(payload.length);
    if (payload.length <= SMALL) {
      const buf = Buffer.allocUnsafe(HEADER + payload.length);
      buf.writeUInt32BE(payload.length, 0);
      buf.set(payload, HEADER);
      this.socket.write(buf);
      return;
    }
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(payload.length, 0);
    // Large payload: no copy; cork so header and body leave in one writev.
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(payload);
    this.socket.uncork();
  }

  /** Encodes `value` (see encode) and writes it as one frame; JSON text is written straight behind its header. */
  sendValue(value: unknown): void {
    if (!jsonExact(value)) {
      this.sendFrame(v8Encode(value));
      return;
    }
    const text = JSON.stringify(value);
    const len = Buffer.byteLength(text);
    this.#checkOutgoing(len);
    const buf = Buffer.allocUnsafe(HEADER + len);
    buf.writeUInt32BE(len, 0);
    buf.write(text, HEADER);
    this.socket.write(buf);
  }

  /** Nothing is waiting in the socket's own buffer: a write now goes straight to the kernel. */
  get idle(): boolean {
    return this.socket.writableLength === 0;
  }

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closeReason ??= err;
    this.socket.destroy();
    this.#finish(err);
  }

  /** Graceful close: frames already written still reach the peer (e.g. an auth verdict). */
  end(graceMs = 1000): void {
    if (this.#closed) return;
    this.socket.end();
    // A peer that never closes its side must not keep this socket forever.
    setTimeout(() => this.close(), graceMs).unref();
  }

  /**
   * Writes one frame synchronously, straight to the socket's file descriptor, when nothing is queued
   * in the socket (so it cannot overtake earlier frames); for the last words of a thread or process
   * that is exiting, when no event-loop turn is left. Returns false when it could not.
   */
  sendFrameSync(payload: Uint8Array): boolean {
    if (this.#closed || this.socket.writableLength > 0) return false;
    const fd = (this.socket as any)._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return false;
    const buf = Buffer.allocUnsafe(HEADER + payload.length);
    buf.writeUInt32BE(payload.length, 0);
    buf.set(payload, HEADER);
    return writeAllSync(fd, buf, EXIT_WRITE_LIMIT_MS);
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  #checkOutgoing(length: number): void {
    if (this.#closed) throw this.#closedError();
    if (length > this.maxFrame) {
      throw new SerializationError(`message of ${length} bytes exceeds the frame limit of ${this.maxFrame} bytes`);
    }
  }

  #closedError(): Error {
    const reason = this.#closeReason;
    if (reason instanceof ConnectionClosedError) return reason;
    return new ConnectionClosedError(reason ? `connection closed: ${reason.message}` : 'connection closed');
  }

  #finish(err: Error | undefined): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#closeReason ??= err;
    if (!this.socket.destroyed) this.socket.destroy();
    this.#chunks = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#closedError());
    const handlers = this.#closeHandlers;
    this.#closeHandlers = [];
    for (const h of handlers) h(this.#closeReason);
  }

  /**
   * The peer sends nothing more. A frame someone waits for (a handshake step) can never come: fail
   * now rather than at the timeout. Otherwise end our side too, once our last frames are out.
   */
  #onEnd(): void {
    if (this.#waiters.length > 0) this.close(new ConnectionClosedError('the peer closed the connection'));
    else this.socket.end();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#buffered === 0 && this.#need < 0) chunk = this.#deliverWhole(chunk);
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#pump();
  }

  /** With nothing buffered, frames lying whole in `chunk` go out without copying; returns the rest. */
  #deliverWhole(chunk: Buffer): Buffer {
    let off = 0;
    while (!this.#paused && chunk.length - off >= HEADER) {
      const len = chunk.readUInt32BE(off);
      if (this.#tooBig(len)) return EMPTY;
      const end = off + HEADER + len;
      if (end > chunk.length) break;
      this.#deliver(chunk.subarray(off + HEADER, end));
      if (this.#closed) return EMPTY;
      off = end;
    }
    return off === 0 ? chunk : chunk.subarray(off);
  }

  /** An oversize frame closes the socket (a peer cannot make us buffer more than maxFrame). */
  #tooBig(len: number): boolean {
    if (len <= this.maxFrame) return false;
    this.close(new ConnectionClosedError(`frame of ${len} bytes exceeds the limit of ${this.maxFrame} bytes`));
    return true;
  }

  /**
   * After a frame went to readFrame() nothing more is parsed until the reader asks again: the
   * next frames may need another size limit or handler (the handshake raises maxFrame after it).
   */
  #resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.socket.resume();
    this.#pump();
  }

  #pump(): void {
    while (!this.#paused && !this.#closed) {
      if (this.#need < 0) {
        if (this.#buffered < HEADER) return;
        const len = this.#peekHeader();
        if (this.#tooBig(len)) return;
        this.#take(HEADER);
        this.#need = len;
      }
      if (this.#buffered < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      this.#deliver(frame);
      if (this.#closed) return;
    }
  }

  #peekHeader(): number {
    const first = this.#chunks[0];
    if (first.length >= HEADER) return first.readUInt32BE(0);
    return Buffer.concat(this.#chunks, HEADER).readUInt32BE(0);
  }

  /** Removes n bytes from the front of the receive buffer; copies only when a frame spans chunks. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }

  #deliver(frame: Buffer): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#paused = true;
      this.socket.pause();
      waiter.resolve(frame);
    } else if (this.#handler) this.#handler(frame);
    else this.#queued.push(frame);
  }
}

/**
 * Messages over a FrameSocket: every message sent in one tick goes out as one frame holding an
 * array of messages. A frame that does not decode to an array closes the socket.
 */
export class MessageSocket {
  readonly frames: FrameSocket;
  #batch: unknown[] = [];
  #scheduled = false;
  #onSendError: ((msg: unknown, err: unknown) => void) | null = null;
  readonly #flushTick = () => this.flush();

  constructor(frames: FrameSocket) {
    this.frames = frames;
  }

  /**
   * Sends a message. The first one of a tick leaves at once when nothing is pending (a lone call
   * does not wait for the tick to end); the rest of that tick's messages share one frame after it.
   * A message that cannot be sent is reported to onSendError.
   */
  send(msg: unknown): void {
    if (this.frames.closed) throw new ConnectionClosedError();
    if (this.#scheduled) {
      this.#batch.push(msg);
      return;
    }
    this.#scheduled = true;
    // nextTick runs after the microtask queue drains: replies settled by many promises share a frame.
    process.nextTick(this.#flushTick);
    if (this.frames.idle) this.#write([msg]);
    else this.#batch.push(msg);
  }

  /** Takes the messages batched for the end of this tick, unsent (the caller writes them). */
  takeBatch(): unknown[] {
    const batch = this.#batch;
    this.#batch = [];
    return batch;
  }

  /** Writes the pending batch now. */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    if (!this.frames.closed) this.#write(batch);
  }

  #write(batch: unknown[]): void {
    try {
      this.frames.sendValue(batch);
    } catch (err) {
      if (batch.length === 1) {
        this.#onSendError?.(batch[0], err);
        return;
      }
      // One bad or huge message must not sink its neighbours: send them one by one and report
      // the ones that cannot go, so their callers get the error.
      for (const m of batch) {
        if (this.frames.closed) return;
        try {
          this.frames.sendValue([m]);
        } catch (e) {
          this.#onSendError?.(m, e);
        }
      }
    }
  }

  /** Called with a message that could not be sent (not serializable, or over the frame limit). */
  onSendError(handler: (msg: unknown, err: unknown) => void): void {
    this.#onSendError = handler;
  }

  onMessage(handler: (msg: unknown) => void): void {
    this.frames.onFrame((frame) => {
      let msgs: unknown;
      try {
        msgs = decode(frame);
      } catch (err) {
        this.frames.close(new ConnectionClosedError(`malformed frame: ${(err as Error)?.message ?? err}`));
        return;
      }
      if (!Array.isArray(msgs)) {
        this.frames.close(new ConnectionClosedError('malformed frame: not a message batch'));
        return;
      }
      for (const m of msgs) {
        if (this.frames.closed) return;
        handler(m);
      }
    });
  }
}
