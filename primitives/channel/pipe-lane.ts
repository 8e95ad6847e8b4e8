/**
 * A Pipe's direct lane. When each end of a Pipe has a single holder — the thread T that made it
 * (the host) and one thread C of a child process it passed the other end to (the guest) — the two
 * talk over a socket of their own (transport/lane-socket.ts), read by their own event loops: a round
 * trip costs the two wake-ups of a bare socket ping-pong, not four hops through T's broker thread.
 * Everything a Pipe promises still holds, because the lane is only a shortcut into the rings:
 *
 * - It starts only while T's end is held by T alone and C's end by C, besides copies of C's end that
 *   T itself keeps (Python's docs never close the parent's copy of the child's end): checked by T
 *   against the holder tables, after C's adopt is applied, and at a quiet moment of C (no call of C on that end in flight): C
 *   settles its earlier calls and says CONFIRM; T answers GO and moves what C had not yet received
 *   from C's ring into the lane, and from then on sends there.
 * - What C sends by the lane goes into T's ring as it arrives (after what C sent before, which was
 *   applied first), so T's own receives, blocking or not, work on its ring as always. While the lane
 *   is open it counts as a handle of C's end, so T sees EOF only after everything C sent has arrived.
 * - T's own copy of C's end may stay open while idle: the first call on it (a send, a receive, a poll,
 *   passing it on) ends the lane first (HostCopy below), so that copy and C share C's rings as any
 *   two holders do.
 * - It ends (teardown) before either end is passed on, so a new holder reads the rings: what C had
 *   not yet read travels back to T, which puts it back in C's ring ahead of anything it sends next
 *   (TEARDOWN → ACK → DONE, and FIN when C began, so C's next holder finds it).
 * - Closing the last handle says CLOSE (the peer sees EOF after what came before); a peer that dies
 *   is seen as the socket closing. A poll first reads the socket: after `conn.send(x); ev.set()` in C,
 *   T's `ev.wait(); conn.poll()` is true, as with the rings.
 *
 * Establishment runs in the background: C keeps using the broker until T accepts, so a host that is
 * blocked (not running its event loop) never holds up a child.
 */
import type * as Crypto from 'node:crypto';
import type * as Net from 'node:net';
import type { Server } from 'node:net';
import { builtin } from '../../lib/base/builtin.js';
import { KIND_BYTES, KIND_F64, type Encoded } from '../../lib/base/codec/message.js';
import { drainLanes, LANE_HEADER, LaneSocket, spinLanes } from '../transport/lane-socket.js';
import { privateAddress } from '../transport/private-dirs.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { timeLeft } from '../kernel/wait.js';
import { align8, FrameReader, frameSize, HEADER as FRAME_HEADER, LE } from '../kernel/frames.js';
import { brokenPipe, type PipeEndCore, type RecvResult } from './pipe-core.js';
import { ACCEPT, ACK, CLOSE, CONFIRM, DATA, DONE, FIN, GO, HELLO, LANE, NOGO, REJECT, TEARDOWN, laneOf, type EndCalls, type LaneOffer } from './lane-protocol.js';

/** Writes one message as a DATA frame holding a packed run of one frame (ring layout). */
function sendData(lane: LaneSocket, msg: Encoded): boolean {
  const size = frameSize(msg);
  const buf = lane.frame(DATA, size);
  const view = new DataView(buf.buffer, buf.byteOffset + LANE_HEADER, size);
  if (typeof msg === 'number') {
    view.setUint32(0, 8, LE);
    view.setUint32(4, KIND_F64, LE);
    view.setFloat64(8, msg, LE);
  } else {
    view.setUint32(0, msg[1].byteLength, LE);
    view.setUint32(4, msg[0], LE);
    buf.set(msg[1], LANE_HEADER + 8);
  }
  return lane.send(buf);
}

/** A message's payload length (what maxLength limits). */
export function frameLength(f: Encoded): number {
  return typeof f === 'number' ? 8 : f[1].byteLength;
}

/** The message of a DATA payload holding exactly one frame (the usual case), else undefined. */
export function singleFrame(payload: Uint8Array): Encoded | undefined {
  if (payload.byteLength < FRAME_HEADER) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const len = view.getUint32(0, LE);
  if (FRAME_HEADER + align8(len) !== payload.byteLength) return undefined;
  const kind = view.getUint32(4, LE);
  if (kind === KIND_F64) return view.getFloat64(FRAME_HEADER, LE);
  const body = payload.subarray(FRAME_HEADER, FRAME_HEADER + len);
  return [kind, kind === KIND_BYTES ? new Uint8Array(body) : body];
}

