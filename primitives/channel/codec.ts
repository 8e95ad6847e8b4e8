/**
 * Messages of Pipe and Queue: the one message codec (lib/base/codec/message.ts), plus the checks a
 * channel adds — a live primitive inside a message is refused with the way to pass it instead, and a
 * value that cannot cross is named by its path.
 */
import { toHandle } from '../../lib/base/codec/handles.js';
import { findUnserializable } from '../../lib/base/codec/unserializable.js';
import { SerializationError } from '../../lib/base/errors.js';
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
  if (typeof value !== 'object' || value === null || jsonExact(value)) return encodeMessage(value);
  const hit = findHandle(value, what, new Set());
  if (hit) {
    const name = (value as any)?.constructor?.name ?? 'primitive';
    throw new SerializationError(
      `cannot send ${hit}: a live ${hit === what ? name : 'primitive'} cannot travel inside a message; pass it to the worker as a task/Process argument`,
      hit,
    );
  }
  try {
    return encodeMessage(value);
  } catch (err) {
    const where = findUnserializable(value, what, 'process') ?? `${what}: ${(err as Error).message}`;
    throw new SerializationError(`cannot send ${where}`, where.split(':')[0], { cause: (err as Error).cause ?? err });
  }
}
