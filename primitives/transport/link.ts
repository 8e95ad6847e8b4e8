/**
 * The calling thread's side of remote-core calls. Every call of this thread — async, blocking or
 * fire-and-forget — goes, in call order, through ONE I/O thread (io-thread.ts) that owns the
 * sockets to the brokers; so a `send` queued before a `release` reaches the broker before it.
 *
 * A blocking call posts its op and sleeps in Atomics.wait on a shared signal word; the I/O thread
 * posts each reply batch on a port and bumps the word; we drain the port with
 * receiveMessageOnPort (the sync-rpc pattern), settling async replies met on the way.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../../lib/codec/error-wire.js';
import { beforeWorkerExit } from '../../lib/worker/exit-hooks.js';
import { tsxApiUrl } from '../../lib/worker/ts-loader.js';
import { ownerId } from './core.js';
import { OP_CALL, OP_CONNECT, OP_FIRE, type LinkOp, type LinkReply } from './link-protocol.js';
import { formatAddress, PROTOCOL_OBJECT, type Address, type ObjectId } from './protocol.js';

/** Ops queued this tick are posted together; a long synchronous burst is posted every BATCH ops. */
const BATCH = 1024;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class Link {
  readonly #worker: Worker;
  readonly #requests: MessagePort;
  readonly #replies: MessagePort;
  readonly #signal: Int32Array;
  #batch: LinkOp[] = [];
  #scheduled = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #syncId = 0;
  #syncReply: LinkReply | null = null;
  readonly #brokers = new Map<string, { index: number; ready: Promise<number> }>();
  /** Brokers that got fire-and-forget ops since the last barrier. */
  readonly #fired = new Set<number>();
  /** Failures of fire-and-forget ops, thrown by the next call on that object. */
  readonly #deferred = new Map<string, WireError>();
  #barriers = 0;
  #drained: (() => void)[] = [];

  constructor() {
    const req = new MessageChannel();
    const rep = new MessageChannel();
    this.#requests = req.port1;
    this.#replies = rep.port1;
    this.#signal = new Int32Array(new SharedArrayBuffer(4));
    const workerData = { requests: req.port2, replies: rep.port2, signal: this.#signal, owner: ownerId() };
    const fromSource = import.meta.url.endsWith('.ts');
    const ioUrl = new URL(`./io-thread${fromSource ? '.ts' : '.js'}`, import.meta.url);
    const options = { workerData, transferList: [req.port2, rep.port2], stdout: false, stderr: false };
    // Threads ignore --import loaders on Node 20: from sources, register tsx first.
    this.#worker = fromSource
      ? new Worker(
          `import(${JSON.stringify(tsxApiUrl())}).then((api) => { api.register(); globalThis.__multiprocTsx = true; return import(${JSON.stringify(ioUrl.href)}); });`,
          { ...options, eval: true },
        )
      : new Worker(ioUrl, options);
    this.#worker.unref();
    this.#worker.on('error', (err) => this.#fail(err));
    this.#replies.on('message', (batch: LinkReply[]) => this.#handle(batch));
    this.#replies.unref();
    this.#requests.unref();
    // Queued fire-and-forget ops must reach the broker before a Process worker exits.
    beforeWorkerExit(() => this.drain());
  }

  /** Connects (once) to the broker at `address`; resolves with its index for later calls. */
  broker(address: Address, authkey: Uint8Array): Promise<number> {
    const key = formatAddress(address);
    let entry = this.#brokers.get(key);
    if (!entry) {
      const index = this.#brokers.size;
      const id = this.#nextId++;
      const ready = this.#await(id).then(() => index);
      this.#push([OP_CONNECT, index, id, address, authkey]);
      entry = { index, ready };
      this.#brokers.set(key, entry);
    }
    return entry.ready;
  }

  /** An async call: resolves with the result of the (awaited) remote method. */
  call(broker: number, objectId: ObjectId, method: string, args: unknown[]): Promise<unknown> {
    const deferred = this.#takeDeferred(broker, objectId);
    if (deferred) return Promise.reject(errorFromWire(deferred));
    const id = this.#nextId++;
    const p = this.#await(id);
    this.#push([OP_CALL, broker, id, objectId, method, args]);
    return p;
  }

  /** A blocking call: sleeps until the remote method (awaited there) answers; throws its error. */
  callSync(broker: number, objectId: ObjectId, method: string, args: unknown[]): unknown {
    const deferred = this.#takeDeferred(broker, objectId);
    if (deferred) throw errorFromWire(deferred);
    const id = this.#nextId++;
    this.#syncId = id;
    this.#syncReply = null;
    this.#batch.push([OP_CALL, broker, id, objectId, method, args]);
    this.#flush();
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      this.#drainPort();
      if (this.#syncReply) break;
      Atomics.wait(this.#signal, 0, seen);
    }
    const reply: LinkReply = this.#syncReply;
    this.#syncReply = null;
    this.#syncId = 0;
    if (reply[1]) return reply[2];
    throw errorFromWire(reply[2] as WireError);
  }

  /** Queues a call whose result nobody waits for; a failure is thrown by the next call on that object. */
  fire(broker: number, objectId: ObjectId, method: string, args: unknown[]): void {
    const deferred = this.#takeDeferred(broker, objectId);
    if (deferred) throw errorFromWire(deferred);
    this.#fired.add(broker);
    this.#push([OP_FIRE, broker, 0, objectId, method, args]);
  }

  /** Resolves once every op queued so far has been delivered to its broker and started there. */
  drain(): Promise<void> {
    this.#flush();
    if (this.#barriers === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #takeDeferred(broker: number, objectId: ObjectId): WireError | undefined {
    if (this.#deferred.size === 0) return undefined;
    const key = `${broker}:${objectId}`;
    const err = this.#deferred.get(key);
    if (err) this.#deferred.delete(key);
    return err;
  }

  #await(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#replies.ref();
      this.#pending.set(id, { resolve, reject });
    });
  }

  #push(op: LinkOp): void {
    this.#batch.push(op);
    if (this.#batch.length >= BATCH) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#fired.size > 0) {
      // A barrier after fire-and-forget ops keeps this thread alive until they have landed.
      for (const broker of this.#fired) {
        const id = this.#nextId++;
        this.#barriers++;
        this.#await(id).finally(() => {
          if (--this.#barriers === 0) for (const done of this.#drained.splice(0)) done();
        }).catch(() => {});
        this.#batch.push([OP_CALL, broker, id, PROTOCOL_OBJECT, 'ping', []]);
      }
      this.#fired.clear();
    }
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#requests.postMessage(batch);
  }

  #drainPort(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.#replies);
      if (!m) return;
      this.#handle(m.message as LinkReply[]);
    }
  }

  #handle(batch: LinkReply[]): void {
    for (const r of batch) {
      const id = r[0];
      if (id === 0) {
        this.#deferred.set(`${r[4]}:${r[3]}`, r[2] as WireError);
      } else if (id === this.#syncId) {
        this.#syncReply = r;
      } else {
        const p = this.#pending.get(id);
        if (!p) continue;
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#replies.unref();
        if (r[1]) p.resolve(r[2]);
        else p.reject(errorFromWire(r[2] as WireError));
      }
    }
  }

  /** The I/O thread itself failed: nothing can be answered any more. */
  #fail(err: unknown): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#replies.unref();
    for (const p of pending) p.reject(err);
  }
}

let link: Link | null = null;

/** This thread's link, started on first use. */
export function theLink(): Link {
  link ??= new Link();
  return link;
}
