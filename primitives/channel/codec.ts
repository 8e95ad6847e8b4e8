/**
 * Messages of Pipe and Queue: the one message codec (lib/base/codec/message.ts), plus the checks a
 * channel adds — a live primitive inside a message is refused with the way to pass it instead, and a
 * value that cannot cross is named by its path.
 */
import { toHandle } from '../../lib/base/codec/handles.js';
import { findUnserializable } from '../../lib/base/codec/unserializable.js';
import { messageOf, SerializationError } from '../../lib/base/errors.js';
import { encodeMessage, jsonExact, type Encoded } from '../../lib/base/codec/message.js';

export { decodeMessage as decodeFrame, messageBytes as frameBytes, type Encoded } from '../../lib/base/codec/message.js';

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Finds a live primitive (Lock, Queue, Connection...) inside a message: it cannot travel that way. */
function findHandle(v: unknown, path: string, seen: Set<object>): string | null {
  if (typeof v !== 'object' || v === null) return null;
  if (typeof (v as any)[toHandle] === 'function') return path;
  if (seen.has(v)) return null;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findHandle(v[i], `${path}[${i}]`, seen);
      if (hit) return hit;
    }
  } else if (isPlain(v)) {
    for (const key of Object.keys(v)) {
      const hit = findHandle((v as any)[key], `${path}.${key}`, seen);
      if (hit) return hit;
    }
  }
  return null;
}

/** Encodes `value` for a channel; throws SerializationError naming the path of a value that cannot cross. */
export function encodeValue(value: unknown, what = 'obj'): Encoded {
  try {
    return encodeChecked(value, what);
  } catch (err) {
    throw unsendable(value, what, err);
  }
}

function encodeChecked(value: unknown, what: string): Encoded {
  if (typeof value !== 'object' || value === null || jsonExact(value)) return encodeMessage(value);
  const hit = findHandle(value, what, new Set());
  if (hit) {
    const name = (value as any)?.constructor?.name ?? 'primitive';
    throw new SerializationError(
      `cannot send ${hit}: a live ${hit === what ? name : 'primitive'} cannot travel inside a message; pass it to the worker as a task/Process argument`,
      hit,
    );
  }
  return encodeMessage(value);
}

/** The SerializationError for `where` (`path: why`), caused by `err`. */
export function sendError(where: string, err: unknown): SerializationError {
  const at = where.indexOf(': ');
  const cause = err instanceof SerializationError && err.cause !== undefined ? err.cause : err;
  // What structured clone said, unless the part was named by what it threw (a getter) or its depth.
  const said = / threw: |nested too deeply/.test(where) || cause === undefined ? '' : ` (${messageOf(cause)})`;
  return new SerializationError(`cannot send ${where}${said}`, at < 0 ? where : where.slice(0, at), { cause });
}

/**
 * The SerializationError for `value` (named `root`) that failed to encode with `err`, naming the path
 * of the part at fault (`obj.g`, `obj.list[3]`). An error that already names a path is kept.
 */
export function unsendable(value: unknown, root: string, err: unknown): SerializationError {
  if (err instanceof SerializationError && err.path !== '') return err;
  return sendError(findUnserializable(value, root, 'process') ?? `${root}: ${messageOf(err)}`, err);
}
