/**
 * Pipe and Connection: Python's `multiprocessing.Pipe()` over shared-memory rings.
 *
 * Every holder of an end (the creator, each worker it was passed to) has its own handle;
 * `close()` closes only that handle, and the peer sees EOF once every handle of the other end is
 * closed — exactly like an inherited file descriptor.
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../lib/base/codec/handles.js';
import { KIND_BYTES } from '../lib/base/codec/message.js';
import { BufferTooShort, ConnectionClosedError, EOFError } from '../lib/base/errors.js';
import { normalizeTimeout } from '../lib/base/timeout.js';
import { decodeFrame, encodeValue, frameBytes } from './channel/codec.js';
import { trackHandle, type HandleToken } from './channel/handle-lifetime.js';
import { PipeEndCore, PipeEndShape, type RecvResult } from './channel/pipe-core.js';
import { offerLane } from './channel/pipe-lane.js';
import { LANE_ACTIVE, laneActive, laneOf, type LaneOffer } from './channel/lane-protocol.js';
import { askForLane } from './channel/pipe-lane-guest.js';
import { coreData, openCore, type CoreData } from './transport/reduction.js';
import { LOCAL_OWNER } from './kernel/owner.js';
import { READY, slicedWatch, type Readiness, type ReadyWatch } from './channel/ready.js';

/** The core calls a Connection makes: a local PipeEndCore or a remote core with the same methods. */
type EndCore = Pick<PipeEndCore, 'send' | 'recv' | 'recvSync' | 'poll' | 'pollSync' | 'retain' | 'adopt' | 'disown'> & {
  /** A wait for readiness that can be called off (connection.wait()); ends without it are polled in slices. */
  watchReady?(): ReadyWatch;
  /** Why this end cannot be passed to a worker (a socket from Listener/Client), if it cannot. */
  readonly unsendable?: string;
};

const create = Symbol('create');

function asBytes(buf: unknown, what: string): Uint8Array {
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer) return new Uint8Array(buf);
  throw new TypeError(`${what} must be a bytes-like object (ArrayBuffer or typed array), got ${buf === null ? 'null' : typeof buf}`);
}

function checkInt(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`${what} must be an integer, got ${String(n)}`);
  return n;
}

/**
 * One end of a Pipe. Created by {@link Pipe}; can be passed to Pool tasks and Processes.
 * `T` is the type of the messages it carries.
 */
export class Connection<T = any> implements AsyncIterable<T> {
  #core: EndCore;
  #token: HandleToken;
  #readable: boolean;
  #writable: boolean;

  /** @internal Use {@link Pipe}. */
  constructor(key: typeof create, core: EndCore, readable: boolean, writable: boolean) {
    if (key !== create) throw new TypeError('Connection objects are made by Pipe()');
    this.#core = core;
    this.#readable = readable;
    this.#writable = writable;
    this.#token = trackHandle(this, () => (laneOf(core) ?? core).disown(LOCAL_OWNER));
  }

