/**
 * The wire format: length-prefixed frames over a stream socket, payloads in v8's serialization.
 *
 * v8 rather than JSON: it carries the same values as structured clone on the thread path (Map,
 * Set, Date, BigInt, typed arrays, undefined, NaN, cycles), so a primitive behaves the same in a
 * thread and in a process. Its fixed cost per call (~4 µs) is amortised by writing every
 * message of one tick as ONE frame (an array of messages): ~1 µs per small message.
 */
import type { Socket } from 'node:net';
import { serialize, deserialize } from 'node:v8';
import { ConnectionClosedError, SerializationError } from '../../lib/errors.js';

/** Largest frame accepted after authentication. */
export const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;
/** Largest frame accepted before authentication: a stranger cannot make us buffer much. */
export const HANDSHAKE_MAX_FRAME = 1024;
const HEADER = 4;
/** Payloads up to this size are copied behind their header and written once. */
const SMALL = 64 * 1024;

/** v8-serializes a value; a value v8 refuses becomes a SerializationError. */
export function encode(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (err) {
    throw new SerializationError(`cannot send this value to another process: ${(err as Error)?.message ?? err}`, '', { cause: err });
  }
}

/** Decodes a payload; throws on malformed input. */
export function decode(buf: Uint8Array): unknown {
  return deserialize(buf);
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
    socket.on('end', () => socket.end());
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

  /** Writes one frame. Frames written in one tick leave in one write (cork until next tick). */
  sendFrame(payload: Uint8Array): void {
    if (this.#closed) throw this.#closedError();
    if (payload.length > this.maxFrame) {
      throw new SerializationError(`message of ${payload.length} bytes exceeds the frame limit of ${this.maxFrame} bytes`);
    }
    if (payload.length <= SMALL) {
      // One write per frame: callers batch a tick's messages into one frame already.
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

  close(err?: Error): void {
    if (this.#closed) return;
    this.#closeReason ??= err;
    this.socket.destroy();
    this.#finish(err);
  }

  /** Graceful close: frames already written still reach the peer (e.g. an auth verdict). */
  end(): void {
    if (this.#closed) return;
    this.socket.end();
    // A peer that never closes its side must not keep this socket forever.
    setTimeout(() => this.close(), 1000).unref();
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
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

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#pump();
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
        if (len > this.maxFrame) {
          this.close(new ConnectionClosedError(`frame of ${len} bytes exceeds the limit of ${this.maxFrame} bytes`));
          return;
        }
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

  constructor(frames: FrameSocket) {
    this.frames = frames;
  }

  /** Queues a message for this tick's frame. Throws SerializationError at once if v8 refuses it. */
  send(msg: unknown): void {
    if (this.frames.closed) throw new ConnectionClosedError();
    this.#batch.push(msg);
    if (!this.#scheduled) {
      this.#scheduled = true;
      // nextTick runs after the microtask queue drains: replies settled by many promises share a frame.
      process.nextTick(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#batch.length === 0 || this.frames.closed) {
      this.#batch = [];
      return;
    }
    const batch = this.#batch;
    this.#batch = [];
    let payload: Buffer | null = null;
    try {
      payload = encode(batch);
      this.frames.sendFrame(payload);
    } catch (err) {
      // One bad or huge message must not sink its neighbours: send them one by one and report
      // the ones that cannot go, so their callers get the error.
      if (payload !== null && batch.length === 1) {
        this.#onSendError?.(batch[0], err);
        return;
      }
      for (const m of batch) {
        if (this.frames.closed) return;
        try {
          this.frames.sendFrame(encode([m]));
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
