// multiprocessing.connection: wait() over Connections and Process sentinels, parentProcess(), and
// Listener/Client over real TCP and Unix sockets (with and without an authkey), in the main thread and
// in workers of both runtimes.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  connection, Pipe, Pool, Process, task, parentProcess, AuthenticationError, BufferTooShort, ConnectionClosedError, EOFError, ValueError,
  type Connection,
} from '../lib/index.js';
import { runtimes, fixture } from './helpers/runtimes.js';

const tasks = fixture('listener-tasks.ts');
const KEY = new Uint8Array(32).fill(7);
const OTHER = new Uint8Array(32).fill(9);

describe('connection.wait', () => {
  test('returns the ready subset in order, consumes nothing, and [] on timeout', async () => {
    const [a, b] = Pipe();
    const [c, d] = Pipe();
    expect(await connection.wait([a, c], 0)).toEqual([]);
    expect(await connection.wait([a, c], 30)).toEqual([]);
    d.send('x');
    expect(await connection.wait([a, c])).toEqual([c]);
    expect(await connection.wait([a, c])).toEqual([c]); // still there: wait() read nothing
    b.send('y');
    expect(await connection.wait([c, a], 1000)).toEqual([c, a]);
    expect([await a.recv(), await c.recv()]).toEqual(['y', 'x']);
    expect(await connection.wait([a, c], -1)).toEqual([]); // a negative timeout is 0 (CPython's test_neg_timeout)
    for (const x of [a, b, c, d]) x.close();
  });

  test('a pending wait() keeps the program alive (its only writer is a daemon); after it nothing does, not even the waits on the objects that were not ready', () => {
    const file = fileURLToPath(new URL('./fixtures/connection-keepalive.ts', import.meta.url));
    const res = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
    if (res.status !== 0) console.log(res.stdout, res.stderr);
    expect(res.signal).toBeNull();
    expect(res.stdout.trim()).toBe('1 true late');
  }, 40_000);

  test('a Connection whose other end is closed is ready (recv would raise EOFError)', async () => {
    const [a, b] = Pipe();
    const waiting = connection.wait([a]);
    b.close();
    expect(await waiting).toEqual([a]);
    await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
    a.close();
  });

  test('a net.Socket read with read(): ready when data is buffered (none taken) or the peer ended', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
    const { connect } = await import('node:net');
    const peer = connect((server.address() as any).port, '127.0.0.1');
    const sock = await accepted;
    server.close();
    const [a, b] = Pipe();
    expect(await connection.wait([a, sock], 20)).toEqual([]);
    const waiting = connection.wait([a, sock]);
    peer.write('data');
    expect(await waiting).toEqual([sock]);
    expect(await connection.wait([sock], 0)).toEqual([sock]); // still buffered
    expect(String(sock.read())).toBe('data');
    peer.end();
    expect(await connection.wait([sock], 20_000)).toEqual([sock]);
    expect(sock.read()).toBeNull(); // EOF
    sock.destroy();
    a.close();
    b.close();
  });

  test('errors: a closed Connection, a write-only end, something not waitable, an unstarted Process', async () => {
    const [a, b] = Pipe();
    a.close();
    await expect(connection.wait([b, a])).rejects.toBeInstanceOf(ConnectionClosedError);
    const [r, w] = Pipe(false);
    await expect(connection.wait([w], 0)).rejects.toThrow(/write-only/);
    await expect(connection.wait([r, 42 as any], 0)).rejects.toThrow(/object_list\[1\] is not a Connection, a socket or a Process sentinel/);
    await expect(connection.wait(null as any)).rejects.toBeInstanceOf(TypeError);
    const p = new Process({ target: () => {} });
    expect(() => p.sentinel).toThrow(ValueError);
    await expect(connection.wait([p])).rejects.toThrow('process not started');
    for (const x of [b, r, w]) x.close();
  });

  // in worker threads (cpython.listener.test.ts runs it with child processes)
  test('TestWait.test_wait: four worker threads write ten messages each; wait() serves every reader until EOF', async () => {
    const readers: Connection[] = [];
    const procs: Process[] = [];
    for (let i = 0; i < 4; i++) {
      const [r, w] = Pipe(false);
      const p = new Process({ target: task(tasks, 'sendTen'), args: [w, i], runtime: 'thread' });
      p.start();
      w.close();
      readers.push(r);
      procs.push(p);
    }
    const messages: [number, number][] = [];
    while (readers.length > 0) {
      for (const r of await connection.wait(readers, 20_000)) {
        try {
          messages.push(await r.recv());
        } catch (err) {
          expect(err).toBeInstanceOf(EOFError);
          readers.splice(readers.indexOf(r), 1);
          r.close();
        }
      }
    }
    for (const p of procs) await p.join();
    const expected = [0, 1, 2, 3].flatMap((id) => Array.from({ length: 10 }, (_, i) => [i, id]));
    const key = ([i, id]: [number, number]) => id * 100 + i;
    expect(messages.sort((x, y) => key(x) - key(y))).toEqual(expected);
  }, 30_000);

  describe.each(runtimes)('%s runtime', (runtime) => {
    test('a sentinel (or the Process) is ready once the process has ended; wait() runs inside a worker too', async () => {
      const [parentEnd, childEnd] = Pipe();
      const [r, w] = Pipe();
      const p = new Process({ target: task(tasks, 'waitInWorker'), args: [childEnd, childEnd], runtime });
      p.start();
      childEnd.close();
      expect(p.sentinel).toBe(p.sentinel);
      expect(await connection.wait([r, p.sentinel], 0)).toEqual([]);
      expect(await parentEnd.recv()).toBe('go'); // the worker's first wait timed out, then it said go
      parentEnd.send('back');
      expect(await connection.wait([p.sentinel, r], 20_000)).toEqual([p.sentinel]);
      expect(p.exitCode).toBe(0);
      expect(await connection.wait([r, p], 0)).toEqual([p]);
      for (const x of [parentEnd, r, w]) x.close();
    }, 30_000);

    test('parentProcess(): null here; in a Process and a pool worker, this process by name and pid, alive', async () => {
      expect(parentProcess()).toBeNull();
      const [r, w] = Pipe(false);
      const p = new Process({ target: task(tasks, 'sendParent'), args: [w], runtime, name: 'Kid' });
      p.start();
      w.close();
      expect(await r.recv()).toEqual({ name: 'MainProcess', pid: process.pid, alive: true });
      await p.join();
      r.close();
      const pool = new Pool({ processes: 1, runtime });
      try {
        expect(await pool.apply(task(tasks, 'describeParent'))).toEqual({ name: 'MainProcess', pid: process.pid, alive: true });
      } finally {
        await pool.terminate();
      }
    }, 30_000);
  });
});

