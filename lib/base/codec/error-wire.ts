/**
 * Errors crossing from a worker (or a Manager / primitive server). Structured clone keeps only
 * `name`, `message` and `stack` of an Error, so we send a plain record and rebuild the error on
 * the other side: its class when that is one of the library's (marked on the wire, never guessed
 * from the name) or a built-in (`TypeError`, `AggregateError`, `DOMException`, ...), its own
 * properties, its own `cause` and an AggregateError's `errors` (each rebuilt), and the worker's stack.
 *
 * Where the remote stack goes (as RemoteError documents): `err.cause` is a RemoteError holding the remote
 * stack text, as Python's RemoteTraceback — unless the error has a cause of its own, which then
 * stays at `err.cause`; the RemoteError is always at `remoteErrorOf(err)`.
 *
 * Reading an error must never fail: a throwing getter, a Proxy or an unclonable property is left
 * out, and whatever can be read is sent.
 */
import { v8Codec } from './message.js';
import { attachRemoteError, errorClasses, libraryErrorMark, RemoteError } from '../errors.js';

export interface WireError {
  /** true: an Error; false: a thrown non-Error value carried in `value`. */
  isError: boolean;
  name: string;
  message: string;
  stack: string;
  /** Own enumerable properties that can be cloned (`code`, `errno`, the user's own fields). */
  props: Record<string, unknown>;
  value?: unknown;
  /** The registered name of the library error class it is an instance of; only then is it rebuilt as ours. */
  lib?: string;
  /** The nearest built-in error class on its prototype chain, when it is not plain `Error`. */
  base?: string;
  /** Its own `cause`, when it has one (an error or any value). */
  cause?: WireError;
  /** An AggregateError's `errors`. */
  errors?: WireError[];
}

/** Causes and aggregated errors nested deeper than this cross as their text. */
const MAX_DEPTH = 16;

const builtins: Record<string, new (...args: any[]) => Error> = {
  Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError,
};
if (typeof DOMException === 'function') builtins.DOMException = DOMException as unknown as new (...args: any[]) => Error;

/** Built-in error prototypes, nearest-first order does not matter: one prototype has one name. */
const builtinByProto = new Map<object, string>(
  Object.entries(builtins).filter(([name]) => name !== 'Error').map(([name, ctor]) => [ctor.prototype, name]),
);

type Read = { ok: true; value: unknown } | { ok: false };

/** Reads `obj[key]` without letting a throwing getter or Proxy trap escape. */
function read(obj: object, key: PropertyKey): Read {
  try {
    return { ok: true, value: (obj as any)[key] };
  } catch {
    return { ok: false };
  }
}

function readText(obj: object, key: PropertyKey, fallback: string): string {
  const r = read(obj, key);
  return r.ok && r.value !== undefined ? text(r.value) : fallback;
}

/** String(value), or a description when even that throws (an object whose toString throws). */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[unreadable value]';
    }
  }
}

function hasOwn(obj: object, key: PropertyKey): boolean {
  try {
    return Object.prototype.hasOwnProperty.call(obj, key);
  } catch {
    return false;
  }
}

/** Whether `value` survives both structured clone (threads) and v8 serialisation (processes). */
function cloneable(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  try {
    structuredClone(value);
    v8Codec().serialize(value);
    return true;
  } catch {
    return false;
  }
}

function isErrorLike(err: unknown): err is object {
  if (typeof err !== 'object' || err === null) return false;
  try {
    if (err instanceof Error) return true;
    // an Error of another realm (a vm context): it has the [[ErrorData]] slot
    if (Object.prototype.toString.call(err) === '[object Error]') return true;
  } catch {
    return false;
  }
  return hasOwnOrInherited(err, 'message') && hasOwnOrInherited(err, 'stack');
}

function hasOwnOrInherited(obj: object, key: string): boolean {
  try {
    return key in obj;
  } catch {
    return false;
  }
}

/** The nearest built-in class on the prototype chain other than Error, e.g. 'TypeError' for a `class MyErr extends TypeError`. */
function builtinBase(err: object): string | undefined {
  try {
    let proto = Object.getPrototypeOf(err);
    for (let i = 0; proto !== null && i < 64; i++) {
      const name = builtinByProto.get(proto);
      if (name) return name;
      proto = Object.getPrototypeOf(proto);
    }
  } catch {
    // a Proxy whose getPrototypeOf throws: a plain Error then
  }
  return undefined;
}

/** The registered name of the library class `err` is an instance of (inherited mark), if any. */
function libraryClass(err: object): string | undefined {
  const r = read(err, libraryErrorMark);
  return r.ok && typeof r.value === 'string' ? r.value : undefined;
}

function valueToWire(value: unknown): WireError {
  return { isError: false, name: '', message: text(value), stack: '', props: {}, value: cloneable(value) ? value : text(value) };
}

