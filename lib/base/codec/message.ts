/**
 * The one codec for messages: what Pipe, Queue and the socket wire all use to turn a value into bytes.
 *
 * Semantics are structured clone's (v8.serialize): Map, Set, Date, BigInt, typed arrays, undefined, NaN,
 * -0, shared and cyclic references all come back as they went. Speed comes from one exact fast path:
 * a value that JSON rebuilds exactly as v8 would (plain objects and arrays of strings, finite numbers,
 * booleans and null, with no part met twice, at most JSON_MAX_VALUES values) is written as JSON text,
 * about 3x cheaper than v8 for small messages. Anything else, including `{ p: o, q: o }`, goes to v8,
 * so the receiver gets `p === q` whichever path the message took.
 *
 * Two framings of the same encoding:
 * - kinds (rings in shared memory keep a kind beside each payload): a number travels as itself
 *   (KIND_F64), a string as UTF-8 (KIND_STRING), raw bytes as they are (KIND_BYTES), the rest as
 *   KIND_JSON or KIND_V8;
 * - self-describing bytes (sockets): a v8 payload always starts with 0xFF, which never starts
 *   UTF-8 JSON text, so the first byte tells the two apart.
 */
import type * as V8 from 'node:v8';
import { builtin } from '../builtin.js';
import { SerializationError } from '../errors.js';

let v8: typeof V8 | undefined;
/** node:v8, loaded at the first message: a program that only imports multiproc does not pay for it. */
export function v8Codec(): typeof V8 {
  return (v8 ??= builtin<typeof V8>('node:v8'));
}

export const KIND_V8 = 0;
export const KIND_BYTES = 1;
export const KIND_F64 = 2;
export const KIND_STRING = 3;
export const KIND_JSON = 4;

/** A message ready to store or send: a number as itself, anything else as [kind, bytes]. */
export type Encoded = number | [kind: number, bytes: Uint8Array];

/** First byte of every v8 payload (its version tag). */
const V8_TAG = 0xff;
/** The JSON check gives up (v8 takes over) after this many values: big data is v8's job. */
const JSON_MAX_VALUES = 256;

let budget = 0;
/** Objects met by the current check: one met twice is shared, which v8 keeps and JSON would not. */
const seen: object[] = [];

/**
 * Whether JSON.parse(JSON.stringify(v)) rebuilds `v` exactly as structured clone would: no undefined,
 * -0, NaN, holes, extra array properties, class instances, shared or cyclic parts, and not too big.
 */
export function jsonExact(v: unknown): boolean {
  budget = JSON_MAX_VALUES;
  const ok = exactValue(v);
  seen.length = 0;
  return ok;
}

function exactValue(v: unknown): boolean {
  if (--budget < 0) return false;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (seen.includes(v)) return false;
      seen.push(v);
      const proto = Object.getPrototypeOf(v);
      if (proto === Array.prototype) {
        const a = v as unknown[];
        for (let i = 0; i < a.length; i++) if (!exactValue(a[i])) return false;
        return Object.keys(a).length === a.length;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k of Object.keys(v)) if (!exactValue((v as Record<string, unknown>)[k])) return false;
      return true;
    }
    default:
      return false;
  }
}

/** v8.serialize, its failures as SerializationError (the caller may name the path). */
export function v8Encode(value: unknown): Buffer {
  try {
    return v8Codec().serialize(value);
  } catch (err) {
    throw new SerializationError(`cannot send this value to another thread or process: ${(err as Error)?.message ?? err}`, '', { cause: err });
  }
}

/** Encodes a message with its kind (rings). */
export function encodeMessage(value: unknown): Encoded {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return [KIND_STRING, Buffer.from(value, 'utf8')];
  if (jsonExact(value)) return [KIND_JSON, Buffer.from(JSON.stringify(value), 'utf8')];
  return [KIND_V8, v8Encode(value)];
}

function text(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('utf8');
}

/** Decodes a message stored with its kind. */
export function decodeMessage(msg: Encoded): unknown {
  if (typeof msg === 'number') return msg;
  const [kind, bytes] = msg;
  if (kind === KIND_STRING) return text(bytes);
  if (kind === KIND_JSON) return JSON.parse(text(bytes));
  // Bytes that recvBytes() got from a send() and were sent on with sendBytes() (CPython's echo test): recv()
  // decodes them as send() wrote them, as Python's recv() unpickles whatever bytes arrive.
  if (kind === KIND_BYTES && bytes.length > 0 && bytes[0] !== V8_TAG) {
    try {
      return JSON.parse(text(bytes));
    } catch (err) {
      throw new SerializationError('cannot decode a message sent with sendBytes(); read it with recvBytes()', '', { cause: err });
    }
  }
  try {
    return v8Codec().deserialize(bytes);
  } catch (err) {
    if (kind === KIND_BYTES) {
      throw new SerializationError('cannot decode a message sent with sendBytes(); read it with recvBytes()', '', { cause: err });
    }
    throw new SerializationError(`cannot decode message: ${(err as Error).message}`, '', { cause: err });
  }
}

/**
 * The raw bytes of a message, as recvBytes() returns them. A send()'s message gives self-describing bytes
 * (JSON text or v8, as the socket encoding), so that sent on with sendBytes() they decode again in recv(),
 * as Python's pickle bytes do: CPython's echo test.
 */
export function messageBytes(msg: Encoded): Uint8Array {
  if (typeof msg === 'number') return encode(msg);
  if (msg[0] === KIND_STRING) return Buffer.from(JSON.stringify(text(msg[1])), 'utf8');
  return msg[0] === KIND_BYTES ? msg[1] : new Uint8Array(msg[1]);
}

/** Encodes a value as self-describing bytes (sockets): JSON text when exact, else v8. */
export function encode(value: unknown): Buffer {
  return jsonExact(value) ? Buffer.from(JSON.stringify(value)) : v8Encode(value);
}

/** Decodes self-describing bytes; throws on malformed input. */
export function decode(buf: Uint8Array): unknown {
  if (buf.length > 0 && buf[0] === V8_TAG) return v8Codec().deserialize(buf);
  return JSON.parse(text(buf));
}
