/**
 * Values <-> frames. Numbers and strings skip v8.serialize (the common small message costs a
 * fraction of it); everything else is v8-serialized, the value set of structured clone.
 */
import { serialize, deserialize } from 'node:v8';
import { toHandle } from '../../lib/base/codec/handles.js';
import { findUnserializable } from '../../lib/base/codec/unserializable.js';
import { SerializationError } from '../../lib/base/errors.js';
import { KIND_BYTES, KIND_F64, KIND_JSON, KIND_STRING, KIND_V8, type Frame } from './ring.js';

/** A value ready for a ring: a number travels as itself, anything else as [kind, bytes]. */
export type Encoded = { kind: number; payload: Uint8Array | number };

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
      const item = v[i];
      if (typeof item === 'object' && item !== null) {
        const hit = findHandle(item, `${path}[${i}]`, seen);
        if (hit) return hit;
      }
    }
  } else if (isPlain(v)) {
    for (const key of Object.keys(v)) {
      const hit = findHandle((v as any)[key], `${path}.${key}`, seen);
      if (hit) return hit;
    }
  }
  return null;
}

/**
 * True when JSON round-trips `value` exactly (plain objects/arrays of strings, finite numbers,
 * booleans, null): then JSON, several times faster than v8.serialize for small messages, is used.
 * Deep or circular values, -0, NaN, undefined, holes, Dates, Maps... go to v8.serialize.
 */
function jsonExact(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 32) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!jsonExact(v[i], depth + 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const key in v) if (!jsonExact((v as any)[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** Encodes `value` for a ring; throws SerializationError naming the path of a value that cannot cross. */
export function encodeValue(value: unknown, what = 'obj'): Encoded {
  if (typeof value === 'number') return { kind: KIND_F64, payload: value };
  if (typeof value === 'string') return { kind: KIND_STRING, payload: Buffer.from(value, 'utf8') };
  if (typeof value === 'object' && value !== null) {
    if (jsonExact(value, 0)) return { kind: KIND_JSON, payload: Buffer.from(JSON.stringify(value), 'utf8') };
    const hit = findHandle(value, what, new Set());
    if (hit) {
      const name = (value as any)?.constructor?.name ?? 'primitive';
      throw new SerializationError(
        `cannot send ${hit}: a live ${hit === what ? name : 'primitive'} cannot travel inside a message; pass it to the worker as a task/Process argument`,
        hit,
      );
    }
  }
  try {
    return { kind: KIND_V8, payload: serialize(value) };
  } catch (err) {
    const where = findUnserializable(value, what, 'process') ?? `${what}: ${(err as Error).message}`;
    throw new SerializationError(`cannot send ${where}`, where.split(':')[0], { cause: err });
  }
}

/** Decodes a frame back into a value. */
export function decodeFrame(frame: Frame): unknown {
  if (typeof frame === 'number') return frame;
  const [kind, bytes] = frame;
  if (kind === KIND_STRING) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (kind === KIND_JSON) return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  try {
    return deserialize(bytes);
  } catch (err) {
    if (kind === KIND_BYTES) {
      throw new SerializationError('cannot decode a message sent with sendBytes(); read it with recvBytes()', '', { cause: err });
    }
    throw new SerializationError(`cannot decode message: ${(err as Error).message}`, '', { cause: err });
  }
}

/** The raw bytes of a frame, as recvBytes() returns them. */
export function frameBytes(frame: Frame): Uint8Array {
  if (typeof frame === 'number') return new Uint8Array(new Float64Array([frame]).buffer);
  return frame[0] === KIND_BYTES ? frame[1] : new Uint8Array(frame[1]);
}

/** Byte length of a frame's payload. */
export function frameLength(frame: Frame): number {
  return typeof frame === 'number' ? 8 : frame[1].byteLength;
}
