// CPython's Lib/test/_test_multiprocessing.py, _TestContainers, _TestMyManager and TestSyncManagerTypes,
// ported as a newcomer would: every proxy call is awaited (a round trip to the manager process).
import { Manager, Process, task, KeyError, IndexError, AttributeError, Empty, Full, LockStateError } from '../lib/python.js';
import { call } from '../primitives/manager/proxy-base.js';
import { fixture, runtimes } from './helpers/runtimes.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('_TestContainers', () => {
  let manager: Manager;
  beforeAll(async () => {
    manager = await Manager.start();
  });
  afterAll(() => manager.shutdown());

  test('test_list', async () => {
    const a = await manager.list<number | string>(range(10));
    expect(await a.slice()).toEqual(range(10)); // a[:]
    const b = await manager.list();
    expect(await b.slice()).toEqual([]);
    await b.extend(range(5));
    expect(await b.slice()).toEqual(range(5));
    expect(await b.get(2)).toBe(2);
    expect(await b.slice(2, 10)).toEqual([2, 3, 4]);
    await b.extend(await b.slice()); // b *= 2
    expect(await b.slice()).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect([...(await b.slice()), 5, 6]).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6]); // b + [5, 6]
    expect(await a.slice()).toEqual(range(10));
    const e = await manager.list([a, b]); // a list of proxies
    const elements = [];
    for (let i = 0; i < (await e.length()); i++) elements.push(await ((await e.get(i)) as any).slice());
    expect(elements).toEqual([range(10), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]]);
    const f = await manager.list([a]);
    await a.append('hello');
    expect(await ((await f.get(0)) as any).slice()).toEqual([...range(10), 'hello']);
  });

  test('test_list_iter: for await iterates a snapshot', async () => {
    const a = await manager.list(range(10));
    const seen: unknown[] = [];
    for await (const x of a as any) seen.push(x);
    expect(seen).toEqual(range(10));
  });

  test('test_list_proxy_in_list', async () => {
    const a = await manager.list([await manager.list(range(3)), await manager.list(range(3)), await manager.list(range(3))]);
    const inner = async (i: number): Promise<any> => a.get(i);
    for (let i = 0; i < 3; i++) expect(await (await inner(i)).slice()).toEqual([0, 1, 2]);
    await (await inner(0)).set(-1, 55); // a[0][-1] = 55
    expect(await (await inner(0)).slice()).toEqual([0, 1, 55]);
    for (let i = 1; i < 3; i++) expect(await (await inner(i)).slice()).toEqual([0, 1, 2]);
    expect(await (await inner(1)).pop()).toBe(2);
    expect(await (await inner(1)).length()).toBe(2);
    for (const i of [0, 2]) expect(await (await inner(i)).length()).toBe(3);
    const b = await manager.list();
    await b.append(b); // a list holding itself
    expect(await b.length()).toBe(1);
  });

  test('test_dict', async () => {
    const d = await manager.dict();
    const indices = range(5).map((i) => i + 65);
    for (const i of indices) await d.set(i, String.fromCharCode(i));
    expect(await d.copy()).toEqual(Object.fromEntries(indices.map((i) => [i, String.fromCharCode(i)])));
    expect((await d.keys()).sort()).toEqual(indices);
    expect((await d.values()).sort()).toEqual(indices.map((i) => String.fromCharCode(i)));
    expect((await d.items()).sort()).toEqual(indices.map((i) => [i, String.fromCharCode(i)]));
    const keys: unknown[] = [];
    for await (const k of d as any) keys.push(k); // iter(d)
    expect(keys).toEqual(indices);
  });

  test('test_dict_proxy_nested', async () => {
    const pets = await manager.dict({ ferrets: 2, hamsters: 4 });
    const supplies = await manager.dict({ water: 10, feed: 3 });
    const d = await manager.dict({ pets, supplies });
    const dsupplies = async (): Promise<any> => d.get('supplies');
    expect(await supplies.get('water')).toBe(10);
    expect(await (await dsupplies()).get('water')).toBe(10);
    await (await dsupplies()).set('blankets', 5);
    expect(await supplies.get('blankets')).toBe(5);
    expect(await (await dsupplies()).get('blankets')).toBe(5);
    await (await dsupplies()).set('water', 7);
    expect(await supplies.get('water')).toBe(7);
    expect(await (await dsupplies()).get('water')).toBe(7);
    expect(await ((await d.get('pets')) as any).get('ferrets')).toBe(2);
    await d.clear();
    expect(await d.size()).toBe(0);
    expect(await supplies.get('water')).toBe(7);
    expect(await pets.get('hamsters')).toBe(4);
    const l = await manager.list([pets, supplies]);
    await ((await l.get(0)) as any).set('marmots', 1);
    expect(await pets.get('marmots')).toBe(1);
    expect(await ((await l.get(0)) as any).get('marmots')).toBe(1);
    const outer = await manager.list([[88, 99], l]);
    expect(Array.isArray(await outer.get(0))).toBe(true); // not a ListProxy
    expect(await ((await ((await outer.get(-1)) as any).get(-1)) as any).get('feed')).toBe(3);
  });

  test('test_nested_queue', async () => {
    const a = await manager.list(); // a queue inside a list
    await a.append(await manager.Queue());
    await ((await a.get(0)) as any).put(123);
    expect(await ((await a.get(0)) as any).get()).toBe(123);
    const b = await manager.dict(); // a queue inside a dict
    await b.set(0, await manager.Queue());
    await ((await b.get(0)) as any).put(456);
    expect(await ((await b.get(0)) as any).get()).toBe(456);
  });

  test('test_namespace', async () => {
    const n: any = await manager.Namespace();
    n.name = 'Bob';
    n.job = 'Builder';
    n._hidden = 'hidden';
    expect([await n.name, await n.job]).toEqual(['Bob', 'Builder']);
    delete n.job;
    await expect(n.job).rejects.toThrow(AttributeError);
    expect(await n.name).toBe('Bob');
  });

  test('errors keep Python\'s classes: KeyError, IndexError, ValueError', async () => {
    const d = await manager.dict();
    await expect(d.getItem('missing')).rejects.toThrow(KeyError);
    const l = await manager.list([1]);
    await expect(l.get(5)).rejects.toThrow(IndexError);
    await expect(l.remove(99)).rejects.toThrow(/not in list/);
  });
});