  /** @internal Tests: whether this handle's calls go through a direct lane now (channel/pipe-lane.ts). */
  get [LANE_ACTIVE](): boolean {
    return laneActive(this.#core);
  }

  /** Where this end's calls go: its core, or the direct lane standing in for it (channel/pipe-lane.ts). */
  get #end(): EndCore {
    return laneOf(this.#core) ?? this.#core;
  }

  /** True once this handle is closed. */
  get closed(): boolean {
    return !this.#token.open;
  }

  /** True if this end can receive. */
  get readable(): boolean {
    return this.#readable;
  }

  /** True if this end can send. */
  get writable(): boolean {
    return this.#writable;
  }

  #checkWritable(): void {
    if (!this.#token.open) throw new ConnectionClosedError();
    if (!this.#writable) throw new TypeError('connection is read-only');
  }

  #checkReadable(): void {
    if (!this.#token.open) throw new ConnectionClosedError();
    if (!this.#readable) throw new TypeError('connection is write-only');
  }

  /**
   * Sends a value (anything structured clone accepts). Never waits: the channel grows.
   * @throws SerializationError naming the part that cannot be sent; ConnectionClosedError when
   * this handle is closed or every handle of the other end is (a broken pipe).
   */
  send(obj: T): void {
    this.#checkWritable();
    this.#end.send(encodeValue(obj));
  }

  /**
   * Sends bytes as one message: `size` bytes of `buf` from byte `offset` (Python's bounds checks).
   */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number | null): void {
    this.#checkWritable();
    const bytes = asBytes(buf, 'buf');
    const n = bytes.byteLength;
    checkInt(offset, 'offset');
    if (offset < 0) throw new RangeError('offset is negative');
    if (n < offset) throw new RangeError('buffer length < offset');
    if (size === undefined || size === null) size = n - offset;
    else if (checkInt(size, 'size') < 0) throw new RangeError('size is negative');
    else if (offset + size > n) throw new RangeError('buffer length < offset + size');
    // the ring copies synchronously, so a view is enough
    this.#end.send([KIND_BYTES, bytes.subarray(offset, offset + size)]);
  }

  #frame(r: RecvResult): Exclude<RecvResult, null | { tooLong: number }> {
    if (r === null) throw new EOFError();
    if (typeof r === 'object' && !Array.isArray(r)) {
      // Python: a duplex end stops being readable, a read-only end closes
      if (this.#writable) this.#readable = false;
      else this.close();
      throw new RangeError(`bad message length: the message is ${r.tooLong} bytes, more than maxLength`);
    }
    return r;
  }

  /** Receives the next message. Rejects EOFError once the other end is closed and drained. */
  async recv(): Promise<T> {
    this.#checkReadable();
    return decodeFrame(this.#frame(await this.#end.recv(null, LOCAL_OWNER))) as T;
  }

  /** Blocking twin of {@link recv} (blocks the calling thread). */
  recvSync(): T {
    this.#checkReadable();
    return decodeFrame(this.#frame(this.#end.recvSync())) as T;
  }

  #checkMax(maxLength: number | null | undefined): number | null {
    if (maxLength === undefined || maxLength === null) return null;
    if (checkInt(maxLength, 'maxLength') < 0) throw new RangeError('negative maxlength');
    return maxLength;
  }

  /**
   * Receives one message as bytes. A message longer than `maxLength` throws RangeError
   * ('bad message length', Python's OSError) and stays in the pipe; this end then stops being
   * readable (a read-only end closes), as in Python.
   */
  async recvBytes(maxLength?: number | null): Promise<Uint8Array> {
    this.#checkReadable();
    const max = this.#checkMax(maxLength);
    return frameBytes(this.#frame(await this.#end.recv(max, LOCAL_OWNER)));
  }

  /** Blocking twin of {@link recvBytes}. */
  recvBytesSync(maxLength?: number | null): Uint8Array {
    this.#checkReadable();
    const max = this.#checkMax(maxLength);
    return frameBytes(this.#frame(this.#end.recvSync(max)));
  }

  #into(buf: ArrayBufferView | ArrayBuffer, offset: number): Uint8Array {
    const dst = asBytes(buf, 'buf');
    checkInt(offset, 'offset');
    if (offset < 0) throw new RangeError('negative offset');
    if (offset > dst.byteLength) throw new RangeError('offset too large');
    return dst;
  }

  #copyInto(dst: Uint8Array, offset: number, bytes: Uint8Array): number {
    if (dst.byteLength < offset + bytes.byteLength) throw new BufferTooShort(bytes);
    dst.set(bytes, offset);
    return bytes.byteLength;
  }

  /**
   * Receives one message into `buf` at byte `offset`; returns its length in bytes. A message that
   * does not fit throws {@link BufferTooShort} carrying it.
   */
  async recvBytesInto(buf: ArrayBufferView | ArrayBuffer, offset = 0): Promise<number> {
    this.#checkReadable();
    const dst = this.#into(buf, offset);
    return this.#copyInto(dst, offset, frameBytes(this.#frame(await this.#end.recv(null, LOCAL_OWNER))));
  }

  /** Blocking twin of {@link recvBytesInto}. */
  recvBytesIntoSync(buf: ArrayBufferView | ArrayBuffer, offset = 0): number {
    this.#checkReadable();
    const dst = this.#into(buf, offset);
    return this.#copyInto(dst, offset, frameBytes(this.#frame(this.#end.recvSync())));
  }

  /**
   * Whether `recv` would not block: a message is waiting, or the other end is closed (EOF).
   * Waits up to `timeout` ms (default 0; null/undefined waits forever).
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    this.#checkReadable();
    return this.#end.poll(normalizeTimeout(timeout, 'timeout'), LOCAL_OWNER);
  }

  /** Blocking twin of {@link poll}. */
  pollSync(timeout: number | null = 0): boolean {
    this.#checkReadable();
    return this.#end.pollSync(normalizeTimeout(timeout, 'timeout'));
  }

  /** Closes this handle (only this one: other holders of this end keep theirs). Idempotent. */
  close(): void {
    this.#token.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using conn = ...`: closes this handle. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** @internal How connection.wait() waits for this end: a message to read, or the other end closed. */
  [READY](): Readiness {
    this.#checkReadable();
    return {
      now: () => this.#token.open && this.#end.poll(0, LOCAL_OWNER),
      watch: () => {
        const end = this.#end;
        return end.watchReady?.() ?? slicedWatch((ms) => end.poll(ms, LOCAL_OWNER));
      },
    };
  }

  /** Receives until EOF. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let msg: T;
      try {
        msg = await this.recv();
      } catch (err) {
        if (err instanceof EOFError) return;
        throw err;
      }
      yield msg;
    }
  }

  /** @internal A new handle of this end for a worker (it adopts it, and closes it or has it closed when it ends). */
  [toHandle](target: HandleTarget): HandleDescriptor {
    if (!this.#token.open) throw new ConnectionClosedError('cannot send a closed Connection to a worker');
    if (this.#core.unsendable) throw new TypeError(this.#core.unsendable);
    const core = coreData(this.#core, PipeEndShape, target);
    this.#end.retain(); // a lane standing in for this end ends first: the new holder reads the rings
    // A child process may get a direct lane to this thread for this end (when each end ends up single-held).
    const lane = target === 'process' && this.#core instanceof PipeEndCore ? offerLane(this.#core) : null;
    return { module: import.meta.url, type: 'Connection', data: { core, readable: this.#readable, writable: this.#writable, lane } };
  }
}

/**
 * Python's `multiprocessing.Pipe(duplex)`: returns two connected ends. With `duplex = false`,
 * returns `[reader, writer]`.
 */
export function Pipe<T = any>(duplex = true): [Connection<T>, Connection<T>] {
  if (typeof duplex !== 'boolean') throw new TypeError(`duplex must be a boolean, got ${typeof duplex}`);
  const [a, b] = PipeEndCore.pair(duplex, LOCAL_OWNER);
  return [new Connection<T>(create, a, true, duplex), new Connection<T>(create, b, duplex, true)];
}

/** @internal A Connection over another kind of end (a socket from Listener/Client): the same class, the same methods. */
export function connectionOf<T = any>(core: EndCore): Connection<T> {
  core.adopt(LOCAL_OWNER);
  return new Connection<T>(create, core, true, true);
}

/** Revives a Connection handle in a worker (called by the task codec). */
export function reviveHandle(type: string, data: unknown): Connection | Promise<Connection> {
  if (type !== 'Connection') throw new TypeError(`unknown handle type ${type}`);
  const d = data as { core: CoreData; readable: boolean; writable: boolean; lane?: LaneOffer | null };
  const make = (core: EndCore): Connection | Promise<Connection> => {
    (laneOf(core) ?? core).adopt(LOCAL_OWNER);
    const conn = new Connection(create, core, d.readable, d.writable);
    // a child process offered a direct lane asks for it first, briefly (channel/pipe-lane-guest.ts)
    if (d.lane && !(core instanceof PipeEndCore) && laneOf(core) === undefined) return askForLane(core as any, d.lane).then(() => conn);
    return conn;
  };
  const core = openCore<EndCore>(d.core, PipeEndShape);
  return core instanceof Promise ? core.then(make) : make(core);
}
