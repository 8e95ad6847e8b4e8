/**
 * Finds the value that structured clone refused, so the error names its path
 * (`args[1].cb: function`) instead of V8's bare "could not be cloned".
 */
import { v8Codec } from './message.js';
import type * as Events from 'node:events';
import type * as Net from 'node:net';
import type * as StreamModule from 'node:stream';
import { isPromise } from 'node:util/types';
import { builtin } from '../builtin.js';
import type { Runtime } from './handles.js';
import { isStackOverflow, TOO_DEEP } from './too-deep.js';
import { messageOf } from '../errors.js';

/** Where the guide shows what to do instead (the main thread owns the I/O, tasks get the bytes). */
const LIVE_OBJECTS_DOC = 'see "Sockets, streams and other live objects" in docs/guide.md';

function cloneFails(value: unknown, target: Runtime): boolean {
  try {
    if (target === 'process') v8Codec().serialize(value);
    else structuredClone(value);
    return false;
  } catch {
    return true;
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



/**
 * Returns `path: what` for the first value below `root` that cannot cross, or null. Never throws: a
 * getter that throws is named by its path, and a value too deep to walk is named by `rootPath`.
 */
export function findUnserializable(root: unknown, rootPath: string, target: Runtime): string | null {
  try {
    return walkUnserializable(root, rootPath, target);
  } catch (err) {
    if (isStackOverflow(err)) return `${rootPath}: ${TOO_DEEP}`;
    return `${rootPath}: ${messageOf(err)}`; // a Proxy whose traps throw
  }
}

function walkUnserializable(root: unknown, rootPath: string, target: Runtime): string | null {
  const seen = new Set<object>();
  const walk = (value: unknown, path: string): string | null => {
    if (typeof value === 'function' || typeof value === 'symbol') return `${path}: ${describe(value)}`;
    if (typeof value !== 'object' || value === null) return null;
    if (seen.has(value)) return null;
    seen.add(value);
    const live = describeLive(value);
    if (live && cloneFails(value, target)) return `${path}: ${live}`;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const hit = walk(value[i], `${path}[${i}]`);
        if (hit) return hit;
      }
    } else if (value instanceof Map) {
      for (const [k, v] of value) {
        const hit = walk(k, `${path}<key>`) ?? walk(v, `${path}.get(${JSON.stringify(String(k))})`);
        if (hit) return hit;
      }
    } else if (value instanceof Set) {
      for (const v of value) {
        const hit = walk(v, `${path}<item>`);
        if (hit) return hit;
      }
    } else if (!(value instanceof Error)) {
      for (const key of Object.keys(value)) {
        let item: unknown;
        try {
          item = (value as any)[key];
        } catch (err) {
          return `${path}.${key}: its getter threw: ${messageOf(err)}`;
        }
        const hit = walk(item, `${path}.${key}`);
        if (hit) return hit;
      }
    }
    return cloneFails(value, target) ? `${path}: ${describe(value)}` : null;
  };
  return walk(root, rootPath);
}
