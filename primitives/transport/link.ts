/**
 * The calling thread's side of remote-core calls.
 *
 * Per broker, two connections: the REQUEST connection belongs to this thread, which writes every
 * request — async, blocking or fire-and-forget — straight to its fd with fs.writeSync, in call
 * order (so a `send` made before a `release` reaches the broker before it), with no event-loop
 * turn needed. Replies to async calls come back on that same connection and are read by this
 * thread's event loop (one hop, the lowest latency a socket gives). A blocking call cannot wait for
 * its event loop: its reply (flag SYNC_REPLY) goes to the REPLY connection, which belongs to an I/O
 * thread (io-thread.ts) that forwards each frame it reads; the blocking call sleeps in Atomics.wait
 * on a shared signal word until the I/O thread has posted it (the sync-rpc pattern).
 *
 * When this thread or process ends normally (exit code 0) it says goodbye on each request
 * connection, so the creator treats it as an owner that ended, not one that died (a Lock it holds
 * stays held, as in Python).
 */
import type * as Crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type * as WorkerThreads from 'node:worker_threads';
import type { MessagePort, Worker } from 'node:worker_threads';
import { builtin } from '../../lib/base/builtin.js';
import { errorFromWire, errorToWire, type WireError } from '../../lib/base/codec/error-wire.js';
import { ConnectionClosedError, SerializationError } from '../../lib/base/errors.js';
import { beforeWorkerExit } from '../../lib/base/exit-hooks.js';
import { afterTask } from '../../lib/base/task-hooks.js';
import { tsThreadEntry } from '../../lib/base/ts-loader.js';
import { clientHandshake } from './auth.js';
import { ownerId } from '../kernel/core.js';
import { R_CLOSED, R_FRAME, type LinkConnect, type LinkEvent } from './link-protocol.js';
import { formatAddress, isReply, NO_REPLY, PROTOCOL_OBJECT, SYNC_REPLY, type Address, type Hello, type ObjectId, type Reply, type Request } from './protocol.js';
import { openSocket } from './connect-socket.js';
import { decode, DEFAULT_MAX_FRAME, encode, EXIT_WRITE_LIMIT_MS, FrameSocket, HANDSHAKE_MAX_FRAME, writeAllSync } from './wire.js';
import type { Encoded } from '../../lib/base/codec/message.js';
import { RequestQueue } from './request-queue.js';
import { sleepBlocking } from '../kernel/wait.js';

const threads = () => builtin<typeof WorkerThreads>('node:worker_threads');

/** Requests queued this tick are written together; a long synchronous burst every BATCH requests. */
const BATCH = 512;
/** A packed run (a stream of puts or sends) is written once it holds this many frames, or bytes. */
const RUN_ITEMS = 2048;
const RUN_BYTES = 256 * 1024;
/** How long a broken link to our parent waits for the IPC channel to say the parent is gone (ms). */
const PARENT_GRACE_MS = 300;

interface Pending {
  broker: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Runs before the next request of this thread to a broker (`blocking`: before a blocking call, and
 * when the thread settles): a remote queue consumer reports what it got, and gives back what it
 * fetched ahead before this thread may block (see queues.ts).
 */
export type BeforeNext = (blocking: boolean) => void;

interface Broker {
  index: number;
  socket: Socket | null;
  fd: number;
  closed: ConnectionClosedError | null;
  requests: RequestQueue;
  /** Async calls waiting for their reply on this connection (it is ref'd while there are some). */
  pending: number;
  /** The broker runs in our parent process, which we also reach over IPC. */
  parent: boolean;
  /** Calls without an answer were sent since the last answered one (settle() must wait for them). */
  unanswered: boolean;
  hooks: Set<BeforeNext> | null;
}

function connectionClosed(reason: unknown): ConnectionClosedError {
  if (reason instanceof ConnectionClosedError) return reason;
  const msg = (reason as Error)?.message;
  return new ConnectionClosedError(msg ? `connection to the primitive's creator closed: ${msg}` : 'connection to the primitive\'s creator closed');
}

export class Link {
  readonly #worker: Worker;
  readonly #control: MessagePort;
  readonly #replies: MessagePort;
  readonly #signal: Int32Array;
  readonly #brokers: Broker[] = [];
  readonly #byAddress = new Map<string, Promise<number>>();
  readonly #pending = new Map<number, Pending>();
  readonly #connecting = new Map<number, Pending>();
  /** Failures of fire-and-forget requests, thrown by the next call on that object. */
  readonly #deferred = new Map<string, WireError>();
  readonly #dirty = new Set<Broker>();
  #queued = 0;
  #scheduled = false;
  #later = false;
  #nextId = 1;
  #syncId = 0;
  #syncBroker = -1;
  #syncReply: Reply | null = null;

