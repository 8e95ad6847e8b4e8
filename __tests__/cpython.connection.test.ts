// CPython's Lib/test/_test_multiprocessing.py, _TestConnection and _TestPoll, ported as a newcomer would
// (multiproc/python, bytes as Uint8Array, timeouts in ms), with a child process and a worker thread.
import { Pipe, Process, BufferTooShort, EOFError, ConnectionClosedError } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

const latin = (s: string) => new TextEncoder().encode(s);
const SENTINEL = latin('');

// _echo(conn): echo byte messages until an empty one
const echo = async (conn: any) => {
  for (;;) {
    const msg = await conn.recv_bytes();
    if (msg.length === 0) break;
    conn.send_bytes(msg);
  }
  conn.close();
};

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

describe.each(runtimes)('_TestConnection (%s)', (runtime) => {
  test('test_connection', async () => {
    const [conn, child_conn] = Pipe();
    const p = new Process({ target: echo, args: [child_conn], runtime, daemon: true });
    p.start();
    const seq = [1, 2.25, null];
    const msg = latin('hello world');
    const longmsg = latin('hello world'.repeat(10));
    const arr = new Int32Array([0, 1, 2, 3]);

    expect(conn.send(seq)).toBeUndefined();
    expect(await conn.recv()).toEqual(seq);
    // the echo sends back the bytes of each send(): recv() decodes them, whatever was sent
    for (const value of ['hello', 42, -0, NaN, 2.25, true, null, { a: [1] }, 10n]) {
      conn.send(value);
      expect(await conn.recv()).toEqual(value);
    }
    expect(conn.send_bytes(msg)).toBeUndefined();
    expect(await conn.recv_bytes()).toEqual(msg);

    let buffer = new Int32Array(10);
    expect(conn.send_bytes(arr)).toBeUndefined();
    expect(await conn.recv_bytes_into(buffer)).toBe(arr.length * buffer.BYTES_PER_ELEMENT);
    expect([...buffer]).toEqual([...arr, ...Array(10 - arr.length).fill(0)]);

    buffer = new Int32Array(10);
    conn.send_bytes(arr);
    expect(await conn.recv_bytes_into(buffer, 3 * buffer.BYTES_PER_ELEMENT)).toBe(arr.length * buffer.BYTES_PER_ELEMENT);
    expect([...buffer]).toEqual([0, 0, 0, ...arr, 0, 0, 0]);

    const small = new Uint8Array(40);
    conn.send_bytes(longmsg);
    const err: any = await conn.recv_bytes_into(small).catch((e) => e);
    expect(err).toBeInstanceOf(BufferTooShort);
    expect(err.data).toEqual(longmsg); // Python: e.args == (longmsg,)

    let [r, elapsed] = await timed(() => conn.poll());
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => conn.poll(-1));
    expect([r, elapsed < 50]).toEqual([false, true]);
    [r, elapsed] = await timed(() => conn.poll(100));
    expect([r, elapsed >= 95]).toEqual([false, true]);
    conn.send(null);
    [r] = await timed(() => conn.poll({ timeout: 30_000 } as any)); // poll(timeout=...)
    expect(r).toBe(true);
    expect(await conn.recv()).toBeNull();

    const really_big_msg = new Uint8Array(1024 * 1024 * 16).fill(88); // 16Mb
    conn.send_bytes(really_big_msg);
    const back = await conn.recv_bytes();
    expect(back.length).toBe(really_big_msg.length); // not toEqual: a failure would print 16M numbers
    expect(back.every((b) => b === 88)).toBe(true);

    conn.send_bytes(SENTINEL); // tell child to quit
    child_conn.close();
    expect(conn.readable).toBe(true);
    expect(conn.writable).toBe(true);
    await expect(conn.recv()).rejects.toThrow(EOFError);
    await expect(conn.recv_bytes()).rejects.toThrow(EOFError);
    await p.join();
  }, 30_000);

  test('test_spawn_close: the parent closes its copy of the child end at once', async () => {
    const [conn, child_conn] = Pipe();
    const p = new Process({ target: echo, args: [child_conn], runtime, daemon: true });
    p.start();
    child_conn.close(); // this might complete before child initializes
    const msg = latin('hello');
    conn.send_bytes(msg);
    expect(await conn.recv_bytes()).toEqual(msg);
    conn.send_bytes(SENTINEL);
    conn.close();
    await p.join();
    expect(p.exitcode).toBe(0);
  });
});

