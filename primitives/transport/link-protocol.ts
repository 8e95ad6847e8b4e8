/** Messages between a calling thread (link.ts) and its I/O thread (io-thread.ts). */
import type { Address, ObjectId } from './protocol.js';

export const OP_CONNECT = 0;
export const OP_CALL = 1;
export const OP_FIRE = 2;

export type LinkOp =
  | [op: typeof OP_CONNECT, broker: number, id: number, address: Address, authkey: Uint8Array]
  | [op: typeof OP_CALL, broker: number, id: number, objectId: ObjectId, method: string, args: unknown[]]
  | [op: typeof OP_FIRE, broker: number, id: 0, objectId: ObjectId, method: string, args: unknown[]];

/**
 * [id, ok, value-or-WireError] answers a CONNECT or CALL; id 0 is a failed FIRE:
 * [0, false, WireError, objectId, broker].
 */
export type LinkReply = [id: number, ok: boolean, value: unknown, objectId?: ObjectId, broker?: number];
