// One finder names the part of a value that cannot be sent, for every sender (pool arguments and
// results, cluster results, Pipe, Queue, Manager proxies): these are its cases, target by target.
import { serialize } from 'node:v8';
import { findUnserializable } from '../lib/base/codec/unserializable.js';

function deep(levels: number): unknown {
  let d: unknown = { end: true };
  for (let i = 0; i < levels; i++) d = { a: d };
  return d;
}

/** The least nesting the target's serializer refuses (structured clone: between 1000 and 2000 levels). */
function refusedDepth(target: 'thread' | 'process'): number {
  const refuses = (levels: number): boolean => {
    try {
      if (target === 'process') serialize(deep(levels));
      else structuredClone(deep(levels));
      return false;
    } catch {
      return true;
    }
  };
  let lo = 100;
  let hi = 100_000;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (refuses(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

describe.each(['thread', 'process'] as const)('findUnserializable (%s target)', (target) => {
  test('names a function, a symbol and a Map key or value by their path', () => {
    expect(findUnserializable([1, { cb: function named() {} }], 'args', target)).toBe('args[1].cb: function named');
    expect(findUnserializable({ s: [Symbol('x')] }, 'obj', target)).toBe('obj.s[0]: symbol');
    expect(findUnserializable(new Map([['k', () => 1]]), 'args', target)).toBe('args.get("k"): function');
    expect(findUnserializable(new Map([[() => 1, 'v']]), 'args', target)).toBe('args<key>: function');
    expect(findUnserializable(new Set([1, Symbol('y')]), 'args', target)).toBe('args<item>: symbol');
  });

  test('the first part in order is named, and a value that can be sent gives null', () => {
    expect(findUnserializable({ a: 1, b: () => 1, c: () => 2 }, 'obj', target)).toBe('obj.b: function b');
    const shared = { x: 1 };
    expect(findUnserializable({ p: shared, q: shared, d: new Date(0), r: /x/, e: new Error('e'), f: new Float64Array(3) }, 'obj', target)).toBeNull();
  });

  test('an object the serializer refuses though its parts pass is named itself', () => {
    expect(findUnserializable({ w: new WeakMap() }, 'args', target)).toBe('args.w: WeakMap object');
  });

  test('a getter that throws is named with what it threw; a Proxy whose traps throw by its path; never throws', () => {
    const getter = { ok: 1, get bad(): number { throw new Error('boom'); } };
    expect(findUnserializable({ list: [1, getter] }, 'obj', target)).toBe('obj.list[1].bad: its getter threw: boom');
    const trap = new Proxy({}, { ownKeys() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
    expect(findUnserializable({ p: trap }, 'args', target)).toBe('args.p: trap');
  });

  test('nesting too deep is named by its top-level part, whatever the depth', () => {
    expect(findUnserializable([1, deep(1e5)], 'args', target)).toMatch(/^args\[1\]: nested too deeply/);
    expect(findUnserializable(deep(1e5), 'obj', target)).toMatch(/^obj\.a: nested too deeply/);
    // deeper than structured clone follows, yet within the walk's own limit: still named as too deep
    // (it was named "Object object" by a path a thousand steps long)
    expect(findUnserializable([deep(refusedDepth(target) + 50)], 'args', target)).toMatch(/^args\[0\]: nested too deeply/);
  });
});

test('shared memory is named for a process target only', () => {
  const sab = new SharedArrayBuffer(8);
  expect(findUnserializable({ s: sab }, 'args', 'thread')).toBeNull();
  expect(findUnserializable({ s: sab }, 'args', 'process')).toBe('args.s: SharedArrayBuffer (shared memory cannot reach a process worker)');
});
