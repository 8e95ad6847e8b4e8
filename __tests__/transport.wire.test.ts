// Framing and authentication: primitives/transport/wire.ts, auth.ts (through server.ts/client.ts).
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ObjectServer } from '../primitives/transport/server.js';
import { connect, type Client } from '../primitives/transport/client.js';
import { answerChallenge, clientHandshake } from '../primitives/transport/auth.js';
import { FrameSocket, decode, encode, HANDSHAKE_MAX_FRAME } from '../primitives/transport/wire.js';
import type { Address } from '../primitives/transport/protocol.js';
import { AuthenticationError, ConnectionClosedError } from '../lib/base/errors.js';

const key = new TextEncoder().encode('secret');

function rawSocket(address: Address): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = typeof address === 'string' ? netConnect(address) : netConnect(address.port, address.host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function closedOf(fs: FrameSocket): Promise<Error | undefined> {
  return new Promise((resolve) => fs.onClose(resolve));
}

/** An authenticated raw frame socket to the server: the test then writes whatever bytes it likes. */
async function rawAuthenticated(server: ObjectServer): Promise<FrameSocket> {
  const fs = new FrameSocket(await rawSocket(server.address), { maxFrame: HANDSHAKE_MAX_FRAME });
  await clientHandshake(fs, key);
  return fs;
}

describe('FrameSocket framing', () => {
  let server: Server;
  let accepted: Promise<FrameSocket>;
  let peer: Socket;
  beforeEach(async () => {
    server = createServer();
    accepted = new Promise((resolve) => server.once('connection', (s) => resolve(new FrameSocket(s, { maxFrame: 64 }))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    peer = await rawSocket({ host: '127.0.0.1', port: (server.address() as any).port });
  });
  afterEach(async () => {
    peer.destroy();
    (await accepted).close();
    await new Promise((r) => server.close(r));
  });

  function frame(payload: string): Buffer {
    const body = Buffer.from(payload);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  }

  test('a frame split into single bytes arrives whole', async () => {
    const fs = await accepted;
    const bytes = frame('hello, frames');
    for (const b of bytes) {
      peer.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    expect((await fs.readFrame()).toString()).toBe('hello, frames');
  });

  test('coalesced frames (and an empty one) arrive separately, in order', async () => {
    const fs = await accepted;
    peer.write(Buffer.concat([frame('a'), frame(''), frame('bc'), frame('def')]));
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await fs.readFrame()).toString());
    expect(got).toEqual(['a', '', 'bc', 'def']);
  });

  test('a frame header over the limit closes the connection with a clear reason', async () => {
    const fs = await accepted;
    const closed = closedOf(fs);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(65);
    peer.write(head);
    const reason = await closed;
    expect(reason).toBeInstanceOf(ConnectionClosedError);
    expect(reason!.message).toMatch(/exceeds the limit of 64 bytes/);
    await expect(fs.readFrame()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  test('sendFrame over the limit throws and keeps the socket open', async () => {
    const fs = await accepted;
    expect(() => fs.sendFrame(Buffer.alloc(65))).toThrow(/frame limit/);
    expect(fs.closed).toBe(false);
  });
});

describe('object server: framing and authentication', () => {
  let server: ObjectServer;
  const clients: Client[] = [];
  beforeEach(async () => {
    server = await ObjectServer.listen({ authkey: key, maxFrame: 32 * 1024 * 1024 });
    server.register({ echo: (x: unknown) => x, len: (b: Uint8Array) => b.length }, 'o');
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });
  async function client(authkey = key): Promise<Client> {
    const c = await connect(server.address, authkey);
    clients.push(c);
    return c;
  }

  test('the Unix socket lives in a private (0700) directory under tmpdir', () => {
    expect(typeof server.address).toBe('string');
    const mode = statSync(dirname(server.address as string)).mode & 0o777;
    expect(mode).toBe(0o700);
  });

  test('16 MiB payloads cross both ways', async () => {
    const c = await client();
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
    const back = (await c.call('o', 'echo', [big])) as Uint8Array;
    expect(back.length).toBe(big.length);
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
  });

  test('small plain values (sent as JSON) and values JSON cannot carry (sent as v8) come back exact', async () => {
    const c = await client();
    const shared = { a: 1 };
    const extra: any = [1];
    extra.tag = 'x';
    // eslint-disable-next-line no-sparse-arrays -- a hole must survive the wire as a hole
    const cases: unknown[] = [-0, NaN, 'lone \ud800 é', [1, , 3], [shared, shared], extra, Object.assign(Object.create(null), { k: 1 }), { 2: 'a', 1: 'b' }, undefined];
    for (const v of cases) expect(decode(encode(v))).toEqual(v);
    const back: any = await c.call('o', 'echo', [cases]);
    expect(Object.is(back[0], -0)).toBe(true);
    expect(back[2]).toBe('lone \ud800 é');
    expect(3 in back).toBe(true);
    expect(1 in back[3]).toBe(false);
    expect(back[4][0]).toBe(back[4][1]);
    expect(back[5].tag).toBe('x');
    expect(await c.call('o', 'echo', [undefined])).toBeUndefined();
  });

  test('a frame over the limit drops that client only; others keep being served', async () => {
    const good = await client();
    const bad = await rawAuthenticated(server);
    const closed = closedOf(bad);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(64 * 1024 * 1024);
    bad.socket.write(head);
    await closed;
    expect(await good.call('o', 'echo', [1])).toBe(1);
    expect(server.clients.size).toBe(1);
  });

  test('garbage bytes (a frame that is not v8 data) drop that client only', async () => {
    const good = await client();
    const bad = await rawAuthenticated(server);
    const closed = closedOf(bad);
    bad.sendFrame(Buffer.from('this is not a v8 payload at all'));
    await closed;
    expect(await good.call('o', 'echo', ['still here'])).toBe('still here');
  });

  test('a well-formed frame that is not a request drops that client only', async () => {
    const good = await client();
    const bad = await rawAuthenticated(server);
    const closed = closedOf(bad);
    bad.sendFrame(encode([{ hello: 1, pid: 1, owner: 'x' }, 'not a request']));
    await closed;
    expect(await good.call('o', 'echo', [2])).toBe(2);
  });

  test('a hello naming an unknown reply connection drops that client only', async () => {
    const good = await client();
    const bad = await rawAuthenticated(server);
    const closed = closedOf(bad);
    bad.sendFrame(encode([{ hello: 1, pid: process.pid, owner: 'x', replyTo: 'no-such-token' }]));
    await closed;
    expect(await good.call('o', 'echo', [4])).toBe(4);
  });

  test('garbage before authentication is dropped without decoding', async () => {
    const good = await client();
    const s = await rawSocket(server.address);
    const closed = new Promise((r) => s.once('close', r));
    s.resume(); // read, so the server's close is seen
    s.write(Buffer.alloc(1 << 16, 0xff));
    await closed;
    expect(await good.call('o', 'echo', [3])).toBe(3);
  });

  test('a peer that connects and says nothing is dropped after the handshake timeout', async () => {
    const strict = await ObjectServer.listen({ authkey: key, handshakeTimeout: 100 });
    try {
      const s = await rawSocket(strict.address);
      s.resume();
      await new Promise((r) => s.once('close', r));
    } finally {
      await strict.close();
    }
  });

  test('a peer that closes its side mid-handshake is dropped at once, not after the handshake timeout', async () => {
    const strict = await ObjectServer.listen({ authkey: key, handshakeTimeout: 20_000 });
    try {
      const dropped = async (act: (s: Socket) => Promise<void>) => {
        const s = netConnect({ path: strict.address as string, allowHalfOpen: true });
        await new Promise((r) => s.once('connect', r));
        const ended = new Promise((r) => s.once('end', r));
        const t0 = Date.now();
        await act(s);
        await ended;
        s.destroy();
        return Date.now() - t0;
      };
      // Right after the server's challenge.
      expect(await dropped(async (s) => {
        await new Promise((r) => s.once('data', r));
        s.resume();
        s.end();
      })).toBeLessThan(2000);
      // After answering the challenge, before challenging the server.
      expect(await dropped(async (s) => {
        const fs = new FrameSocket(s, { maxFrame: HANDSHAKE_MAX_FRAME });
        await answerChallenge(fs, key);
        s.end();
      })).toBeLessThan(2000);
    } finally {
      await strict.close();
    }
  });

  test('wrong key: AuthenticationError, while another client keeps working', async () => {
    const good = await client();
    const pending = good.call('o', 'echo', ['before']);
    const err = await connect(server.address, new TextEncoder().encode('wrong')).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.code).toBe('ERR_AUTH');
    expect(await pending).toBe('before');
    expect(await good.call('o', 'echo', ['after'])).toBe('after');
  });

  test('a server that cannot answer the client challenge is refused (challenge both ways)', async () => {
    // A fake server that welcomes any answer but does not know the key: the client must not trust it.
    const fake = createServer(async (sock) => {
      const fs = new FrameSocket(sock, { maxFrame: HANDSHAKE_MAX_FRAME });
      fs.sendFrame(Buffer.concat([Buffer.from('#CHALLENGE#{sha256}'), Buffer.alloc(40, 7)]));
      await fs.readFrame();
      fs.sendFrame(Buffer.from('#WELCOME#'));
      await fs.readFrame();
      fs.sendFrame(Buffer.concat([Buffer.from('{sha256}'), Buffer.alloc(32)]));
      await fs.readFrame().catch(() => {});
      fs.close();
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const err = await connect({ host: '127.0.0.1', port: (fake.address() as any).port }, key).catch((e) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err.message).toBe('digest received was wrong');
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });

  test('an empty authkey is valid', async () => {
    const open = await ObjectServer.listen({ authkey: new Uint8Array(0), address: { host: '127.0.0.1', port: 0 } });
    try {
      expect(typeof open.address).toBe('object');
      expect((open.address as any).port).toBeGreaterThan(0);
      open.register({ ping: () => 'pong' }, 1);
      const c = await connect(open.address, new Uint8Array(0));
      expect(await c.call(1, 'ping', [])).toBe('pong');
      c.close();
      await expect(connect(open.address, key)).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      await open.close();
    }
  });

  test('an authkey that is not a Uint8Array is a TypeError', async () => {
    await expect(connect(server.address, 'secret' as any)).rejects.toBeInstanceOf(TypeError);
  });

  test('connecting to nothing rejects with ConnectionClosedError', async () => {
    await expect(connect('/nonexistent/multiproc/socket', key)).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});