class MyManager extends Manager {}
MyManager.register('Foo', task(fixture('cpython-foobar.ts'), 'FooBar'));
MyManager.register('Bar', task(fixture('cpython-foobar.ts'), 'FooBar'), { exposed: ['f', '_h'] });

describe('_TestMyManager', () => {
  async function common(manager: MyManager) {
    const foo: any = await manager.create('Foo');
    const bar: any = await manager.create('Bar');
    expect(['f', 'g', '_h'].filter((name) => typeof foo[name] === 'function')).toEqual(['f', 'g']);
    expect(['f', 'g', '_h'].filter((name) => typeof bar[name] === 'function')).toEqual(['f', '_h']);
    expect(await foo.f()).toBe('f()');
    await expect(foo.g()).rejects.toThrow(RangeError);
    expect(await call(foo, 'f', [])).toBe('f()'); // foo._callmethod('f')
    await expect(call(foo, '_h', [])).rejects.toThrow(); // RemoteError in Python
    expect(await bar.f()).toBe('f()');
    expect(await bar._h()).toBe('_h()');
  }

  test('test_mymanager', async () => {
    const manager = await MyManager.start();
    await common(manager);
    await manager.shutdown();
  });

  test('MyManager() + manager.start(), ported literally from JavaScript: a TypeError that says how', () => {
    expect(() => new (MyManager as any)()).toThrow(/await Manager\.start/);
  });

  test('test_mymanager_context', async () => {
    await using manager = await MyManager.start();
    await common(manager);
  });
});

