/**
 * Manager: a server process that holds shared objects, and the factory of their proxies
 * (Python's multiprocessing.Manager / SyncManager).
 */
import type { ChildProcess } from 'node:child_process';
import type * as Crypto from 'node:crypto';
import { builtin } from '../../lib/base/builtin.js';
import type { Address } from '../transport/protocol.js';
import { checkAuthkey } from '../transport/auth.js';
import type { Link } from './link.js';
import { call, makeProxy } from './proxy-base.js';
import { ensureProxyType, registration, RootProxy, type RegisterOptions, type Registration } from './custom.js';
import type { TaskRef } from '../../lib/base/task.js';
import {
  ArrayProxy, DictProxy, ListProxy, ValueProxy, type DictKey, type NamespaceAttrs,
} from './proxies.js';
import {
  BarrierProxy, BoundedSemaphoreProxy, ConditionProxy, EventProxy, JoinableQueueProxy, LockProxy, QueueProxy,
  RLockProxy, SemaphoreProxy,
} from './sync-proxies.js';
import { ROOT_ID } from './declare.js';
import type { ServerCommand } from './server-main.js';

export type { Address } from '../transport/protocol.js';

export interface ManagerOptions {
  /** Unix socket path, or `{ host, port }` for TCP (port 0: any free port). Default: a socket in a private (0700) temp directory. */
  address?: Address;
  /** Shared secret for the HMAC challenge; default 32 random bytes. An empty key is valid (as Python ≥ 3.12). */
  authkey?: Uint8Array;
  /** Largest message (bytes) the server accepts from a client after authentication. */
  maxFrame?: number;
}

/** Python's typecodes for Value/Array. */
export type Typecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';
type BigCode = 'q' | 'Q';

/** Server start and client links, loaded by the first start/connect (./start.ts says why). */
const loadStart = (): Promise<typeof import('./start.js')> => import('./start.js');

/** A Manager class (its constructor is protected, so it is known here by its prototype). */
type ManagerClass = { readonly prototype: object };
/** Types registered with `Manager.register`, per Manager class (a subclass also has its parents'). */
const registered = new Map<ManagerClass, Map<string, Registration>>();

function registrationsOf(cls: ManagerClass): Registration[] {
  const all = new Map<string, Registration>();
  const chain: ManagerClass[] = [];
  for (let c: any = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c);
  for (const c of chain) for (const [typeid, reg] of registered.get(c) ?? []) all.set(typeid, reg);
  return [...all.values()];
}

/** `Queue(maxsize=6)` ported as `Queue({ maxsize: 6 })`; anything else goes to the server to check. */
function maxsizeOf(maxsize: unknown): unknown {
  return typeof maxsize === 'object' && maxsize !== null && Object.keys(maxsize).every((k) => k === 'maxsize') ? (maxsize as { maxsize?: number }).maxsize ?? 0 : maxsize;
}

function checkAddress(address: unknown): Address | undefined {
  if (address === undefined) return undefined;
  if (typeof address === 'string' && address.length > 0) return address;
  if (typeof address === 'object' && address !== null && typeof (address as any).host === 'string'
      && Number.isInteger((address as any).port) && (address as any).port >= 0 && (address as any).port < 65536) {
    return { host: (address as any).host, port: (address as any).port };
  }
  throw new TypeError('address must be a Unix socket path or { host: string, port: number }');
}

/**
 * A manager: `await Manager.start()` forks a server process holding shared objects, and
 * `manager.dict()`, `manager.list()`, `manager.Lock()`... create objects there and return their
 * proxies. Proxies can be passed to Pool tasks and Processes; every proxy call returns a Promise.
 * `await using manager = await Manager.start()` shuts it down at the end of the block.
 */
export class Manager {
  /** The bound Unix socket path, or `{ host, port }` with the real port. */
  readonly address: Address;
  /** The key clients must prove they know (pass it to `Manager.connect` elsewhere). */
  readonly authkey: Uint8Array;
  /** The server process id (undefined for a manager attached with `connect`). */
  readonly pid: number | undefined;
  readonly #link: Link;
  readonly #root: RootProxy;
  readonly #child: ChildProcess | null;
  #exited: Promise<void> | null = null;

