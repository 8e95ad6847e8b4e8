/**
 * The end of a Connection made by Listener/Client: the same calls as a Pipe's end (send, recv, poll, ...)
 * over a stream socket. Each message is one frame of the wire format (wire.ts) holding the bytes
 * recvBytes() returns: self-describing bytes for a send(), raw bytes for a sendBytes() — so recv()
 * decodes both, as Python's recv() unpickles whatever bytes arrive.
 */
import { KIND_BYTES, messageBytes, type Encoded } from '../../lib/base/codec/message.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import type { RecvResult } from './pipe-core.js';
import type { ReadyWatch } from './ready.js';
import { DEFAULT_MAX_FRAME, type FrameSocket } from '../transport/wire.js';

const NO_BLOCKING =
  'a Connection from Listener/Client cannot block the thread (its socket is read by this event loop): use await recv()/poll()';

export class SocketEnd {
  readonly unsendable = 'a Connection made by Listener/Client cannot be passed to a worker: connect from the worker with Client() instead';
  readonly #frames: FrameSocket;
  readonly #queue: Buffer[] = [];
  #waiters: (() => void)[] = [];
  #eof = false;
  #closedHere = false;

  constructor(frames: FrameSocket) {
    this.#frames = frames;
    frames.maxFrame = DEFAULT_MAX_FRAME;
    frames.onClose(() => {
      this.#eof = true;
      this.#wake();
    });
    frames.onFrame((frame) => {
      this.#queue.push(frame);
      this.#wake();
    });
    // Idle, the socket keeps nothing alive (an open Python socket does not either); see #refresh.
    frames.socket.on('drain', () => this.#refresh());
    this.#refresh();
  }

  /** Ref'd while someone waits for a message or a write is still queued (a pending promise keeps us alive). */
  #refresh(): void {
    if (this.#frames.closed) return;
    if (this.#waiters.length > 0 || this.#frames.socket.writableLength > 0) this.#frames.ref();
    else this.#frames.unref();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    this.#refresh();
  }

  /** A wait for the next frame or the end, that can be called off. */
  #next(): ReadyWatch {
    let wake!: () => void;
    const ready = new Promise<void>((resolve) => (wake = resolve));
    this.#waiters.push(wake);
    this.#refresh();
    return {
      ready,
      cancel: () => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#refresh();
        wake();
      },
    };
  }

  #ready(): boolean {
    return this.#queue.length > 0 || this.#eof;
  }

  /** A frame, EOF (null), too long; undefined when it must wait. */
  #take(maxLength: number | null | undefined): RecvResult | undefined {
    const head = this.#queue[0];
    if (head !== undefined) {
      if (maxLength != null && head.length > maxLength) return { tooLong: head.length };
      this.#queue.shift();
      return [KIND_BYTES, head];
    }
    return this.#eof ? null : undefined;
  }

  send(msg: Encoded): void {
    if (this.#frames.closed) {
      throw new ConnectionClosedError(this.#closedHere ? 'handle is closed' : 'broken pipe: the other end closed the connection');
    }
    this.#frames.sendFrame(messageBytes(msg));
    this.#refresh();
  }

  async recv(maxLength: number | null, _owner?: string): Promise<RecvResult> {
    for (;;) {
      const r = this.#take(maxLength);
      if (r !== undefined) return r;
      await this.#next().ready;
    }
  }

  recvSync(maxLength?: number | null): RecvResult {
    const r = this.#take(maxLength);
    if (r === undefined) throw new TypeError(NO_BLOCKING);
    return r;
  }

  async poll(timeout: number | undefined, _owner?: string): Promise<boolean> {
    if (this.#ready() || timeout === 0) return this.#ready();
    const w = this.#next();
    let timer: NodeJS.Timeout | undefined;
    if (timeout !== undefined) timer = setTimeout(w.cancel, timeout); // ref'd: the caller awaits it
    try {
      await w.ready;
    } finally {
      clearTimeout(timer);
      w.cancel();
    }
    return this.#ready();
  }

  pollSync(timeout?: number): boolean {
    if (this.#ready() || timeout === 0) return this.#ready();
    throw new TypeError(NO_BLOCKING);
  }

  watchReady(): ReadyWatch {
    // a frame may have come while wait() asked the other objects (a remote end's poll is a round trip)
    if (this.#ready()) return { ready: Promise.resolve(), cancel: () => {} };
    return this.#next();
  }

  /** Nothing to count: this end is never passed on. */
  retain(): void {}
  adopt(_owner: string): void {}

  /** The one handle closed: what was written still reaches the peer, which then sees EOF. */
  disown(_owner: string): void {
    this.#closedHere = true;
    this.#eof = true;
    this.#frames.end();
    this.#wake();
  }
}
