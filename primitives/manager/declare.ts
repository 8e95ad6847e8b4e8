/**
 * One declaration per Manager type, as CPython's `SyncManager.register(typeid, callable, proxytype,
 * exposed)`: the type id and the methods clients may call (how the server builds each object is in
 * ./hosting.ts, loaded by the server only). From it come both sides: the client's proxy class (one
 * generated method per exposed name, a round trip each) and the server's adapter (only the exposed
 * names are callable from the wire). The public types stay explicit: each proxy is an interface, and the
 * declaration must list exactly the methods that interface adds to its hand-written base.
 */
import { BaseProxy, call, decodeItem, encodeItem, registerProxyKind } from './proxy-base.js';
import type { Link } from './link.js';

/**
 * How a proxy forwards one exposed name: `call`, `proxy.m(...args)`, one round trip resolving the
 * result; `getter`, `await proxy.m` (Barrier's `parties`); `itemIn`, a queue put whose first argument
 * the client encodes, so the server stores bytes and never decodes a user's value; `itemOut`, a queue
 * get whose result is such bytes, decoded by the client.
 */
export type Exposure = 'call' | 'getter' | 'itemIn' | 'itemOut';

/** Finds the server object a reference argument names (a Condition's lock). */
export type Lookup = (ref: unknown) => object | undefined;

/** What a generated proxy class offers besides its instances' type. */
export interface ProxyType<P> {
  new (link: Link, id: number): P;
  readonly prototype: P;
  /** The type id on the wire ('dict', 'Lock', ...). */
  readonly kind: string;
}

type Ctor<B> = abstract new (link: Link, id: number) => B;

/**
 * The names a proxy interface adds to its base: each must be exposed. snake_case names are not
 * ours to expose: they are the Python aliases lib/python adds to every proxy's prototype.
 */
type Added<P, B> = Exclude<keyof P, keyof B | symbol | `${string}_${string}`>;
/** The base's own names: exposed too where the base's method makes the round trip itself. */
type Overridden<B> = Exclude<keyof B, keyof BaseProxy | symbol>;

export interface Declaration<P extends B, B extends BaseProxy> {
  typeid: string;
  /**
   * A registered type's maker: builds the server-side object from the wire arguments (they come from
   * a client: check them). The Manager's own types are made as ./hosting.ts says, which only the
   * server process loads.
   */
  create?: (args: unknown[], lookup: Lookup) => object;
  /** The methods clients may call, and how the proxy forwards each. */
  exposed: { readonly [K in Added<P, B>]: Exposure } & { readonly [K in Overridden<B>]?: Exposure };
  /** Hand-written client-side members (helpers that run in the caller); default BaseProxy. */
  base?: Ctor<B>;
  /** A type the program registered (Manager.register), not one of the Manager's own. */
  registered?: boolean;
  /** `for await (const x of proxy)` iterates what this exposed method returns (a snapshot, as Python's proxies). */
  iterates?: Added<P, B>;
}

/** What the server knows of a declared type; ./hosting.ts builds and adapts its objects. */
export interface Hosting {
  /** A registered type's maker; the Manager's own types are made as ./hosting.ts says. */
  create?: (args: unknown[], lookup: Lookup) => object;
  names: string[];
  registered: boolean;
  /** Built from the first object created: whether it has `abandon` decides the server's abandon hook. */
  Adapter?: new (target: object) => object;
}

const hostings = new Map<string, Hosting>();

/** The object id of a manager's root object (what `manager.dict()`, `manager.Lock()`... call). */
export const ROOT_ID = 'manager';

/** Whether `typeid` is one of the Manager's own types. */
export function isDeclared(typeid: string): boolean {
  return hostings.get(typeid)?.registered === false;
}

/** The server side of a declared type, or undefined. */
export function hostingOf(typeid: string): Hosting | undefined {
  return hostings.get(typeid);
}

/** The names clients may call on objects of `typeid` (a client builds a registered type's proxy from them). */
export function exposedOf(typeid: unknown): string[] {
  const hosting = typeof typeid === 'string' ? hostings.get(typeid) : undefined;
  if (hosting === undefined) throw new TypeError(`a manager cannot create ${JSON.stringify(typeid)}`);
  return hosting.names;
}

function proxyMethod(name: string, how: Exposure): PropertyDescriptor {
  switch (how) {
    case 'getter':
      return { get(this: BaseProxy) { return call(this, name, []); }, configurable: true };
    case 'itemIn':
      return {
        value(this: BaseProxy, item: unknown, ...rest: unknown[]) {
          try {
            return call(this, name, [encodeItem(this, item), ...rest]);
          } catch (err) {
            return Promise.reject(err); // an item that cannot be encoded fails this call only
          }
        },
        configurable: true, writable: true,
      };
    case 'itemOut':
      return {
        value(this: BaseProxy, ...args: unknown[]) {
          return call(this, name, args).then((frame) => decodeItem(this, frame));
        },
        configurable: true, writable: true,
      };
    default:
      return {
        value(this: BaseProxy, ...args: unknown[]) {
          return call(this, name, args);
        },
        configurable: true, writable: true,
      };
  }
}

/**
 * Declares a Manager type: returns its proxy class (named `<Typeid>Proxy`, with the typeid as its
 * `kind`) and registers how the server creates and exposes it. A name the base class already
 * defines is the base's (a hand-written client-side check before the call); the rest are generated.
 */
export function declareType<P extends B, B extends BaseProxy = BaseProxy>(decl: Declaration<P, B>): ProxyType<P> {
  const Base = (decl.base ?? BaseProxy) as unknown as abstract new (link: Link, id: number) => BaseProxy;
  const name = `${decl.typeid[0].toUpperCase()}${decl.typeid.slice(1)}Proxy`;
  const Generated = { [name]: class extends Base { static readonly kind = decl.typeid; } }[name];
  const exposed = decl.exposed as Record<string, Exposure>;
  for (const [method, how] of Object.entries(exposed)) {
    if (!(method in Base.prototype)) Object.defineProperty(Generated.prototype, method, proxyMethod(method, how));
  }
  if (decl.iterates !== undefined) {
    const snapshot = decl.iterates as string;
    Object.defineProperty(Generated.prototype, Symbol.asyncIterator, {
      async *value(this: BaseProxy) {
        yield* Array.from(await call<ArrayLike<unknown>>(this, snapshot, []));
      },
      configurable: true, writable: true,
    });
  }
  registerProxyKind(decl.typeid, Generated as any);
  hostings.set(decl.typeid, { create: decl.create, names: Object.keys(exposed), registered: decl.registered ?? false });
  return Generated as unknown as ProxyType<P>;
}
