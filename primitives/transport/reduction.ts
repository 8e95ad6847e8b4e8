/**
 * How a primitive crosses to a worker and is rebuilt there (Python's multiprocessing.reduction), the
 * one way for every primitive:
 *
 * - a thread worker of this process gets the core's shared memory and rebuilds the core with
 *   `new Core(memory)`, the core class registered under that name (kernel/core.ts);
 * - a process worker gets a reference to the core in this process's broker (a thread of its own
 *   serving a private Unix socket, which rebuilds the core from the same memory) and talks to it
 *   through a remote core; a core that is itself remote hands on its creator's reference;
 * - another host ('remote', a cluster) cannot reach shared memory at all: refused, with the way out
 *   (a Manager proxy).
 *
 * The public class (facade) is then built around the core with {@link rebuild}: constructors take the
 * user's arguments only, so the core reaches them through this one side channel.
 */
import type { HandleTarget } from '../../lib/base/codec/handles.js';
import { SerializationError } from '../../lib/base/errors.js';
import { coreClassNamed, type CoreShape } from '../kernel/core.js';
import { exposeCore, remoteRefOf, type RemoteRef } from './expose.js';
import { connectRemoteCore } from './remote-core.js';

/** The wire form of a core: its class and shared memory (threads) or a broker reference (processes). */
export type CoreData = { core: string; memory: unknown } | { remote: RemoteRef };

/** A core whose whole state is shared memory (every core of this package). */
export interface SharedCore {
  readonly memory: unknown;
}

/** The error for a shared-memory primitive sent to another host. */
export function cannotCrossHosts(what: string): SerializationError {
  const factory = what.replace(/^(Simple|Joinable)?Queue$/, 'Queue').replace(/^Connection$/, 'Pipe');
  return new SerializationError(
    `a ${what} lives in this machine's shared memory and cannot cross to another host; ` +
      `use a Manager proxy instead (await manager.${factory === 'Pipe' ? 'Queue' : factory}(), manager.Lock(), manager.Queue(), ...)`,
  );
}

/**
 * The wire form of `core` for a worker of kind `target`. Thread workers of the creator's process
 * share its memory; process workers get the core's broker reference (a local core is hosted by this
 * process's broker, started on first use; a remote core hands on its creator's reference).
 */
export function coreData(core: SharedCore | object, shape: CoreShape, target: HandleTarget): CoreData {
  if (target === 'remote') throw cannotCrossHosts(shape.kind);
  const remote = remoteRefOf(core);
  if (remote) return { remote };
  const memory = (core as SharedCore).memory;
  const name = core.constructor.name;
  if (target === 'thread') return { core: name, memory };
  try {
    const registered = coreClassNamed(name);
    if (registered?.Core !== core.constructor) throw new TypeError(`${name} is not a registered core class`);
    return { remote: exposeCore(core, shape, { module: registered.module, exportName: name, memory }) };
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    throw new SerializationError(`a ${shape.kind} cannot be passed to a ${target} worker: ${(err as Error)?.message ?? err}`);
  }
}

/** Rebuilds a core from its wire form: from shared memory at once, a remote core once connected. */
export function openCore<C>(data: CoreData, shape: CoreShape): C | Promise<C> {
  if ('remote' in data) return connectRemoteCore<C>(data.remote, shape); // in its creator's thread: the local core itself
  const Core = typeof data.core === 'string' ? coreClassNamed(data.core)?.Core : undefined;
  if (typeof Core !== 'function') throw new TypeError(`cannot revive a ${shape.kind}: unknown core ${data.core}`);
  return new Core(data.memory) as C;
}

/** Runs `fn` with every value in `values` resolved, synchronously when none is a Promise. */
export function whenAll<T extends unknown[], R>(values: [...T], fn: (...resolved: { [K in keyof T]: Awaited<T[K]> }) => R): R | Promise<R> {
  if (values.some((v) => v instanceof Promise)) {
    return Promise.all(values).then((resolved) => fn(...(resolved as any)));
  }
  return fn(...(values as any));
}

let parts: unknown = null;

/** Builds a facade around revived parts: `make` calls the public constructor, which takes them with {@link rebuilt}. */
export function rebuild<P, T>(revived: P, make: () => T): T {
  parts = revived;
  try {
    return make();
  } finally {
    parts = null;
  }
}

/** In a facade's constructor: the parts {@link rebuild} is handing over, or null for a new primitive. */
export function rebuilt<P>(): P | null {
  const p = parts as P | null;
  parts = null;
  return p;
}
