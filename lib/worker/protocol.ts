/** Messages between the parent and a worker (thread or child process). Arrays keep them small. */
import type { TaskSpec } from '../base/task.js';
import type { WireError } from '../base/codec/error-wire.js';

/** Flags of a task message. */
export const CHUNK = 1; // args is a list of items, each called as fn(item); the result is a list
export const HANDLES = 2; // args (or the result) hold handle descriptors to revive
export const PACKED = 8; // the list (args of a chunk, or a chunk's results) travels as a Float64Array
export const STAR = 4; // with CHUNK: each item is an argument list, called as fn(...item) (starmap)

/** A task spec is sent in full the first time a worker sees it, by number afterwards. */
export type SpecRef = number | [number, TaskSpec];

/** [taskId, spec, args, flags] */
export type TaskMessage = [number, SpecRef, unknown, number];

/** [taskId, ok, value or WireError, flags] */
export type ResultMessage = [number, boolean, unknown, number];

export type ToWorker =
  | { t: 'init'; name: string; role: 'pool' | 'process'; init: TaskMessage | null }
  | { t: 'run'; tasks: TaskMessage[] }
  | { t: 'exit' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'initError'; error: WireError }
  | { t: 'done'; r: ResultMessage[]; busy: number }
  | { t: 'fatal'; error: WireError };
