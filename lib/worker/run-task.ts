/**
 * Calls one task inside a worker: loads its function (compiled or imported once, then synchronous),
 * revives handles among its arguments, and calls it once (a call) or once per item (a chunk).
 * Returns synchronously whenever it can, so a batch of sync tasks never touches the microtask queue.
 */
import { decodeHandles } from '../base/codec/handles.js';
import { loadTask, type TaskFn } from '../base/load-task.js';
import type { TaskSpec } from '../base/task.js';
import { CHUNK, HANDLES, PACKED, STAR } from '../protocol/messages.js';

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return false;
  try {
    return typeof (v as any).then === 'function';
  } catch {
    // a `then` getter or Proxy trap that throws: not a promise. Sending the value says what is wrong with it;
    // thrown from here it escaped the batch, failed its neighbours and left the worker busy forever
    return false;
  }
}

/** Chunks shorter than this are not packed (as on the way in: small lists clone fast enough). */
const PACK_MIN = 64;

function invoke(fn: TaskFn, args: unknown, flags: number): unknown {
  if (!(flags & CHUNK)) return fn(...(args as unknown[]));
  // Chunks of single items travel flat (wrapping each item in an array costs 10x in cloning); all-number
  // chunks arrive as a Float64Array, read in place.
  const call: (item: unknown) => unknown = flags & STAR ? (item) => fn(...(item as unknown[])) : fn;
  const list = args as ArrayLike<unknown>;
  if (flags & PACKED && list.length >= PACK_MIN) return invokePacked(call, list);
  const out = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = call(list[i]);
    if (isThenable(r)) return finishChunk(call, list, out, i, r);
    out[i] = r;
  }
  return out;
}

/**
 * Numbers in, most often numbers out: the results go straight into the Float64Array that carries them
 * back (one pass, no list), until one is not a number; from there on, a list as usual.
 */
function invokePacked(call: (item: unknown) => unknown, list: ArrayLike<unknown>): unknown {
  const n = list.length;
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = call(list[i]);
    if (typeof r === 'number') {
      packed[i] = r;
      continue;
    }
    const out = new Array(n);
    for (let j = 0; j < i; j++) out[j] = packed[j];
    if (isThenable(r)) return finishChunk(call, list, out, i, r);
    out[i] = r;
    for (let j = i + 1; j < n; j++) {
      const v = call(list[j]);
      if (isThenable(v)) return finishChunk(call, list, out, j, v);
      out[j] = v;
    }
    return out;
  }
  return packed;
}

async function finishChunk(call: (item: unknown) => unknown, list: ArrayLike<unknown>, out: unknown[], i: number, first: PromiseLike<unknown>) {
  out[i] = await first;
  for (let j = i + 1; j < list.length; j++) out[j] = await call(list[j]);
  return out;
}

/** Runs a task: its value, or a promise of it when the function (or loading it) is async. Throws what the task throws. */
export function runTask(spec: TaskSpec, args: unknown, flags: number): unknown {
  const loaded = loadTask(spec);
  if (flags & PACKED && !ArrayBuffer.isView(args)) args = new Float64Array(args as ArrayBuffer); // sent as its bare buffer
  if (isThenable(loaded) || flags & HANDLES) {
    return (async () => invoke(await loaded, flags & HANDLES ? await decodeHandles(args) : args, flags))();
  }
  return invoke(loaded, args, flags);
}
