/**
 * The requests one thread has queued for one broker, in call order, until the link writes them as one
 * frame (link.ts). Fire-and-forget calls coalesce: consecutive calls of one method on one object ride
 * in one MANY request, and consecutive frames for a packed twin (CoreShape.packed) in one run of frames
 * — a stream of puts or sends costs the broker one dispatch and one copy per batch.
 */
import type { Encoded } from '../../lib/base/codec/message.js';
import { FramePacker } from '../kernel/frames.js';
import { MANY, NO_REPLY, SYNC_REPLY, type ObjectId, type Request } from './protocol.js';

/** Consecutive packed calls of one method on one object: one request, its frames packed into one run. */
interface Run {
  req: Request;
  objectId: ObjectId;
  method: string;
  /** The argument after the frame (an owner id), the same for every frame of the run. */
  extra: unknown;
  packer: FramePacker;
}

export class RequestQueue {
  #requests: Request[] = [];
  /** Every run queued (their frames are packed into their requests when taken). */
  #runs: Run[] = [];
  /** The run still open for more frames (the last request), if any. */
  #open: Run | null = null;

  /** A request of its own (nothing joins it, and it closes the open run: later frames must not overtake it). */
  push(req: Request): void {
    this.#requests.push(req);
    this.#open = null;
  }

  /** A fire-and-forget call; true when it joined the last request (a MANY of the same object and method). */
  joinMany(objectId: ObjectId, method: string, args: unknown[]): boolean {
    const last = this.#requests.length > 0 ? this.#requests[this.#requests.length - 1] : undefined;
    if (last === undefined || !(last[4] & MANY) || last[1] !== objectId || last[2] !== method) return false;
    (last[3] as unknown[][]).push(args);
    return true;
  }

  /** A new MANY request of fire-and-forget calls (a failure is reported where blocking calls read). */
  pushMany(id: number, objectId: ObjectId, method: string, args: unknown[]): void {
    this.push([id, objectId, method, [args], NO_REPLY | SYNC_REPLY | MANY]);
  }

  /**
   * A frame for a packed twin: into the open run when it is for the same object, method and extra
   * argument, else a new run (a new request, with id `newId()`). Returns the run's size after it.
   */
  addFrame(newId: () => number, objectId: ObjectId, method: string, frame: Encoded, extra: unknown): { count: number; bytes: number; opened: boolean } {
    let run = this.#open;
    let opened = false;
    if (run === null || run.objectId !== objectId || run.method !== method || run.extra !== extra) {
      const req: Request = [newId(), objectId, method, [], NO_REPLY | SYNC_REPLY];
      run = { req, objectId, method, extra, packer: new FramePacker() };
      this.#requests.push(req);
      this.#runs.push(run);
      this.#open = run;
      opened = true;
    }
    run.packer.add(frame);
    return { count: run.packer.count, bytes: run.packer.byteLength, opened };
  }

  /** Everything queued, in order (runs packed into their requests), leaving the queue empty. */
  take(): Request[] {
    const out = this.#requests;
    for (const run of this.#runs) {
      const { bytes, count } = run.packer.packed();
      run.req[3] = run.extra === undefined ? [bytes, count] : [bytes, count, run.extra];
    }
    this.clear();
    return out;
  }

  clear(): void {
    this.#requests = [];
    this.#runs = [];
    this.#open = null;
  }
}
