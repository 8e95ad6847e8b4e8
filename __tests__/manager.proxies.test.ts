/** Every proxy method against a real manager server process, with Python's semantics and errors. */
import { inspect } from 'node:util';
import {
  Manager, DictProxy, ListProxy, KeyError, IndexError, ValueError, AttributeError,
  SemaphoreProxy, BoundedSemaphoreProxy, QueueProxy, JoinableQueueProxy,
} from '../primitives/manager/index.js';
import { call } from '../primitives/manager/proxy-base.js';
import { Process } from '../lib/process.js';
import { Event } from '../primitives/synchronize.js';
import { BrokenBarrierError, ConnectionClosedError, Empty, Full, LockStateError } from '../lib/base/errors.js';

let m: Manager;
beforeAll(async () => {
  m = await Manager.start();
});
afterAll(async () => {
  await m.shutdown();
});

describe('DictProxy', () => {
  test('get/set/has/delete/size/keys/values/entries/copy', async () => {
    const d = await m.dict<any>({ a: 1 });
    expect(d).toBeInstanceOf(DictProxy);
    await d.set('b', 2);
    await d.set(1, 'one');
    expect(await d.get('a')).toBe(1);
    expect(await d.get('zz')).toBeUndefined();
    expect(await d.get('zz', 7)).toBe(7);
    expect(await d.get(1)).toBe('one');
    expect(await d.get('1')).toBeUndefined(); // 1 and '1' are different keys, as in Python
    expect(await d.has('b')).toBe(true);
    expect(await d.size()).toBe(3);
    expect(await d.keys()).toEqual(['a', 'b', 1]);
    expect(await d.values()).toEqual([1, 2, 'one']);
    expect(await d.entries()).toEqual([['a', 1], ['b', 2], [1, 'one']]);
    expect(await d.items()).toEqual(await d.entries());
    expect(await d.delete('b')).toBe(true);
    expect(await d.delete('b')).toBe(false);
    expect(await d.copy()).toEqual({ a: 1, 1: 'one' });
    const keys: unknown[] = [];
    for await (const k of d) keys.push(k);
    expect(keys).toEqual(['a', 1]);
  });

  test('init from pairs or a Map; update; setdefault; pop; popitem; clear', async () => {
    const d = await m.dict<any>([['x', 1], ['y', 2]]);
    await d.update({ z: 3 });
    await d.update(new Map([['w', 4]]));
    await d.update([['v', 5]]);
    expect(await d.size()).toBe(5);
    expect(await d.setdefault('x', 100)).toBe(1);
    expect(await d.setdefault('n', 100)).toBe(100);
    expect(await d.get('n')).toBe(100);
    expect(await d.pop('x')).toBe(1);
    expect(await d.pop('x', 'dflt')).toBe('dflt');
    expect(await d.pop('x', undefined)).toBeUndefined();
    await expect(d.pop('x')).rejects.toBeInstanceOf(KeyError);
    await expect(d.pop('x')).rejects.toThrow("'x'");
    expect(await d.popitem()).toEqual(['n', 100]);
    await d.clear();
    expect(await d.size()).toBe(0);
    await expect(d.popitem()).rejects.toBeInstanceOf(KeyError);
  });

  test('getItem/delItem raise KeyError; bad keys and bad update inputs are TypeErrors', async () => {
    const d = await m.dict();
    await expect(d.getItem('nope')).rejects.toMatchObject({ name: 'KeyError', code: 'ERR_KEY' });
    await expect(d.delItem('nope')).rejects.toBeInstanceOf(KeyError);
    await expect(d.set({} as any, 1)).rejects.toThrow(TypeError);
    await expect(d.set({} as any, 1)).rejects.toThrow(/keys must be strings or numbers/);
    await expect(d.update(42 as any)).rejects.toThrow(TypeError);
    await expect(m.dict([[1, 2, 3]] as any)).rejects.toThrow(/not a \[key, value\] pair/);
  });

  test('values keep their type (Map, Date, bigint, nested objects)', async () => {
    const d = await m.dict();
    const v = { m: new Map([[1, 2]]), when: new Date(5), big: 10n ** 20n, nested: { a: [1, { b: 2 }] }, u: undefined };
    await d.set('v', v);
    const back = await d.get('v');
    // (v8 decodes into Node's own realm, so compare fields rather than prototypes under Jest's VM)
    expect(back.m.get(1)).toBe(2);
    expect(back.when.getTime()).toBe(5);
    expect(back.big).toBe(10n ** 20n);
    expect(JSON.stringify(back.nested)).toBe(JSON.stringify(v.nested));
    expect('u' in back && back.u === undefined).toBe(true);
  });

  test('atomic increment / modify / compareAndSet', async () => {
    const d = await m.dict<any>({ n: 10 });
    expect(await d.increment('n')).toBe(11);
    expect(await d.increment('n', -5)).toBe(6);
    expect(await d.increment('fresh', 2)).toBe(2); // a missing key counts from 0
    expect(await d.modify('n', '*', 7)).toBe(42);
    expect(await d.modify('n', '//', 5)).toBe(8);
    expect(await d.modify('n', '%', -3)).toBe(-1); // Python's sign rule
    expect(await d.modify('n', 'max', 3)).toBe(3);
    await expect(d.modify('missing', '+', 1)).rejects.toBeInstanceOf(KeyError);
    await expect(d.modify('n', 'eval' as any, 1)).rejects.toThrow(/unknown operator/);
    await d.set('s', 'ab');
    expect(await d.modify('s', '+', 'c')).toBe('abc');
    await expect(d.increment('s')).rejects.toThrow(TypeError);
    expect(await d.compareAndSet('n', 3, 4)).toBe(true);
    expect(await d.compareAndSet('n', 3, 5)).toBe(false);
    expect(await d.get('n')).toBe(4);
    await d.set('big', 1n);
    expect(await d.increment('big', 2n)).toBe(3n);
  });
});

