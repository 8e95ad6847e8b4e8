/**
 * Errors crossing from a worker: structured clone drops custom properties and classes, so we
 * send a plain record and rebuild an Error of the same name, with its own properties, the
 * worker's stack, and `cause` a RemoteError holding the remote stack text (SPEC: RemoteError).
 */
import { errorClasses, RemoteError } from '../errors.js';

export interface WireError {
  /** true: an Error; false: a thrown non-Error value carried in `value`. */
  isError: boolean;
  name: string;
  message: string;
  stack: string;
  props: Record<string, unknown>;
  value?: unknown;
}

const builtins: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError,
};

function cloneable(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err && 'stack' in err)) {
    return { isError: false, name: '', message: String(err), stack: '', props: {}, value: cloneable(err) ? err : String(err) };
  }
  const e = err as Error & Record<string, unknown>;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (cloneable(e[key])) props[key] = e[key];
  }
  if ('code' in e && !('code' in props) && cloneable(e.code)) props.code = e.code;
  if (e.cause !== undefined && !('cause' in props)) props.cause = cloneable(e.cause) ? e.cause : String(e.cause);
  return { isError: true, name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack: String(e.stack ?? ''), props };
}

export function errorFromWire(wire: WireError): unknown {
  if (!wire.isError) return wire.value;
  const Ctor = errorClasses[wire.name] ?? builtins[wire.name] ?? Error;
  const err: any = Object.create(Ctor.prototype);
  Object.defineProperty(err, 'message', { value: wire.message, writable: true, configurable: true, enumerable: false });
  if (err.name !== wire.name) {
    Object.defineProperty(err, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  const { cause, ...own } = wire.props;
  Object.assign(err, own);
  Object.defineProperty(err, 'stack', { value: wire.stack, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(err, 'cause', {
    value: new RemoteError(wire.stack, cause === undefined ? undefined : { cause }),
    writable: true, configurable: true, enumerable: false,
  });
  return err;
}
