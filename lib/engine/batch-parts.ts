/** Helpers for what a batch carries: packed numbers' buffers, and where an unsendable value sits. */
import type { Runtime } from '../base/codec/handles.js';
import { findUnserializable } from '../base/codec/unserializable.js';
import { CHUNK, PACKED, type Job } from './engine.js';

/** A typed array's buffer, copied when the array is only a view of a larger one (as v8.deserialize makes them). */
export function ownBuffer(array: Float64Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = array;
  return byteOffset === 0 && byteLength === buffer.byteLength ? (buffer as ArrayBuffer) : array.slice().buffer;
}

/** Where in a job's arguments the value that cannot cross sits, as a path into the user's input. */
export function unsendablePath(job: Pick<Job, 'args' | 'flags' | 'base'>, target: Runtime): string | null {
  if (!(job.flags & CHUNK)) {
    // a call made for one item of the input (imap with chunksize 1) is named by that item's place
    if (job.base !== undefined) return findUnserializable((job.args as unknown[])[0], `items[${job.base}]`, target);
    return findUnserializable(job.args, 'args', target);
  }
  if (job.flags & PACKED) return null; // numbers only
  const items = job.args as ArrayLike<unknown>;
  const base = job.base ?? 0;
  for (let i = 0; i < items.length; i++) {
    const where = findUnserializable(items[i], `items[${base + i}]`, target);
    if (where) return where;
  }
  return null;
}