describe('ListProxy', () => {
  test('get/set with negative indices; IndexError out of range', async () => {
    const l = await m.list([1, 2, 3]);
    expect(l).toBeInstanceOf(ListProxy);
    expect(await l.get(0)).toBe(1);
    expect(await l.get(-1)).toBe(3);
    await l.set(-2, 20);
    expect(await l.copy()).toEqual([1, 20, 3]);
    await expect(l.get(3)).rejects.toBeInstanceOf(IndexError);
    await expect(l.get(-4)).rejects.toThrow('list index out of range');
    await expect(l.set(5, 1)).rejects.toThrow('list assignment index out of range');
    await expect(l.get(1.5)).rejects.toThrow(TypeError);
  });

  test('append/extend/insert/pop/remove/index/count/length/slice/reverse/clear/delete', async () => {
    const l = await m.list<any>();
    await l.append(1);
    await l.extend([2, 3, 2]);
    await l.insert(0, 0);
    await l.insert(-1, 'x'); // before the last, as Python
    await l.insert(100, 'end'); // clamped
    expect(await l.copy()).toEqual([0, 1, 2, 3, 'x', 2, 'end']);
    expect(await l.length()).toBe(7);
    expect(await l.pop()).toBe('end');
    expect(await l.pop(0)).toBe(0);
    expect(await l.pop(-2)).toBe('x');
    await expect(l.pop(10)).rejects.toThrow('pop index out of range');
    expect(await l.index(2)).toBe(1);
    expect(await l.index(2, 2)).toBe(3);
    await expect(l.index(2, 2, 3)).rejects.toBeInstanceOf(ValueError);
    await expect(l.index(99)).rejects.toThrow('99 is not in list');
    expect(await l.count(2)).toBe(2);
    await l.remove(2);
    expect(await l.copy()).toEqual([1, 3, 2]);
    await expect(l.remove(42)).rejects.toThrow('list.remove(x): x not in list');
    expect(await l.slice(1)).toEqual([3, 2]);
    expect(await l.slice(-2, -1)).toEqual([3]);
    await l.reverse();
    expect(await l.copy()).toEqual([2, 3, 1]);
    await l.delete(0);
    expect(await l.copy()).toEqual([3, 1]);
    await l.clear();
    await expect(l.pop()).rejects.toThrow('pop from empty list');
    await expect(l.pop()).rejects.toBeInstanceOf(IndexError);
    await expect(l.extend(5 as any)).rejects.toThrow(TypeError);
  });

  test('structural equality for remove/index/count, as Python ==', async () => {
    const l = await m.list<any>([{ a: [1] }, [1, 2], { a: [1] }]);
    expect(await l.count({ a: [1] })).toBe(2);
    expect(await l.index([1, 2])).toBe(1);
    await l.remove({ a: [1] });
    expect(await l.length()).toBe(2);
  });

  test('sort: Python ordering, reverse, stable; mixed types refused and the list untouched', async () => {
    const l = await m.list<any>([3, 1, 2]);
    await l.sort();
    expect(await l.copy()).toEqual([1, 2, 3]);
    await l.sort({ reverse: true });
    expect(await l.copy()).toEqual([3, 2, 1]);
    const s = await m.list(['b', 'a', 'c']);
    await s.sort();
    expect(await s.copy()).toEqual(['a', 'b', 'c']);
    const t = await m.list([[2, 'a'], [1, 'b'], [1, 'a']]);
    await t.sort();
    expect(await t.copy()).toEqual([[1, 'a'], [1, 'b'], [2, 'a']]);
    const mixed = await m.list<any>([1, 'a', 2]);
    await expect(mixed.sort()).rejects.toThrow(/'<' not supported/);
    expect(await mixed.copy()).toEqual([1, 'a', 2]);
    await expect(mixed.sort({ key: (x: any) => x } as any)).rejects.toThrow(/key functions/);
    await expect(mixed.sort({ key: 'x' } as any)).rejects.toThrow(/key functions/);
  });

  test('atomic increment/modify/compareAndSet; async iteration', async () => {
    const l = await m.list([1, 2]);
    expect(await l.increment(0)).toBe(2);
    expect(await l.increment(-1, 10)).toBe(12);
    expect(await l.modify(0, '**', 3)).toBe(8);
    expect(await l.compareAndSet(1, 12, 0)).toBe(true);
    await expect(l.increment(5)).rejects.toBeInstanceOf(IndexError);
    const seen: number[] = [];
    for await (const x of l) seen.push(x);
    expect(seen).toEqual([8, 0]);
  });
});

