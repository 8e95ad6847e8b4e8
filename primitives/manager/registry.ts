/**
 * The Manager's server side, independent of sockets: the root object creates hosted objects by type
 * id, as each type's declaration says (proxies.ts, sync-proxies.ts, hosting.ts), and hosts each behind its
 * adapter, so clients reach only the exposed methods. The root object (id ROOT_ID) is what
 * `manager.dict()`, `manager.Lock()`... call.
 */
import { exposedOf, ROOT_ID } from './declare.js';
import { createHosted } from './hosting.js';
import { isRefMarker } from './refs.js';
import './proxies.js';
import './sync-proxies.js';

export { ROOT_ID };

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
    if (!Array.isArray(args)) throw new TypeError('create(kind, args): args must be an array');
    const obj = typeof kind === 'string' ? createHosted(kind, args, (ref) => this.#lookup(ref)) : undefined;
    if (obj === undefined) throw new TypeError(`a manager cannot create ${JSON.stringify(kind)}`);
    const id = this.#host.register(obj) as number;
    this.#ids.add(id);
    return id;
  }

  /** Root method: the methods clients may call on objects of `kind` (a client builds a registered type's proxy from them). */
  exposedOf(kind: unknown): string[] {
    return exposedOf(kind);
  }

  /** Root method: how many objects are hosted (Python's `_number_of_objects`). */
  numberOfObjects(): number {
    return this.#ids.size;
  }

  #lookup(ref: unknown): object | undefined {
    return isRefMarker(ref) ? this.#host.get(ref.__multiproc_ref__[1]) : undefined;
  }
}
