/**
 * What every Manager proxy shares: the link to its manager, the object id, the call path (proxies
 * inside arguments become references; references inside results become proxies; Manager errors
 * come back as their own classes), `[toHandle]` so a proxy can be passed to Pool tasks and
 * Processes, and a readable `toString`/`inspect`.
 */
import { toHandle, type HandleDescriptor, type HandleTarget } from '../../lib/base/codec/handles.js';
import { findUnserializable } from '../../lib/base/codec/unserializable.js';
import { isStackOverflow } from '../../lib/base/codec/too-deep.js';
import { errorClasses, SerializationError } from '../../lib/base/errors.js';
import { decodeMessage, encodeMessage, type Encoded } from '../../lib/base/codec/message.js';
import type { Link } from './link.js';
import { isRefMarker, mapDeep, REF_KEY, type RefMarker } from './refs.js';
import { sendError, unsendable } from '../channel/codec.js';

/** Private state lives behind symbols, so Namespace attribute names cannot collide with it. */
export const LINK: unique symbol = Symbol('multiproc.manager.link');
export const ID: unique symbol = Symbol('multiproc.manager.id');

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** The module whose reviveHandle turns a handle back into a proxy (it imports every proxy class). */
export const REVIVE_MODULE = new URL(`./revive${ext}`, import.meta.url).href;

/** What a proxy handle carries to a worker: enough to reconnect (the authkey travels in the message, never on a command line). */
export interface ProxyHandleData {
  address: Link['address'];
  authkey: Uint8Array;
  id: number;
}

type ProxyCtor = new (link: Link, id: number) => BaseProxy;
const kinds = new Map<string, ProxyCtor>();

/** Called by each proxy module: which class stands for a server kind. */
export function registerProxyKind(kind: string, ctor: ProxyCtor): void {
  kinds.set(kind, ctor);
}

/** Whether this thread knows the proxy class of `kind`. */
export function hasProxyKind(kind: string): boolean {
  return kinds.has(kind);
}

export function makeProxy(link: Link, kind: string, id: number): BaseProxy {
  const Ctor = kinds.get(kind);
  if (!Ctor) throw new TypeError(`unknown manager object kind ${JSON.stringify(kind)}`);
  const proxy = new Ctor(link, id);
  const wrap = (Ctor as unknown as { wrap?: (p: BaseProxy) => BaseProxy }).wrap;
  return wrap ? wrap(proxy) : proxy;
}

function remapError(err: unknown): never {
  const Cls = err instanceof Error ? errorClasses[err.name] : undefined;
  if (Cls && !(err instanceof Cls)) Object.setPrototypeOf(err, Cls.prototype);
  throw err;
}

/** Base class of every Manager proxy. Every method returns a Promise (one round trip, atomic on the server). */
export abstract class BaseProxy {
  /** The server-side kind ('dict', 'Lock', ...). */
  static readonly kind: string;
  readonly [LINK]: Link;
  readonly [ID]: number;

  constructor(link: Link, id: number) {
    this[LINK] = link;
    this[ID] = id;
  }

  /** The server-side kind of this proxy. */
  get [Symbol.toStringTag](): string {
    return (this.constructor as typeof BaseProxy).kind;
  }

  /**
   * A worker connects to the manager by address and authkey. Another host ('remote', a cluster) can
   * only reach a TCP address; the authkey travels in the descriptor (the cluster layer protects job
   * payloads).
   */
  [toHandle](target: HandleTarget): HandleDescriptor {
    const link = this[LINK];
    if (target === 'remote' && typeof link.address === 'string') {
      throw new SerializationError(
        `${this} cannot reach another host: its manager listens on the Unix socket ${link.address}; ` +
          'start it with Manager.start({ address: { host, port } }) to share it across machines',
      );
    }
    const data: ProxyHandleData = { address: link.address, authkey: link.authkey, id: this[ID] };
    return { module: REVIVE_MODULE, type: (this.constructor as typeof BaseProxy).kind, data };
  }