describe('Namespace', () => {
  test('attributes read and write naturally, and through get/set', async () => {
    const ns = await m.Namespace({ a: 1 });
    expect(await ns.a).toBe(1);
    ns.x = 5;
    ns.y = { deep: [1] };
    expect(await ns.x).toBe(5); // the assignment travels before this read
    expect(await ns.get('y')).toEqual({ deep: [1] });
    await ns.set('z', 'zz');
    expect(await ns.z).toBe('zz');
    expect(await ns.has('z')).toBe(true);
    expect((await ns.keys()).sort()).toEqual(['a', 'x', 'y', 'z']);
    delete ns.z;
    expect(await ns.has('z')).toBe(false);
    await ns.delete('y');
    expect(await ns.toObject()).toEqual({ a: 1, x: 5 });
    expect(await ns.increment('x', 2)).toBe(7);
    await expect(ns.missing).rejects.toBeInstanceOf(AttributeError);
    await expect(ns.get('missing')).rejects.toThrow("'Namespace' object has no attribute 'missing'");
    await expect(ns.delete('missing')).rejects.toBeInstanceOf(AttributeError);
    expect(() => {
      ns.f = () => 1;
    }).toThrow(TypeError);
  });
});

describe('Value and Array', () => {
  test('Value: typecodes, wrapping like ctypes, bigint codes, atomic ops', async () => {
    const v = await m.Value('i', 5);
    expect(await v.get()).toBe(5);
    expect(await v.value).toBe(5);
    await v.set(7);
    expect(await v.increment(3)).toBe(10);
    v.value = 11;
    expect(await v.get()).toBe(11);
    await expect(v.set(1.5)).rejects.toThrow(/int expected/);
    const b = await m.Value('b', 127);
    expect(await b.increment()).toBe(-128);
    const q = await m.Value('q', 5);
    expect(await q.get()).toBe(5n);
    expect(await q.increment(2n)).toBe(7n);
    const d = await m.Value('d', 0.5);
    expect(await d.modify('*', 3)).toBe(1.5);
    expect(await d.compareAndSet(1.5, 2)).toBe(true);
    await expect(m.Value('z' as any, 1)).rejects.toThrow(/unsupported typecode 'z'/);
  });

  test("Value('l'/'L'/'q'/'Q') is 64-bit and reads as bigint, as the shared-memory Value", async () => {
    for (const code of ['l', 'L', 'q', 'Q'] as const) {
      const v = await m.Value(code, 2 ** 40 + 1);
      expect(await v.get()).toBe(BigInt(2 ** 40 + 1));
    }
    const l = await m.Value('l', -1);
    expect(await l.get()).toBe(-1n);
    const a = await m.Array('L', [2 ** 40]);
    expect(await a.get(0)).toBe(2n ** 40n);
  });

  test('Array: size or init, get/set/length/slice/copy, IndexError', async () => {
    const a = await m.Array('i', [1, 2, 3]);
    expect(await a.get(-1)).toBe(3);
    await a.set(0, 10);
    expect(await a.length()).toBe(3);
    expect(Array.from(await a.copy())).toEqual([10, 2, 3]);
    expect(Array.from(await a.slice(1))).toEqual([2, 3]);
    expect(await a.increment(1, 5)).toBe(7);
    await expect(a.get(3)).rejects.toBeInstanceOf(IndexError);
    const z = await m.Array('d', 4);
    expect(Array.from(await z.copy())).toEqual([0, 0, 0, 0]);
    await expect(m.Array('i', -1)).rejects.toThrow(RangeError);
  });
});