export function countFrames(bytes: Uint8Array): number {
  const r = new FrameReader({ bytes, count: Infinity });
  let n = 0;
  for (; !r.exhausted; n++) r.skip(1);
  return n;
}

const crypto = () => builtin<typeof Crypto>('node:crypto');
const net = () => builtin<typeof Net>('node:net');

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps a little in a blocking wait, draining this thread's lanes first; returns the next slice. */
export function sleepSlice(slice: number, deadline = Infinity): number {
  if (drainLanes() > 0 || (slice <= 0.02 && spinLanes())) return 0.02;
  const left = timeLeft(deadline);
  Atomics.wait(pause, 0, 0, left === undefined ? slice : Math.min(slice, Math.max(left, 0)));
  return Math.min(slice * 2, 2);
}

/** Blocks (draining lanes) until `done()` or the lane closes. */
export function waitFor(lane: LaneSocket, done: () => boolean): void {
  for (let slice = 0.02; !done() && !lane.closed; ) slice = sleepSlice(slice);
}

// ---- the host (T): the thread that made the Pipe ----

/**
 * T's end while a lane is open: sends go by the lane; receives stay on T's ring, which the lane
 * fills. `end` is C's end (as a core here), `peer` is T's.
 */
class LaneHost implements EndCalls {
  readonly #mine: PipeEndCore;
  readonly #theirs: PipeEndCore;
  #lane: LaneSocket | null;
  #handles: number;
  #closedByGuest = false;
  #draining = false;
  #ack: Uint8Array | null = null;
  #acked = false;
  /** Receives of this thread waiting for the lane (woken by its next frame, or its end). */
  #waiters: (() => void)[] = [];
  /**
   * The maxLength of the first waiting receive, which the next message may be handed to directly
   * (the ring being empty) in #handed; undefined while none waits.
   */
  #directMax: number | null | undefined = undefined;
  #handed: Encoded | undefined = undefined;
  /** Which receive #handed is for: each first waiting receive takes a ticket. */
  #directFor = 0;
  #handedFor = 0;
  #tickets = 0;
  /** The lane holds a handle of C's end while open: T sees EOF only after all it carried arrived. */
  #holding = true;
  /** What stood in for T's end before (the watcher of its copies, when T once offered it to a child). */
  readonly #before: EndCalls | undefined;

