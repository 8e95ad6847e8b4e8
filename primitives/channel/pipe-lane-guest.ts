/**
 * The guest side of a Pipe's direct lane (see pipe-lane.ts): the child process thread C holding one
 * end. Until the lane is up, and after it is torn down, its calls go through the remote core (the
 * broker); while it is up, C reads what T sends from its own queue, filled by the lane, and sends by
 * the lane.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import { LaneSocket } from '../transport/lane-socket.js';
import { openSocket } from '../transport/connect-socket.js';
import { BARRIER, BARRIER_SYNC, BEFORE_NEXT } from '../transport/remote-core.js';
import type { BeforeNext } from '../transport/link.js';
import { LOCAL_OWNER } from '../kernel/owner.js';
import { deadlineOf, timeLeft } from '../kernel/wait.js';
import { FramePacker, FrameReader } from '../kernel/frames.js';
import { brokenPipe, type RecvResult } from './pipe-core.js';
import { countFrames, frameLength, singleFrame, sleepSlice, waitFor } from './pipe-lane.js';
import { ACCEPT, ACK, CLOSE, CONFIRM, DATA, DONE, FIN, GO, HELLO, LANE, NOGO, TEARDOWN, type EndCalls, type LaneOffer } from './lane-protocol.js';

type RemoteEnd = EndCalls & {
  receivePacked(bytes: Uint8Array, count: number): void;
  [BARRIER](): Promise<void>;
  [BARRIER_SYNC](): void;
  [BEFORE_NEXT](hook: BeforeNext): void;
};

/** A batch of sends is written at this many messages, or bytes. */
const BATCH = 512;
const BATCH_BYTES = 256 * 1024;
type Mode = 'broker' | 'lane' | 'draining';

class LaneGuest implements EndCalls {
  readonly #core: RemoteEnd;
  #mode: Mode = 'broker';
  #lane: LaneSocket | null = null;
  /** T accepted: the lane starts at this end's next quiet receive. */
  #offered: LaneSocket | null = null;
  #starting: Promise<void> | null = null;
  /** The lane whose CONFIRM is out, until T's verdict came. */
  #confirming: LaneSocket | null = null;
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
  /** Sends not yet written (see send): a stream of sends goes out as one run per batch. */
  readonly #out = new FramePacker(256);

  constructor(core: RemoteEnd) {
    this.#core = core;
  }

  get active(): boolean {
    return this.#mode === 'lane';
  }

  /** T accepted: the lane starts now if this end is quiet (at revive it is), else at its next quiet receive. */
  offered(lane: LaneSocket): Promise<void> | null {
    this.#offered = lane;
    lane.onClose(() => {
      if (this.#offered === lane) this.#offered = null;
    });
    return this.#quiet();
  }

  // ---- the lane's life ----

  /** At a quiet moment: settle earlier calls (T reads its ring first), CONFIRM, and wait for GO. */
  #quiet(): Promise<void> | null {
    const lane = this.#canStart();
    if (lane !== null) this.#starting = this.#start(lane).finally(() => (this.#starting = null));
    return this.#starting;
  }