  /** @internal managers come from `start` and `connect`. */
  protected constructor(link: Link, child: ChildProcess | null, pid: number | undefined) {
    // a ported `manager = Manager(); manager.start()`, from JavaScript (TypeScript refuses it at compile time)
    if (link === undefined) throw new TypeError('a Manager is made by `await Manager.start(opts)` (Python\'s Manager() + start()) or `await Manager.connect(address, authkey)`, not by `new`');
    this.#link = link;
    this.address = link.address;
    this.authkey = link.authkey;
    this.#child = child;
    this.pid = pid;
    this.#root = new RootProxy(link, ROOT_ID as unknown as number);
  }

  /**
   * Python's `BaseManager.register(typeid, callable, exposed=...)`: objects of `typeid` are made by
   * `callable` in the server process (a class is constructed, a function called) with the arguments
   * of `manager.create(typeid, ...args)` (also `manager[typeid](...args)`, as in Python), and
   * clients call their `exposed` methods through a proxy; default, a class's public methods (names
   * not starting with `_`). The callable is a `task(module, exportName)` reference, since a
   * function cannot be sent to the server. Register before `start()`; on a subclass
   * (`class MyManager extends Manager {}`), only its managers have the type.
   */
  static register(typeid: string, callable: TaskRef, opts: RegisterOptions = {}): void {
    const reg = registration(typeid, callable, opts);
    let table = registered.get(this);
    if (!table) registered.set(this, (table = new Map()));
    table.set(typeid, reg);
    if (!(typeid in this.prototype)) {
      Object.defineProperty(this.prototype, typeid, {
        value(this: Manager, ...args: unknown[]) {
          return this.create(typeid, ...args);
        },
        configurable: true, writable: true,
      });
    }
  }

  /** Starts a manager server process (Python's `Manager()` / `SyncManager.start()`). */
  static async start<M extends Manager = Manager>(this: { prototype: M } | void, opts: ManagerOptions = {}): Promise<M> {
    const cls = (typeof this === 'function' ? this : Manager) as unknown as typeof Manager; // also when called unbound
    if (typeof opts !== 'object' || opts === null) throw new TypeError('Manager.start(opts): opts must be an object');
    const authkey = opts.authkey === undefined ? new Uint8Array(builtin<typeof Crypto>('node:crypto').randomBytes(32)) : checkAuthkey(opts.authkey);
    const address = checkAddress(opts.address);
    const start = await loadStart();
    const { child, link } = await start.startServer({ address, maxFrame: opts.maxFrame }, authkey, registrationsOf(cls));
    start.adoptLink(link);
    // An idle manager never keeps the program alive; the server exits with its parent.
    child.unref();
    (child as any).channel?.unref?.();
    const manager = new cls(link, child, child.pid);
    manager.#exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    return manager as M;
  }

  /** Attaches to a manager started elsewhere (AuthenticationError with the wrong key). */
  static async connect<M extends Manager = Manager>(this: { prototype: M } | void, address: Address, authkey: Uint8Array): Promise<M> {
    const cls = (typeof this === 'function' ? this : Manager) as unknown as typeof Manager; // also when called unbound
    const addr = checkAddress(address);
    if (addr === undefined) throw new TypeError('Manager.connect(address, authkey): address is required');
    const key = checkAuthkey(authkey);
    const start = await loadStart();
    const link = await start.openLink(addr, key);
    start.adoptLink(link);
    return new cls(link, null, undefined) as M;
  }

  #create<P>(kind: string, args: unknown[]): Promise<P> {
    return call<number>(this.#root, 'create', [kind, args]).then((id) => makeProxy(this.#link, kind, id) as P);
  }

