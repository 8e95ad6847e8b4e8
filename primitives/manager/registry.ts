/**
 * The Manager's server side, independent of sockets: creates the hosted objects by kind and wraps
 * each in a facade that exposes only its API (see holder.ts) to the ObjectServer. The root object
 * (id ROOT_ID) is what `manager.dict()`, `manager.Lock()`... call.
 */
import type { Holder } from './holder.js';
import { API } from './holder.js';
import { ArrayHolder, DictHolder, ListHolder, NamespaceHolder, ValueHolder } from './containers.js';
import { BarrierHolder, ConditionHolder, EventHolder, LockHolder, RLockHolder, SemaphoreHolder } from './sync.js';
import { QueueHolder } from './queue.js';
import { isRefMarker } from './refs.js';

export const ROOT_ID = 'manager';

/** The kinds a client may create, with how to build each from the wire arguments. */
const FACTORIES: Record<string, (args: unknown[], lookup: (ref: unknown) => Holder | undefined) => Holder> = {
  dict: ([init]) => new DictHolder(init),
  list: ([init]) => new ListHolder(init),
  Namespace: ([init]) => new NamespaceHolder(init),
  Value: ([typecode, init]) => new ValueHolder(typecode, init),
  Array: ([typecode, init]) => new ArrayHolder(typecode, init),
  Lock: () => new LockHolder(),
  RLock: () => new RLockHolder(),
  Semaphore: ([value]) => new SemaphoreHolder(value ?? 1),
  BoundedSemaphore: ([value]) => new SemaphoreHolder(value ?? 1, true),
  Event: () => new EventHolder(),
  Condition: ([lock], lookup) => {
    if (lock === undefined || lock === null) return new ConditionHolder();
    const holder = lookup(lock);
    if (!(holder instanceof LockHolder)) throw new TypeError('Condition(lock): lock must be a Lock or RLock of the same manager');
    return new ConditionHolder(holder);
  },
  Barrier: ([parties, action, timeout]) => {
    if (action !== undefined && action !== null) throw new TypeError('a Manager Barrier cannot run an action: functions cannot be sent to the manager process');
    return new BarrierHolder(parties, timeout);
  },
  Queue: ([maxsize]) => new QueueHolder(maxsize ?? 0),
  JoinableQueue: ([maxsize]) => new QueueHolder(maxsize ?? 0, true),
};

type Facade = { readonly h: Holder };
const protos = new Map<string, object>();

/**
 * A prototype per kind whose only methods are that kind's API: the server calls `obj[method]`,
 * so nothing else (a helper, `dispose`, `acquireAs`) is reachable from the wire.
 */
function protoFor(kind: string, sample: Holder, isServerCall: () => boolean): object {
  let proto = protos.get(kind);
  if (proto) return proto;
  proto = Object.create(null) as Record<string, unknown>;
  for (const m of API[kind]) {
    (proto as any)[m] = function (this: Facade, ...args: unknown[]) {
      return (this.h as any)[m](...args);
    };
  }
  if (typeof (sample as any).abandon === 'function') {
    // The server calls abandon() outside any client call; a client naming it gets no such method.
    (proto as any).abandon = function (this: Facade, owner: string) {
      if (!isServerCall()) throw new TypeError(`${kind} has no method "abandon"`);
      (this.h as any).abandon(owner);
    };
  }
  protos.set(kind, proto);
  return proto;
}

export interface Host {
  register(obj: object): number | string;
  get(id: number | string): object | undefined;
}

/** The root object and the table of hosted objects. */
export class Registry {
  readonly #host: Host;
  readonly #isServerCall: () => boolean;
  readonly #holders = new Map<number, Holder>();

  constructor(host: Host, isServerCall: () => boolean) {
    this.#host = host;
    this.#isServerCall = isServerCall;
  }

  /** Root method: creates an object of `kind`; returns its id. */
  create(kind: unknown, args: unknown = []): number {
    if (typeof kind !== 'string' || !Object.hasOwn(FACTORIES, kind)) throw new TypeError(`a manager cannot create ${JSON.stringify(kind)}`);
    if (!Array.isArray(args)) throw new TypeError('create(kind, args): args must be an array');
    const holder = FACTORIES[kind](args, (ref) => this.#lookup(ref));
    const facade = Object.create(protoFor(holder.kind, holder, this.#isServerCall)) as { h: Holder };
    facade.h = holder;
    const id = this.#host.register(facade) as number;
    this.#holders.set(id, holder);
    return id;
  }

  /** Root method: how many objects are hosted (Python's `_number_of_objects`). */
  numberOfObjects(): number {
    return this.#holders.size;
  }

  /** Stops every timer the hosted objects hold (server shutdown). */
  dispose(): void {
    for (const h of this.#holders.values()) h.dispose?.();
  }

  #lookup(ref: unknown): Holder | undefined {
    return isRefMarker(ref) ? this.#holders.get(ref.__multiproc_ref__[1]) : undefined;
  }
}