describe('sync proxies', () => {
  test('Lock: acquire/release/locked, non-blocking and timed acquire, release unlocked', async () => {
    const lock = await m.Lock();
    expect(await lock.acquire()).toBe(true);
    expect(await lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(await lock.acquire(true, 30)).toBe(false);
    expect(await lock.acquire(true, -5)).toBe(false);
    await lock.release();
    await expect(lock.release()).rejects.toBeInstanceOf(LockStateError);
    const held: any = await lock.hold();
    expect(await lock.locked()).toBe(true);
    // Jest's VM lacks Symbol.asyncDispose, so find the dispose method by shape
    const dispose = [...Object.getOwnPropertySymbols(held).map((k) => held[k]), ...Object.values(held)][0];
    await dispose();
    expect(await lock.locked()).toBe(false);
  });

  test('Lock: a waiter is granted the lock on release, in FIFO order', async () => {
    const lock = await m.Lock();
    await lock.acquire();
    const order: number[] = [];
    const w1 = lock.acquire().then(() => order.push(1));
    const w2 = lock.acquire().then(() => order.push(2));
    await lock.locked(); // both acquires reached the server before this
    await lock.release();
    await w1;
    await lock.release();
    await w2;
    expect(order).toEqual([1, 2]);
    await lock.release();
  });

  test('RLock: re-entrant; LockStateError when not owned', async () => {
    const r = await m.RLock();
    await expect(r.release()).rejects.toBeInstanceOf(LockStateError);
    expect(await r.acquire()).toBe(true);
    expect(await r.acquire()).toBe(true);
    await r.release();
    expect(await r.locked()).toBe(true);
    await r.release();
    expect(await r.locked()).toBe(false);
  });

  test('Semaphore and BoundedSemaphore', async () => {
    const s = await m.Semaphore(2);
    expect(await s.acquire()).toBe(true);
    expect(await s.acquire()).toBe(true);
    expect(await s.acquire(false)).toBe(false);
    expect(await s.getValue()).toBe(0);
    await s.release(2);
    expect(await s.getValue()).toBe(2);
    const b = await m.BoundedSemaphore(1);
    await expect(b.release()).rejects.toBeInstanceOf(LockStateError);
    await expect(b.release()).rejects.toThrow(/released too many times/);
    await expect(m.Semaphore(-1)).rejects.toThrow(RangeError);
  });

  test('Event: set/clear/isSet/wait with timeout', async () => {
    const e = await m.Event();
    expect(await e.isSet()).toBe(false);
    expect(await e.wait(20)).toBe(false);
    const waiting = e.wait();
    await e.set();
    expect(await waiting).toBe(true);
    expect(await e.isSet()).toBe(true);
    await e.clear();
    expect(await e.wait(0)).toBe(false);
  });

  test('Condition: timed wait re-acquires; waitFor; over a given Lock; misuse is LockStateError', async () => {
    const c = await m.Condition();
    await expect(c.notify()).rejects.toBeInstanceOf(LockStateError);
    await expect(c.notifyAll()).rejects.toBeInstanceOf(LockStateError);
    await expect(c.wait(10)).rejects.toBeInstanceOf(LockStateError);
    await c.acquire();
    expect(await c.wait(20)).toBe(false); // timed out, lock re-acquired
    expect(await c.locked()).toBe(true);
    await c.notify(); // still owned: no error, nobody waiting
    expect(await c.waitFor(() => 'now')).toBe('now');
    expect(await c.waitFor(() => 0, 30)).toBe(0);
    await c.release();
    const lock = await m.Lock();
    const c2 = await m.Condition(lock);
    await c2.acquire();
    expect(await lock.locked()).toBe(true);
    await c2.release();
    expect(await lock.locked()).toBe(false);
    await expect(m.Condition((await m.dict()) as any)).rejects.toThrow(/must be a Lock or RLock/);
  });

  test('Barrier: indices, parties/nWaiting/broken, timeout breaks it, reset, abort', async () => {
    const b = await m.Barrier(2);
    expect(await b.parties).toBe(2);
    const first = b.wait();
    expect(await b.nWaiting).toBe(1);
    const second = await b.wait();
    expect(second).toBe(1);
    expect(await first).toBe(0);
    await expect(b.wait(20)).rejects.toBeInstanceOf(BrokenBarrierError);
    expect(await b.broken).toBe(true);
    await expect(b.wait()).rejects.toBeInstanceOf(BrokenBarrierError);
    await b.reset();
    expect(await b.broken).toBe(false);
    const w = b.wait();
    await b.abort();
    await expect(w).rejects.toBeInstanceOf(BrokenBarrierError);
    await expect(m.Barrier(2, (() => 1) as any)).rejects.toThrow(/cannot run an action/);
  });

  test('Queue: FIFO, Empty/Full, blocking get woken by put, timeouts', async () => {
    const q = await m.Queue<number>(2);
    await q.put(1);
    await q.putNowait(2);
    expect(await q.full()).toBe(true);
    expect(await q.qsize()).toBe(2);
    await expect(q.put(3, false)).rejects.toBeInstanceOf(Full);
    await expect(q.put(3, true, 20)).rejects.toBeInstanceOf(Full);
    const blockedPut = q.put(3);
    expect(await q.get()).toBe(1);
    await blockedPut;
    expect(await q.get()).toBe(2);
    expect(await q.getNowait()).toBe(3);
    expect(await q.empty()).toBe(true);
    await expect(q.getNowait()).rejects.toBeInstanceOf(Empty);
    await expect(q.get(true, 20)).rejects.toBeInstanceOf(Empty);
    const waiting = q.get();
    await q.put(4);
    expect(await waiting).toBe(4);
  });

  test('JoinableQueue: taskDone/join; too many taskDone is ValueError', async () => {
    const q = await m.JoinableQueue();
    await q.join();
    await q.put('a');
    let joined = false;
    const j = q.join().then(() => (joined = true));
    expect(await q.get()).toBe('a');
    expect(joined).toBe(false);
    await q.taskDone();
    await j;
    expect(joined).toBe(true);
    await expect(q.taskDone()).rejects.toBeInstanceOf(ValueError);
  });
});

describe('proxies of proxies, display, errors', () => {
  test('a dict holding a list proxy, a list holding a Queue proxy: references to the server objects', async () => {
    const d = await m.dict();
    const l = await m.list([1]);
    const q = await m.Queue();
    await d.set('l', l);
    await d.set('nested', { deep: [l] });
    const back = await d.get('l');
    expect(back).toBeInstanceOf(ListProxy);
    await back.append(2);
    expect(await l.copy()).toEqual([1, 2]); // the same object
    const deep = await d.get('nested');
    expect(await deep.deep[0].length()).toBe(2);
    const holder = await m.list();
    await holder.append(q);
    await (await holder.get(0)).put('via list');
    expect(await q.get()).toBe('via list');
    const ns = await m.Namespace();
    await d.set('ns', ns);
    (await d.get('ns')).x = 1;
    expect(await ns.x).toBe(1);
  });

  test('toString / inspect show what a proxy is', async () => {
    const d = await m.dict();
    const text = String(d);
    expect(text).toMatch(/^<DictProxy id=\d+ at .+>$/);
    expect(inspect(d)).toBe(text);
    expect(String(await m.Lock())).toMatch(/^<LockProxy id=\d+ at /);
    expect(String(m)).toContain(`pid=${m.pid}`);
  });

  test('unserializable values are refused with a clear error, and the connection keeps working', async () => {
    const d = await m.dict();
    await expect(d.set('f', (() => 1) as any)).rejects.toThrow(/could not be cloned|serializ/i);
    await d.set('ok', 1);
    expect(await d.get('ok')).toBe(1);
  });

  test('a proxy of another manager cannot be stored', async () => {
    const other = await Manager.start();
    try {
      const foreign = await other.list();
      const d = await m.dict();
      await expect(d.set('x', foreign)).rejects.toThrow(/another manager/);
    } finally {
      await other.shutdown();
    }
    const d = await other.dict().catch((e) => e);
    expect(d).toBeInstanceOf(ConnectionClosedError);
  });

  test('only the declared methods reach the server object: internals, abandon and other types\' methods are refused', async () => {
    const q = await m.Queue();
    await expect(call(q, 'taskDone', [])).rejects.toThrow(/Queue has no method "taskDone"/);
    await expect(call(q, 'abandon', ['someone', true])).rejects.toThrow(/Queue has no method "abandon"/);
    const lock = await m.Lock();
    await expect(call(lock, 'core', [])).rejects.toThrow(/Lock has no method "core"/);
    const d = await m.dict({ a: 1 });
    await expect(call(d, 'map', [])).rejects.toThrow(/dict has no method "map"/);
    await expect(call(d, 'constructor', [])).rejects.toThrow(/has no method "constructor"/);
    await expect(call(d, 'toString', [])).rejects.toThrow(/has no method "toString"/);
    // each refusal failed that call only
    expect(await d.getItem('a')).toBe(1);
    expect(await lock.acquire()).toBe(true);
  });

  test('a declared type: one generated method per exposed name, named after its type id', () => {
    expect(DictProxy.name).toBe('DictProxy');
    expect(DictProxy.kind).toBe('dict');
    expect(typeof DictProxy.prototype.compareAndSet).toBe('function');
    expect(Object.getPrototypeOf(BoundedSemaphoreProxy.prototype)).toBe(SemaphoreProxy.prototype);
    expect(JoinableQueueProxy.prototype).toBeInstanceOf(QueueProxy);
  });

  test('numberOfObjects counts hosted objects', async () => {
    const before = await m.numberOfObjects();
    await m.dict();
    expect(await m.numberOfObjects()).toBe(before + 1);
  });
});

test('a keywords object where `block` goes (acquire({ timeout }) ported from Python) is a TypeError, not a wait forever', async () => {
  const lock = await m.Lock();
  await lock.acquire();
  await expect(lock.acquire({ timeout: 10 } as any)).rejects.toThrow(/block must be a boolean/);
  const sem = await m.Semaphore(0);
  await expect(sem.acquire({ timeout: 10 } as any)).rejects.toThrow(/block must be a boolean/);
  const q = await m.Queue();
  await expect(q.get({ timeout: 10 } as any)).rejects.toThrow(/block must be a boolean/);
  await lock.release();
});

test('an assignment leaves at once: a reader woken while this thread never yields sees it', async () => {
  // PyMOTW's namespaces program writes `ns.value = v; event.set()`, and another process reads after the
  // event. An assignment waits for no reply, but it must leave before the thread goes on: here this thread
  // blocks (waitSync) right after the signal, so an assignment kept for the end of the tick would reach
  // the server only after the reader's call, and the reader would miss it.
  const ns = await m.Namespace();
  const v = await m.Value('i', 0);
  const go = new Event();
  const done = new Event();
  const seen = await m.list();
  const reader = new Process({
    target: async (n: any, val: any, g: Event, d: Event, out: any) => {
      await g.wait();
      let x: unknown;
      try {
        x = await n.value;
      } catch (err) {
        x = String(err);
      }
      await out.extend([x, await val.value]);
      d.set();
    },
    args: [ns, v, go, done, seen],
    runtime: 'thread',
  });
  reader.start();
  ns.value = 'This is the value';
  v.value = 7;
  go.set();
  expect(done.waitSync(20_000)).toBe(true);
  await reader.join();
  expect(reader.exitCode).toBe(0);
  expect(await seen.copy()).toEqual(['This is the value', 7]);
});
