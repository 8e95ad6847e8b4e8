// Values that cannot reach a worker as they are: a socket is refused with a message that says so and
// points at the pattern; a class instance loses its methods, which findClassInstance detects.
import { spawnSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { Pool, Queue, SerializationError, Lock, type Runtime } from '../lib/index.js';
import { findClassInstance, classInstanceWarning } from '../lib/base/codec/class-instances.js';
import { findUnserializable } from '../lib/base/codec/unserializable.js';
import { runtimes } from './helpers/runtimes.js';

/** A connected pair of real TCP sockets on the loopback interface. */
async function socketPair(): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer();
  const acceptedP = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  return { server, client, accepted: await acceptedP };
}

async function closeAll(p: { server: Server; client: Socket; accepted: Socket }): Promise<void> {
  p.client.destroy();
  p.accepted.destroy();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
}

describe.each(runtimes)('a net.Socket passed to a task (%s workers)', (runtime: Runtime) => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 1, runtime });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('fails that call with a SerializationError that names the socket and the pattern, not _events.end', async () => {
    const pair = await socketPair();
    try {
      const err: any = await pool.apply((s: unknown) => String(s), [pair.accepted]).catch((e) => e);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.message).toContain('a net.Socket cannot be sent to a worker');
      expect(err.message).toMatch(/main thread owns the connection's I\/O/);
      expect(err.message).toContain('docs/guide.md');
      expect(err.message).not.toContain('_events');
      expect(err.path).toBe('args[0]');
      const nested: any = await pool.apply((o: unknown) => o, [{ conn: { socket: pair.client } }]).catch((e) => e);
      expect(nested.path).toBe('args[0].conn.socket');
      // the pattern: the main thread reads the bytes, the task gets them
      expect(await pool.apply((bytes: Uint8Array) => bytes.length, [Buffer.from('GET /')])).toBe(5);
    } finally {
      await closeAll(pair);
    }
  });
});

describe('live objects refused by a Queue, and by name', () => {
  test('Queue.put(socket) says a net.Socket cannot be sent', async () => {
    const pair = await socketPair();
    try {
      const q = new Queue();
      const err: any = await q.put(pair.client).catch((e) => e);
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.message).toContain('a net.Socket cannot be sent to a worker');
      expect(q.qsize()).toBe(0);
    } finally {
      await closeAll(pair);
    }
  });

  test('streams and emitters are named as what they are', () => {
    const stream = new PassThrough();
    expect(findUnserializable([stream], 'args', 'thread')).toMatch(/^args\[0\]: PassThrough stream \(a stream cannot be sent to a worker/);
    expect(findUnserializable({ p: Promise.resolve(1) }, 'args', 'process')).toMatch(/^args\.p: Promise \(await it/);
    stream.destroy();
  });
});

class Point {
  constructor(public x: number, public y: number) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('class instances (findClassInstance)', () => {
  test('finds the first instance of a user class, with its path', () => {
    expect(findClassInstance([1, { shape: new Point(1, 2) }], 'args')).toMatchObject({ className: 'Point', path: 'args[1].shape' });
    expect(findClassInstance(new Map([['a', new Point(0, 0)]]), 'args')).toMatchObject({ path: 'args.get("a")' });
    expect(findClassInstance(new Set([new Point(0, 0)]), 'items')).toMatchObject({ path: 'items<item>' });
    class Registry extends Map {}
    expect(findClassInstance({ r: new Registry() }, 'args')).toMatchObject({ className: 'Registry', path: 'args.r' });
    class Path extends Array {}
    expect(findClassInstance([Path.from([1])], 'args')).toMatchObject({ className: 'Path' });
    expect(findClassInstance([new (class {})()], 'args')?.path).toBe('args[0]');
  });

  test('what structured clone rebuilds as itself is not reported', () => {
    const nullProto = Object.assign(Object.create(null), { a: 1 });
    const values = [
      { a: [1, 'two', null, undefined, 3n] }, nullProto, new Date(), /x/g, new Map([[1, { b: 2 }]]), new Set([1]),
      new Uint8Array(2), Buffer.from('x'), new Float64Array(1), new DataView(new ArrayBuffer(1)), new ArrayBuffer(4),
      new SharedArrayBuffer(4), new Error('e'), new TypeError('t'), Object(1), Object('s'), Object(true), new Lock(),
    ];
    for (const v of values) expect(findClassInstance([v], 'args')).toBeNull();
  });

  test('a huge input is checked up to the budget, so the check stays cheap', () => {
    const big: unknown[] = new Array(50_000).fill(0);
    big.push(new Point(1, 1));
    expect(findClassInstance(big, 'items')).toBeNull();
    expect(findClassInstance(big, 'items', 100_000)).toMatchObject({ path: 'items[50000]' });
  });

  test('the warning says what is lost and where to read more', () => {
    expect(classInstanceWarning({ p: new Point(1, 2) }, 'args')).toMatch(
      /^args\.p is an instance of class Point: it reaches the worker as a plain object, without Point's methods/,
    );
    expect(classInstanceWarning({ p: 1 }, 'args')).toBeNull();
  });

  // In a child process: jest's `process` is a copy, on which process.emitWarning's events never arrive.
  test.each([
    ['development', 1],
    ['production', 0],
  ])('warnClassInstanceOnce emits one MultiprocWarning per class (NODE_ENV=%s: %d)', (nodeEnv, expected) => {
    const script = `
      import { warnClassInstanceOnce } from ${JSON.stringify(new URL('../lib/base/codec/class-instances.ts', import.meta.url).href)};
      process.on('warning', (w) => console.log('WARNING', w.name, w.code, w.message));
      class Shape {}
      const first = warnClassInstanceOnce([{ s: new Shape() }], 'args');
      const again = warnClassInstanceOnce([new Shape()], 'items');
      console.log('RETURNED', first, again);
    `;
    const res = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '', NODE_ENV: nodeEnv },
    });
    expect(res.status).toBe(0);
    const lines = res.stdout.split('\n').filter((l) => l.startsWith('WARNING'));
    expect(lines).toHaveLength(expected);
    if (expected) {
      expect(lines[0]).toMatch(/^WARNING MultiprocWarning MULTIPROC_CLASS_INSTANCE args\[0\]\.s is an instance of class Shape/);
      expect(res.stdout).toContain('RETURNED true false');
    } else {
      expect(res.stdout).toContain('RETURNED false false');
    }
  });
});

describe.each(runtimes)('a class instance in a task (%s workers)', (runtime: Runtime) => {
  test('arrives as a plain object with its data and without its methods (what the guide documents)', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const seen = await pool.apply((p: any) => ({ keys: Object.keys(p), norm: typeof p.norm, proto: Object.getPrototypeOf(p) === Object.prototype }), [new Point(3, 4)]);
      expect(seen).toEqual({ keys: ['x', 'y'], norm: 'undefined', proto: true });
    } finally {
      await pool.terminate();
    }
  });
});