  constructor() {
    const control = new (threads().MessageChannel)();
    const replies = new (threads().MessageChannel)();
    this.#control = control.port1;
    this.#replies = replies.port1;
    // [0]: bumped after each posted batch; [1]: 1 once the I/O thread has exited.
    this.#signal = new Int32Array(new SharedArrayBuffer(8));
    const workerData = { requests: control.port2, replies: replies.port2, signal: this.#signal };
    const fromSource = import.meta.url.endsWith('.ts');
    const ioUrl = new URL(`./io-thread${fromSource ? '.ts' : '.js'}`, import.meta.url);
    const options = { workerData, transferList: [control.port2, replies.port2] };
    // Threads ignore --import loaders on Node 20: from sources, register tsx first.
    this.#worker = fromSource
      ? new (threads().Worker)(tsThreadEntry(ioUrl.href), options)
      : new (threads().Worker)(ioUrl, options);
    this.#worker.unref();
    this.#worker.on('error', (err) => {
      for (const b of this.#brokers) this.#close(b, err);
    });
    this.#worker.on('exit', () => this.#ioDied());
    this.#replies.on('message', (events: LinkEvent[]) => this.#onEvents(events));
    this.#replies.unref();
    this.#control.unref();
    // Requests still queued when the thread ends must reach the broker: writes are synchronous,
    // so flushing at exit is enough (what is in the socket is delivered after we are gone).
    beforeWorkerExit(() => this.settle());
    afterTask(() => this.settle());
    process.on('exit', (code) => {
      this.settle();
      if (code === 0) this.#goodbye();
    });
  }

  /**
   * Writes what is queued and waits until each broker has applied every call this thread sent it
   * without an answer (a blocking ping: the broker answers once all earlier calls have started).
   * Run before this thread or process ends: whoever sees it gone (`p.join()`) then finds its puts in
   * the queue and its sends in the pipe, as with Python's flushed feeder thread.
   */
  settle(): void {
    this.#runAllHooks();
    this.flush();
    for (const b of this.#brokers) {
      if (!b.unanswered || b.closed || !b.socket) continue;
      try {
        this.callSync(b.index, PROTOCOL_OBJECT, 'ping', []);
      } catch {
        // the broker is gone: nothing left to wait for
      }
    }
  }

  /** Tells every broker this thread is ending normally (see protocol.ts `bye`). */
  #goodbye(): void {
    for (const b of this.#brokers) {
      if (b.closed || !b.socket) continue;
      try {
        this.#write(b, encode([[this.#nextId++, PROTOCOL_OBJECT, 'bye', [], NO_REPLY] satisfies Request]), EXIT_WRITE_LIMIT_MS);
      } catch {
        // the broker is gone already: nothing to say goodbye to
      }
    }
  }

