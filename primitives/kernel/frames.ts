/**
 * The frame layout of a MessageRing, and runs of frames packed in that same layout.
 *
 * A frame is a u32 payload length, a u32 kind (the message codec's), then the payload padded to 8
 * bytes, so a header never straddles the end of a ring. A *packed run* is frames laid end to end
 * exactly as a ring holds them: a process worker sends its stream of puts or sends as one run, and
 * the creator's ring takes the run with one copy under one lock; a consumer fetching ahead gets its
 * items back as one run. No per-item object crosses the wire.
 */
import { KIND_BYTES, KIND_F64, type Encoded } from '../../lib/base/codec/message.js';

export const HEADER = 8;
/** Rings and runs are written with typed arrays (native byte order); DataView readers must agree. */
export const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes a message takes in a ring or a run. */
export function frameSize(msg: Encoded): number {
  return HEADER + (typeof msg === 'number' ? 8 : align8(msg[1].byteLength));
}

/** A packed run: its bytes (a multiple of 8) and how many frames they hold. */
export interface Packed {
  bytes: Uint8Array;
  count: number;
}

/** Builds a packed run, one message at a time. */
export class FramePacker {
  #buf: Buffer;
  #f64: Float64Array;
  #u32: Uint32Array;
  #len = 0;
  count = 0;

  constructor(capacity = 4096) {
    this.#buf = Buffer.allocUnsafeSlow(align8(capacity));
    this.#f64 = new Float64Array(this.#buf.buffer);
    this.#u32 = new Uint32Array(this.#buf.buffer);
  }

  /** Bytes packed so far. */
  get byteLength(): number {
    return this.#len;
  }

  add(msg: Encoded): void {
    const size = frameSize(msg);
    if (this.#len + size > this.#buf.length) this.#grow(this.#len + size);
    const at = this.#len;
    if (typeof msg === 'number') {
      this.#u32[at >> 2] = 8;
      this.#u32[(at >> 2) + 1] = KIND_F64;
      this.#f64[(at >> 3) + 1] = msg;
    } else {
      const payload = msg[1];
      this.#u32[at >> 2] = payload.byteLength;
      this.#u32[(at >> 2) + 1] = msg[0];
      this.#buf.set(payload, at + HEADER);
    }
    this.#len = at + size;
    this.count++;
  }

  #grow(need: number): void {
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafeSlow(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#f64 = new Float64Array(next.buffer);
    this.#u32 = new Uint32Array(next.buffer);
  }

  /** Empties the packer for the next run (what packed() returned before is no longer valid). */
  reset(): void {
    this.#len = 0;
    this.count = 0;
  }

  /** The run packed so far (a view: valid until the next add). */
  packed(): Packed {
    return { bytes: this.#buf.subarray(0, this.#len), count: this.count };
  }
}

/**
 * Checks that `bytes` is a well-formed run of exactly `count` frames (what a ring may take without
 * corrupting itself); a peer is authenticated, but a bug must not break the creator's ring.
 */
export function checkPacked(bytes: unknown, count: unknown): bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || typeof count !== 'number' || !Number.isInteger(count) || count < 1) return false;
  if (bytes.byteLength % 8 !== 0) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + HEADER > bytes.byteLength) return false;
    const len = view.getUint32(at, LE);
    const kind = view.getUint32(at + 4, LE);
    if (kind > 4 || (kind === KIND_F64 && len !== 8)) return false;
    at += HEADER + align8(len);
  }
  return at === bytes.byteLength;
}

/** Reads the frames of a packed run in order. */
export class FrameReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;
  #left: number;

  constructor(run: Packed) {
    this.#bytes = run.bytes;
    this.#view = new DataView(run.bytes.buffer, run.bytes.byteOffset, run.bytes.byteLength);
    this.#left = run.count;
  }

  /** Frames not yet read. */
  get left(): number {
    return this.#left;
  }

  /** Every frame was read (for a run read to its end, made with count Infinity). */
  get exhausted(): boolean {
    return this.#left === 0 || this.#at >= this.#bytes.byteLength;
  }

  /** The next frame (left must be > 0). sendBytes payloads get an ArrayBuffer of their own, as users see `.buffer`. */
  next(): Encoded {
    const at = this.#at;
    const len = this.#view.getUint32(at, LE);
    const kind = this.#view.getUint32(at + 4, LE);
    this.#at = at + HEADER + align8(len);
    this.#left--;
    if (kind === KIND_F64) return this.#view.getFloat64(at + HEADER, LE);
    const payload = this.#bytes.subarray(at + HEADER, at + HEADER + len);
    return [kind, kind === KIND_BYTES ? new Uint8Array(payload) : payload];
  }

  /** Moves past `n` frames without decoding them. */
  skip(n: number): void {
    for (; n > 0 && this.#left > 0; n--, this.#left--) this.#at += HEADER + align8(this.#view.getUint32(this.#at, LE));
  }

  /** The frames not yet read, as a run of their own (given back to the queue). */
  rest(): Packed {
    return { bytes: this.#bytes.subarray(this.#at), count: this.#left };
  }
}
