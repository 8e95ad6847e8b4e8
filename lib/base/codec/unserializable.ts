/**
 * Finds the part of a value that cannot be sent, so the error names its path (`args[1].cb: function`,
 * `obj.list[3].bad: its getter threw: boom`) instead of V8's bare "could not be cloned". One walk for
 * every sender: a pool's arguments and results, a cluster's results, Pipe, Queue and Manager proxies.
 */
import { v8Codec } from './message.js';
import type * as Events from 'node:events';
import type * as Net from 'node:net';
import type * as StreamModule from 'node:stream';
import type * as UtilTypes from 'node:util/types';
import { builtin } from '../builtin.js';
import type { Runtime } from './handles.js';
import { isStackOverflow, TOO_DEEP } from './too-deep.js';
import { messageOf, SerializationError } from '../errors.js';

/** Where the guide shows what to do instead (the main thread owns the I/O, tasks get the bytes). */
const LIVE_OBJECTS_DOC = 'see "Sockets, streams and other live objects" in docs/guide.md';

/**
 * Deeper than this, a part is named as nested too deeply: structured clone gives up between 1000 and
 * 2000 levels (v8.serialize a little deeper), and the walk must name the part before anything overflows.
 */
const MAX_DEPTH = 2000;

/** What the serializer of `target` throws for `value`, or null when it takes it. */
function cloneError(value: unknown, target: Runtime): { error: unknown } | null {
  try {
    if (target === 'process') v8Codec().serialize(value);
    else structuredClone(value);
    return null;
  } catch (error) {
    return { error };
  }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function${value.name ? ` ${value.name}` : ''}`;
  if (typeof value === 'symbol') return 'symbol';
  if (value instanceof SharedArrayBuffer) return 'SharedArrayBuffer (shared memory cannot reach a process worker)';
  const ctor = (value as any)?.constructor?.name;
  return ctor ? `${ctor} object` : typeof value;
}

/**
 * A live object of this thread (a socket, a server, a stream, an emitter with listeners): walking into
 * it would name some inner field (`_events.end`), so it is named as what it is, with the way out.
 */
function describeLive(value: object): string | null {
  const ctor = (value as any).constructor?.name;
  const own = (what: string) => (ctor && ctor !== what.split('.').pop() ? ` (${ctor})` : '');
  // loaded here, not at import: a pool worker loads this module at boot and most never send a live object
  const { Server, Socket } = builtin<typeof Net>('node:net');
  const { Stream } = builtin<typeof StreamModule>('node:stream');
  const { EventEmitter } = builtin<typeof Events>('node:events');
  const { isPromise } = builtin<typeof UtilTypes>('node:util/types');
  if (value instanceof Socket) {
    return `net.Socket${own('net.Socket')} (a net.Socket cannot be sent to a worker: the main thread owns the connection's I/O and tasks get the bytes — read the data here, pass it to the task, and write the task's result back; ${LIVE_OBJECTS_DOC})`;
  }
  if (value instanceof Server) {
    return `net.Server${own('net.Server')} (a net.Server cannot be sent to a worker: keep it in the main thread, pass each request's bytes to a task; ${LIVE_OBJECTS_DOC})`;
  }
  if (value instanceof Stream) {
    return `${ctor ?? 'Stream'} stream (a stream cannot be sent to a worker: read it here and pass the data, or pass a file path and open it in the task; ${LIVE_OBJECTS_DOC})`;
  }
  if (value instanceof EventEmitter) {
    return `${ctor ?? 'EventEmitter'} object (an EventEmitter is live in this thread and cannot be sent to a worker: pass the data it carries; ${LIVE_OBJECTS_DOC})`;
  }
  if (isPromise(value)) return 'Promise (await it and send its value)';
  return null;
}

/** A part of the value on the walk; `after`: its own check, once its parts were found sendable. */
type Node = { v: unknown; seg: string; parent: Node | null; depth: number; after?: boolean };

/** The top-level part `n` is in (`args[1]`): a value too deep is named by it, not by a path thousands of steps long. */
function topPart(n: Node): Node {
  let top = n;
  while (top.depth > 1) top = top.parent!;
  return top;
}

const pathOf = (n: Node): string => {
  const segs: string[] = [];
  for (let m: Node | null = n; m !== null; m = m.parent) segs.push(m.seg);
  return segs.reverse().join('');
};

/**
 * Returns `path: what` for the first part of `root` (named `rootPath`) that cannot be sent to a `target`
 * worker, or null: a function or symbol, a live object, a getter (or Proxy trap) that throws, nesting
 * deeper than the serializer follows (named by the top-level part it is in), or an object structured clone refuses though its parts pass. Walks without recursion, so the
 * depth that broke the serializer cannot break the search; never throws.
 */
export function findUnserializable(root: unknown, rootPath: string, target: Runtime): string | null {
  const seen = new Set<object>();
  const stack: Node[] = [{ v: root, seg: rootPath, parent: null, depth: 0 }];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const v = n.v;
    if (n.after) {
      const refused = cloneError(v, target);
      if (refused === null) continue;
      // its parts passed one by one, but together they are deeper than the serializer follows
      if (isStackOverflow(refused.error)) return `${pathOf(topPart(n))}: ${TOO_DEEP}`;
      return `${pathOf(n)}: ${describeSafely(v)}`;
    }
    if (typeof v === 'function' || typeof v === 'symbol') return `${pathOf(n)}: ${describe(v)}`;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (n.depth >= MAX_DEPTH) return `${pathOf(topPart(n))}: ${TOO_DEEP}`;
    const children: Node[] = [];
    const child = (x: unknown, seg: string) => children.push({ v: x, seg, parent: n, depth: n.depth + 1 });
    try {
      const live = describeLive(v);
      if (live && cloneError(v, target) !== null) return `${pathOf(n)}: ${live}`;
      if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof RegExp || v instanceof Error) {
        // no parts of ours to walk: only its own check below
      } else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) child(v[i], `[${i}]`);
      } else if (v instanceof Map) {
        for (const [k, x] of v) {
          child(k, '<key>');
          child(x, `.get(${JSON.stringify(String(k))})`);
        }
      } else if (v instanceof Set) {
        for (const x of v) child(x, '<item>');
      } else {
        for (const key of Object.keys(v)) {
          let x: unknown;
          try {
            x = (v as Record<string, unknown>)[key];
          } catch (err) {
            return `${pathOf(n)}.${key}: its getter threw: ${messageOf(err)}`;
          }
          child(x, `.${key}`);
        }
      }
    } catch (err) {
      return `${pathOf(n)}: ${messageOf(err)}`; // a Proxy whose traps throw
    }
    stack.push({ ...n, after: true });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]); // first part on top: found in order
  }
  return null;
}

/** describe() of a value whose constructor cannot be read (a Proxy whose traps throw). */
function describeSafely(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return typeof value;
  }
}

/**
 * A value's encoding failed with an error of its own (a revoked Proxy, a Proxy trap that throws): the
 * SerializationError every other value that cannot be sent gets, naming the path (`rootPath` names the value
 * itself). An error that is already ours passes as it is.
 */
export function unsendableValueError(err: unknown, value: unknown, rootPath: string, target: Runtime): unknown {
  if (err instanceof SerializationError) return err;
  const where = findUnserializable(value, rootPath, target) ?? `${rootPath}: ${messageOf(err)}`;
  return new SerializationError(`cannot send to a ${target} worker: ${where}`, where.split(':')[0], { cause: err });
}
