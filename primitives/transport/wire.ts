/**
 * The wire format: length-prefixed frames over a stream socket. A payload is either JSON text or
 * v8's serialization, told apart by its first byte (v8 always starts with its version tag 0xFF,
 * which never starts UTF-8 text).
 *
 * v8 carries the same values as structured clone on the thread path (Map, Set, Date, BigInt,
 * typed arrays, undefined, NaN, cycles), so a primitive behaves the same in a thread and in a
 * process. But each v8 encode/decode costs ~3 µs and two native objects for the GC, which
 * dominated a small call's round trip: small plain data that JSON round-trips exactly (strings,
 * finite numbers, booleans, null, plain arrays and objects, no shared parts) goes as JSON.
 * Every message of one tick is written as ONE frame (an array of messages).
 */
import type { Socket } from 'node:net';
import { serialize, deserialize } from 'node:v8';
import { ConnectionClosedError, SerializationError } from '../../lib/base/errors.js';

/** Largest frame accepted after authentication. */
export const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;
/** Largest frame accepted before authentication: a stranger cannot make us buffer much. */
export const HANDSHAKE_MAX_FRAME = 1024;
const HEADER = 4;
/** Payloads up to this size are copied behind their header and written once. */
const SMALL = 64 * 1024;
/** First byte of every v8 payload (its version tag). */
const V8_TAG = 0xff;
/** The JSON check gives up (v8 takes over) after this many values: big data is v8's job. */
const JSON_MAX_VALUES = 256;
const EMPTY = Buffer.alloc(0);

let jsonBudget = 0;
/** Objects met by the current check: one met twice is shared, which v8 keeps and JSON would not. */
const jsonSeen: object[] = [];

/**
 * Whether JSON.parse(JSON.stringify(v)) rebuilds `v` exactly as v8 would: no undefined, -0, NaN,
 * holes, extra array properties, class instances or shared/cyclic parts, and not too big.
 */
function jsonSafe(v: unknown): boolean {
  jsonBudget = JSON_MAX_VALUES;
  const ok = safeValue(v);
  jsonSeen.length = 0;
  return ok;
}

function safeValue(v: unknown): boolean {
  if (--jsonBudget < 0) return false;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object':
      if (v === null) return true;
      if (jsonSeen.includes(v)) return false;
      jsonSeen.push(v);
      return safeContainer(v);
    default:
      return false;
  }
}

function safeContainer(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  if (proto === Array.prototype) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) if (!safeValue(a[i])) return false;
    return Object.keys(a).length === a.length;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(v)) if (!safeValue((v as Record<string, unknown>)[k])) return false;
  return true;
}

function v8Encode(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (err) {
    throw new SerializationError(`cannot send this value to another process: ${(err as Error)?.message ?? err}`, '', { cause: err });
  }
}

/** Encodes a value (JSON when exact, else v8); a value v8 refuses becomes a SerializationError. */
export function encode(value: unknown): Buffer {
  return jsonSafe(value) ? Buffer.from(JSON.stringify(value)) : v8Encode(value);
}

/** Decodes a payload of either kind; throws on malformed input. */
export function decode(buf: Uint8Array): unknown {
  if (buf.length > 0 && buf[0] === V8_TAG) return deserialize(buf);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return JSON.parse(b.toString('utf8'));
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
    if (!jsonSafe(value)) {
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
