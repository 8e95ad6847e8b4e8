/**
 * The object server: hosts objects by id and runs the method calls clients send. The same core
 * serves the per-process primitive broker (expose.ts) and the Manager's server process.
 *
 * Each client authenticates (auth.ts) before anything it sends is decoded, then says hello (pid,
 * owner). Calls of one connection start in arrival order; many may be in flight. When a client
 * goes away, objects it used that can `abandon(owner)` are told, so a dead worker's locks free up.
 */
import type * as Net from 'node:net';
import type { Server, Socket } from 'node:net';
import { builtin } from '../../lib/base/builtin.js';
import { errorToWire } from '../../lib/base/codec/error-wire.js';
import { SerializationError } from '../../lib/base/errors.js';
import { checkAuthkey, serverHandshake, type Authkey } from './auth.js';
import { connectionOwner } from '../kernel/owner.js';
import { privateAddress, removePrivate } from './private-dirs.js';
import { DEFAULT_MAX_FRAME, FrameSocket, HANDSHAKE_MAX_FRAME, MessageSocket } from './wire.js';
import { isHello, isRequest, MANY, NO_REPLY, PROTOCOL_OBJECT, SYNC_REPLY, type Address, type ObjectId, type Reply } from './protocol.js';

/** One authenticated connection, as hosted objects see it. */
export interface ClientInfo {
  /** Unique per connection within this server. */
  readonly id: number;
  /** The client's process id (from its hello). */
  readonly pid: number;
  /**
   * Who this client is for lock ownership: the ownerId() its hello claims, or, on a server started
   * with `connectionOwners`, an id the server gives this connection (see connectionOwner()).
   */
  readonly owner: string;
  /** The ownerId() the client's hello claimed (not proof of anything). */
  readonly claimedOwner: string;
  /** Free slot for hosted objects / the Manager (per-connection state). */
  readonly data: Map<unknown, unknown>;
}

export interface ServerOptions {
  /** Unix socket path or TCP address; default a socket in a fresh private directory under os.tmpdir(). */
  address?: Address;
  authkey: Authkey;
  /** Largest frame accepted after authentication (bytes). */
  maxFrame?: number;
  /** A client that has not sent the next handshake step after this many ms is dropped (default 2 s). */
  handshakeTimeout?: number;
  onConnect?(client: ClientInfo): void;
  /** After the per-object abandon() calls. */
  onDisconnect?(client: ClientInfo): void;
  /**
   * Give each connection an owner identity of the server's own instead of trusting the `pid:threadId`
   * its hello claims. A server whose clients may be on other hosts (a Manager) needs it: two hosts can
   * run programs with the same pid, and one must not release the other's RLock. (The per-process
   * broker keeps claimed owners: its clients are this host's own workers, and they name the owner of
   * each call in its arguments.)
   */
  connectionOwners?: boolean;
  /** Resolves an id that is not registered (e.g. objects the Manager creates on demand). */
  resolve?(objectId: ObjectId, client: ClientInfo): object | undefined;
}

let current: ClientInfo | undefined;

/** During the synchronous part of a hosted method call: the client that made it. */
export function currentClient(): ClientInfo | undefined {
  return current;
}

interface Connection {
  info: ClientInfo;
  messages: MessageSocket;
  /** Where replies go: this connection, or the reply connection it named (Hello.replyTo). */
  out: Connection;
  /** Request connections whose replies go here. */
  feeds: Set<Connection>;
  listenToken: string | null;
  pending: number;
  closed: boolean;
  /** Objects this client called that can abandon(owner, died). */
  used: Set<{ abandon(owner: string, died?: boolean): unknown }>;
  /** The client said goodbye (it is ending normally) and has made no call since. */
  saidBye: boolean;
}

export { privateAddress, removePrivate } from './private-dirs.js';

/** A void result leaves its value out: the reply stays plain JSON (undefined is not JSON). */
function okReply(id: number, value: unknown): Reply {
  return value === undefined ? [id, true] : [id, true, value];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as any).then === 'function';
}

export class ObjectServer {
  readonly address: Address;
  readonly #server: Server;
  readonly #opts: ServerOptions;
  readonly #dir: string | null;
  readonly #objects = new Map<ObjectId, object>();
  readonly #connections = new Set<Connection>();
  readonly #sockets = new Set<Socket>();
  readonly #listeners = new Map<string, Connection>();
  #nextObjectId = 1;
  #nextClientId = 1;
  #closed = false;