describe('Listener / Client', () => {
  const unixAndTcp: [string, () => InstanceType<typeof connection.Listener>][] = [
    ['AF_UNIX (default)', () => new connection.Listener()],
    ['AF_INET', () => new connection.Listener(['127.0.0.1', 0])],
  ];

  test.each(unixAndTcp)('%s: accept() and Client() give Connections: send/recv, bytes, poll, EOF after close', async (_name, make) => {
    await using l = await make().ready;
    const [c, d] = await Promise.all([connection.Client(l.address), l.accept()]);
    expect(c).toBeInstanceOf(connection.Connection);
    c.send({ a: [1, 2n, new Map([[1, 'x']])] });
    const got = await d.recv(); // v8's Map is of Node's realm, not Jest's: compare its entries
    expect([got.a[0], got.a[1], [...got.a[2]]]).toEqual([1, 2n, [[1, 'x']]]);
    expect(await c.poll()).toBe(false);
    d.sendBytes(Buffer.from('hello'));
    expect(await c.poll(5000)).toBe(true); // CPython's test_issue16955
    expect(Buffer.from(await c.recvBytes())).toEqual(Buffer.from('hello'));
    d.send('as bytes');
    const raw = await c.recvBytes();
    c.sendBytes(raw); // what recvBytes() got from a send() decodes again in recv()
    expect(await d.recv()).toBe('as bytes');
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    c.sendBytes(big);
    d.send('after the big one');
    expect(Buffer.from(await d.recvBytes()).equals(Buffer.from(big))).toBe(true);
    expect(await c.recv()).toBe('after the big one');
    d.sendBytes(Buffer.from('12345678'));
    d.sendBytes(Buffer.from('1234'));
    const small = new Uint8Array(4);
    await expect(c.recvBytesInto(small)).rejects.toBeInstanceOf(BufferTooShort); // that message is taken, as Python
    expect(await c.recvBytesInto(small)).toBe(4);
    d.close();
    await expect(d.recv()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => d.send(1)).toThrow(ConnectionClosedError);
    await expect(c.recv()).rejects.toBeInstanceOf(EOFError); // the peer closed: EOFError, as Pipe
    expect(await connection.wait([c], 0)).toEqual([c]);
    c.close();
  });

  test('recvBytes(maxLength) of a longer message: RangeError, and the end stops being readable (as Python)', async () => {
    await using l = new connection.Listener();
    const [c, d] = await Promise.all([connection.Client(l.address), l.accept()]);
    d.sendBytes(Buffer.from('123456'));
    await expect(c.recvBytes(3)).rejects.toThrow(/bad message length/);
    await expect(c.recv()).rejects.toThrow(/write-only/);
    c.close();
    d.close();
  });

  test('a socket Connection refuses what it cannot do: blocking reads, being passed to a worker', async () => {
    await using l = new connection.Listener();
    const [c, d] = await Promise.all([connection.Client(l.address), l.accept()]);
    expect(() => c.recvSync()).toThrow(/cannot block the thread/);
    expect(c.pollSync(0)).toBe(false);
    const p = new Process({ target: () => {}, args: [c] });
    expect(() => p.start()).toThrow(/cannot be passed to a worker/);
    d.send(5);
    expect(await c.poll(5000)).toBe(true);
    expect(c.recvSync()).toBe(5); // a message already here is read at once
    c.close();
    d.close();
  });

  test('wait() over socket Connections: the ready one; a peer closing makes one ready', async () => {
    await using l = new connection.Listener(['127.0.0.1', 0]);
    await l.ready;
    const pairs = await Promise.all([0, 1, 2].map(async () => Promise.all([connection.Client(l.address), l.accept()])));
    const readers = pairs.map(([c]) => c);
    const waiting = connection.wait(readers, 60_000);
    pairs[1][1].send('one');
    expect(await waiting).toEqual([readers[1]]);
    expect(await readers[1].recv()).toBe('one');
    pairs[2][1].close();
    expect(await connection.wait(readers, 10_000)).toEqual([readers[2]]); // the peer's close, once it arrives
    for (const [c, d] of pairs) {
      c.close();
      d.close();
    }
  });

  test('authkey on both sides: the challenge both ways; a wrong key fails that accept and that Client only', async () => {
    await using l = new connection.Listener(undefined, { authkey: KEY });
    const bad = connection.Client(l.address, { authkey: OTHER });
    await expect(l.accept()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(bad).rejects.toBeInstanceOf(AuthenticationError);
    const [c, d] = await Promise.all([connection.Client(l.address, { authkey: KEY }), l.accept()]);
    c.send('after a refusal, still serving');
    expect(await d.recv()).toBe('after a refusal, still serving');
    c.close();
    d.close();
    expect(() => new connection.Listener(undefined, { authkey: 'secret' as any })).toThrow(/authkey must be a Uint8Array/);
    await expect(connection.Client(l.address, { authkey: 'secret' as any })).rejects.toThrow(/authkey must be a Uint8Array/);
  });

  test('errors: nothing listening (ECONNREFUSED), accept on a closed listener, an address in use, bad addresses', async () => {
    // a port that was free a moment ago and has nothing listening now
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as any).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(connection.Client(['127.0.0.1', port])).rejects.toThrow(/cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    await expect(connection.Client('/nonexistent/multiproc.sock')).rejects.toBeInstanceOf(ConnectionClosedError);

    const l = new connection.Listener();
    const pending = l.accept();
    l.close();
    await expect(pending).rejects.toThrow('listener is closed');
    await expect(l.accept()).rejects.toThrow('listener is closed');
    l.close(); // idempotent

    await using first = await new connection.Listener(['127.0.0.1', 0]).ready;
    const second = new connection.Listener(first.address); // CPython's test_multiple_bind
    await expect(second.ready).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(second.accept()).rejects.toThrow(/EADDRINUSE/);
    second.close();

    expect(() => new connection.Listener(['127.0.0.1', 70000] as any)).toThrow(TypeError);
    expect(() => new connection.Listener(['127.0.0.1', 0], { family: 'AF_UNIX' })).toThrow(ValueError);
    expect(() => new connection.Listener(undefined, { family: 'AF_PIPE' as any })).toThrow(/AF_PIPE is not recognized/);
    expect(() => new connection.Listener(undefined, { nope: 1 } as any)).toThrow(/unexpected option 'nope'/);
    const early = new connection.Listener(['127.0.0.1', 0]);
    expect(() => early.address).toThrow(/await listener.ready/);
    early.close(); // before it was bound: ready answers
    await expect(early.ready).rejects.toThrow('listener is closed');
  });

  test('a client that resets its connection before accept(): that accept answers (EOF, or the next client), never hangs', async () => {
    await using l = await new connection.Listener(['127.0.0.1', 0]).ready;
    const [host, port] = l.address as [string, number];
    const { connect } = await import('node:net');
    const rude = connect(port, host);
    await new Promise<void>((r) => rude.once('connect', () => r()));
    rude.resetAndDestroy(); // RST, whether or not the listener has noticed by the time accept() runs
    const c = await connection.Client(l.address);
    c.send('polite');
    let d = await l.accept();
    let got: unknown;
    try {
      got = await d.recv();
    } catch (err) {
      expect(err).toBeInstanceOf(EOFError); // it was the reset one: its recv answers EOF (Python: the same)
      d.close();
      d = await l.accept();
      got = await d.recv();
    }
    expect(got).toBe('polite');
    c.close();
    d.close();
  });

  describe.each(runtimes)('%s runtime', (runtime) => {
    test.each([['AF_UNIX'], ['AF_INET']] as const)('a worker connects with Client() (%s), with the authkey', async (family) => {
      await using l = await new connection.Listener(null, { family, authkey: KEY }).ready;
      const p = new Process({ target: task(tasks, 'sendHello'), args: [l.address, 'from a worker', KEY], runtime });
      p.start();
      const conn = await l.accept();
      expect(await conn.recv()).toBe('from a worker');
      await expect(conn.recv()).rejects.toBeInstanceOf(EOFError);
      conn.close();
      await p.join();
      expect(p.exitCode).toBe(0);
    }, 30_000);
  });
});