  toString(): string {
    return `<${this.constructor.name} id=${this[ID]} at ${this[LINK].label}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Turns proxies inside `value` into references to their server objects. */
function encodeValue(link: Link, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return mapDeep(value, (v) => {
    if (!(v instanceof BaseProxy)) return undefined;
    if (v[LINK].label !== link.label) throw new TypeError(`${v} belongs to another manager and cannot be stored in this one`);
    return { [REF_KEY]: [(v.constructor as typeof BaseProxy).kind, v[ID]] } satisfies RefMarker;
  });
}

type KindResolver = (link: Link, kind: string) => Promise<void>;
let resolveKind: KindResolver | undefined;

/** Set by the module that builds registered types' proxy classes from what their server reports. */
export function setKindResolver(resolver: KindResolver): void {
  resolveKind = resolver;
}

/**
 * Turns references inside a result into live proxies on the same link. A reference to a type this
 * thread has no class for yet (a registered type first met inside a value) waits for its class.
 */
function decodeValue(link: Link, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const missing = new Set<string>();
  const out = mapDeep(value, (v) => {
    if (!isRefMarker(v)) return undefined;
    const [kind, id] = v[REF_KEY];
    if (kinds.has(kind) || resolveKind === undefined) return makeProxy(link, kind, id);
    missing.add(kind);
    return v;
  });
  if (missing.size === 0) return out;
  return Promise.all([...missing].map((kind) => resolveKind!(link, kind))).then(() => decodeValue(link, value));
}

function encodeArgs(link: Link, args: unknown[]): unknown[] {
  let out = args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a !== 'object' || a === null) continue;
    const e = encodeValue(link, a);
    if (e !== a) {
      if (out === args) out = args.slice();
      out[i] = e;
    }
  }
  return out;
}

/** A queue item as the server stores it: proxies become references, then the message codec's bytes. */
export function encodeItem(proxy: BaseProxy, item: unknown): Encoded {
  try {
    return encodeMessage(encodeValue(proxy[LINK], item));
  } catch (err) {
    throw argsError(item, err, 'obj');
  }
}

/**
 * An argument that cannot be sent (a getter that throws, nesting too deep, a function) as
 * SerializationError naming its path (`args[1].g`); any other error (or one about the result) as it is.
 */
function argsError(args: unknown, err: unknown, root = 'args'): unknown {
  if (err instanceof SerializationError && err.path !== '') return err;
  const where = findUnserializable(args, root, 'process');
  if (where !== null) return sendError(where, err);
  return isStackOverflow(err) ? unsendable(args, root, err) : err;
}

/** A queue item back from the server: decoded, references become live proxies. */
export function decodeItem(proxy: BaseProxy, frame: Encoded): unknown {
  return decodeValue(proxy[LINK], decodeMessage(frame));
}

/** One round trip: `method(...args)` on the proxy's server object. */
export function call<T = any>(proxy: BaseProxy, method: string, args: unknown[]): Promise<T> {
  const link = proxy[LINK];
  let sent: unknown[];
  try {
    sent = encodeArgs(link, args);
  } catch (err) {
    return Promise.reject(argsError(args, err));
  }
  // The message is encoded after this returns: a v8 refusal comes back as a pathless SerializationError.
  return link.client.call(proxy[ID], method, sent).then(
    (v) => decodeValue(link, v) as T,
    (err) => remapError(err instanceof SerializationError && err.path === '' ? argsError(args, err) : err),
  );
}

/** No reply: for assignments (`ns.x = 1`); calls on one link stay in order, so later reads see it. */
export function notify(proxy: BaseProxy, method: string, args: unknown[]): void {
  const link = proxy[LINK];
  let sent: unknown[];
  try {
    sent = encodeArgs(link, args);
  } catch (err) {
    throw argsError(args, err);
  }
  link.client.notify(proxy[ID], method, sent);
}

/** Drops trailing undefined arguments, so the server sees Python's "not given" (pop(k) vs pop(k, dflt)). */
export function given(...args: unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return n === args.length ? args : args.slice(0, n);
}
