/**
 * Finds the value that structured clone refused, so the error names its path
 * (`args[1].cb: function`) instead of V8's bare "could not be cloned".
 */
import { serialize } from 'node:v8';
import type { Runtime } from './handles.js';

function cloneFails(value: unknown, target: Runtime): boolean {
  try {
    if (target === 'process') serialize(value);
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

/** Returns `path: what` for the first value below `root` that cannot cross, or null. */
export function findUnserializable(root: unknown, rootPath: string, target: Runtime): string | null {
  const seen = new Set<object>();
  const walk = (value: unknown, path: string): string | null => {
    if (typeof value === 'function' || typeof value === 'symbol') return `${path}: ${describe(value)}`;
    if (typeof value !== 'object' || value === null) return null;
    if (seen.has(value)) return null;
    seen.add(value);
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
        const hit = walk((value as any)[key], `${path}.${key}`);
        if (hit) return hit;
      }
    }
    return cloneFails(value, target) ? `${path}: ${describe(value)}` : null;
  };
  return walk(root, rootPath);
}
