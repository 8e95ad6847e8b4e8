import { Pool, task, PoolStateError, TimeoutError, NotReadyError, RemoteError, SerializationError, AsyncResult } from '../lib/index.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimes, fixture } from './helpers/runtimes.js';
import { within } from './helpers/programs.js';

const square = task<(x: number) => number>(fixture('pool-tasks.ts'), 'square');
const slowSquare = task<(x: number, ms: number) => Promise<number>>(fixture('pool-tasks.ts'), 'slowSquare');
const spinForever = task<(log: string, i: number) => never>(fixture('engine-tasks.ts'), 'spinForever');

describe.each(runtimes)('Pool (%s workers)', (runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('apply runs a source function and a module export', async () => {
    expect(await pool.apply((a: number, b: number) => a + b, [2, 3])).toBe(5);
    expect(await pool.apply(square, [9])).toBe(81);
    expect(await pool.apply(task(fixture('pool-tasks.ts')), [21])).toBe(42); // default export
  });

  test('method shorthand and async functions work as tasks', async () => {
    const obj = { triple(x: number) { return 3 * x; } };
    expect(await pool.apply(obj.triple, [4])).toBe(12);
    expect(await pool.apply(async (x: number) => { await new Promise((r) => setTimeout(r, 1)); return x + 1; }, [1])).toBe(2);
  });

  test('applyAsync: callback runs once, before get() resolves', async () => {
    const seen: number[] = [];
    const res = pool.applyAsync(square, [7], { callback: (v) => seen.push(v) });
    expect(res).toBeInstanceOf(AsyncResult);
    const value = await res.get();
    expect(value).toBe(49);
    expect(seen).toEqual([49]);
    await res.get();
    expect(seen).toEqual([49]);
    expect(res.ready()).toBe(true);
    expect(res.successful()).toBe(true);
  });

  test('applyAsync: errorCallback runs once with the error; successful() is false', async () => {
    const errors: Error[] = [];
    const res = pool.applyAsync(() => { throw new RangeError('nope'); }, [], { errorCallback: (e) => errors.push(e) });
    await res.wait();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    expect(res.successful()).toBe(false);
    await expect(res.get()).rejects.toThrow('nope');
  });

  test('successful() before ready throws NotReadyError; get(timeout) rejects TimeoutError and the task keeps running', async () => {
    const res = pool.applyAsync(slowSquare, [5, 600]);
    expect(() => res.successful()).toThrow(NotReadyError);
    const started = Date.now();
    await expect(res.get(50)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    await res.wait(10); // wait() never rejects
    expect(res.ready()).toBe(false);
    expect(await res.get()).toBe(25);
  });

  test('a remote error keeps its class, message, code, own properties and stack; cause is a RemoteError', async () => {
    const err: any = await pool
      .apply(() => {
        const e: any = new TypeError('bad thing');
        e.code = 'E_BAD';
        e.detail = { n: 1 };
        throw e;
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('bad thing');
    expect(err.code).toBe('E_BAD');
    expect(err.detail).toEqual({ n: 1 });
    expect(err.stack).toContain('bad thing');
    expect(err.cause).toBeInstanceOf(RemoteError);
    expect(err.cause.code).toBe('ERR_REMOTE');
    expect(err.cause.remoteStack).toBe(err.stack);
  });

  test('a custom error class comes back with its name', async () => {
    const err: any = await pool
      .apply(() => {
        class MyError extends Error { constructor(m: string) { super(m); this.name = 'MyError'; } }
        throw new MyError('custom');
      })
      .catch((e) => e);
    expect(err.name).toBe('MyError');
    expect(err.message).toBe('custom');
  });

  test('a function using its enclosing scope fails with a hint naming the fix', async () => {
    const outside = 10;
    const err: any = await pool.apply((x: number) => x + outside, [1]).catch((e) => e);
    expect(err).toBeInstanceOf(ReferenceError);
    expect(err.message).toMatch(/outside/);
    expect(err.message).toMatch(/task\(import\.meta\.url, name\)/);
    // a named function (a module's top-level function, ported from Python) is named in the fix
    const named: any = await pool.apply(async function producer(x: number) { return x + outside; }, [1]).catch((e) => e);
    expect(named.message).toMatch(/task\(import\.meta\.url, 'producer'\) for producer\)$/);
  });

  test('map keeps input order with default, explicit and odd chunk sizes', async () => {
    const input = Array.from({ length: 101 }, (_, i) => i);
    const expected = input.map((x) => x * x);
    expect(await pool.map(square, input)).toEqual(expected);
    expect(await pool.map(square, input, 1)).toEqual(expected);
    expect(await pool.map(square, input, 7)).toEqual(expected);
    expect(await pool.map(square, input, 1000)).toEqual(expected);
  });

  test('map: number chunks are packed from the input, a chunk with another value goes as a list; the input is untouched', async () => {
    // chunks of 100: the first and last are all numbers (packed), the middle one holds a string late in the chunk
    const input: unknown[] = Array.from({ length: 300 }, (_, i) => i);
    input[190] = 'x';
    const copy = [...input];
    const out = await pool.map((v: unknown) => (typeof v === 'number' ? v * 2 : `${v}!`), input, 100);
    expect(out).toEqual(copy.map((v) => (typeof v === 'number' ? v * 2 : `${v}!`)));
    expect(input).toEqual(copy);
    const starred = await pool.starmap((a: number, b: number) => a * b, Array.from({ length: 150 }, (_, i) => [i, 2]), 64);
    expect(starred).toEqual(Array.from({ length: 150 }, (_, i) => i * 2));
  });

  test('map over numbers: results that stop being numbers midway (a string, null, a promise) all come back', async () => {
    // numbers in a chunk are packed; so are their results, until one is not a number
    const input = Array.from({ length: 200 }, (_, i) => i);
    const mixed = (x: number) => (x === 150 ? 'one-fifty' : x === 170 ? null : x === -1 ? 0 : -x);
    expect(await pool.map(mixed, input, 200)).toEqual(input.map(mixed));
    const later = (x: number) => (x < 100 ? x / 2 : Promise.resolve(x * 3));
    expect(await pool.map(later, input, 200)).toEqual(input.map((x) => (x < 100 ? x / 2 : x * 3)));
    const signs = await pool.map((x: number) => (x === 0 ? -0 : x === 1 ? NaN : x), input, 200);
    expect(Object.is(signs[0], -0)).toBe(true);
    expect(signs[1]).toBeNaN();
    expect(signs.slice(2)).toEqual(input.slice(2));
  });

  test('map of an empty input is [] and accepts any iterable, sync or async', async () => {
    expect(await pool.map(square, [])).toEqual([]);
    expect(await pool.map(square, new Set([1, 2, 3]))).toEqual([1, 4, 9]);
    async function* gen() {
      for (let i = 0; i < 5; i++) yield i;
    }
    expect(await pool.map(square, gen())).toEqual([0, 1, 4, 9, 16]);
  });

  test('one failing item rejects the whole map with that item\'s error', async () => {
    const fn = (x: number) => {
      if (x === 13) throw new Error(`item ${x} failed`);
      return x;
    };
    await expect(pool.map(fn, Array.from({ length: 40 }, (_, i) => i), 3)).rejects.toThrow('item 13 failed');
  });

  test('an error from the iterable itself rejects map', async () => {
    function* broken() {
      yield 1;
      throw new Error('iterable broke');
    }
    await expect(pool.map(square, broken())).rejects.toThrow('iterable broke');
    await expect(pool.map(square, 42 as any)).rejects.toThrow(TypeError);
  });

  test('mapAsync and starmapAsync run callbacks once with the whole list', async () => {
    const seen: unknown[] = [];
    const res = pool.mapAsync(square, [1, 2, 3], undefined, { callback: (v) => seen.push(v) });
    expect(await res.get()).toEqual([1, 4, 9]);
    const res2 = pool.starmapAsync((a: number, b: number) => a * b, [[1, 2], [3, 4]], 1, { callback: (v) => seen.push(v) });
    expect(await res2.get()).toEqual([2, 12]);
    expect(seen).toEqual([[1, 4, 9], [2, 12]]);
  });

  test('starmap spreads argument arrays', async () => {
    expect(await pool.starmap((a: number, b: number) => a - b, [[5, 1], [10, 3], [0, 0]])).toEqual([4, 7, 0]);
    await expect(pool.starmap((a: number) => a, [1 as any])).rejects.toThrow(TypeError);
  });

  test('chunksize < 1 is refused', async () => {
    await expect(pool.map(square, [1], 0)).rejects.toThrow(RangeError);
    expect(() => pool.imap(square, [1], 0)).toThrow(RangeError);
  });

  test('imap yields in input order; imapUnordered yields every result', async () => {
    const out: number[] = [];
    const later = (x: number) => new Promise<number>((r) => setTimeout(() => r(x * x), x * 15));
    for await (const v of pool.imap(later, [3, 2, 1])) out.push(v);
    expect(out).toEqual([9, 4, 1]);
    const out2: number[] = [];
    for await (const v of pool.imapUnordered(square, Array.from({ length: 50 }, (_, i) => i), 4)) out2.push(v);
    expect(out2.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i * i));
  });

  test('imap with chunks keeps order and accepts async iterables', async () => {
    async function* gen() {
      for (let i = 0; i < 23; i++) yield i;
    }
    const out: number[] = [];
    for await (const v of pool.imap(square, gen(), 5)) out.push(v);
    expect(out).toEqual(Array.from({ length: 23 }, (_, i) => i * i));
  });

  test('imap next(timeout) rejects TimeoutError and the iterator stays usable', async () => {
    const it = pool.imap(slowSquare.module ? (x: number) => new Promise((r) => setTimeout(() => r(x), 400)) : square, [7]);
    await expect(it.next(20)).rejects.toBeInstanceOf(TimeoutError);
    expect(await it.next()).toEqual({ done: false, value: 7 });
    expect((await it.next()).done).toBe(true);
  });

  test('imap: a failing item raises at its position, the next items still come', async () => {
    const it = pool.imap((x: number) => {
      if (x === 1) throw new Error('one');
      return x;
    }, [0, 1, 2]);
    expect((await it.next()).value).toBe(0);
    await expect(it.next()).rejects.toThrow('one');
    expect((await it.next()).value).toBe(2);
    expect((await it.next()).done).toBe(true);
  });

  test('imap over an endless iterable is lazy: in-flight work stays bounded', async () => {
    let pulled = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const it = pool.imap(square, endless());
    const first: number[] = [];
    for await (const v of it) {
      first.push(v);
      if (first.length === 10) break;
    }
    expect(first).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    expect(pulled).toBeLessThan(5000);
  });

  test('an error from the iterable reaches imap after the results before it', async () => {
    function* broken() {
      yield 1;
      yield 2;
      throw new Error('source failed');
    }
    const out: number[] = [];
    await expect((async () => {
      for await (const v of pool.imap(square, broken())) out.push(v);
    })()).rejects.toThrow('source failed');
    expect(out).toEqual([1, 4]);
  });

  test('an argument that cannot be sent is a SerializationError naming its path; the pool goes on', async () => {
    const err: any = await pool.apply((o: any) => o, [{ ok: 1, cb: () => 1 }]).catch((e) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.code).toBe('ERR_SERIALIZE');
    expect(err.message).toContain('args[0].cb: function');
    expect(await pool.apply(square, [3])).toBe(9);
  });

  test('a result that cannot be sent back is a SerializationError', async () => {
    const err: any = await pool.apply(() => ({ f: () => 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.message).toContain('result.f: function');
  });

  test('values survive the trip: Map, Set, Date, typed arrays, bigint, NaN', async () => {
    const value = { m: new Map([[1, 'a']]), s: new Set([1]), d: new Date(5), u: new Uint8Array([1, 2]), b: 10n, n: NaN };
    const back: any = await pool.apply((v: any) => v, [value]);
    expect(back.m.get(1)).toBe('a');
    expect(back.s.has(1)).toBe(true);
    expect(back.d.getTime()).toBe(5);
    expect(Array.from(back.u)).toEqual([1, 2]);
    expect(back.b).toBe(10n);
    expect(back.n).toBeNaN();
  });

  test('bad arguments throw synchronously or reject at once', async () => {
    expect(() => pool.applyAsync(42 as any)).toThrow(TypeError);
    expect(() => pool.applyAsync(square, 5 as any)).toThrow(TypeError);
    await expect(pool.apply(null as any)).rejects.toThrow(TypeError);
  });
});

describe.each(runtimes)('Pool lifecycle (%s workers)', (runtime) => {
  test('submit after close: applyAsync throws, apply/map reject with PoolStateError', async () => {
    const pool = new Pool({ processes: 1, runtime });
    pool.close();
    expect(() => pool.applyAsync(square, [1])).toThrow(PoolStateError);
    await expect(pool.apply(square, [1])).rejects.toMatchObject({ code: 'ERR_POOL_NOT_RUNNING' });
    await expect(pool.map(square, [1])).rejects.toBeInstanceOf(PoolStateError);
    expect(() => pool.imap(square, [1])).toThrow(PoolStateError);
    await pool.join();
  });

  test('join before close rejects with ERR_POOL_RUNNING', async () => {
    const pool = new Pool({ processes: 1, runtime });
    await expect(pool.join()).rejects.toMatchObject({ name: 'PoolStateError', code: 'ERR_POOL_RUNNING' });
    await pool.terminate();
  });

  test('close lets outstanding tasks finish; join resolves after', async () => {
    const pool = new Pool({ processes: 2, runtime });
    const results = [1, 2, 3, 4].map((x) => pool.applyAsync(slowSquare, [x, 50]));
    pool.close();
    await pool.join();
    expect(results.every((r) => r.ready())).toBe(true);
    expect(await Promise.all(results.map((r) => r.get()))).toEqual([1, 4, 9, 16]);
  });

  test('close lets a running imap finish, even unconsumed', async () => {
    const pool = new Pool({ processes: 2, runtime });
    const it = pool.imap(square, Array.from({ length: 3000 }, (_, i) => i));
    pool.close();
    await pool.join();
    let n = 0;
    for await (const _ of it) n++;
    expect(n).toBe(3000);
  });

  test('terminate with a backlog of thousands returns promptly; outstanding results reject PoolStateError', async () => {
    const pool = new Pool({ processes: 2, runtime });
    const results = Array.from({ length: 5000 }, (_, i) => pool.applyAsync(slowSquare, [i, 20]));
    const mapped = pool.map(square, Array.from({ length: 1000 }, (_, i) => i), 1).catch((e) => e);
    await results[0].get();
    const started = Date.now();
    await pool.terminate();
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(results[4999].get()).rejects.toBeInstanceOf(PoolStateError);
    expect(await mapped).toBeInstanceOf(PoolStateError);
    await pool.join();
  });

  test('terminate stops a task stuck in a synchronous loop', async () => {
    const pool = new Pool({ processes: 1, runtime });
    const dir = mkdtempSync(join(tmpdir(), 'multiproc-spin-'));
    const log = join(dir, 'log');
    const res = pool.applyAsync(spinForever, [log, 0]);
    // the task wrote its line, then entered its loop: terminate() meets it spinning
    expect(await within(10_000, () => existsSync(log))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
    await pool.terminate();
    await expect(res.get()).rejects.toBeInstanceOf(PoolStateError);
  });

  test('await using terminates on leaving the block', async () => {
    let res: AsyncResult<number>;
    {
      await using pool = new Pool({ processes: 1, runtime });
      expect(await pool.apply(square, [2])).toBe(4);
      res = pool.applyAsync(slowSquare, [1, 5000]);
    }
    await expect(res.get()).rejects.toBeInstanceOf(PoolStateError);
  });

  test('maxTasksPerChild replaces workers (visible in worker ids); a chunk counts as one task', async () => {
    const pool = new Pool({ processes: 2, runtime, maxTasksPerChild: 2 });
    const whoAmI = task<() => { pid: number; threadId: number; name: string }>(fixture('pool-tasks.ts'), 'whoAmI');
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const me = await pool.apply(whoAmI);
      ids.add(`${me.pid}:${me.threadId}`);
    }
    // 8 sequential tasks, at most 2 per worker: at least 4 different workers served them.
    expect(ids.size).toBeGreaterThanOrEqual(4);
    const names = await pool.map(task(fixture('pool-tasks.ts'), 'whoAmI'), Array.from({ length: 8 }), 2);
    expect(names).toHaveLength(8);
    pool.close();
    await pool.join();
  });

  test('initializer runs once in each worker, before any task, with initargs', async () => {
    const pool = new Pool({ processes: 2, runtime, initializer: task(fixture('pool-tasks.ts'), 'init'), initargs: [{ tag: 'x' }] });
    const states = await pool.map(task(fixture('pool-tasks.ts'), 'initState'), Array.from({ length: 20 }), 1);
    for (const s of states as any[]) expect(s).toEqual({ initCount: 1, initArg: { tag: 'x' } });
    await pool.terminate();
  });

  test('an initializer that throws rejects the tasks with its error instead of hanging', async () => {
    const pool = new Pool({ processes: 1, runtime, initializer: task(fixture('pool-tasks.ts'), 'failingInit') });
    await expect(pool.apply(square, [1])).rejects.toThrow('initializer failed on purpose');
    await pool.terminate();
  });

  test('an idle pool that is never closed does not keep the program alive', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      import { Pool } from ${JSON.stringify(new URL('../lib/index.ts', import.meta.url).href)};
      const pool = new Pool({ processes: 2, runtime: ${JSON.stringify(runtime)} });
      console.log(await pool.apply((x) => x + 1, [41]));
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 20000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(res.stdout.trim()).toBe('42');
    expect(res.status).toBe(0);
  });

  test('workers inherit the environment, plus env overrides', async () => {
    process.env.MULTIPROC_TEST_INHERITED = 'yes';
    const pool = new Pool({ processes: 1, runtime, env: { MULTIPROC_TEST_EXTRA: 'extra' } });
    const env = await pool.apply(() => [process.env.MULTIPROC_TEST_INHERITED, process.env.MULTIPROC_TEST_EXTRA, typeof process.env.PATH]);
    expect(env).toEqual(['yes', 'extra', 'string']);
    await pool.terminate();
  });

  test('constructor checks its arguments synchronously', () => {
    expect(() => new Pool(0)).toThrow(RangeError);
    expect(() => new Pool({ processes: -1 })).toThrow(RangeError);
    expect(() => new Pool({ processes: 1.5 })).toThrow(RangeError);
    expect(() => new Pool({ maxTasksPerChild: 0 })).toThrow(RangeError);
    expect(() => new Pool({ initializer: 1 as any })).toThrow(TypeError);
    expect(() => new Pool({ processes: 'two' as any })).toThrow(TypeError);
    expect(() => new Pool({ runtime: 'fiber' as any })).toThrow(TypeError);
    expect(() => new Pool({ initargs: 3 as any })).toThrow(TypeError);
  });
});
