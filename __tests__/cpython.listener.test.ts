// CPython's Lib/test/_test_multiprocessing.py, _TestListener, _TestListenerClient, TestWait and
// _TestProcess.test_parent_process_attributes, ported as a newcomer would (multiproc/python; timeouts in
// ms; a blocking call is awaited). Listener() binds a TCP address as the event loop turns: `await
// l.ready` stands where Python's constructor has already bound. test_parent_process (a
// grandchild outliving its killed parent) is not ported: a killed Process takes its children with it.
import { Pipe, Process, Semaphore, connection, current_process, parent_process, EOFError, ConnectionClosedError } from '../lib/python.js';
import type { Socket } from 'node:net';
import type { Connection } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

const { Listener, Client, wait, families } = connection;

// The children's targets, self-contained (a worker starts them from their source); the ones that need the
// package import it there.
const sendHello = async (address: any) => {
  const { connection } = await import('multiproc');
  const conn = await connection.Client(address);
  conn.send('hello');
  conn.close();
};
// TestWait._child_test_wait
const childTestWait = async (w: Connection, id: number, slow: boolean) => {
  for (let i = 0; i < 10; i++) {
    if (slow) await new Promise((r) => setTimeout(r, Math.random() * 100));
    w.send([i, id]);
  }
  w.close();
};
// TestWait._child_test_wait_socket: a plain socket
const childTestWaitSocket = async (address: [string, number], slow: boolean) => {
  const { connect } = await import('node:net');
  const s = connect(address[1], address[0]);
  await new Promise((r) => s.once('connect', r));
  for (let i = 0; i < 10; i++) {
    if (slow) await new Promise((r) => setTimeout(r, Math.random() * 100));
    s.write(`${i}\n`);
  }
  await new Promise<void>((r) => s.end(() => r()));
};
// TestWait.signal_and_sleep: release, then stay alive until told to go (not a timed sleep)
const signalAndWait = async (sem: any, go: Connection) => {
  sem.release();
  await go.recv();
};
// _TestProcess._test_send_parent_process
const testSendParentProcess = async (wconn: Connection) => {
  const { parentProcess } = await import('multiproc');
  wconn.send([parentProcess()!.pid, parentProcess()!.name]);
};

describe('_TestListener (processes)', () => {
  test('test_multiple_bind', async () => {
    for (const family of families) {
      const l = await new Listener(null, family).ready;
      try {
        await expect(new Listener(l.address, family).ready).rejects.toMatchObject({ code: 'EADDRINUSE' });
      } finally {
        l.close();
      }
    }
  });

  test('test_context', async () => {
    let l!: InstanceType<typeof Listener>;
    {
      await using l_ = new Listener();
      l = l_;
      await using c = await Client(l.address);
      await using d = await l.accept();
      c.send(1729);
      expect(await d.recv()).toBe(1729);
    }
    await expect(l.accept()).rejects.toBeInstanceOf(ConnectionClosedError); // Python: OSError
  });
});

describe.each(runtimes)('_TestListenerClient (%s)', (runtime) => {
  test('test_listener_client', async () => {
    for (const family of families) {
      const l = await new Listener(null, family).ready;
      const p = new Process({ target: sendHello, args: [l.address], runtime, daemon: true });
      p.start();
      const conn = await l.accept();
      expect(await conn.recv()).toBe('hello');
      await p.join();
      conn.close();
      l.close();
    }
  }, 30_000);

  test('test_issue14725: the client connected, sent and closed before accept()', async () => {
    const l = new Listener();
    const p = new Process({ target: sendHello, args: [l.address], runtime, daemon: true });
    p.start();
    await p.join(); // Python sleeps 1 s; the client has certainly finished once its process has
    const conn = await l.accept();
    expect(await conn.recv()).toBe('hello');
    conn.close();
    l.close();
  }, 30_000);

  test('test_issue16955', async () => {
    for (const fam of families) {
      const l = await new Listener(null, fam).ready;
      const [c, a] = await Promise.all([Client(l.address), l.accept()]);
      a.send_bytes(new TextEncoder().encode('hello'));
      expect(await c.poll(1000)).toBe(true);
      a.close();
      c.close();
      l.close();
    }
  });
});