function toWire(err: unknown, seen: Set<object>, depth: number): WireError {
  if (!isErrorLike(err)) return valueToWire(err);
  if (seen.has(err) || depth > MAX_DEPTH) {
    return valueToWire(`${readText(err, 'name', 'Error')}: ${readText(err, 'message', '')}${seen.has(err) ? ' [circular]' : ''}`);
  }
  seen.add(err);
  const name = readText(err, 'name', 'Error');
  const message = readText(err, 'message', '');
  const wire: WireError = {
    isError: true,
    name,
    message,
    stack: readText(err, 'stack', message ? `${name}: ${message}` : name),
    props: {},
  };
  const lib = libraryClass(err);
  if (lib !== undefined) wire.lib = lib;
  const base = builtinBase(err);
  if (base !== undefined) wire.base = base;

  let keys: string[] = [];
  try {
    keys = Object.keys(err);
  } catch {
    // a Proxy whose ownKeys trap throws: no own properties then
  }
  const skip = new Set(['name', 'message', 'stack', 'cause']);
  if (base === 'AggregateError') skip.add('errors');
  for (const key of keys) {
    if (skip.has(key)) continue;
    const r = read(err, key);
    if (r.ok && cloneable(r.value)) wire.props[key] = r.value;
  }
  // `code` from a getter or the prototype (Node's system errors); a DOMException derives its own
  if (!('code' in wire.props) && base !== 'DOMException' && hasOwnOrInherited(err, 'code')) {
    const r = read(err, 'code');
    if (r.ok && r.value !== undefined && cloneable(r.value)) wire.props.code = r.value;
  }
  if (hasOwn(err, 'cause')) {
    const r = read(err, 'cause');
    wire.cause = r.ok ? toWire(r.value, seen, depth + 1) : valueToWire('[unreadable cause]');
  } else {
    const r = read(err, 'cause'); // a cause getter of a subclass
    if (r.ok && r.value !== undefined) wire.cause = toWire(r.value, seen, depth + 1);
  }
  if (base === 'AggregateError') {
    const r = read(err, 'errors');
    if (r.ok && Array.isArray(r.value)) {
      const errors: WireError[] = [];
      try {
        for (const item of r.value) errors.push(toWire(item, seen, depth + 1));
      } catch {
        // an iterator that throws: send the errors read so far
      }
      wire.errors = errors;
    }
  }
  seen.delete(err);
  return wire;
}

/** The record sent for a thrown value: never throws, whatever the value. */
export function errorToWire(err: unknown): WireError {
  try {
    return toWire(err, new Set(), 0);
  } catch {
    return { isError: true, name: 'Error', message: '[an error that could not be read]', stack: '', props: {} };
  }
}

function define(obj: object, key: PropertyKey, value: unknown, enumerable = false): void {
  try {
    Object.defineProperty(obj, key, { value, writable: true, configurable: true, enumerable });
  } catch {
    // a property the rebuilt object refuses (non-configurable on its prototype): leave it out
  }
}

/** Rebuilds one error (and its causes), without the RemoteError. */
function rebuild(wire: WireError, depth: number): unknown {
  if (typeof wire !== 'object' || wire === null) return wire;
  if (!wire.isError) return wire.value;
  let err: any;
  if (wire.base === 'DOMException' && builtins.DOMException) {
    err = new (builtins.DOMException as any)(wire.message, wire.name); // its code follows from the name
  } else {
    const Ctor = (wire.lib !== undefined ? errorClasses[wire.lib] : undefined) ?? builtins[wire.base ?? 'Error'] ?? Error;
    err = Object.create(Ctor.prototype);
    define(err, 'message', wire.message);
    if (err.name !== wire.name) define(err, 'name', wire.name);
  }
  for (const [key, value] of Object.entries(wire.props ?? {})) define(err, key, value, true);
  define(err, 'stack', wire.stack);
  if (wire.errors !== undefined && depth < MAX_DEPTH) define(err, 'errors', wire.errors.map((e) => rebuild(e, depth + 1)));
  if (wire.cause !== undefined && depth < MAX_DEPTH) define(err, 'cause', rebuild(wire.cause, depth + 1));
  return err;
}

/**
 * The error (or thrown value) a WireError describes, rebuilt. An error also gets the RemoteError
 * holding its remote stack: at `err.cause` when it has no cause of its own, and always at
 * `remoteErrorOf(err)`.
 */
export function errorFromWire(wire: WireError): unknown {
  const err = rebuild(wire, 0);
  if (!wire?.isError || typeof err !== 'object' || err === null) return err;
  const remote = new RemoteError(wire.stack);
  attachRemoteError(err, remote);
  if (wire.cause === undefined) define(err, 'cause', remote);
  return err;
}
