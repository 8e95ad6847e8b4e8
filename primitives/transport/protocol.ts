/**
 * The messages of the object protocol, after authentication. Tuples, not objects: they are
 * the bulk of the traffic and v8 writes a short array faster than a keyed object.
 */
import type { WireError } from '../../lib/base/codec/error-wire.js';

export type ObjectId = number | string;
export type Address = string | { host: string; port: number };

/** First message from a client: who it is, so hosted objects can tell callers apart. */
export interface Hello {
  hello: 1;
  pid: number;
  owner: string;
  /**
   * Split connections (remote-core link): a reply connection announces `listen: token`; a
   * request connection then says `replyTo: token`, and the server writes the replies of its
   * SYNC_REPLY calls there. This lets a thread blocked in a call have its reply read by another
   * thread; replies to its other calls come back on the request connection itself.
   */
  listen?: string;
  replyTo?: string;
}

/**
 * Object id reserved for protocol calls. Never register an object under it.
 * - `ping`: a barrier, answered once every earlier call of that connection has started;
 * - `bye`: the client is ending normally (its thread or process finished): if the connection
 *   closes next, what it holds is given up as by an owner that ended normally (a Lock it holds stays
 *   held), not as by one that died. Any later call takes the goodbye back.
 */
export const PROTOCOL_OBJECT = '';

/** Flag: send no reply unless the call fails (fire-and-forget). */
export const NO_REPLY = 1;
/** Flag: reply on the connection this one named in Hello.replyTo (a thread blocked in a call reads there). */
export const SYNC_REPLY = 2;
/**
 * Flag (with NO_REPLY): `args` is a list of argument lists, one call each, in order — consecutive
 * fire-and-forget calls of one method coalesced into one request (a stream of puts or sends).
 */
export const MANY = 4;

/** [id, objectId, method, args, flags] */
export type Request = [id: number, objectId: ObjectId, method: string, args: unknown[], flags: number];

/**
 * [id, ok, value-or-WireError, objectId (error replies to NO_REPLY requests only)].
 * A reply of undefined may leave the value out ([id, true]): reading reply[2] gives it back.
 */
export type Reply = [id: number, ok: boolean, value?: unknown, objectId?: ObjectId];

export function isHello(m: unknown): m is Hello {
  return typeof m === 'object' && m !== null && (m as Hello).hello === 1 && typeof (m as Hello).pid === 'number' && typeof (m as Hello).owner === 'string';
}

export function isRequest(m: unknown): m is Request {
  return Array.isArray(m) && m.length === 5 && typeof m[0] === 'number' && (typeof m[1] === 'number' || typeof m[1] === 'string')
    && typeof m[2] === 'string' && Array.isArray(m[3]) && typeof m[4] === 'number';
}

export function isReply(m: unknown): m is Reply {
  return Array.isArray(m) && m.length >= 2 && typeof m[0] === 'number' && typeof m[1] === 'boolean';
}

export type { WireError };

/** A printable address, for messages. */
export function formatAddress(address: Address): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`;
}