describe.each(runtimes)('TestSyncManagerTypes (%s)', (runtime) => {
  let manager: Manager;
  beforeAll(async () => {
    manager = await Manager.start();
  });
  afterAll(() => manager.shutdown());

  /** run_worker(worker, obj): a child uses the proxy and must exit 0. */
  async function runWorker(worker: (obj: any) => unknown, obj: unknown) {
    const proc = new Process({ target: worker, args: [obj], runtime, daemon: true });
    proc.start();
    await proc.join();
    expect(proc.exitcode).toBe(0);
  }

  test('test_event', async () => {
    const o = await manager.Event();
    await o.set();
    await runWorker(async (obj: any) => {
      if (!(await obj.is_set())) throw new Error('not set');
      await obj.wait();
      await obj.clear();
      await obj.wait(1);
    }, o);
    expect(await o.is_set()).toBe(false);
    expect(await o.wait(1)).toBe(false);
  });

  test.each(['Lock', 'RLock'] as const)('test_lock / test_rlock (%s)', async (lname) => {
    const o = await manager[lname]();
    await runWorker(async (obj: any) => {
      await obj.acquire();
      await obj.locked();
    }, o);
    if (lname === 'Lock') {
      await o.release();
      await expect(o.release()).rejects.toThrow(LockStateError); // RuntimeError: already released
    } else {
      // An RLock whose owner ended is released, once the server sees that client's connection close.
      // The parent can learn of the exit first, so it waits for the release by acquiring (bounded).
      expect(await o.acquire(true, 10_000)).toBe(true);
      await o.release();
      expect(await o.locked()).toBe(false);
    }
  });

  test.each(['Semaphore', 'BoundedSemaphore'] as const)('test_semaphore (%s)', async (sname) => {
    const o = await manager[sname]();
    await runWorker(async (obj: any) => {
      await obj.acquire();
    }, o);
    await o.release();
  });

  test('test_condition', async () => {
    const o = await manager.Condition();
    await runWorker(async (obj: any) => {
      await obj.acquire();
      await obj.release();
    }, o);
  });

  test('test_barrier', async () => {
    const o = await manager.Barrier(5);
    await runWorker(async (obj: any) => {
      if ((await obj.parties) !== 5) throw new Error('parties');
      await obj.reset();
    }, o);
  });

  test.each(['Queue', 'JoinableQueue'] as const)('test_queue (%s)', async (qname) => {
    const o = await manager[qname](2);
    await o.put(5);
    await o.put(6);
    await runWorker(async (obj: any) => {
      const check = (ok: boolean, what: string) => { if (!ok) throw new Error(what); };
      check((await obj.qsize()) === 2, 'qsize');
      check(await obj.full(), 'full');
      check(!(await obj.empty()), 'empty');
      check((await obj.get()) === 5, 'get 5');
      check(!(await obj.empty()), 'empty');
      check((await obj.get()) === 6, 'get 6');
      check(await obj.empty(), 'empty at the end');
    }, o);
    expect(await o.empty()).toBe(true);
    expect(await o.full()).toBe(false);
    await expect(o.get(false)).rejects.toThrow(Empty);
    await o.put(1);
    await o.put(2);
    await expect(o.put(3, { timeout: 10 } as any)).rejects.toThrow(Full); // put(3, timeout=0.01)
  });

  test('keywords: manager.Barrier(2, timeout=0.05) and manager.Queue(maxsize=1)', async () => {
    const b = await manager.Barrier(2, { timeout: 50 });
    await expect(b.wait()).rejects.toThrow(/broken|Barrier/i); // the timeout was dropped before: a wait forever
    expect(await b.broken).toBe(true);
    await expect(manager.Barrier(2, { actoin: null } as any)).rejects.toThrow(/unexpected keyword argument 'actoin'/);
    const q = await manager.Queue({ maxsize: 1 });
    await q.put(1);
    expect(await q.full()).toBe(true);
  });

  test('test_list', async () => {
    const o = await manager.list();
    await o.append(5);
    await runWorker(async (obj: any) => {
      const check = (ok: boolean, what: string) => { if (!ok) throw new Error(what); };
      check((await obj.get(0)) === 5, 'obj[0]');
      check((await obj.count(5)) === 1, 'count');
      check((await obj.index(5)) === 0, 'index');
      await obj.extend([7]); // obj += [7]
      check(JSON.stringify(await obj.slice()) === '[5,7]', 'list(obj)');
      await obj.extend(await obj.slice()); // obj *= 2
      check(JSON.stringify(await obj.copy()) === '[5,7,5,7]', 'copy');
      const double = [...(await obj.slice()), ...(await obj.slice())];
      await obj.extend([...double, ...(await obj.copy())]);
      await obj.sort();
      await obj.reverse();
      check((await obj.length()) === 16, 'len');
      check((await obj.pop(0)) === 7, 'pop(0)');
      await obj.clear();
      check((await obj.length()) === 0, 'clear');
    }, o);
    expect(await o.length()).toBe(0);
  });

  test('test_dict', async () => {
    const o = await manager.dict();
    await o.set('foo', 5);
    await runWorker(async (obj: any) => {
      const check = (ok: boolean, what: string) => { if (!ok) throw new Error(what); };
      check((await obj.size()) === 1, 'len');
      check((await obj.getItem('foo')) === 5, "obj['foo']");
      check((await obj.get('foo')) === 5, "get('foo')");
      check(JSON.stringify(await obj.items()) === '[["foo",5]]', 'items');
      check(JSON.stringify(await obj.keys()) === '["foo"]', 'keys');
      check(JSON.stringify(await obj.values()) === '[5]', 'values');
      check(JSON.stringify(await obj.copy()) === '{"foo":5}', 'copy');
      await obj.update({ bar: 6 }); // obj |= {'bar': 6}
      check(JSON.stringify(await obj.copy()) === '{"foo":5,"bar":6}', 'update');
      check(JSON.stringify(await obj.popitem()) === '["bar",6]', 'popitem');
      await obj.clear();
      check((await obj.size()) === 0, 'clear');
    }, o);
    expect(await o.size()).toBe(0);
  });

  test('test_namespace', async () => {
    const o: any = await manager.Namespace();
    o.x = 0;
    o.y = 1;
    await runWorker(async (obj: any) => {
      if ((await obj.x) !== 0 || (await obj.y) !== 1) throw new Error('values');
    }, o);
  });

  test('test_value / test_array', async () => {
    const v = await manager.Value('i', 0);
    await runWorker(async (obj: any) => {
      if ((await obj.get()) !== 0) throw new Error('get');
      await obj.set(1);
    }, v);
    expect(await v.get()).toBe(1);
    const a = await manager.Array('i', [0, 1]);
    await runWorker(async (obj: any) => {
      if ((await obj.length()) !== 2 || (await obj.get(0)) !== 0 || (await obj.get(1)) !== 1) throw new Error('array');
    }, a);
  });
});
