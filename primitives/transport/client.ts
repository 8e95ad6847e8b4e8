/**
 * The async client of an ObjectServer: authenticated, pipelined calls over one socket.
 * If the link dies, every pending and later call rejects with ConnectionClosedError at once.
 */
import { errorFromWire, type WireError } from '../../lib/base/codec/error-wire.js';
import { ConnectionClosedError, SerializationError } from '../../lib/base/errors.js';
import { ownerId } from '../kernel/core.js';
import { checkAuthkey, clientHandshake, HANDSHAKE_TIMEOUT, type Authkey } from './auth.js';
import { DEFAULT_MAX_FRAME, FrameSocket, HANDSHAKE_MAX_FRAME, MessageSocket } from './wire.js';
import { isReply, NO_REPLY, PROTOCOL_OBJECT, type Address, type Hello, type ObjectId, type Request } from './protocol.js';
import { openSocket } from './connect-socket.js';
import { encode } from '../../lib/base/codec/message.js';

/** Open clients of this thread: each says goodbye when the thread or process ends normally. */
const live = new Set<Client>();
process.on('exit', (code) => {
  if (code !== 0) return;
  for (const c of live) c.goodbyeSync();
});

export interface ConnectOptions {
  /** Largest frame accepted from the server (bytes). */
  maxFrame?: number;
  /** Identity announced to the server; default ownerId() of this thread. */
  owner?: string;
  /** Connect + handshake deadline (ms). */
  timeoutMs?: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Opens an authenticated connection to an ObjectServer (wrong key: AuthenticationError). */
export async function connect(address: Address, authkey: Authkey, opts: ConnectOptions = {}): Promise<Client> {
  checkAuthkey(authkey);
  const socket = await openSocket(address);
  const frames = new FrameSocket(socket, { maxFrame: HANDSHAKE_MAX_FRAME });
  try {
    await clientHandshake(frames, authkey, opts.timeoutMs ?? HANDSHAKE_TIMEOUT);
  } catch (err) {
    frames.close();
    throw err;
  }
  frames.maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
  return new Client(frames, opts.owner ?? ownerId());
}

export class Client {
  readonly #frames: FrameSocket;
  readonly #messages: MessageSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closedError: ConnectionClosedError | null = null;
  #onError: ((objectId: ObjectId, err: unknown) => void) | null = null;
  #onClose: ((err: ConnectionClosedError) => void)[] = [];

  /** Use connect(). */
  constructor(frames: FrameSocket, owner: string) {
    this.#frames = frames;
    this.#messages = new MessageSocket(frames);
    live.add(this);
    frames.unref();
    this.#messages.onSendError((msg, err) => this.#onSendError(msg as Request, err));
    this.#messages.onMessage((msg) => this.#onMessage(msg));
    frames.onClose((reason) => this.#shutdown(reason));
    this.#messages.send({ hello: 1, pid: process.pid, owner } satisfies Hello);
  }

  get closed(): boolean {
    return this.#closedError !== null;
  }

  /** Calls `method` of the server's object `objectId`; resolves with its (awaited) result. */
  call(objectId: ObjectId, method: string, args: unknown[] = []): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#frames.ref();
      this.#pending.set(id, { resolve, reject });
      this.#messages.send([id, objectId, method, args, 0] satisfies Request);
    });
  }

  /** Calls without waiting for a reply; a failure is reported to onError. */
  notify(objectId: ObjectId, method: string, args: unknown[] = []): void {
    if (this.#closedError) throw this.#closedError;
    this.#messages.send([this.#nextId++, objectId, method, args, NO_REPLY] satisfies Request);
    // Written now, not at the end of the tick: an assignment (`ns.x = 1`) followed by a signal another
    // process acts on (`event.set()`) must reach the server before that process's next call can.
    this.#messages.flush();
  }

  /** Receives failures of notify() calls. */
  onError(handler: (objectId: ObjectId, err: unknown) => void): void {
    this.#onError = handler;
  }

  onClose(handler: (err: ConnectionClosedError) => void): void {
    if (this.#closedError) queueMicrotask(() => handler(this.#closedError!));
    else this.#onClose.push(handler);
  }

  /** Closes the connection; pending calls reject with ConnectionClosedError. */
  close(): void {
    if (this.#closedError) return;
    this.#messages.flush();
    this.#shutdown(new ConnectionClosedError('handle is closed'));
    this.#frames.end();
  }

  #onMessage(msg: unknown): void {
    if (!isReply(msg)) {
      this.#frames.close(new ConnectionClosedError('protocol error: malformed reply'));
      return;
    }
    const [id, ok, value, objectId] = msg;
    const p = this.#pending.get(id);
    if (p) {
      this.#pending.delete(id);
      if (this.#pending.size === 0) this.#frames.unref();
      if (ok) p.resolve(value);
      else p.reject(errorFromWire(value as WireError));
    } else if (!ok) {
      this.#onError?.(objectId as ObjectId, errorFromWire(value as WireError));
    }
  }

  #onSendError(req: Request, err: unknown): void {
    const e = err instanceof SerializationError ? err : new SerializationError(String((err as Error)?.message ?? err), '', { cause: err });
    const p = this.#pending.get(req[0]);
    if (p) {
      this.#pending.delete(req[0]);
      if (this.#pending.size === 0) this.#frames.unref();
      p.reject(e);
    } else if (req[4] & NO_REPLY) {
      this.#onError?.(req[1], e);
    }
  }

  /**
   * The last words of a thread or process ending normally: what is still batched, then a goodbye,
   * written synchronously (no event-loop turn is left), so the server treats this client as ended,
   * not dead. Skipped when earlier writes are still queued in the socket (they cannot be overtaken).
   */
  goodbyeSync(): void {
    if (this.#closedError) return;
    const msgs = this.#messages.takeBatch();
    msgs.push([this.#nextId++, PROTOCOL_OBJECT, 'bye', [], NO_REPLY] satisfies Request);
    try {
      this.#frames.sendFrameSync(encode(msgs));
    } catch {
      // a batched message that cannot be encoded: its caller is gone with the process
    }
  }

  #shutdown(reason?: Error): void {
    live.delete(this);
    if (this.#closedError) return;
    const err = reason instanceof ConnectionClosedError
      ? reason
      : new ConnectionClosedError(reason ? `connection closed: ${reason.message}` : 'connection closed by the server');
    this.#closedError = err;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#frames.unref();
    for (const p of pending) p.reject(err);
    const handlers = this.#onClose;
    this.#onClose = [];
    for (const h of handlers) h(err);
  }
}