  constructor(mine: PipeEndCore, theirs: PipeEndCore, lane: LaneSocket) {
    this.#before = laneOf(mine);
    this.#mine = mine;
    this.#theirs = theirs;
    this.#lane = lane;
    this.#handles = mine.handlesOf(LOCAL_OWNER);
    theirs.retain();
    lane.onFrame((type, payload) => this.#onFrame(type, payload));
    lane.onClose(() => this.#detach());
  }

  #onFrame(type: number, payload: Uint8Array): void {
    if (type === DATA) {
      if (this.#directMax !== undefined && !this.#mine.pending()) {
        // a receive is waiting and nothing is ahead of this message: hand it over, no ring round trip
        const f = singleFrame(payload);
        if (f !== undefined && (this.#directMax === null || frameLength(f) <= this.#directMax)) {
          this.#handed = f;
          this.#handedFor = this.#directFor;
          this.#wake();
          return;
        }
      }
      this.#mine.receivePacked(payload, countFrames(payload));
      this.#wake();
    } else if (type === CLOSE) {
      this.#closedByGuest = true;
      this.#detach();
    } else if (type === TEARDOWN) {
      // C begins: everything it sent by the lane is in T's ring already
      this.#draining = true;
      this.#lane?.write(ACK);
    } else if (type === ACK) {
      this.#acked = true;
      if (payload.byteLength > 0) this.#ack = payload;
    } else if (type === DONE) {
      if (payload.byteLength > 0) this.#resend(payload);
      this.#lane?.write(FIN);
      this.#detach();
    }
  }

  #wake(): void {
    this.#directMax = undefined;
    const w = this.#waiters;
    if (w.length === 0) return;
    this.#waiters = [];
    for (const f of w) f();
  }

  get active(): boolean {
    return this.#lane !== null;
  }

  send(msg: Encoded): void {
    if (this.#draining) waitFor(this.#lane!, () => !this.#draining);
    const lane = this.#lane;
    if (lane === null) return this.#mine.send(msg);
    if (this.#closedByGuest || !this.#mine.peerOpen()) throw brokenPipe();
    if (!sendData(lane, msg)) throw brokenPipe();
  }

  /**
   * While the lane is open only it fills T's ring, so a receive waits for its next frame (a promise,
   * not a wait on the ring: no wake-up posted through the engine); after, as always.
   */
  async recv(maxLength: number | null, owner: string): Promise<RecvResult> {
    for (;;) {
      const lane = this.#lane;
      if (lane === null) return this.#mine.recv(maxLength, owner);
      const r = this.#mine.recvNowait(maxLength);
      if (r !== undefined) return r;
      lane.ref();
      // the first waiting receive may be handed the next message (unless one handed is not yet taken)
      let ticket = 0;
      if (this.#waiters.length === 0 && this.#handed === undefined) {
        ticket = this.#directFor = ++this.#tickets;
        this.#directMax = maxLength;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      if (this.#waiters.length === 0) lane.unref();
      if (ticket !== 0 && this.#handedFor === ticket) {
        const handed = this.#handed!;
        this.#handed = undefined;
        this.#handedFor = 0;
        return handed;
      }
    }
  }

  recvSync(maxLength?: number | null): RecvResult {
    return this.#mine.recvSync(maxLength); // its blocking wait drains the lane (kernel/wait.ts)
  }

  poll(timeout: number | undefined, owner: string): Promise<boolean> {
    this.#lane?.drain(); // what C wrote before its later calls is in T's ring now
    return this.#mine.poll(timeout, owner);
  }

  pollSync(timeout?: number): boolean {
    this.#lane?.drain();
    return this.#mine.pollSync(timeout);
  }

  /** The lane fills this end's ring: a wait on the ring sees what it brings. */
  watchReady(): { ready: Promise<boolean>; cancel(): Promise<boolean> } {
    this.#lane?.drain();
    return this.#mine.watchReady();
  }

  adopt(owner: string): void {
    this.#handles++;
    this.#mine.adopt(owner);
  }

  disown(owner: string): void {
    this.#mine.disown(owner);
    if (--this.#handles > 0) return;
    this.#lane?.write(CLOSE); // C sees EOF after what T sent before
    this.#detach();
  }

  /** T passes its end on: the lane ends first. */
  retain(): void {
    this.tearDown();
    this.#mine.retain();
  }

  /** TEARDOWN; C answers ACK with what it had not read, which goes back into C's ring; DONE. */
  tearDown(): void {
    if (this.#draining) waitFor(this.#lane!, () => !this.#draining);
    const lane = this.#lane;
    if (lane === null) return;
    lane.write(TEARDOWN);
    waitFor(lane, () => this.#acked);
    if (this.#ack !== null) this.#resend(this.#ack);
    lane.write(DONE);
    this.#detach();
  }

  /** Messages C had not read go back into its ring, ahead of anything T sends next. */
  #resend(bytes: Uint8Array): void {
    try {
      this.#mine.sendPacked(bytes, countFrames(bytes));
    } catch {
      // C's end is closed meanwhile: nobody is left to read them
    }
  }

  #detach(): void {
    this.#draining = false;
    this.#wake();
    const lane = this.#lane;
    this.#lane = null;
    lane?.close();
    if (this.#holding) {
      this.#holding = false;
      this.#theirs.release();
    }
    if ((this.#mine as any)[LANE] === this) {
      if (this.#before === undefined) delete (this.#mine as any)[LANE];
      else (this.#mine as any)[LANE] = this.#before;
    }
    const copy = laneOf(this.#theirs);
    if (copy instanceof HostCopy && copy.host === this) copy.host = null;
  }
}

/**
 * Stands in for an end in T once T has offered it to a child: it watches T's own copies of that end
 * (Python's docs keep the parent's copy of the child's end open). Before a lane it only passes calls
 * on, counting receives and polls still waiting (a lane must not start under one: T's messages would
 * go by the lane, past it). While a lane is open the copies cost nothing while idle, and the first
 * call on one ends the lane, after which that copy and C share C's rings as any two holders do.
 * Closing a copy leaves the lane alone (what a program that closes it does anyway).
 */
class HostCopy implements EndCalls {
  readonly active = false;
  readonly #core: PipeEndCore;
  /** The lane open for this end's child, if any. */
  host: LaneHost | null = null;
  #waiting = 0;

  constructor(core: PipeEndCore) {
    this.#core = core;
  }

  /** No call of T's copies is waiting. */
  get idle(): boolean {
    return this.#waiting === 0;
  }

  /** An open lane ends first (what C had not read goes back into its ring); the core serves. */
  #served(): PipeEndCore {
    this.host?.tearDown();
    return this.#core;
  }

  async #counted<R>(call: Promise<R>): Promise<R> {
    this.#waiting++;
    try {
      return await call;
    } finally {
      this.#waiting--;
    }
  }

  send(msg: Encoded): void {
    this.#served().send(msg);
  }

  recv(maxLength: number | null, owner: string): Promise<RecvResult> {
    return this.#counted(this.#served().recv(maxLength, owner));
  }

  recvSync(maxLength?: number | null): RecvResult {
    return this.#served().recvSync(maxLength);
  }

  poll(timeout: number | undefined, owner: string): Promise<boolean> {
    return this.#counted(this.#served().poll(timeout, owner));
  }

  pollSync(timeout?: number): boolean {
    return this.#served().pollSync(timeout);
  }

  retain(): void {
    this.#served().retain();
  }

  adopt(owner: string): void {
    this.#core.adopt(owner);
  }

  disown(owner: string): void {
    this.#core.disown(owner);
  }
}

/** The watcher of T's copies of `end`, made when T first offers it to a child. */
function copyOf(end: PipeEndCore): HostCopy | null {
  const lane = laneOf(end);
  if (lane === undefined) return ((end as any)[LANE] = new HostCopy(end));
  return lane instanceof HostCopy ? lane : null;
}

interface Offer {
  end: PipeEndCore;
  peer: PipeEndCore;
}

let listener: string | null = null;
const offers = new Map<string, Offer>();
const MAX_OFFERS = 1024;

/**
 * T is about to pass `end` to a child process: offers a lane for it (what the child needs to ask),
 * or null when this thread does not have the other end's core.
 */
export function offerLane(end: PipeEndCore): LaneOffer | null {
  const peer = end.peer;
  if (peer === null) return null;
  listener ??= listen();
  if (copyOf(end) === null) return null; // a lane of this thread already stands in for it
  const token = crypto().randomBytes(24).toString('hex');
  offers.set(token, { end, peer });
  // An offer is used (or refused) by the child's first frame; one whose child died first would stay:
  // keep the newest ones only.
  if (offers.size > MAX_OFFERS) offers.delete(offers.keys().next().value!);
  return { address: listener, token };
}

function listen(): string {
  const { address } = privateAddress();
  const server: Server = net().createServer((socket) => accept(new LaneSocket(socket)));
  server.on('error', () => {});
  server.listen(address);
  server.unref();
  return address;
}

/** Every handle of `end` is held by `owner`. */
function heldOnlyBy(end: PipeEndCore, owner: string): boolean {
  const n = end.handles();
  return n > 0 && end.handlesOf(owner) === n;
}

/** Every handle of C's end is held by the child, or by this thread (its copies, which HostCopy watches). */
function heldByChildAndHere(end: PipeEndCore, child: string): boolean {
  const byChild = end.handlesOf(child);
  return byChild > 0 && byChild + (child === LOCAL_OWNER ? 0 : end.handlesOf(LOCAL_OWNER)) === end.handles();
}

function eligible(offer: Offer, child: string): boolean {
  const copy = laneOf(offer.end);
  return (
    !(laneOf(offer.peer) instanceof LaneHost) && copy instanceof HostCopy && copy.host === null && copy.idle &&
    heldByChildAndHere(offer.end, child) && heldOnlyBy(offer.peer, LOCAL_OWNER)
  );
}

function accept(lane: LaneSocket): void {
  lane.unref();
  let offer: Offer | undefined;
  let child = '';
  lane.onFrame((type, payload) => {
    if (offer === undefined) {
      const [token, owner] = (type === HELLO ? Buffer.from(payload).toString('utf8') : '').split(' ');
      offer = offers.get(token);
      offers.delete(token);
      child = owner ?? '';
      if (offer !== undefined && eligible(offer, child)) {
        lane.write(ACCEPT);
        return;
      }
      offer = undefined;
      lane.write(REJECT);
      lane.close();
      return;
    }
    // C is quiet, and everything it sent before is in T's ring: start, unless something changed meanwhile
    if (type !== CONFIRM || !eligible(offer, child)) {
      lane.write(NOGO);
      lane.close();
      return;
    }
    const peer = offer.peer;
    lane.write(GO);
    const sent = peer.takeSent(); // what C had not yet received goes first, by the lane
    if (sent !== null) lane.write(DATA, sent.bytes);
    const host = new LaneHost(peer, offer.end, lane);
    (peer as any)[LANE] = host;
    (laneOf(offer.end) as HostCopy).host = host;
  });
}