  private constructor(server: Server, address: Address, dir: string | null, opts: ServerOptions) {
    this.#server = server;
    this.address = address;
    this.#dir = dir;
    this.#opts = opts;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts listening; resolves once the address is bound. Never keeps the process alive by itself. */
  static async listen(opts: ServerOptions): Promise<ObjectServer> {
    checkAuthkey(opts.authkey);
    const { dir, address } = ObjectServer.#where(opts.address);
    const server = builtin<typeof Net>('node:net').createServer({ noDelay: true } as any);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        resolve();
      };
      if (typeof address === 'string') server.listen(address, done);
      else server.listen(address.port, address.host, done);
    }).catch((err) => {
      if (dir) removePrivate(dir);
      throw err;
    });
    server.unref();
    let bound: Address = address;
    if (typeof address !== 'string') {
      const info = server.address();
      bound = { host: address.host, port: typeof info === 'object' && info ? info.port : address.port };
    }
    return new ObjectServer(server, bound, dir, opts);
  }

  /**
   * Starts listening on a Unix socket synchronously (a Unix socket binds within listen()): for the
   * per-process broker, whose address a synchronous toHandle() must return. Default: a fresh
   * private socket; `address` (from {@link privateAddress}) when the directory was made elsewhere.
   */
  static listenSync(opts: Omit<ServerOptions, 'address'> & { address?: string }): ObjectServer {
    checkAuthkey(opts.authkey);
    const { dir, address } = opts.address === undefined ? ObjectServer.#where(undefined) : { dir: null, address: opts.address };
    const server = builtin<typeof Net>('node:net').createServer({ noDelay: true } as any);
    server.on('error', (err) => process.emitWarning(`multiproc broker socket failed: ${err.message}`));
    server.listen(address);
    server.unref();
    return new ObjectServer(server, address, dir, opts);
  }

  static #where(address: Address | undefined): { dir: string | null; address: Address } {
    if (address !== undefined) return { dir: null, address };
    return privateAddress();
  }

  /** Hosts `obj`; returns its id (a fresh number unless one is given). */
  register(obj: object, id?: ObjectId): ObjectId {
    const key = id ?? this.#nextObjectId++;
    this.#objects.set(key, obj);
    return key;
  }

  unregister(id: ObjectId): void {
    this.#objects.delete(id);
  }

  get(id: ObjectId): object | undefined {
    return this.#objects.get(id);
  }

  get clients(): ReadonlySet<ClientInfo> {
    return new Set([...this.#connections].map((c) => c.info));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The key clients must prove they know. */
  get authkey(): Uint8Array {
    return this.#opts.authkey;
  }

  /** Stops listening, drops every client and removes the socket's private directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const done = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await done;
    if (this.#dir) removePrivate(this.#dir);
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.unref();
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    const frames = new FrameSocket(socket, { maxFrame: HANDSHAKE_MAX_FRAME });
    serverHandshake(frames, this.#opts.authkey, this.#opts.handshakeTimeout).then(
      () => this.#welcome(frames),
      () => frames.end(100), // wrong key or protocol error: drop this client only (the verdict still reaches it)
    );
  }

  #welcome(frames: FrameSocket): void {
    frames.maxFrame = this.#opts.maxFrame ?? DEFAULT_MAX_FRAME;
    const messages = new MessageSocket(frames);
    let conn: Connection | null = null;
    // Before onMessage: frames queued during the handshake are handled (and answered) at once.
    messages.onSendError((msg, err) => {
      // A result that cannot cross becomes that call's SerializationError.
      const reply = msg as Reply;
      if (!conn || !reply[1]) return;
      const e = err instanceof SerializationError ? err : new SerializationError(String((err as Error)?.message ?? err));
      try {
        messages.send([reply[0], false, errorToWire(new SerializationError(`cannot send the result back: ${e.message}`)), reply[3]]);
      } catch {
        /* closed */
      }
    });
    messages.onMessage((msg) => {
      if (conn === null) {
        if (!isHello(msg)) {
          frames.close(new Error('protocol error: expected hello'));
          return;
        }
        const id = this.#nextClientId++;
        const owner = this.#opts.connectionOwners ? connectionOwner(id) : msg.owner;
        const c: Connection = {
          info: { id, pid: msg.pid, owner, claimedOwner: msg.owner, data: new Map() },
          messages, pending: 0, closed: false, used: new Set(), saidBye: false,
          out: null as any, feeds: new Set(), listenToken: null,
        };
        c.out = c;
        if (typeof msg.replyTo === 'string') {
          const target = this.#listeners.get(msg.replyTo);
          if (!target || target.info.pid !== msg.pid) {
            frames.close(new Error('protocol error: unknown reply connection'));
            return;
          }
          c.out = target;
          target.feeds.add(c);
        }
        if (typeof msg.listen === 'string' && !this.#listeners.has(msg.listen)) {
          c.listenToken = msg.listen;
          this.#listeners.set(msg.listen, c);
        }
        conn = c;
        this.#connections.add(conn);
        this.#opts.onConnect?.(conn.info);
        return;
      }
      if (!isRequest(msg)) {
        frames.close(new Error('protocol error: malformed request'));
        return;
      }
      if (msg[4] & MANY && msg[4] & NO_REPLY) {
        const [id, objectId, method, calls, flags] = msg;
        for (const args of calls) {
          if (conn.closed) return;
          this.#call(conn, id, objectId, method, Array.isArray(args) ? args : [args], flags & ~MANY);
        }
        return;
      }
      this.#call(conn, msg[0], msg[1], msg[2], msg[3], msg[4]);
    });
    frames.onClose(() => {
      if (conn) this.#disconnect(conn);
    });
  }

  #call(conn: Connection, id: number, objectId: ObjectId, method: string, args: unknown[], flags: number): void {
    let result: unknown;
    let ok = true;
    let obj: any;
    conn.saidBye = false;
    try {
      if (objectId === PROTOCOL_OBJECT) {
        if (method === 'bye') {
          conn.saidBye = true;
          return;
        }
        // ping: a barrier that returns once every earlier call of this connection has started.
        if (method !== 'ping') throw new TypeError(`unknown protocol call ${JSON.stringify(method)}`);
        this.#reply(conn, id, objectId, flags, true, null);
        return;
      }
      obj = this.#objects.get(objectId) ?? this.#opts.resolve?.(objectId, conn.info);
      if (obj === undefined) throw new TypeError(`no object with id ${JSON.stringify(objectId)} on this server`);
      const fn = obj[method];
      if (typeof fn !== 'function' || method === 'constructor' || fn === (Object.prototype as any)[method]) {
        throw new TypeError(`${obj.constructor?.name ?? 'object'} has no method ${JSON.stringify(method)}`);
      }
      if (typeof obj.abandon === 'function') conn.used.add(obj);
      current = conn.info;
      try {
        result = fn.apply(obj, args);
      } finally {
        current = undefined;
      }
    } catch (err) {
      ok = false;
      result = err;
    }
    if (ok && isThenable(result)) {
      if (conn.pending++ === 0) this.#replyTo(conn, flags).messages.frames.ref();
      Promise.resolve(result).then(
        (value) => this.#settle(conn, obj, id, objectId, flags, true, value),
        (err) => this.#settle(conn, obj, id, objectId, flags, false, err),
      );
      return;
    }
    this.#reply(conn, id, objectId, flags, ok, result);
  }

  /** Where the replies of a call go: its own connection, or (SYNC_REPLY) the reply connection it named. */
  #replyTo(conn: Connection, flags: number): Connection {
    return flags & SYNC_REPLY ? conn.out : conn;
  }

  #settle(conn: Connection, obj: any, id: number, objectId: ObjectId, flags: number, ok: boolean, value: unknown): void {
    const out = this.#replyTo(conn, flags);
    if (--conn.pending === 0 && !out.closed) out.messages.frames.unref();
    if (conn.closed) {
      // The caller ended while this call waited (e.g. an acquire granted after the death).
      if (obj && typeof obj.abandon === 'function') {
        try {
          obj.abandon(conn.info.owner, !conn.saidBye);
        } catch {
          /* best effort */
        }
      }
      return;
    }
    this.#reply(conn, id, objectId, flags, ok, value);
  }

  #reply(conn: Connection, id: number, objectId: ObjectId, flags: number, ok: boolean, value: unknown): void {
    const out = this.#replyTo(conn, flags);
    if (conn.closed || out.closed) return;
    if (ok && flags & NO_REPLY) return;
    try {
      out.messages.send(ok ? okReply(id, value) : [id, false, errorToWire(value), objectId]);
    } catch {
      /* the connection closed meanwhile */
    }
  }

  #disconnect(conn: Connection): void {
    conn.closed = true;
    this.#connections.delete(conn);
    if (conn.listenToken !== null) this.#listeners.delete(conn.listenToken);
    conn.out.feeds.delete(conn);
    // The connections that named this one for their blocking calls' replies close on their own (their
    // client ends, or its link notices its reply reader is gone); closing them here could drop a
    // goodbye still unread in their socket.
    // No goodbye before the connection went: the client died (crash, kill, non-zero exit).
    for (const obj of conn.used) {
      try {
        obj.abandon(conn.info.owner, !conn.saidBye);
      } catch {
        /* one object's failure must not stop the others */
      }
    }
    conn.used.clear();
    this.#opts.onDisconnect?.(conn.info);
  }
}