  /** Connects (once) to the broker at `address`; resolves with its index for later calls. */
  broker(address: Address, authkey: Uint8Array, pid = 0): Promise<number> {
    const key = formatAddress(address);
    let index = this.#byAddress.get(key);
    if (!index) {
      index = this.#open(address, authkey, pid);
      this.#byAddress.set(key, index);
      index.catch(() => this.#byAddress.delete(key));
    }
    return index;
  }

  async #open(address: Address, authkey: Uint8Array, pid: number): Promise<number> {
    const index = this.#brokers.length;
    const parent = pid === process.ppid && typeof process.send === 'function';
    const broker: Broker = { index, socket: null, fd: -1, closed: null, requests: new RequestQueue(), pending: 0, parent, unanswered: false, hooks: null };
    this.#brokers.push(broker);
    const token = builtin<typeof Crypto>('node:crypto').randomBytes(16).toString('hex');
    const owner = ownerId();
    // 1. the I/O thread opens the reply connection and registers the token
    const id = this.#nextId++;
    await new Promise((resolve, reject) => {
      this.#connecting.set(id, { broker: index, resolve, reject });
      this.#replies.ref();
      this.#control.postMessage([index, id, address, authkey, token, owner] satisfies LinkConnect);
    }).finally(() => this.#unrefIfIdle());
    // 2. we open the request connection, naming the token
    const frames = new FrameSocket(await openSocket(address), { maxFrame: HANDSHAKE_MAX_FRAME });
    try {
      await clientHandshake(frames, authkey);
    } catch (err) {
      frames.close();
      throw err;
    }
    const socket = frames.socket;
    const fd = (socket as any)._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      frames.close();
      throw new ConnectionClosedError('cannot write to the broker socket synchronously on this platform');
    }
    if (socket.writableLength > 0) await new Promise((r) => socket.once('drain', r));
    frames.maxFrame = DEFAULT_MAX_FRAME;
    frames.onFrame((frame) => this.#onFrame(index, frame));
    frames.onClose((reason) => this.#close(broker, reason));
    frames.unref();
    broker.socket = socket;
    broker.fd = fd;
    this.#write(broker, encode([{ hello: 1, pid: process.pid, owner, replyTo: token } satisfies Hello]));
    return index;
  }

  /** An async call: resolves with the result of the (awaited) remote method. */
  call(broker: number, objectId: ObjectId, method: string, args: unknown[]): Promise<unknown> {
    let b: Broker;
    try {
      b = this.#ready(broker, objectId);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (b.pending++ === 0) b.socket!.ref();
      this.#pending.set(id, { broker, resolve, reject });
      this.#queue(b, [id, objectId, method, args, 0]);
    });
  }

  /**
   * A blocking call: sleeps until the remote method (awaited there) answers; throws its error.
   * `waits`: the method may wait for others (acquire, get...), not just answer.
   */
  callSync(broker: number, objectId: ObjectId, method: string, args: unknown[], waits = false): unknown {
    // About to wait for others: whatever this thread holds for them (items fetched ahead) goes back first.
    if (waits) this.#runAllHooks();
    const b = this.#ready(broker, objectId);
    const id = this.#nextId++;
    this.#syncId = id;
    this.#syncBroker = broker;
    this.#syncReply = null;
    try {
      b.requests.push([id, objectId, method, args, SYNC_REPLY]);
      this.#queued++;
      this.#dirty.add(b);
      this.flush();
      for (;;) {
        const seen = Atomics.load(this.#signal, 0);
        this.#drainPort();
        if (this.#syncReply) break;
        if (Atomics.load(this.#signal, 1) === 1) this.#ioDied();
        else sleepBlocking(this.#signal, 0, seen, undefined);
      }
      const reply: Reply = this.#syncReply;
      b.unanswered = false; // a blocking call's answer comes after every earlier call of ours started
      if (reply[1]) return reply[2];
      throw errorFromWire(reply[2] as WireError);
    } finally {
      this.#syncId = 0;
      this.#syncReply = null;
    }
  }

  /** Queues a call nobody waits for; a failure is thrown by the next call on that object. */
  fire(broker: number, objectId: ObjectId, method: string, args: unknown[]): void {
    const b = this.#ready(broker, objectId);
    b.unanswered = true;
    // Consecutive calls of one method ride in one request (MANY): a stream of calls costs the
    // broker one dispatch per batch, not one per call.
    if (b.requests.joinMany(objectId, method, args)) {
      if (++this.#queued >= BATCH) this.flush();
      return;
    }
    b.requests.pushMany(this.#nextId++, objectId, method, args);
    this.#enqueued(b, false);
  }

  /**
   * Queues a message for a packed twin (`method(bytes, count, extra?)`, CoreShape.packed), nobody
   * waiting: consecutive ones for one object and method share one run of frames, so a stream of
   * puts or sends costs one request and one copy into the creator's ring per batch.
   */
  firePacked(broker: number, objectId: ObjectId, method: string, frame: Encoded, extra?: unknown): void {
    const b = this.#ready(broker, objectId);
    b.unanswered = true;
    const run = b.requests.addFrame(this.#newId, objectId, method, frame, extra);
    if (run.opened) {
      this.#dirty.add(b);
      if (++this.#queued < BATCH) this.#schedule(false);
    }
    // A run is one request however many frames it packs: it is written at RUN_ITEMS or RUN_BYTES.
    if (this.#queued >= BATCH || run.count >= RUN_ITEMS || run.bytes >= RUN_BYTES) this.flush();
  }

  readonly #newId = () => this.#nextId++;

  /**
   * What a request does first: the hooks that must go before it, then the failure of an earlier
   * fire-and-forget call on that object (thrown now), or the broker being gone.
   */
  #ready(broker: number, objectId: ObjectId): Broker {
    const b = this.#brokers[broker];
    if (b.hooks !== null) this.#runHooks(b, false);
    const deferred = this.#takeDeferred(broker, objectId);
    if (deferred) throw errorFromWire(deferred);
    if (b.closed) throw b.closed;
    return b;
  }

  /** Runs `hook` before the next request of this thread to `broker` (once; register again for more). */
  beforeNext(broker: number, hook: BeforeNext): void {
    const b = this.#brokers[broker];
    (b.hooks ??= new Set()).add(hook);
  }

  /** Before this thread may block (or as it settles): every broker's hooks, as blocking. */
  #runAllHooks(): void {
    for (const b of this.#brokers) if (b.hooks !== null) this.#runHooks(b, true);
  }

  #runHooks(b: Broker, blocking: boolean): void {
    const hooks = b.hooks!;
    b.hooks = null;
    for (const h of hooks) {
      try {
        h(blocking);
      } catch {
        // a hook's failure (a broker gone) shows on the caller's own request
      }
    }
  }

  /** Writes every queued request now (synchronously). */
  flush(): void {
    this.#scheduled = false;
    if (this.#queued === 0) return;
    this.#queued = 0;
    for (const b of this.#dirty) {
      const batch = b.requests.take();
      if (batch.length === 0 || b.closed) continue;
      let payload: Buffer | null = null;
      try {
        payload = encode(batch);
      } catch {
        // written one by one below
      }
      if (payload === null || (payload.length > DEFAULT_MAX_FRAME && batch.length > 1)) {
        // Write the good ones one by one; a bad or huge one fails alone.
        for (const req of batch) {
          try {
            this.#writeFrame(b, encode([req]));
          } catch (err) {
            this.#failRequest(b, req, err);
          }
        }
        continue;
      }
      try {
        this.#writeFrame(b, payload);
      } catch (err) {
        for (const req of batch) this.#failRequest(b, req, err);
      }
    }
    this.#dirty.clear();
  }

  /**
   * Queues a request that awaits its reply: written at the end of this microtask round. (One nobody
   * waits for, see fire(), waits until this thread yields to its event loop, or until BATCH are
   * queued: a loop of `await q.put(i)` never yields, so its puts leave in large batches instead of
   * one write each.)
   */
  #queue(b: Broker, req: Request): void {
    b.requests.push(req);
    this.#enqueued(b, true);
  }

  /** A request was queued for `b`: write it at the end of this microtask round (`soon`), or when the thread yields, or at BATCH. */
  #enqueued(b: Broker, soon: boolean): void {
    this.#dirty.add(b);
    if (++this.#queued >= BATCH) this.flush();
    else this.#schedule(soon);
  }

  /** A flush at the end of this microtask round (`soon`), or when the thread yields to its event loop. */
  #schedule(soon: boolean): void {
    if (soon) {
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(this.#flushSoon);
      }
    } else if (!this.#later) {
      this.#later = true;
      setImmediate(this.#flushLater).unref();
    }
  }

  readonly #flushSoon = () => this.flush();
  readonly #flushLater = () => {
    this.#later = false;
    this.flush();
  };

  #writeFrame(b: Broker, payload: Uint8Array): void {
    if (payload.length > DEFAULT_MAX_FRAME) {
      throw new SerializationError(`message of ${payload.length} bytes exceeds the frame limit of ${DEFAULT_MAX_FRAME} bytes`);
    }
    this.#write(b, payload);
  }

  /** Frames and writes synchronously, riding out a full socket buffer with short sleeps. */
  #write(b: Broker, payload: Uint8Array, limitMs = Infinity): void {
    if (b.closed || !b.socket || b.socket.destroyed) throw b.closed ?? new ConnectionClosedError();
    const buf = Buffer.allocUnsafe(4 + payload.length);
    buf.writeUInt32BE(payload.length, 0);
    buf.set(payload, 4);
    if (!writeAllSync(b.fd, buf, limitMs)) {
      const closed = connectionClosed(new Error('write failed'));
      this.#close(b, closed);
      throw closed;
    }
  }

  /** A request that could not be written: its caller gets the error. */
  #failRequest(b: Broker, req: Request, err: unknown): void {
    const [id, objectId, , , flags] = req;
    if (id === this.#syncId) {
      this.#syncReply = [id, false, errorToWire(err)];
      return;
    }
    const p = this.#pending.get(id);
    if (p) {
      this.#pending.delete(id);
      this.#settled(p);
      p.reject(err);
    } else if (flags & NO_REPLY) {
      this.#deferred.set(`${b.index}:${objectId}`, errorToWire(err));
    }
  }

  #takeDeferred(broker: number, objectId: ObjectId): WireError | undefined {
    if (this.#deferred.size === 0) return undefined;
    const key = `${broker}:${objectId}`;
    const err = this.#deferred.get(key);
    if (err) this.#deferred.delete(key);
    return err;
  }

  #unrefIfIdle(): void {
    if (this.#connecting.size === 0) this.#replies.unref();
  }

  /** An async call got its answer (or failed): its connection may go idle. */
  #settled(p: Pending): void {
    const b = this.#brokers[p.broker];
    if (--b.pending === 0 && !b.closed) b.socket?.unref();
  }

  #drainPort(): void {
    for (;;) {
      const m = threads().receiveMessageOnPort(this.#replies);
      if (!m) return;
      this.#onEvents(m.message as LinkEvent[]);
    }
  }

  #onEvents(events: LinkEvent[]): void {
    for (const e of events) {
      if (e[0] === R_FRAME) this.#onFrame(e[1], e[2]);
      else if (e[0] === R_CLOSED) this.#close(this.#brokers[e[1]], errorFromWire(e[2] as WireError));
      else {
        const p = this.#connecting.get(e[1]);
        if (!p) continue;
        this.#connecting.delete(e[1]);
        if (e[2]) p.resolve(null);
        else p.reject(errorFromWire(e[3] as WireError));
      }
    }
  }

  #onFrame(broker: number, frame: Uint8Array): void {
    let replies: unknown;
    try {
      replies = decode(frame);
    } catch (err) {
      this.#close(this.#brokers[broker], new ConnectionClosedError(`malformed frame from the broker: ${(err as Error).message}`));
      return;
    }
    if (!Array.isArray(replies)) return;
    for (const r of replies) {
      if (!isReply(r)) continue;
      const id = r[0];
      if (id === this.#syncId) {
        this.#syncReply = r;
        continue;
      }
      const p = this.#pending.get(id);
      if (p) {
        this.#pending.delete(id);
        this.#settled(p);
        if (r[1]) p.resolve(r[2]);
        else p.reject(errorFromWire(r[2] as WireError));
      } else if (!r[1] && r[3] !== undefined) {
        this.#deferred.set(`${broker}:${r[3]}`, r[2] as WireError);
      }
    }
  }

  /** True once the I/O thread is gone: theLink() then starts a new one. */
  dead = false;

  #ioDied(): void {
    this.dead = true;
    const err = new ConnectionClosedError('the I/O thread of this worker\'s remote primitives has exited');
    for (const b of this.#brokers) this.#close(b, err);
    if (this.#syncId !== 0 && !this.#syncReply) this.#syncReply = [this.#syncId, false, errorToWire(err)];
  }

  /**
   * Pending async calls on a broker that is gone reject with `err` — unless that broker was our
   * parent and our IPC channel to it goes down too: the parent ended and this worker ends with it
   * (a daemon blocked in `await q.get()` when the program ends goes quietly, as in Python, where the
   * parent terminates its daemons). The two closings race, so the rejection waits a moment for it.
   */
  #failLater(b: Broker, lost: Pending[], err: ConnectionClosedError): void {
    if (lost.length === 0) return;
    const fail = () => {
      process.off('disconnect', quiet);
      for (const p of lost) p.reject(err);
    };
    const quiet = () => clearTimeout(timer);
    if (!b.parent || !process.connected) return fail();
    const timer = setTimeout(fail, PARENT_GRACE_MS);
    timer.unref();
    process.once('disconnect', quiet);
  }

  /** That broker is gone: every pending and later call on it fails with ConnectionClosedError. */
  #close(b: Broker | undefined, reason: unknown): void {
    if (!b || b.closed) return;
    const err = connectionClosed(reason);
    b.closed = err;
    b.requests.clear();
    b.hooks = null;
    b.socket?.destroy();
    const lost: Pending[] = [];
    for (const [id, p] of this.#pending) {
      if (p.broker !== b.index) continue;
      this.#pending.delete(id);
      lost.push(p);
    }
    this.#failLater(b, lost, err);
    for (const [id, p] of this.#connecting) {
      if (p.broker !== b.index) continue;
      this.#connecting.delete(id);
      p.reject(err);
    }
    if (this.#syncId !== 0 && this.#syncBroker === b.index && !this.#syncReply) this.#syncReply = [this.#syncId, false, errorToWire(err)];
    this.#unrefIfIdle();
  }
}

let link: Link | null = null;

/** This thread's link, started on first use. */
export function theLink(): Link {
  if (!link || link.dead) link = new Link();
  return link;
}
