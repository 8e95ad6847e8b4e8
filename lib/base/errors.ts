import "./polyfills.js"; // every module that defines disposers imports errors.ts: load the dispose symbols first
/**
 * Every error the library throws, each with a stable `code` and Python's wording.
 * Kept in one module so that workers, primitives and the manager all throw the same classes.
 */

/** Base class of every multiproc error: `code` is stable across releases. */
export class MultiprocError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true, writable: true });
  }
}

/** Submit after close/terminate ("Pool not running"), or join before close ("Pool is still running"). */
export class PoolStateError extends MultiprocError {
  constructor(message = 'Pool not running', code: 'ERR_POOL_NOT_RUNNING' | 'ERR_POOL_RUNNING' = 'ERR_POOL_NOT_RUNNING') {
    super(code, message);
  }
}

/** A result or iterator step not ready in time (multiprocessing.TimeoutError). */
export class TimeoutError extends MultiprocError {
  constructor(message = 'Timed out waiting for the result') {
    super('ERR_TIMEOUT', message);
  }
}

/** `successful()` called before the result is ready. */
export class NotReadyError extends MultiprocError {
  constructor(message = 'AsyncResult is not ready') {
    super('ERR_RESULT_NOT_READY', message);
  }
}

/** Carries a worker's stack text as the `cause` of a re-thrown task error (Python's RemoteTraceback). */
export class RemoteError extends MultiprocError {
  /** The stack text as the worker printed it. */
  readonly remoteStack: string;
  constructor(remoteStack: string, options?: { cause?: unknown }) {
    super('ERR_REMOTE', `\n"""\n${remoteStack}\n"""`, options);
    this.remoteStack = remoteStack;
  }
}

/** A worker died (crash, process.exit, OOM, kill) while running the task. */
export class WorkerLostError extends MultiprocError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  constructor(message: string, details: { exitCode?: number | null; signal?: string | null; cause?: unknown } = {}) {
    super('ERR_WORKER_LOST', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
  }
}

/** queue.Empty: a non-blocking or timed-out get found nothing. */
export class Empty extends MultiprocError {
  constructor(message = 'queue is empty') {
    super('ERR_QUEUE_EMPTY', message);
  }
}

/** queue.Full: a non-blocking or timed-out put found no room. */
export class Full extends MultiprocError {
  constructor(message = 'queue is full') {
    super('ERR_QUEUE_FULL', message);
  }
}

/** `recv` on a connection whose other end closed and nothing is left. */
export class EOFError extends MultiprocError {
  constructor(message = 'EOF: the other end of the connection is closed') {
    super('ERR_EOF', message);
  }
}

/** `send`/`recv` on a closed connection or proxy — OSError("handle is closed"). */
export class ConnectionClosedError extends MultiprocError {
  constructor(message = 'handle is closed') {
    super('ERR_CONNECTION_CLOSED', message);
  }
}

/** Release of an unlocked Lock, an RLock not owned, or a BoundedSemaphore released too often. */
export class LockStateError extends MultiprocError {
  constructor(message = 'release unlocked lock') {
    super('ERR_LOCK_NOT_HELD', message);
  }
}

/** A Barrier was aborted, reset or timed out. */
export class BrokenBarrierError extends MultiprocError {
  constructor(message = 'barrier is broken') {
    super('ERR_BROKEN_BARRIER', message);
  }
}

/** A Manager/connection peer presented the wrong authkey. */
export class AuthenticationError extends MultiprocError {
  constructor(message = 'digest received was wrong') {
    super('ERR_AUTH', message);
  }
}

/** `Future.result()` of a cancelled future. */
export class CancelledError extends MultiprocError {
  constructor(message = 'the future was cancelled') {
    super('ERR_CANCELLED', message);
  }
}

/** An executor whose worker died: every pending future and later submit (BrokenProcessPool). */
export class BrokenPoolError extends MultiprocError {
  constructor(message = 'A process in the process pool was terminated abruptly while the future was running or pending.', options?: { cause?: unknown }) {
    super('ERR_BROKEN_POOL', message, options);
  }
}

/** A value that cannot cross to another thread/process; `path` names where it sits (`args[1].cb`). */
export class SerializationError extends MultiprocError {
  readonly path: string;
  constructor(message: string, path = '', options?: { cause?: unknown }) {
    super('ERR_SERIALIZE', message, options);
    this.path = path;
  }
}

/**
 * A task cancelled through its AbortSignal: dropped while queued, stopped (its worker replaced)
 * while running. `cause` is `signal.reason`, as with Node's own AbortError.
 */
