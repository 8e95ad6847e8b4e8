/**
 * The Manager's server side, independent of sockets: creates the hosted objects by kind. The
 * synchronization primitives and queues are the primitives' own cores (hosted.ts); dict, list,
 * Namespace, Value and Array are containers with Python's semantics (containers.ts). The root object
 * (id ROOT_ID) is what `manager.dict()`, `manager.Lock()`... call.
 */
import { ArrayHolder, DictHolder, ListHolder, NamespaceHolder, ValueHolder } from './containers.js';
import { HostedBarrier, HostedCondition, HostedEvent, HostedLock, HostedQueue, HostedSemaphore } from './hosted.js';
import { isRefMarker } from './refs.js';

export const ROOT_ID = 'manager';

type Lookup = (ref: unknown) => object | undefined;

/** The kinds a client may create, with how to build each from the wire arguments. */
const FACTORIES: Record<string, (args: unknown[], lookup: Lookup) => object> = {
  dict: ([init]) => new DictHolder(init),
  list: ([init]) => new ListHolder(init),
  Namespace: ([init]) => new NamespaceHolder(init),
  Value: ([typecode, init]) => new ValueHolder(typecode, init),
  Array: ([typecode, init]) => new ArrayHolder(typecode, init),
  Lock: () => new HostedLock('Lock'),
  RLock: () => new HostedLock('RLock'),
  Semaphore: ([value]) => new HostedSemaphore('Semaphore', value ?? 1),
  BoundedSemaphore: ([value]) => new HostedSemaphore('BoundedSemaphore', value ?? 1),
  Event: () => new HostedEvent(),
  Condition: ([lock], lookup) => {
    if (lock === undefined || lock === null) return new HostedCondition();
    const hosted = lookup(lock);
    if (!(hosted instanceof HostedLock)) throw new TypeError('Condition(lock): lock must be a Lock or RLock of the same manager');
    return new HostedCondition(hosted);
  },
  Barrier: ([parties, action, timeout]) => {
    if (action !== undefined && action !== null) throw new TypeError('a Manager Barrier cannot run an action: functions cannot be sent to the manager process');
    return new HostedBarrier(parties, timeout);
  },
  Queue: ([maxsize]) => new HostedQueue('Queue', maxsize ?? 0),
  JoinableQueue: ([maxsize]) => new HostedQueue('JoinableQueue', maxsize ?? 0),
};

export interface Host {
  register(obj: object): number | string;
  get(id: number | string): object | undefined;
}

/** The root object and the table of hosted objects. */
export class Registry {
  readonly #host: Host;
  readonly #ids = new Set<number>();

  constructor(host: Host) {
    this.#host = host;
  }

  /** Root method: creates an object of `kind`; returns its id. */
  create(kind: unknown, args: unknown = []): number {
    if (typeof kind !== 'string' || !Object.hasOwn(FACTORIES, kind)) throw new TypeError(`a manager cannot create ${JSON.stringify(kind)}`);
    if (!Array.isArray(args)) throw new TypeError('create(kind, args): args must be an array');
    const obj = FACTORIES[kind](args, (ref) => this.#lookup(ref));
    const id = this.#host.register(obj) as number;
    this.#ids.add(id);
    return id;
  }

  /** Root method: how many objects are hosted (Python's `_number_of_objects`). */
  numberOfObjects(): number {
    return this.#ids.size;
  }

  #lookup(ref: unknown): object | undefined {
    return isRefMarker(ref) ? this.#host.get(ref.__multiproc_ref__[1]) : undefined;
  }
}
