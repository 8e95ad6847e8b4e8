import { Pipe, Connection } from '../primitives/connection.js';
import { BufferTooShort } from '../lib/base/errors.js';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { ConnectionClosedError, EOFError, SerializationError } from '../lib/base/errors.js';

const fixtures = new URL('./fixtures/pipe-tasks.ts', import.meta.url).href;

describe('Pipe / Connection in one thread', () => {
  test('send/recv keeps order and values', async () => {
    const [a, b] = Pipe();
    const values = [1, -0.5, 'héllo', '', { i: 1, s: 'x' }, [1, [2]], null, true, 2n ** 70n, undefined, NaN];
    for (const v of values) a.send(v);
    for (const v of values) expect(await b.recv()).toEqual(v);
    a.send(new Map([[1, { d: new Date(5) }]]));
    const m = await b.recv();
    // (v8.deserialize builds Node-realm objects; compare contents, not constructors, under jest's vm realm)
    expect(m.constructor.name).toBe('Map');
    expect(m.get(1).d.getTime()).toBe(5);
    // duplex: the other direction too
    b.send('back');
    expect(a.recvSync()).toBe('back');
    a.close();
    b.close();
  });

  test('empty messages and sendBytes bounds (Python rules)', async () => {
    const [a, b] = Pipe();
    a.sendBytes(new Uint8Array(0));
    expect((await b.recvBytes()).byteLength).toBe(0);
    const buf = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
    a.sendBytes(buf, 2);
    expect([...(await b.recvBytes())]).toEqual([2, 3, 4, 5, 6, 7]);
    a.sendBytes(buf, 1, 3);
    expect([...b.recvBytesSync()]).toEqual([1, 2, 3]);
    a.sendBytes(new Int32Array([1, 2]), 4, 4); // offsets count bytes, as Python's memoryview cast('B')
    expect([...new Int32Array((await b.recvBytes()).slice().buffer)]).toEqual([2]);
    expect(() => a.sendBytes(buf, -1)).toThrow('offset is negative');
    expect(() => a.sendBytes(buf, 9)).toThrow('buffer length < offset');
    expect(() => a.sendBytes(buf, 0, -1)).toThrow('size is negative');
    expect(() => a.sendBytes(buf, 4, 5)).toThrow('buffer length < offset + size');
    expect(() => a.sendBytes('abc' as any)).toThrow(TypeError);
    expect(await b.poll()).toBe(false); // nothing was sent by the failed calls
    a.close();
    b.close();
  });

  test('recvBytesInto with offset; BufferTooShort carries the message', async () => {
    const [a, b] = Pipe();
    const arr = new Int32Array([0, 1, 2, 3]);
    const dst = new Int32Array(10);
    a.sendBytes(arr);
    expect(await b.recvBytesInto(dst, 3 * 4)).toBe(16);
    expect([...dst]).toEqual([0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
    a.sendBytes(arr);
    const err = await b.recvBytesInto(new Uint8Array(4)).catch((e) => e);
    expect(err).toBeInstanceOf(BufferTooShort);
    expect([...new Int32Array(err.data.slice().buffer)]).toEqual([0, 1, 2, 3]);
    await expect(b.recvBytesInto(dst, -1)).rejects.toThrow('negative offset');
    await expect(b.recvBytesInto(dst, 41)).rejects.toThrow('offset too large');
    a.close();
    b.close();
  });

  test('recvBytes(maxLength): bad message length; duplex end stops being readable, message kept', async () => {
    const [a, b] = Pipe();
    a.sendBytes(new Uint8Array(10));
    await expect(b.recvBytes(-1)).rejects.toThrow('negative maxlength');
    await expect(b.recvBytes(5)).rejects.toThrow(/bad message length/);
    expect(b.readable).toBe(false);
    expect(b.closed).toBe(false);
    await expect(b.recv()).rejects.toThrow(/write-only/);
    const [r, w] = Pipe(false);
    w.sendBytes(new Uint8Array(10));
    expect(() => r.recvBytesSync(9)).toThrow(/bad message length/);
    expect(r.closed).toBe(true); // a read-only end closes, as Python
    a.close();
    b.close();
    w.close();
  });

  test('16 MiB message', async () => {
    const [a, b] = Pipe();
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1000) big[i] = i & 0xff;
    a.sendBytes(big);
    a.send('after');
    const got = await b.recvBytes();
    expect(got.length).toBe(big.length);
    expect(Buffer.compare(got, big)).toBe(0);
    expect(await b.recv()).toBe('after');
    a.close();
    b.close();
  });

  test('poll: default 0 returns at once; timeout waits; true with data and at EOF', async () => {
    const [a, b] = Pipe();
    let t = Date.now();
    expect(await b.poll()).toBe(false);
    expect(b.pollSync(-5)).toBe(false);
    expect(Date.now() - t).toBeLessThan(50);
    t = Date.now();
    expect(await b.poll(100)).toBe(false);
    expect(Date.now() - t).toBeGreaterThanOrEqual(90);
    t = Date.now();
    expect(b.pollSync(100)).toBe(false);
    expect(Date.now() - t).toBeGreaterThanOrEqual(90);
    a.send(null);
    expect(await b.poll()).toBe(true);
    expect(await b.recv()).toBe(null);
    const pending = b.poll(null); // waits forever until something happens
    a.close();
    expect(await pending).toBe(true); // EOF counts as ready, as Python
    await expect(b.recv()).rejects.toBeInstanceOf(EOFError);
    b.close();
  });

  test('EOF after the peer closed and data is drained; async iteration stops at EOF', async () => {
    const [r, w] = Pipe(false);
    expect(r.readable && !r.writable && w.writable && !w.readable).toBe(true);
    for (let i = 0; i < 5; i++) w.send(i);
    w.close();
    const got: number[] = [];
    for await (const x of r) got.push(x);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await expect(r.recv()).rejects.toBeInstanceOf(EOFError);
    expect(() => r.recvSync()).toThrow(EOFError);
    await expect(r.recvBytes()).rejects.toBeInstanceOf(EOFError);
    r.close();
  });

  test('closed handle: ConnectionClosedError; close is idempotent; wrong direction is refused', async () => {
    const [r, w] = Pipe(false);
    expect(() => r.send(1)).toThrow(/read-only/);
    await expect(w.recv()).rejects.toThrow(/write-only/);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.send(1)).toThrow(ConnectionClosedError);
    r.close();
    await expect(r.recv()).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(r.poll()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => r.recvSync()).toThrow('handle is closed');
  });

  test('send to an end whose every handle is closed is a broken pipe', () => {
    const [a, b] = Pipe();
    b.close();
    expect(() => a.send(1)).toThrow(/broken pipe/);
    a.close();
  });

  test('unserialisable values are refused and nothing is sent', async () => {
    const [a, b] = Pipe();
    expect(() => a.send({ ok: 1, cb: () => 1 })).toThrow(SerializationError);
    expect(() => a.send({ ok: 1, cb: () => 1 })).toThrow(/obj\.cb: function/);
    expect(() => a.send([a] as any)).toThrow(/cannot travel inside a message/);
    expect(await b.poll()).toBe(false);
    a.close();
    b.close();
  });

  test('Symbol.dispose and Symbol.asyncDispose close the handle (using / await using)', async () => {
    const [a, b] = Pipe();
    a[Symbol.dispose]();
    expect(a.closed).toBe(true);
    expect(typeof (b as any)[Symbol.asyncDispose]).toBe('function');
    await (b as any)[Symbol.asyncDispose]();
    expect(b.closed).toBe(true);
  });

  test('send({ p: o, q: o }) keeps the shared reference (structured clone semantics)', async () => {
    const [a, b] = Pipe();
    const o = { x: 1 };
    a.send({ p: o, q: o });
    const got = await b.recv();
    expect(got.p).toEqual({ x: 1 });
    expect(got.p).toBe(got.q);
    const cyclic: any = { n: 1 };
    cyclic.self = cyclic;
    a.send(cyclic);
    const back = await b.recv();
    expect(back.self).toBe(back);
    a.close();
    b.close();
  });

  test('Connection cannot be constructed directly', () => {
    expect(() => new (Connection as any)()).toThrow(TypeError);
    expect(() => Pipe('yes' as any)).toThrow(TypeError);
  });
});