export class AbortError extends MultiprocError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ABORT_ERR', message, options);
  }
}

/** The AbortError of a task cancelled by `signal`: its `cause` is `signal.reason`. */
export function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError('The task was aborted', { cause: signal.reason });
}

/** A missing dict key (a Manager dict's `pop`, `popitem`, `getItem`, `delItem`) — Python's KeyError. */
export class KeyError extends MultiprocError {
  constructor(message = 'key not found') {
    super('ERR_KEY', message);
  }
}

/** A list index out of range, or pop from an empty list — Python's IndexError. */
export class IndexError extends MultiprocError {
  constructor(message = 'list index out of range') {
    super('ERR_INDEX', message);
  }
}

/** `list.remove(x)` of a value not in the list, `taskDone()` called too often, a closed Process — Python's ValueError. */
export class ValueError extends MultiprocError {
  constructor(message = 'value not found') {
    super('ERR_VALUE', message);
  }
}

/** A Manager Namespace attribute that does not exist — Python's AttributeError. */
export class AttributeError extends MultiprocError {
  constructor(message = 'attribute not found') {
    super('ERR_ATTRIBUTE', message);
  }
}

/**
 * `recvBytesInto()` got a message longer than the buffer (Python's BufferTooShort); the message
 * was consumed and is in `data`.
 */
export class BufferTooShort extends MultiprocError {
  /** The whole message that did not fit. */
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    super('ERR_BUFFER_TOO_SHORT', `buffer too short: the message is ${data.byteLength} bytes`);
    this.data = data;
  }
}

/** `Future.setResult()` / `setException()` on a future that is already done (concurrent.futures.InvalidStateError). */
export class InvalidStateError extends MultiprocError {
  constructor(message = 'invalid state') {
    super('ERR_INVALID_STATE', message);
  }
}

/** The text of a thrown value (its message, or the value as a string), never throwing itself. @internal */
export function messageOf(err: unknown): string {
  try {
    const message = (err as { message?: unknown })?.message;
    return typeof message === 'string' ? message : String(err);
  } catch {
    return 'an unreadable value';
  }
}

/** Our error classes by name, so an error thrown in a worker comes back as the same class. */
export const errorClasses: Record<string, new (...args: any[]) => Error> = {};

/**
 * Marks a prototype as one of the library's error classes, under its registered name. A global
 * symbol: the bundled worker entry and a task's own `import('multiproc')` are two copies of this
 * module, and an error made from either copy's classes must be recognised as ours. A user's own
 * `class TimeoutError extends Error` carries no mark, so it crosses as the user's class name.
 * @internal
 */
export const libraryErrorMark: unique symbol = Symbol.for('multiproc.errorClass') as any;

/** Lets another module's error class (a user's own, ...) come back from a worker as itself. */
export function registerErrorClass(cls: new (...args: any[]) => Error): void {
  errorClasses[cls.name] = cls;
  Object.defineProperty(cls.prototype, libraryErrorMark, { value: cls.name, configurable: true });
}

for (const cls of [
  PoolStateError, TimeoutError, NotReadyError, RemoteError, WorkerLostError, Empty, Full, EOFError,
  ConnectionClosedError, LockStateError, BrokenBarrierError, AuthenticationError, CancelledError,
  BrokenPoolError, SerializationError, AbortError, KeyError, IndexError, ValueError, AttributeError, BufferTooShort,
  InvalidStateError,
]) registerErrorClass(cls);

/** Where a re-thrown task error keeps its RemoteError when `cause` holds the error's own cause. */
const remoteErrorKey: unique symbol = Symbol.for('multiproc.remoteError') as any;

/** @internal attaches the RemoteError to an error rebuilt from a worker. */
export function attachRemoteError(err: object, remote: RemoteError): void {
  Object.defineProperty(err, remoteErrorKey, { value: remote, configurable: true, writable: true, enumerable: false });
}

/**
 * The {@link RemoteError} of an error re-thrown from a worker (or a Manager / primitive server):
 * its `remoteStack` is the stack as the worker printed it. It is also `err.cause`, unless the error
 * had a cause of its own (`new Error(msg, { cause })`): then `err.cause` is that cause, rebuilt, and
 * this function is where the RemoteError is. `undefined` for an error that did not cross.
 */
export function remoteErrorOf(err: unknown): RemoteError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const remote = (err as any)[remoteErrorKey];
  // not instanceof: the RemoteError may come from another copy of this module (a worker's bundle)
  return typeof remote === 'object' && remote !== null && typeof remote.remoteStack === 'string' ? remote : undefined;
}
