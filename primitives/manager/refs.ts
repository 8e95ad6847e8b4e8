/**
 * How a proxy stored inside a value travels: as a small marker naming the server object
 * (`{ __multiproc_ref__: [kind, id] }`). The server keeps markers as they are (a dict holding a list
 * holds a reference to the list object), and the client that reads one gets a live proxy back.
 */
export const REF_KEY = '__multiproc_ref__';

export type RefMarker = { [REF_KEY]: [kind: string, id: number] };

export function isRefMarker(v: unknown): v is RefMarker {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const r = (v as any)[REF_KEY];
  return Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'number';
}

/** Realm-independent (values decoded by v8 may come from another realm, e.g. under a test VM). */
function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === null || (Object.getPrototypeOf(proto) === null && proto.constructor?.name === 'Object');
}

function isMap(v: object): v is Map<unknown, unknown> {
  return v instanceof Map || Object.prototype.toString.call(v) === '[object Map]';
}

/**
 * Maps the values inside `value` (arrays, plain objects, Map values, Set members) with `swap`
 * where it returns something other than undefined. Copies only along the path to a swapped
 * value; returns `value` itself when nothing was swapped (the common case).
 */
export function mapDeep(value: unknown, swap: (v: object) => unknown): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const swapped = swap(v);
    if (swapped !== undefined) return swapped;
    if (seen.has(v)) return v;
    seen.add(v);
    if (Array.isArray(v)) {
      let copy: unknown[] | null = null;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof item !== 'object' || item === null) continue;
        const out = walk(item);
        if (out !== item) (copy ??= v.slice())[i] = out;
      }
      return copy ?? v;
    }
    if (isMap(v)) {
      let copy: Map<unknown, unknown> | null = null;
      for (const [k, item] of v) {
        const out = walk(item);
        if (out !== item) (copy ??= new Map(v)).set(k, out);
      }
      return copy ?? v;
    }
    if (!isPlainObject(v)) return v;
    let copy: Record<string, unknown> | null = null;
    for (const key of Object.keys(v)) {
      const item = (v as any)[key];
      if (typeof item !== 'object' || item === null) continue;
      const out = walk(item);
      if (out !== item) (copy ??= { ...(v as object) } as Record<string, unknown>)[key] = out;
    }
    return copy ?? v;
  };
  return walk(value);
}
