/**
 * What both sides of a Pipe's direct lane (pipe-lane.ts, pipe-lane-guest.ts) and a Connection share: the
 * lane's message types and how a core points at the lane end standing in for it. The protocol, apart from
 * either end's machinery: the guest and a Connection need no code of the host's side to speak it.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import type { RecvResult } from './pipe-core.js';

export const HELLO = 1;
export const ACCEPT = 2;
export const REJECT = 3;
export const CONFIRM = 4;
export const GO = 5;
export const NOGO = 6;
export const DATA = 7;
export const CLOSE = 8;
export const TEARDOWN = 9;
export const ACK = 10;
export const DONE = 11;
export const FIN = 12;

/** On a core: the lane end standing in for it, if any (a Connection sends its calls there). */
export const LANE: unique symbol = Symbol('multiproc.pipeLane') as any;

/** What a child needs to ask for a lane (inside a Connection's handle descriptor). */
export interface LaneOffer {
  address: string;
  token: string;
}

/** The calls a Connection makes on its end; both sides of a lane stand in for a core with them. */
export interface EndCalls {
  send(msg: Encoded): void;
  recv(maxLength: number | null, owner: string): Promise<RecvResult>;
  recvSync(maxLength?: number | null): RecvResult;
  poll(timeout: number | undefined, owner: string): Promise<boolean>;
  pollSync(timeout?: number): boolean;
  retain(): void;
  adopt(owner: string): void;
  disown(owner: string): void;
}

/** The lane end standing in for `core`, if any. */
export function laneOf(core: object): EndCalls | undefined {
  return (core as any)[LANE];
}

/** Tests: `conn[LANE_ACTIVE]` says whether a Connection's calls go through an open lane now. */
export const LANE_ACTIVE: unique symbol = Symbol.for('multiproc.laneActive') as any;

export function laneActive(core: object): boolean {
  return (laneOf(core) as { active?: boolean } | undefined)?.active === true;
}