describe('Pipe across worker threads', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool(2);
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('a worker sends and closes; the creator closes its copy; EOF after all data', async () => {
    const [r, w] = Pipe(false);
    const done = pool.apply(task(fixtures, 'sendRange'), [w, 7, 1000]);
    w.close(); // the worker holds its own handle
    const got: number[] = [];
    for await (const [id, i] of r) {
      expect(id).toBe(7);
      got.push(i);
    }
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(await done).toBe(1000);
    r.close();
  });

  test('the same end given to two workers: EOF only once every handle is closed', async () => {
    const [r, w] = Pipe(false);
    const done = Promise.all([
      pool.apply(task(fixtures, 'sendRange'), [w, 1, 500]),
      pool.apply(task(fixtures, 'sendRange'), [w, 2, 500]),
    ]);
    w.close();
    const last = new Map<number, number>();
    let n = 0;
    for await (const [id, i] of r) {
      expect(i).toBe((last.get(id) ?? -1) + 1); // FIFO per sender
      last.set(id, i);
      n++;
    }
    expect(n).toBe(1000);
    await done;
    r.close();
  });

  test('closing an end while the peer is blocked in recvSync gives the peer EOFError', async () => {
    const [a, b] = Pipe();
    const result = pool.apply(task(fixtures, 'waitForEof'), [b]);
    b.close();
    expect(await a.recv()).toBe('ready');
    a.close();
    expect(await result).toBe('EOFError');
  });

  test('ping-pong with a worker (async and sync receivers)', async () => {
    for (const fn of ['echo', 'echoSync']) {
      const [a, b] = Pipe();
      const result = pool.apply(task(fixtures, fn), [b]);
      b.close();
      for (let i = 0; i < 200; i++) {
        a.send({ i });
        expect(await a.recv()).toEqual({ i });
      }
      a.send(null);
      expect(await result).toBe(200);
      a.close();
    }
  });

  test('16 MiB message to a worker', async () => {
    const [a, b] = Pipe();
    const result = pool.apply(task(fixtures, 'bigEcho'), [b]);
    b.close();
    const big = new Uint8Array(16 * 1024 * 1024).fill(3);
    a.sendBytes(big);
    expect(await a.recv()).toEqual([big.length, 3 * (big.length / 4096)]);
    await result;
    await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
    a.close();
  });

  test('a Process worker that exits without closing has its handle closed for it', async () => {
    const [r, w] = Pipe(false);
    const p = new Process({ target: task(fixtures, 'sendAndLeaveOpen'), args: [w, 10] });
    p.start();
    w.close();
    const got: number[] = [];
    for await (const x of r) got.push(x);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.join();
    expect(p.exitCode).toBe(0);
    r.close();
  });
});
