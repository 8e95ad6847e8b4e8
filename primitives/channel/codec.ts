/**
 * Messages of Pipe and Queue: the one message codec (lib/base/codec/message.ts), plus the checks a
 * channel adds — a live primitive inside a message is refused with the way to pass it instead, and a
 * value that cannot cross is named by its path.
 */
import { toHandle } from '../../lib/base/codec/handles.js';
import { findUnserializable } from '../../lib/base/codec/unserializable.js';
import { messageOf, SerializationError } from '../../lib/base/errors.js';
import { encodeMessage, jsonExact, type Encoded } from '../../lib/base/codec/message.js';

export { decodeMessage as decodeFrame, messageBytes as frameBytes, type Encoded } from '../../lib/base/codec/message.js';

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Finds a live primitive (Lock, Queue, Connection...) inside a message: it cannot travel that way. */
function findHandle(v: unknown, path: string, seen: Set<object>): string | null {
  if (typeof v !== 'object' || v === null) return null;
  if (typeof (v as any)[toHandle] === 'function') return path;
  if (seen.has(v)) return null;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findHandle(v[i], `${path}[${i}]`, seen);
      if (hit) return hit;
    }
  } else if (isPlain(v)) {
    for (const key of Object.keys(v)) {
      const hit = findHandle((v as any)[key], `${path}.${key}`, seen);
      if (hit) return hit;
    }
  }
  return null;
}

/** Encodes `value` for a channel; throws SerializationError naming the path of a value that cannot cross. */
export function encodeValue(value: unknown, what = 'obj'): Encoded {
  try {
    return encodeChecked(value, what);
  } catch (err) {
    throw unsendable(value, what, err);
  }
}

function encodeChecked(value: unknown, what: string): Encoded {
  if (typeof value !== 'object' || value === null || jsonExact(value)) return encodeMessage(value);
  const hit = findHandle(value, what, new Set());
  if (hit) {
    const name = (value as any)?.constructor?.name ?? 'primitive';
    throw new SerializationError(
      `cannot send ${hit}: a live ${hit === what ? name : 'primitive'} cannot travel inside a message; pass it to the worker as a task/Process argument`,
      hit,
    );
  }
  return encodeMessage(value);
}

/** Deeper than this, a value is refused before structured clone (or a walk of ours) runs out of stack. */
const MAX_DEPTH = 2000;
const TOO_DEEP = `nested too deeply to be sent (more than ${MAX_DEPTH} levels)`;

type Node = { v: unknown; seg: string; parent: Node | null; depth: number };
const pathOf = (n: Node): string => {
  const segs: string[] = [];
  for (let m: Node | null = n; m !== null; m = m.parent) segs.push(m.seg);
  return segs.reverse().join('');
};

/**
 * `path: why` for the first part of `root` that cannot even be read — a getter (or Proxy trap) that
 * throws — or that is nested deeper than MAX_DEPTH; null when there is none. Walks without recursion,
 * so the depth that broke the encoder cannot break the search.
 */
export function findUnreadable(root: unknown, rootPath: string): string | null {
  const seen = new Set<object>();
  const stack: Node[] = [{ v: root, seg: rootPath, parent: null, depth: 0 }];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const v = n.v;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (n.depth >= MAX_DEPTH) {
      let top = n; // named by the top-level part it is in (`args[1]`): the full path would be thousands of steps
      while (top.depth > 1) top = top.parent!;
      return `${pathOf(top)}: ${TOO_DEEP}`;
    }
    const children: Node[] = [];
    const child = (x: unknown, seg: string) => children.push({ v: x, seg, parent: n, depth: n.depth + 1 });
    try {
      if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof RegExp || v instanceof Error) continue;
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) child(v[i], `[${i}]`);
      else if (v instanceof Map) for (const [k, x] of v) child(x, `.get(${JSON.stringify(String(k))})`);
      else if (v instanceof Set) for (const x of v) child(x, '<item>');
      else {
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
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]); // first child on top: found in order
  }
  return null;
}

/** `path: why` for the first part of `value` (named `root`) that cannot be sent, or null; never throws. */
export function findUnsendable(value: unknown, root: string): string | null {
  const where = findUnreadable(value, root);
  if (where !== null) return where;
  try {
    return findUnserializable(value, root, 'process');
  } catch {
    return null;
  }
}

/** The SerializationError for `where` (`path: why`), caused by `err`. */
export function sendError(where: string, err: unknown): SerializationError {
  const at = where.indexOf(': ');
  const cause = err instanceof SerializationError && err.cause !== undefined ? err.cause : err;
  // What structured clone said, unless the part was named by what it threw (a getter) or its depth.
  const said = / threw: |nested too deeply/.test(where) || cause === undefined ? '' : ` (${messageOf(cause)})`;
  return new SerializationError(`cannot send ${where}${said}`, at < 0 ? where : where.slice(0, at), { cause });
}

/**
 * The SerializationError for `value` (named `root`) that failed to encode with `err`, naming the path
 * of the part at fault (`obj.g`, `obj.list[3]`). An error that already names a path is kept.
 */
export function unsendable(value: unknown, root: string, err: unknown): SerializationError {
  if (err instanceof SerializationError && err.path !== '') return err;
  return sendError(findUnsendable(value, root) ?? `${root}: ${messageOf(err)}`, err);
}
