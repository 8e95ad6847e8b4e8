// What a task throws is what the caller catches: the user's own classes stay the user's, the
// library's stay ours, AggregateError keeps its errors, a cause stays at `cause`, a DOMException stays
// one, and an error that cannot be read in full still comes back (without killing the worker).
import { Pool, task, TimeoutError, Empty, RemoteError, remoteErrorOf, WorkerLostError, type Runtime } from '../lib/index.js';
import { KeyError } from '../lib/base/errors.js';
import { errorFromWire, errorToWire } from '../lib/base/codec/error-wire.js';
import { runtimes, fixture } from './helpers/runtimes.js';

const errorTasks = (name: string) => task<() => never>(fixture('error-tasks.ts'), name);

async function thrown(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe.each(runtimes)('errors from %s workers', (runtime: Runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 1, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test("a user's own class TimeoutError / KeyError comes back as the user's, with its own code", async () => {
    const timeout = await thrown(pool.apply(() => {
      class TimeoutError extends Error {
        code = 'E_USER_TIMEOUT';
        constructor(m: string) { super(m); this.name = 'TimeoutError'; }
      }
      throw new TimeoutError('user timeout');
    }));
    expect(timeout).not.toBeInstanceOf(TimeoutError);
    expect(timeout).toBeInstanceOf(Error);
    expect(timeout.name).toBe('TimeoutError');
    expect(timeout.code).toBe('E_USER_TIMEOUT');
    expect(timeout.message).toBe('user timeout');

    const key = await thrown(pool.apply(() => {
      class KeyError extends Error { constructor(m: string) { super(m); this.name = 'KeyError'; } }
      throw new KeyError('k');
    }));
    expect(key).not.toBeInstanceOf(KeyError);
    expect(key.name).toBe('KeyError');
    expect(key.code).toBeUndefined();
  });

  test("the library's own errors come back as ours, subclasses included", async () => {
    const ours = await thrown(pool.apply(errorTasks('throwLibraryTimeout')));
    expect(ours).toBeInstanceOf(TimeoutError);
    expect(ours.code).toBe('ERR_TIMEOUT');
    expect(ours.message).toBe('ours, from a worker');
    const sub = await thrown(pool.apply(errorTasks('throwLibrarySubclass')));
    expect(sub).toBeInstanceOf(Empty);
    expect(sub.name).toBe('SlowError');
    expect(sub.code).toBe('ERR_QUEUE_EMPTY');
    const key = await thrown(pool.apply(errorTasks('throwManagerKeyError')));
    expect(key).toBeInstanceOf(KeyError);
    expect(key.code).toBe('ERR_KEY');
  });

  test('a subclass of a built-in error stays an instance of that built-in, with its own name', async () => {
    const err = await thrown(pool.apply(() => {
      class ParseFailure extends SyntaxError { constructor(m: string) { super(m); this.name = 'ParseFailure'; } }
      throw new ParseFailure('bad input');
    }));
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err.name).toBe('ParseFailure');
  });

  test('AggregateError keeps .errors, each rebuilt with its class and properties', async () => {
    const err = await thrown(pool.apply(() => {
      const a: any = new TypeError('first');
      a.code = 'E_FIRST';
      throw new AggregateError([a, new RangeError('second'), 'not an error'], 'several failed');
    }));
    expect(err).toBeInstanceOf(AggregateError);
    expect(err.message).toBe('several failed');
    expect(err.errors).toHaveLength(3);
    expect(err.errors[0]).toBeInstanceOf(TypeError);
    expect(err.errors[0].code).toBe('E_FIRST');
    expect(err.errors[0].stack).toContain('first');
    expect(err.errors[1]).toBeInstanceOf(RangeError);
    expect(err.errors[2]).toBe('not an error');
    expect(Object.keys(err)).not.toContain('errors'); // as on a real AggregateError
  });

  test("new Error(m, { cause }) keeps its cause at err.cause; the remote stack is at remoteErrorOf(err)", async () => {
    const err = await thrown(pool.apply(() => {
      const inner: any = new RangeError('inner');
      inner.detail = 42;
      throw new Error('outer', { cause: inner });
    }));
    expect(err.message).toBe('outer');
    expect(err.cause).toBeInstanceOf(RangeError);
    expect(err.cause.message).toBe('inner');
    expect(err.cause.detail).toBe(42);
    expect(err.cause.cause).toBeUndefined();
    expect(remoteErrorOf(err)).toBeInstanceOf(RemoteError);
    expect(remoteErrorOf(err)!.remoteStack).toBe(err.stack);
    expect(err.stack).toContain('outer');

    const valueCause = await thrown(pool.apply(() => {
      throw new Error('with a plain cause', { cause: { status: 503 } });
    }));
    expect(valueCause.cause).toEqual({ status: 503 });
  });

  test('an error without a cause of its own has the RemoteError at cause, and at remoteErrorOf', async () => {
    const err = await thrown(pool.apply(() => { throw new Error('plain'); }));
    expect(err.cause).toBeInstanceOf(RemoteError);
    expect(remoteErrorOf(err)).toBe(err.cause);
    expect(err.cause.remoteStack).toBe(err.stack);
  });

  test('a cause chain that loops back comes back without hanging', async () => {
    const err = await thrown(pool.apply(() => {
      const a: any = new Error('a');
      const b: any = new Error('b', { cause: a });
      a.cause = b;
      throw a;
    }));
    expect(err.message).toBe('a');
    expect(err.cause.message).toBe('b');
    expect(String(err.cause.cause)).toMatch(/circular/);
  });

  test('a DOMException arrives as a DOMException with its name and code', async () => {
    const abort = await thrown(pool.apply(() => { throw new DOMException('stopped', 'AbortError'); }));
    expect(abort).toBeInstanceOf(DOMException);
    expect(abort.name).toBe('AbortError');
    expect(abort.code).toBe(20);
    expect(abort.message).toBe('stopped');
    const clone = await thrown(pool.apply(() => { structuredClone(() => 1); }));
    expect(clone).toBeInstanceOf(DOMException);
    expect(clone.name).toBe('DataCloneError');
    expect(clone.code).toBe(25);
  });

  test('an error with throwing getters does not kill the worker: what can be read is sent', async () => {
    const before = pool.workerIds;
    const err = await thrown(pool.apply(() => {
      const e: any = new Error('half readable');
      e.fine = 'kept';
      Object.defineProperty(e, 'broken', { enumerable: true, get() { throw new Error('getter says no'); } });
      Object.defineProperty(e, 'code', { enumerable: true, get() { throw new Error('no code either'); } });
      throw e;
    }));
    expect(err).not.toBeInstanceOf(WorkerLostError);
    expect(err.message).toBe('half readable');
    expect(err.fine).toBe('kept');
    expect('broken' in err).toBe(false);

    const unreadable = await thrown(pool.apply(() => {
      const e = new Error('x');
      Object.defineProperty(e, 'message', { get() { throw new Error('no message'); } });
      Object.defineProperty(e, 'stack', { get() { throw new Error('no stack'); } });
      throw e;
    }));
    expect(unreadable).toBeInstanceOf(Error);
    expect(unreadable).not.toBeInstanceOf(WorkerLostError);

    const proxy = await thrown(pool.apply(() => {
      throw new Proxy(new Error('behind a proxy'), { ownKeys() { throw new Error('no keys'); } });
    }));
    expect(proxy.message).toBe('behind a proxy');
    expect(pool.workerIds).toEqual(before); // the same worker served all three
    expect(await pool.apply((x: number) => x + 1, [1])).toBe(2);
  });

  test('properties that cannot be cloned are left out; the rest arrive', async () => {
    const err = await thrown(pool.apply(() => {
      const e: any = new Error('mixed');
      e.callback = () => 1;
      e.data = { n: [1, 2] };
      e.when = new Date(0);
      throw e;
    }));
    expect(err.callback).toBeUndefined();
    expect(err.data).toEqual({ n: [1, 2] });
    expect(err.when).toEqual(new Date(0));
  });

  test('thrown non-errors arrive as themselves (or their text when they cannot be cloned)', async () => {
    expect(await thrown(pool.apply(() => { throw 'a string'; }))).toBe('a string');
    expect(await thrown(pool.apply(() => { throw { status: 1 }; }))).toEqual({ status: 1 });
    expect(await thrown(pool.apply(() => { throw Symbol('s'); }))).toBe('Symbol(s)');
  });
});

