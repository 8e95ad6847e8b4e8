/**
 * Messages between a calling thread (link.ts) and its I/O thread (io-thread.ts). Per broker the
 * calling thread owns a request connection it writes synchronously; the I/O thread owns the reply
 * connection and forwards each frame it reads.
 */
import type { Address } from './protocol.js';

/**
 * calling -> I/O: open the reply connection to a broker (number `broker`), announcing `token`;
 * the calling thread then opens the request connection naming that token (Hello.replyTo).
 */
export type LinkConnect = [broker: number, id: number, address: Address, authkey: Uint8Array, token: string, owner: string];

export const R_CONNECTED = 0;
export const R_FRAME = 1;
export const R_CLOSED = 2;

/**
 * I/O -> calling (posted in batches):
 * [R_CONNECTED, id, ok, null | WireError] the reply connection is registered (or failed)
 * [R_FRAME, broker, payload]             one frame read from that broker
 * [R_CLOSED, broker, WireError]          that connection is gone
 */
export type LinkEvent =
  | [typeof R_CONNECTED, number, boolean, unknown]
  | [typeof R_FRAME, number, Uint8Array]
  | [typeof R_CLOSED, number, unknown];