describe('_TestConnection (main)', () => {
  test('test_duplex_false', async () => {
    const [reader, writer] = Pipe(false);
    expect(writer.send(1)).toBeUndefined();
    expect(await reader.recv()).toBe(1);
    expect([reader.readable, reader.writable, writer.readable, writer.writable]).toEqual([true, false, false, true]);
    expect(() => reader.send(2)).toThrow(); // OSError
    await expect((async () => writer.recv())()).rejects.toThrow();
    await expect((async () => writer.poll())()).rejects.toThrow();
    // the keyword form, Pipe(duplex=False)
    const [r2, w2] = Pipe({ duplex: false } as any);
    expect([r2.writable, w2.readable]).toEqual([false, false]);
  });

  test('test_sendbytes: offset and size', async () => {
    const msg = latin('abcdefghijklmnopqrstuvwxyz');
    const [a, b] = Pipe();
    a.send_bytes(msg);
    expect(await b.recv_bytes()).toEqual(msg);
    a.send_bytes(msg, 5);
    expect(await b.recv_bytes()).toEqual(msg.slice(5));
    a.send_bytes(msg, 7, 8);
    expect(await b.recv_bytes()).toEqual(msg.slice(7, 15));
    a.send_bytes(msg, 26);
    expect(await b.recv_bytes()).toEqual(latin(''));
    a.send_bytes(msg, 26, 0);
    expect(await b.recv_bytes()).toEqual(latin(''));
    a.send_bytes(msg, { offset: 7, size: 8 } as any); // send_bytes(msg, offset=7, size=8)
    expect(await b.recv_bytes()).toEqual(msg.slice(7, 15));
    // ValueError in Python
    expect(() => a.send_bytes(msg, 27)).toThrow(RangeError);
    expect(() => a.send_bytes(msg, 22, 5)).toThrow(RangeError);
    expect(() => a.send_bytes(msg, 26, 1)).toThrow(RangeError);
    expect(() => a.send_bytes(msg, -1)).toThrow(RangeError);
    expect(() => a.send_bytes(msg, 4, -1)).toThrow(RangeError);
  });

  test('test_context: with a, b: closes both', async () => {
    const [a, b] = Pipe();
    {
      using aa = a;
      using bb = b;
      aa.send(1729);
      expect(await bb.recv()).toBe(1729);
      expect(a.closed).toBe(false);
      expect(b.closed).toBe(false);
    }
    expect(a.closed).toBe(true);
    expect(b.closed).toBe(true);
    await expect(a.recv()).rejects.toThrow(ConnectionClosedError); // OSError
    await expect(b.recv()).rejects.toThrow(ConnectionClosedError);
  });

  test('recv_bytes(maxlength): a longer message is refused', async () => {
    const [a, b] = Pipe();
    a.send_bytes(latin('hello'));
    await expect(b.recv_bytes(3)).rejects.toThrow(/bad message length/); // OSError
  });
});

describe.each(runtimes)('_TestPoll (%s)', (runtime) => {
  test('test_empty_string', async () => {
    const [a, b] = Pipe();
    expect(await a.poll()).toBe(false);
    b.send_bytes(latin(''));
    expect(await a.poll()).toBe(true);
    expect(await a.poll()).toBe(true);
  });

  test('test_strings: messages of any length, empty ones too, in order', async () => {
    const strings = ['hello', '', 'a', 'b', '', 'bye', '', 'lop'].map(latin);
    const [a, b] = Pipe();
    const p = new Process({
      target: async (conn: any, strings: Uint8Array[]) => {
        for (const s of strings) {
          await new Promise((r) => setTimeout(r, 10));
          conn.send_bytes(s);
        }
        conn.close();
      },
      args: [b, strings],
      runtime,
    });
    p.start();
    for (const s of strings) {
      for (let i = 0; i < 200; i++) if (await a.poll(10)) break;
      expect(await a.recv_bytes()).toEqual(s);
    }
    await p.join();
  });

  test('test_boundaries: a poll in another holder does not split a message', async () => {
    const [r, w] = Pipe(false);
    const p = new Process({ target: (r: any) => r.poll(500), args: [r], runtime });
    p.start();
    const L = [latin('first'), latin('second')];
    for (const obj of L) w.send_bytes(obj);
    w.close();
    await p.join();
    expect(L).toContainEqual(await r.recv_bytes());
  });

  test('test_dont_merge: messages are not merged', async () => {
    const [a, b] = Pipe();
    expect(await a.poll(0)).toBe(false);
    expect(await a.poll(100)).toBe(false);
    const p = new Process({
      target: (b: any) => {
        b.send_bytes(new Uint8Array([97]));
        b.send_bytes(new Uint8Array([98]));
        b.send_bytes(new Uint8Array([99, 100]));
      },
      args: [b],
      runtime,
    });
    p.start();
    expect(await a.recv_bytes()).toEqual(latin('a'));
    expect(await a.poll(1000)).toBe(true);
    expect(await a.poll(1000)).toBe(true);
    expect(await a.recv_bytes()).toEqual(latin('b'));
    expect(await a.poll(1000)).toBe(true);
    expect(await a.poll(1000)).toBe(true);
    expect(await a.poll(0)).toBe(true);
    expect(await a.recv_bytes()).toEqual(latin('cd'));
    await p.join();
  });
});