describe('error wire (no worker)', () => {
  test('errorToWire never throws, whatever it is given', () => {
    const evil = new Proxy({}, {
      getPrototypeOf() { throw new Error('no proto'); },
      has() { throw new Error('no has'); },
      get() { throw new Error('no get'); },
    });
    expect(() => errorToWire(evil)).not.toThrow();
    const badToString = { toString() { throw new Error('no text'); } };
    expect(() => errorToWire(badToString)).not.toThrow();
    const deep: any = new Error('level 0');
    let cur = deep;
    for (let i = 1; i < 100; i++) cur = cur.cause = new Error(`level ${i}`);
    const wire = errorToWire(deep);
    expect(() => structuredClone(wire)).not.toThrow();
    expect((errorFromWire(wire) as any).cause.message).toBe('level 1');
  });
});

describe('one module of errors', () => {
  test("Python's KeyError/IndexError/ValueError/AttributeError and BufferTooShort are the library's own: exported by every face, crossing back as themselves", async () => {
    const mp = await import('../lib/index.js');
    const base = await import('../lib/base/errors.js');
    const primitives = await import('../primitives/index.js');
    const manager = await import('../primitives/manager/index.js');
    for (const name of ['KeyError', 'IndexError', 'ValueError', 'AttributeError', 'BufferTooShort'] as const) {
      expect((mp as any)[name]).toBe(base[name]);
      expect((primitives as any)[name]).toBe(base[name]);
      if (name !== 'BufferTooShort') expect((manager as any)[name]).toBe(base[name]);
      expect(base.errorClasses[name]).toBe(base[name]);
    }
    const futures = await import('../lib/futures.js');
    expect(futures.InvalidStateError).toBe(base.InvalidStateError);
    expect((mp as any).InvalidStateError).toBe(base.InvalidStateError);
    expect(base.errorClasses.InvalidStateError).toBe(base.InvalidStateError);
    const tooShort = new base.BufferTooShort(new Uint8Array(3));
    const back = errorFromWire(errorToWire(tooShort)) as any;
    expect(back).toBeInstanceOf(base.BufferTooShort);
    expect(back.code).toBe('ERR_BUFFER_TOO_SHORT');
    const missing = errorFromWire(errorToWire(new base.AttributeError("no 'x'")));
    expect(missing).toBeInstanceOf(base.AttributeError);
  });
});