  /**
   * Creates an object of a type registered with {@link Manager.register} (Python's
   * `manager.<typeid>(...args)`), returning its proxy: each exposed method is one round trip.
   */
  async create<P = any>(typeid: string, ...args: unknown[]): Promise<P> {
    const id = await call<number>(this.#root, 'create', [typeid, args]);
    await ensureProxyType(this.#link, typeid);
    return makeProxy(this.#link, typeid, id) as P;
  }

  /** A shared dict (Python's `manager.dict()`), from a plain object, a Map or [key, value] pairs. */
  dict<V = any>(init?: Record<string, V> | Map<DictKey, V> | [DictKey, V][]): Promise<DictProxy<V>> {
    return this.#create('dict', init === undefined ? [] : [init]);
  }
  /** A shared list. */
  list<T = any>(init?: Iterable<T>): Promise<ListProxy<T>> {
    return this.#create('list', init === undefined ? [] : [Array.isArray(init) ? init : [...init]]);
  }
  /** A shared Namespace: `await ns.x`, `ns.x = 1`, or `ns.get('x')` / `await ns.set('x', 1)`. */
  Namespace(init?: Record<string, unknown>): Promise<NamespaceAttrs> {
    return this.#create('Namespace', init === undefined ? [] : [init]);
  }
  Lock(): Promise<LockProxy> {
    return this.#create('Lock', []);
  }
  RLock(): Promise<RLockProxy> {
    return this.#create('RLock', []);
  }
  Semaphore(value = 1): Promise<SemaphoreProxy> {
    return this.#create('Semaphore', [value]);
  }
  BoundedSemaphore(value = 1): Promise<BoundedSemaphoreProxy> {
    return this.#create('BoundedSemaphore', [value]);
  }
  Event(): Promise<EventProxy> {
    return this.#create('Event', []);
  }
  /** A Condition over `lock` (a Lock/RLock proxy of this manager), default a new RLock. */
  Condition(lock?: LockProxy | RLockProxy): Promise<ConditionProxy> {
    return this.#create('Condition', lock === undefined ? [] : [lock]);
  }
  /** A Barrier for `parties` (no action: functions cannot cross to the server). */
  Barrier(parties: number, action?: null | { timeout?: number | null }, timeout?: number | null | { timeout?: number | null }): Promise<BarrierProxy> {
    // Python's keywords, `manager.Barrier(2, timeout=0.5)`, as a trailing object: it was dropped as an `action`
    const kw = typeof timeout === 'object' && timeout !== null ? timeout : timeout === undefined && typeof action === 'object' && action !== null ? action : null;
    if (kw) {
      const extra = Object.keys(kw).find((k) => k !== 'timeout' && k !== 'action');
      if (extra !== undefined) return Promise.reject(new TypeError(`Barrier() got an unexpected keyword argument '${extra}'`));
      if (kw === action) action = (kw as { action?: null }).action;
      timeout = kw.timeout;
    }
    if (action !== undefined && action !== null) {
      return Promise.reject(new TypeError('a Manager Barrier cannot run an action: functions cannot be sent to the manager process'));
    }
    return this.#create('Barrier', [parties, undefined, (timeout as number | null | undefined) ?? undefined]);
  }
  Queue<T = any>(maxsize: number | { maxsize?: number } = 0): Promise<QueueProxy<T>> {
    return this.#create('Queue', [maxsizeOf(maxsize)]);
  }
  JoinableQueue<T = any>(maxsize: number | { maxsize?: number } = 0): Promise<JoinableQueueProxy<T>> {
    return this.#create('JoinableQueue', [maxsizeOf(maxsize)]);
  }
  Value<C extends Typecode>(typecode: C, value?: C extends BigCode ? bigint | number : number): Promise<ValueProxy<C extends BigCode ? bigint : number>> {
    return this.#create('Value', [typecode, value ?? 0]);
  }
  Array<C extends Typecode>(typecode: C, sizeOrInit: number | ArrayLike<number | bigint>): Promise<ArrayProxy<C extends BigCode ? bigint : number>> {
    return this.#create('Array', [typecode, typeof sizeOrInit === 'number' ? sizeOrInit : Array.from(sizeOrInit)]);
  }

  /** How many objects the server holds (Python's `_number_of_objects()`). */
  numberOfObjects(): Promise<number> {
    return call(this.#root, 'numberOfObjects', []);
  }

  /**
   * Stops the server process and waits for it to exit; every proxy call afterwards rejects
   * ConnectionClosedError. For a manager attached with `connect`, the same as `close()`.
   */
  async shutdown(): Promise<void> {
    this.#link.client.close();
    const child = this.#child;
    if (!child) return;
    if (child.connected) {
      try {
        child.send({ t: 'shutdown' } satisfies ServerCommand);
      } catch {
        /* already gone */
      }
    }
    // Wait for the exit, with a hard stop if it does not come.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Closes this client's connection (the server keeps running if it was started elsewhere). */
  close(): void {
    this.#link.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  toString(): string {
    return `<Manager at ${this.#link.label}${this.pid === undefined ? '' : ` pid=${this.pid}`}>`;
  }
}