describe('TestWait (processes, as in Python; thread workers are covered by connection.listener.test.ts)', () => {
  const runtime = 'process';
  async function testWait(slow: boolean) {
    const readers: Connection[] = [];
    const procs: Process[] = [];
    const messages: [number, number][] = [];
    for (let i = 0; i < 4; i++) {
      const [r, w] = Pipe({ duplex: false });
      const p = new Process({ target: childTestWait, args: [w, i, slow], runtime, daemon: true });
      p.start();
      w.close();
      readers.push(r);
      procs.push(p);
    }
    while (readers.length > 0) {
      for (const r of await wait(readers)) {
        try {
          messages.push(await r.recv());
        } catch (err) {
          if (!(err instanceof EOFError)) throw err;
          readers.splice(readers.indexOf(r), 1);
          r.close();
        }
      }
    }
    for (const p of procs) await p.join();
    const key = ([i, id]: [number, number]) => id * 100 + i;
    messages.sort((x, y) => key(x) - key(y));
    expect(messages).toEqual([0, 1, 2, 3].flatMap((id) => Array.from({ length: 10 }, (_, i) => [i, id])));
  }

  async function testWaitSocket(slow: boolean) {
    const { createServer } = await import('node:net');
    const readers: Socket[] = [];
    const procs: Process[] = [];
    const all4 = new Promise<void>((resolve) => {
      const l = createServer((r) => {
        readers.push(r);
        if (readers.length === 4) {
          l.close();
          resolve();
        }
      });
      l.listen(0, '127.0.0.1', () => {
        const addr = l.address() as { address: string; port: number };
        for (let i = 0; i < 4; i++) {
          const p = new Process({ target: childTestWaitSocket, args: [[addr.address, addr.port], slow], runtime, daemon: true });
          p.start();
          procs.push(p);
        }
      });
    });
    await all4;
    const dic = new Map<Socket, string[]>(readers.map((r) => [r, []]));
    while (readers.length > 0) {
      for (const r of await wait(readers)) {
        const msg: Buffer | null = r.read();
        if (msg === null) {
          readers.splice(readers.indexOf(r), 1);
          r.destroy();
        } else {
          dic.get(r)!.push(msg.toString('ascii'));
        }
      }
    }
    for (const p of procs) await p.join();
    const expected = Array.from({ length: 10 }, (_, i) => `${i}\n`).join('');
    for (const v of dic.values()) expect(v.join('')).toBe(expected);
  }

  test('test_wait', () => testWait(false), 30_000);
  test('test_wait_socket', () => testWaitSocket(false), 30_000);
  test('test_wait_slow', () => testWait(true), 30_000);
  test('test_wait_socket_slow', () => testWaitSocket(true), 30_000);

  test('test_wait_integer: a sentinel among Connections', async () => {
    const sem = new Semaphore(0);
    const [a, b] = Pipe();
    const [go, goChild] = Pipe();
    const p = new Process({ target: signalAndWait, args: [sem, goChild], runtime });
    p.start();
    expect(p.sentinel).toBeInstanceOf(Object); // Python: an int (a file descriptor)
    expect(await sem.acquire(true, 20_000)).toBe(true);

    // The process runs until told to go: the sentinel is not ready, nor a nor b.
    expect(await wait([a, p.sentinel, b], 100)).toEqual([]);
    go.send('go');
    expect(await wait([a, p.sentinel, b], 20_000)).toEqual([p.sentinel]);

    a.send(null);
    expect(await wait([a, p.sentinel, b], 20_000)).toEqual([p.sentinel, b]);
    b.send(null);
    expect(await wait([a, p.sentinel, b], 20_000)).toEqual([a, p.sentinel, b]);
    await p.join();
    for (const x of [a, b, go, goChild]) x.close();
  }, 30_000);
});

describe('TestWait', () => {
  test('test_wait_timeout', async () => {
    const expected = 500; // Python: 5 s
    const [a, b] = Pipe();
    let start = performance.now();
    let res = await wait([a, b], expected);
    let delta = performance.now() - start;
    expect(res).toEqual([]);
    expect(delta).toBeLessThan(expected * 10);
    expect(delta).toBeGreaterThan(expected * 0.5);

    b.send(null);
    start = performance.now();
    res = await wait([a, b], 20_000);
    delta = performance.now() - start;
    expect(res).toEqual([a]);
    expect(delta).toBeLessThan(2000);
    a.close();
    b.close();
  });

  test('test_neg_timeout', async () => {
    const [a, b] = Pipe();
    const t = performance.now();
    const res = await wait([a], -1);
    expect(res).toEqual([]);
    expect(performance.now() - t).toBeLessThan(1000);
    a.close();
    b.close();
  });
});

describe('_TestProcess (processes)', () => {
  test('test_parent_process_attributes', async () => {
    expect(parent_process()).toBeNull();
    const [rconn, wconn] = Pipe({ duplex: false });
    const p = new Process({ target: testSendParentProcess, args: [wconn], runtime: 'process' });
    p.start();
    await p.join();
    const [parentPid, parentName] = await rconn.recv();
    expect(parentPid).toBe(current_process().pid);
    expect(parentPid).toBe(process.pid);
    expect(parentName).toBe(current_process().name);
    rconn.close();
    wconn.close();
  }, 30_000);
});
