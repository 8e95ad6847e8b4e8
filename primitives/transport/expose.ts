/**
 * This process's broker: the object server that lets worker processes reach the primitive cores
 * created here. Started on first use (one per thread that exposes cores), on a private Unix
 * socket, with a random authkey that travels only inside handle descriptors over the worker's
 * IPC channel — never on a command line.
 */
import { BrokerThread, type SharedForm } from './broker-thread.js';
import type { CoreShape } from '../kernel/core.js';
import type { Address } from './protocol.js';

/** Plain data naming a core in its creator's broker; crosses to workers inside a handle descriptor. */
export interface RemoteRef {
  address: Address;
  authkey: Uint8Array;
  id: number;
  kind: string;
  /** The creator's process id: a ref revived in its own process gives the local core back. */
  pid: number;
}

/** Where a remote core keeps its ref, so it can be handed on unchanged. */
export const REMOTE_REF: unique symbol = Symbol.for('multiproc.remoteRef') as any;

/**
 * This thread's object server, for a core that is not all shared memory (./expose-object.ts installs
 * it: the primitives of this package never need it, so a program does not load the server's code).
 */
export interface ObjectBroker {
  readonly address: Address;
  readonly authkey: Uint8Array;
  register(obj: object): number | string;
  get(id: number | string): object | undefined;
  close(): Promise<void>;
}
let startObjectBroker: (() => ObjectBroker) | null = null;

/** Called once by ./expose-object.ts: how this thread starts its object server. */
export function installObjectBroker(start: () => ObjectBroker): void {
  startObjectBroker = start;
}

let broker: ObjectBroker | null = null;
let brokerThread: BrokerThread | null = null;
let refs = new WeakMap<object, RemoteRef>();
/** Cores this thread hosts in its broker thread, by id: a ref that comes home gives the core back. */
let homeCores = new Map<number, object>();

function theBroker(): ObjectBroker {
  if (!startObjectBroker) throw new TypeError('a core that is not all shared memory is exposed through primitives/transport/expose-object.js: import it first');
  broker ??= startObjectBroker();
  return broker;
}

/** The ref of a remote core (one revived from a RemoteRef), or undefined for a local core. */
export function remoteRefOf(core: object): RemoteRef | undefined {
  return (core as any)[REMOTE_REF];
}

/**
 * Hosts `core` in this process's broker and returns its ref. Idempotent per core; a remote core
 * returns its own ref, so a primitive passed on from worker to worker always names its creator.
 */
export function exposeCore(core: object, shape: CoreShape, shared?: SharedForm): RemoteRef {
  const remote = remoteRefOf(core);
  if (remote) return remote;
  let ref = refs.get(core);
  if (!ref) {
    if (shared) {
      // All its state is shared memory: serve it from the broker thread, which stays responsive
      // whatever this thread does.
      brokerThread ??= new BrokerThread();
      const id = brokerThread.register(shared);
      ref = { address: brokerThread.address, authkey: brokerThread.authkey, id, kind: shape.kind, pid: process.pid };
      homeCores.set(id, core);
    } else {
      const server = theBroker();
      const id = server.register(core) as number;
      ref = { address: server.address, authkey: server.authkey, id, kind: shape.kind, pid: process.pid };
    }
    refs.set(core, ref);
  }
  return ref;
}

/** The core behind `ref` when it lives in this thread's broker (the ref came home). */
export function localCore(ref: RemoteRef): object | undefined {
  if (ref.pid !== process.pid) return undefined;
  if (brokerThread !== null && sameAddress(ref.address, brokerThread.address)) return homeCores.get(ref.id);
  if (broker === null || !sameAddress(ref.address, broker.address)) return undefined;
  return broker.get(ref.id);
}

function sameAddress(a: Address, b: Address): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.host === b.host && a.port === b.port;
}

/** Stops this thread's broker (tests; a program that is done with its primitives). */
export async function closeBroker(): Promise<void> {
  const b = broker;
  const t = brokerThread;
  broker = null;
  brokerThread = null;
  refs = new WeakMap();
  homeCores = new Map();
  await b?.close();
  await t?.close();
}
