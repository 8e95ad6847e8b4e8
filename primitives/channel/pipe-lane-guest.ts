/**
 * The guest side of a Pipe's direct lane (see pipe-lane.ts): the child process thread C holding one
 * end. Until the lane is up, and after it is torn down, its calls go through the remote core (the
 * broker); while it is up, C reads what T sends from its own queue, filled by the lane, and sends by
 * the lane.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import { LaneSocket } from '../transport/lane-socket.js';
import { openSocket } from '../transport/connect-socket.js';
import { BARRIER } from '../transport/remote-core.js';
import { LOCAL_OWNER } from '../sync/owner.js';
import { deadlineOf, timeLeft } from '../wait.js';
import { FramePacker, FrameReader } from './frames.js';
import type { RecvResult } from './pipe-core.js';
import {
  ACCEPT, ACK, brokenPipe, CLOSE, CONFIRM, DATA, DONE, FIN, frameLength, GO, HELLO, LANE, NOGO, sendData, sleepSlice, TEARDOWN, waitFor,
  type EndCalls, type LaneOffer,
} from './pipe-lane.js';

type RemoteEnd = EndCalls & { [BARRIER](): Promise<void> };
type Mode = 'broker' | 'lane' | 'draining';

class LaneGuest implements EndCalls {
  readonly #core: RemoteEnd;
  #mode: Mode = 'broker';
  #lane: LaneSocket | null = null;
  /** T accepted: the lane starts at this end's next quiet receive. */
  #offered: LaneSocket | null = null;
  #starting: Promise<void> | null = null;
  #handles = 1;
  /** What T sent by the lane, not yet received. */
  #queue: Encoded[] = [];
  #head = 0;
  #peerClosed = false;
  #waiters: (() => void)[] = [];
  /** Receives of this end in flight through the broker (the lane starts only when there are none). */
  #brokerCalls = 0;
  #acked = false;
  #fin = false;

  constructor(core: RemoteEnd) {
    this.#core = core;
  }

  get active(): boolean {
    return this.#mode === 'lane';
  }

  offered(lane: LaneSocket): void {
    this.#offered = lane;
    lane.onClose(() => {
      if (this.#offered === lane) this.#offered = null;
    });
  }

  // ---- the lane's life ----

  /** At a quiet moment: settle earlier calls (T reads its ring first), CONFIRM, and wait for GO. */
  #quiet(): Promise<void> | null {
    if (this.#mode === 'broker' && this.#offered !== null && this.#brokerCalls === 0 && this.#starting === null) {
      this.#starting = this.#start(this.#offered).finally(() => (this.#starting = null));
      this.#offered = null;
    }
    return this.#starting;
  }

  async #start(lane: LaneSocket): Promise<void> {
    let verdict = 0;
    try {
      await this.#core[BARRIER]();
      lane.onFrame((type, payload) => {
        if (verdict !== 0) return this.#onFrame(type, payload);
        if (type !== GO && type !== NOGO) return;
        verdict = type;
        if (type === GO) {
          this.#mode = 'lane';
          this.#lane = lane;
        }
        this.#wake();
      });
      lane.onClose(() => {
        this.#peerClosed = true;
        this.#detach();
        this.#wake();
      });
      if (!lane.write(CONFIRM)) return;
      while (verdict === 0 && !lane.closed) await this.#next(lane);
    } finally {
      if (verdict !== GO) lane.close();
    }
  }

  #onFrame(type: number, payload: Uint8Array): void {
    if (type === DATA) {
      const r = new FrameReader({ bytes: payload, count: Infinity });
      while (!r.exhausted) this.#queue.push(r.next());
      this.#wake();
    } else if (type === CLOSE) {
      this.#peerClosed = true;
      this.#wake();
    } else if (type === TEARDOWN) {
      // T begins: every lane message it sent is here; the unread ones go back, T puts them in our ring
      this.#mode = 'draining';
      this.#lane?.write(ACK, this.#unread());
    } else if (type === ACK) {
      this.#acked = true;
    } else if (type === DONE) {
      this.#detach();
    } else if (type === FIN) {
      this.#fin = true;
    }
  }

  /** C passes its end on: TEARDOWN; ACK from T (its lane messages all came); DONE with the unread ones; FIN. */
  #tearDown(): void {
    this.#settleDraining();
    const lane = this.#lane;
    if (lane === null) return;
    lane.write(TEARDOWN);
    waitFor(lane, () => this.#acked);
    lane.write(DONE, this.#unread());
    waitFor(lane, () => this.#fin);
    this.#detach();
  }

  #settleDraining(): void {
    if (this.#mode === 'draining') waitFor(this.#lane!, () => this.#mode !== 'draining');
  }

  #detach(): void {
    this.#mode = 'broker';
    const lane = this.#lane;
    this.#lane = null;
    lane?.close();
    if ((this.#core as any)[LANE] === this) delete (this.#core as any)[LANE];
  }

  #unread(): Uint8Array {
    const p = new FramePacker();
    for (let i = this.#head; i < this.#queue.length; i++) p.add(this.#queue[i]);
    this.#queue = [];
    this.#head = 0;
    return p.packed().bytes;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The next lane frame (or its end); the lane keeps the process alive meanwhile. */
  #next(lane: LaneSocket): Promise<void> {
    if (lane.closed) return Promise.resolve();
    lane.ref();
    return new Promise<void>((r) => this.#waiters.push(r)).finally(() => {
      if (this.#waiters.length === 0) lane.unref();
    });
  }

  // ---- receiving ----

  /** A message at hand, EOF (null), too long, or undefined (it would wait). */
  #take(maxLength: number | null | undefined): RecvResult | undefined {
    if (this.#head < this.#queue.length) {
      const f = this.#queue[this.#head];
      const len = frameLength(f);
      if (maxLength != null && len > maxLength) return { tooLong: len };
      this.#queue[this.#head++] = 0;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      return f;
    }
    return this.#peerClosed ? null : undefined;
  }

  #onLane(): boolean {
    this.#settleDraining();
    return this.#mode === 'lane';
  }

  async recv(maxLength: number | null, owner: string): Promise<RecvResult> {
    const starting = this.#quiet();
    if (starting !== null) await starting;
    while (this.#onLane()) {
      const r = this.#take(maxLength);
      if (r !== undefined) return r;
      await this.#next(this.#lane!);
    }
    const r = this.#take(maxLength); // left from the lane (T's teardown put the rest back in our ring)
    if (r !== undefined && r !== null) return r;
    this.#brokerCalls++;
    try {
      return await this.#core.recv(maxLength, owner);
    } finally {
      this.#brokerCalls--;
    }
  }

  recvSync(maxLength?: number | null): RecvResult {
    for (let slice = 0.02; this.#onLane(); ) {
      const r = this.#take(maxLength);
      if (r !== undefined) return r;
      slice = sleepSlice(slice);
    }
    const r = this.#take(maxLength);
    if (r !== undefined && r !== null) return r;
    return this.#core.recvSync(maxLength);
  }

  #ready(): boolean {
    return this.#head < this.#queue.length || this.#peerClosed;
  }

  async poll(timeout: number | undefined, owner: string): Promise<boolean> {
    const starting = this.#quiet();
    if (starting !== null) await starting;
    const deadline = deadlineOf(timeout);
    while (this.#onLane()) {
      this.#lane!.drain(); // what T wrote before its later calls is here now
      if (this.#ready()) return true;
      const left = timeLeft(deadline);
      if (left === -1) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#next(this.#lane!), new Promise<void>((r) => left !== undefined && (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    if (this.#head < this.#queue.length) return true;
    const left = timeLeft(deadline);
    this.#brokerCalls++;
    try {
      return await this.#core.poll(left === -1 ? 0 : left, owner);
    } finally {
      this.#brokerCalls--;
    }
  }

  pollSync(timeout?: number): boolean {
    const deadline = deadlineOf(timeout);
    for (let slice = 0.02; this.#onLane(); ) {
      this.#lane!.drain();
      if (this.#ready()) return true;
      if (timeLeft(deadline) === -1) return false;
      slice = sleepSlice(slice, deadline);
    }
    if (this.#head < this.#queue.length) return true;
    const left = timeLeft(deadline);
    return this.#core.pollSync(left === -1 ? 0 : left);
  }

  // ---- sending and handles ----

  send(msg: Encoded): void {
    if (!this.#onLane()) return this.#core.send(msg);
    if (this.#peerClosed) throw brokenPipe();
    if (!sendData(this.#lane!, msg)) throw brokenPipe();
  }

  adopt(owner: string): void {
    this.#handles++;
    this.#core.adopt(owner);
  }

  disown(owner: string): void {
    if (--this.#handles === 0) {
      this.#settleDraining();
      this.#lane?.write(CLOSE); // T sees EOF after what C sent before
      this.#offered?.close();
      this.#detach();
    }
    this.#core.disown(owner);
  }

  retain(): void {
    this.#tearDown();
    this.#offered?.close();
    this.#offered = null;
    this.#core.retain();
  }
}

/**
 * C revived an end that came with a lane offer: the end works through the broker at once, and C asks
 * T for the lane in the background (it starts at the end's next quiet receive).
 */
export function askForLane(core: RemoteEnd, offer: LaneOffer): void {
  const guest = new LaneGuest(core);
  (core as any)[LANE] = guest;
  void (async () => {
    await core[BARRIER](); // our adopt is applied: T sees us as the only holder
    const lane = new LaneSocket(await openSocket(offer.address));
    lane.unref();
    lane.onFrame((type) => {
      if (type === ACCEPT) guest.offered(lane);
      else lane.close();
    });
    lane.write(HELLO, Buffer.from(`${offer.token} ${LOCAL_OWNER}`, 'utf8'));
  })().catch(() => {
    // no lane: the broker carries this end
  });
}
