/**
 * The contract between a primitive's public class (its facade) and its state (its core).
 *
 * A primitive's state lives with its creator. Worker threads share it directly (a core built on
 * SharedArrayBuffer + Atomics). Worker processes reach the very same core through the creator's
 * broker: a remote core forwards each call over a local socket. Facades are written once, against
 * this contract, and never ask which kind of core they hold.
 *
 * Rules every core follows:
 * - A *waiting* method `m` (acquire, wait, get, recv, ...) returns a Promise and never blocks the
 *   event loop; the core also has `mSync` with the same arguments, which blocks the calling thread.
 * - An *immediate* method (release, locked, set, qsize, ...) returns at once and throws misuse
 *   errors synchronously (remote cores make a blocking round trip to keep that promise).
 * - Where ownership matters (RLock, Condition), the caller's identity is an explicit argument
 *   (`owner`, from ownerId()), so a remote caller can be told apart from local ones.
 * - Arguments and results are structured-clone data (no functions), so they can cross a socket.
 */
import { threadId } from '../../lib/base/thread.js';

export interface CoreShape {
  /** The primitive's kind, for messages ('Lock', 'Queue', ...). */
  readonly kind: string;
  /** Methods returning a Promise; each has a blocking twin named `${m}Sync`. */
  readonly waiting: readonly string[];
  /** Methods that return at once. */
  readonly immediate: readonly string[];
  /**
   * Immediate methods whose result is not needed for correctness (`send`, an unbounded `put`):
   * a remote core queues them and sends them in batches instead of one blocking round trip each.
   * They return undefined at once; a remote failure is thrown by the next call on that core.
   */
  readonly fireAndForget?: readonly string[];
  /**
   * Fire-and-forget methods whose first argument is a message frame (an unbounded `put`, `send`),
   * each mapped to its packed twin on the real core: a remote core packs consecutive calls into one
   * run of frames (frames.ts) and makes ONE call `twin(bytes, count, extra?)` per run (the
   * method takes at most one other argument, the same for every call of the run).
   */
  readonly packed?: Readonly<Record<string, string>>;
}

/** Identifies the calling thread across processes: `${pid}:${threadId}`. */
export function ownerId(): string {
  return `${process.pid}:${threadId}`;
}

/** A core class: its whole state is shared memory, so `new Core(memory)` rebuilds it in any thread. */
export type CoreClass = new (memory: any) => unknown;

const coreClasses = new Map<string, { Core: CoreClass; module: string }>();

/**
 * Called by every core class's module as it loads, with that module's URL: a thread handed a core
 * finds its class here by name, and the broker thread imports `module` to rebuild it. The cores live
 * in the folders above this one, which this layer may not import.
 */
export function registerCoreClass(Core: CoreClass, module: string): void {
  coreClasses.set(Core.name, { Core, module });
}

/** The registered core class named `name` and its module's URL, if any. */
export function coreClassNamed(name: string): { Core: CoreClass; module: string } | undefined {
  return coreClasses.get(name);
}