  /** The same, for a blocking receive: it would wait for T anyway, so waiting for GO adds no new wait. */
  #quietSync(): void {
    if (this.#confirming !== null) {
      // an async start is waiting for T's verdict: wait for it here (nothing may go by the broker meanwhile)
      const lane = this.#confirming;
      waitFor(lane, () => this.#verdict !== 0 || this.#confirming !== lane);
      return;
    }
    const lane = this.#canStart();
    if (lane === null) return;
    try {
      this.#core[BARRIER_SYNC]();
      this.#confirm(lane);
      waitFor(lane, () => this.#verdict !== 0);
    } catch {
      // the broker or T is gone: stay on the broker path
    } finally {
      if (this.#verdict !== GO) lane.close();
      this.#verdict = 0;
    }
  }

  #canStart(): LaneSocket | null {
    const lane = this.#offered;
    if (this.#mode !== 'broker' || lane === null || this.#brokerCalls > 0 || this.#starting !== null) return null;
    this.#offered = null;
    return lane;
  }

  async #start(lane: LaneSocket): Promise<void> {
    try {
      await this.#core[BARRIER]();
      this.#confirm(lane);
      while (this.#verdict === 0 && !lane.closed) await this.#next(lane);
    } finally {
      if (this.#verdict !== GO) lane.close();
      this.#verdict = 0;
    }
  }

  /** T's answer to CONFIRM (GO or NOGO), 0 while none came. */
  #verdict = 0;

  /** Says CONFIRM; T's GO (or NOGO) sets #verdict, and with GO the lane carries this end from then on. */
  #confirm(lane: LaneSocket): void {
    this.#confirming = lane;
    lane.onFrame((type) => {
      if (type !== GO && type !== NOGO) return;
      this.#confirming = null;
      this.#verdict = type;
      if (type === GO) {
        this.#mode = 'lane';
        this.#lane = lane;
        lane.onFrame((t, payload) => this.#onFrame(t, payload)); // what T sends next (first what we had not received)
      }
      this.#wake();
    });
    lane.onClose(() => {
      if (this.#confirming === lane) this.#confirming = null;
      if (this.#mode === 'lane') {
        // T closed its end, or is gone: what it sent before is still to be received, then EOF
        this.#peerClosed = true;
        this.#lane = null;
      } else if (this.#mode === 'draining') {
        this.#detach();
      }
      this.#wake();
    });
    lane.write(CONFIRM);
  }

  #onFrame(type: number, payload: Uint8Array): void {
    if (type === DATA) {
      const one = singleFrame(payload);
      if (one !== undefined) this.#queue.push(one);
      else for (const r = new FrameReader({ bytes: payload, count: Infinity }); !r.exhausted; ) this.#queue.push(r.next());
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
    if (lane === null) {
      // T is gone or closed its end: what it sent and we did not read goes into our ring ourselves
      const unread = this.#unread();
      if (unread.byteLength > 0) this.#core.receivePacked(unread, countFrames(unread));
      if (this.#mode === 'lane') this.#detach();
      return;
    }
    lane.write(TEARDOWN);
    waitFor(lane, () => this.#acked);
    lane.write(DONE, this.#unread());
    waitFor(lane, () => this.#fin);
    this.#detach();
  }

  #settleDraining(): void {
    if (this.#mode === 'draining' && this.#lane !== null) waitFor(this.#lane, () => this.#mode !== 'draining');
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
    return new Promise<void>((r) =>
      this.#waiters.push(() => {
        r();
        if (this.#waiters.length === 0) lane.unref();
      }),
    );
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
    this.#flush();
    const starting = this.#quiet();
    if (starting !== null) await starting;
    while (this.#onLane()) {
      const r = this.#take(maxLength);
      if (r !== undefined) return r;
      if (this.#lane === null) break;
      await this.#next(this.#lane);
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
    this.#flush();
    this.#quietSync();
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
    this.#flush();
    const starting = this.#quiet();
    if (starting !== null) await starting;
    const deadline = deadlineOf(timeout);
    while (this.#onLane()) {
      this.#lane?.drain(); // what T wrote before its later calls is here now
      if (this.#ready()) return true;
      const left = timeLeft(deadline);
      if (left === -1) return false;
      let timer: NodeJS.Timeout | undefined;
      if (this.#lane === null) return this.#ready();
      await Promise.race([this.#next(this.#lane), new Promise<void>((r) => left !== undefined && (timer = setTimeout(r, left)))]);
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
    this.#flush();
    this.#quietSync();
    const deadline = deadlineOf(timeout);
    for (let slice = 0.02; this.#onLane(); ) {
      this.#lane?.drain();
      if (this.#ready()) return true;
      if (timeLeft(deadline) === -1) return false;
      slice = sleepSlice(slice, deadline);
    }
    if (this.#head < this.#queue.length) return true;
    const left = timeLeft(deadline);
    return this.#core.pollSync(left === -1 ? 0 : left);
  }

  // ---- sending and handles ----

  /**
   * Sends by the lane are batched into one run, written before anything that could depend on them:
   * before this thread's next request to the creator (any primitive of it), before any blocking wait
   * of this thread, before this end receives or polls, when the thread yields to its event loop, and
   * at the end of a task or of the process (the link settles) — so `send(x); ev.set()` still means the
   * creator finds x once it sees the event. A ping-pong writes at its receive: no delay.
   */
  send(msg: Encoded): void {
    if (!this.#onLane()) return this.#core.send(msg);
    const lane = this.#lane;
    if (this.#peerClosed || lane === null || lane.closed) throw brokenPipe();
    const out = this.#out;
    if (out.count === 0) {
      lane.setPending(this.#flush);
      this.#core[BEFORE_NEXT](this.#flush);
      queueMicrotask(this.#flush); // at the latest before this thread yields to its event loop
    }
    out.add(msg);
    if (out.count >= BATCH || out.byteLength >= BATCH_BYTES) this.#flush();
  }

  readonly #flush = () => {
    const out = this.#out;
    if (out.count === 0) return;
    const lane = this.#lane;
    lane?.setPending(null);
    lane?.write(DATA, out.packed().bytes); // copied into the frame: the packer is free again
    out.reset();
  };

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

/** How long a revive waits for T to accept a lane before the end starts on the broker path (ms). */
const ACCEPT_WAIT_MS = 100;

/**
 * C revived an end that came with a lane offer. It asks T for the lane; the returned promise settles
 * when the lane is up (the end then starts on it, before any call), or after ACCEPT_WAIT_MS without
 * an answer — a host that is not running its event loop does not hold a child up for longer: the end
 * starts on the broker path, and moves to the lane at its next quiet receive if T accepts later.
 */
export function askForLane(core: RemoteEnd, offer: LaneOffer): Promise<void> {
  const guest = new LaneGuest(core);
  (core as any)[LANE] = guest;
  const up = (async () => {
    await core[BARRIER](); // our adopt is applied: T sees us as the only holder
    const lane = new LaneSocket(await openSocket(offer.address));
    lane.unref();
    const started = new Promise<void>((resolve) => {
      lane.onFrame((type) => {
        if (type !== ACCEPT) {
          lane.close();
          return resolve();
        }
        const starting = guest.offered(lane);
        if (starting === null) resolve();
        else void starting.then(resolve, resolve);
      });
      lane.onClose(() => resolve());
    });
    lane.write(HELLO, Buffer.from(`${offer.token} ${LOCAL_OWNER}`, 'utf8'));
    await started;
  })().catch(() => {
    // no lane: the broker carries this end
  });
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, ACCEPT_WAIT_MS)));
  return Promise.race([up, waited]).finally(() => clearTimeout(timer));
}
