/** The Manager's server process: start/shutdown, connect, TCP, authentication, crashes, bad frames, orphans. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Pool, task } from '../lib/index.js';
import { AuthenticationError, ConnectionClosedError } from '../lib/base/errors.js';
import { Manager } from '../primitives/manager/index.js';
import { FrameSocket } from '../primitives/transport/wire.js';
import { clientHandshake } from '../primitives/transport/auth.js';
import { alive } from './helpers/programs.js';
import { until } from './helpers/until.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));



/** Runs the child fixture program; resolves its stdout lines and exit code. */
function runChild(mode: string, onLine?: (line: string, kill: () => void) => void): Promise<{ lines: string[]; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('manager-child.ts', fixtures)), mode], {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const lines: string[] = [];
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line, () => child.kill('SIGKILL'));
      }
    });
    child.on('exit', (code) => resolve({ lines, code }));
  });
}

function rawSocket(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(address);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('start: private socket directory, pid, shutdown leaves nothing behind; calls after it reject', async () => {
  const m = await Manager.start();
  expect(typeof m.address).toBe('string');
  const dir = dirname(m.address as string);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(alive(m.pid!)).toBe(true);
  const d = await m.dict({ a: 1 });
  await m.shutdown();
  expect(alive(m.pid!)).toBe(false);
  expect(existsSync(dir)).toBe(false);
  await expect(d.get('a')).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(m.list()).rejects.toBeInstanceOf(ConnectionClosedError);
  await m.shutdown(); // idempotent
});

test('bad options are refused clearly', async () => {
  await expect(Manager.start({ authkey: 'secret' as any })).rejects.toThrow(/authkey must be a Uint8Array/);
  await expect(Manager.start({ address: 42 as any })).rejects.toThrow(/address must be/);
  await expect(Manager.connect(undefined as any, new Uint8Array())).rejects.toThrow(/address/);
});

test('TCP on 127.0.0.1 with the real port; remote connect works; an empty authkey is valid', async () => {
  const m = await Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: new Uint8Array() });
  try {
    const addr = m.address as { host: string; port: number };
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    const d = await m.dict();
    const remote = await Manager.connect(addr, new Uint8Array());
    await (await remote.list([1])).append(2);
    await d.set('k', 'v');
    remote.close();
  } finally {
    await m.shutdown();
  }
});

test('a wrong key from another process gets AuthenticationError; other clients keep working', async () => {
  const m = await Manager.start();
  const pool = new Pool({ processes: 1, runtime: 'process' });
  try {
    const d = await m.dict({ n: 1 });
    const wrong = new Uint8Array(m.authkey.length).fill(7);
    const err = await pool.apply(task(new URL('manager-tasks.ts', fixtures).href, 'connectAndAppend'), [m.address, wrong]).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    await expect(Manager.connect(m.address, wrong)).rejects.toBeInstanceOf(AuthenticationError);
    expect(await pool.apply(task(new URL('manager-tasks.ts', fixtures).href, 'connectAndAppend'), [m.address, m.authkey])).toBe(1);
    expect(await d.increment('n')).toBe(2);
  } finally {
    await pool.terminate();
    await m.shutdown();
  }
});

test('killing the server rejects pending and later calls with ConnectionClosedError within a second', async () => {
  const m = await Manager.start();
  const e = await m.Event();
  const q = await m.Queue();
  const pendingWait = e.wait();
  const pendingGet = q.get();
  await e.isSet(); // both waits reached the server
  const t0 = Date.now();
  process.kill(m.pid!, 'SIGKILL');
  await expect(pendingWait).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(pendingGet).rejects.toBeInstanceOf(ConnectionClosedError);
  expect(Date.now() - t0).toBeLessThan(1000);
  await expect(e.set()).rejects.toBeInstanceOf(ConnectionClosedError);
  await m.shutdown(); // the process is already gone: resolves
});

test('garbage before authentication and fuzzed frames after it drop that client only', async () => {
  const m = await Manager.start({ maxFrame: 1 << 20 });
  try {
    const d = await m.dict({ n: 0 });
    const address = m.address as string;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, authenticate) => {
        const s = await rawSocket(address);
        const closed = new Promise((r) => s.once('close', r));
        s.on('error', () => {});
        if (authenticate) {
          const frames = new FrameSocket(s, { maxFrame: 1024 });
          await clientHandshake(frames, m.authkey);
          frames.maxFrame = 1 << 20;
          // a framed garbage payload (length prefix + random bytes), then raw garbage
          const header = Buffer.alloc(4);
          header.writeUInt32BE(bytes.length);
          s.write(Buffer.concat([header, bytes]));
          s.write(Buffer.from(bytes));
          s.end();
          await closed;
        } else {
          // (a half-closed client mid-handshake is dropped by the handshake timeout; do not wait for it)
          s.write(Buffer.from(bytes));
          await new Promise((r) => setTimeout(r, 5));
          s.destroy();
        }
        expect(await d.increment('n')).toBeGreaterThan(0); // the server still serves
      }),
      { numRuns: 40 },
    );
    // an oversize frame header closes that client at once
    const s = await rawSocket(address);
    const frames = new FrameSocket(s, { maxFrame: 1024 });
    await clientHandshake(frames, m.authkey);
    const closed = new Promise((r) => s.once('close', r));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff);
    s.write(header);
    await closed;
    expect(await d.get('n')).toBe(40); // one increment per fuzz run
  } finally {
    await m.shutdown();
  }
});

test('a first frame that is garbage or announces an oversize length is dropped at once, before buffering', async () => {
  const m = await Manager.start();
  try {
    const address = m.address as string;
    for (const junk of [
      Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('GET / HTTP/'), Buffer.alloc(1024, 0xff)]), // a short garbage frame
      Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n').subarray(0, 15), Buffer.alloc(1024, 0xff)]), // an oversize length
      Buffer.concat([Buffer.from([0, 0, 0x03, 0xe8]), Buffer.alloc(11, 0x20), Buffer.alloc(500, 0xff)]), // 1000 bytes announced, 511 sent
    ]) {
      const s = await rawSocket(address);
      s.on('error', () => {});
      s.resume(); // read (and drop) the challenge, so the server's close is seen
      const closed = new Promise((r) => s.once('close', r));
      const t0 = Date.now();
      s.write(junk);
      await closed;
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    expect(await (await m.dict({ a: 1 })).get('a')).toBe(1);
  } finally {
    await m.shutdown();
  }
});

test('a half-sent handshake is dropped within 2 s', async () => {
  const m = await Manager.start();
  try {
    const s = await rawSocket(m.address as string);
    s.on('error', () => {});
    s.resume();
    const closed = new Promise((r) => s.once('close', r));
    const t0 = Date.now();
    s.write(Buffer.from([0, 0, 0, 40, 1, 2, 3])); // 3 of the 40 announced bytes, then silence
    await closed;
    expect(Date.now() - t0).toBeLessThan(2500);
  } finally {
    await m.shutdown();
  }
});

test('rapid restart on the same Unix path, also after a crash left the socket file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mgr-test-'));
  const path = join(dir, 'mgr.sock');
  try {
    for (let i = 0; i < 3; i++) {
      const m = await Manager.start({ address: path });
      expect(m.address).toBe(path);
      expect(await (await m.dict({ i })).get('i')).toBe(i);
      if (i === 1) {
        process.kill(m.pid!, 'SIGKILL');
        await until(() => !alive(m.pid!));
        expect(existsSync(path)).toBe(true); // stale file left by the crash
        await m.shutdown();
      } else await m.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a program that forgets shutdown still exits, and its server with it', async () => {
  const { lines, code } = await runChild('orphan');
  expect(code).toBe(0);
  const { pid, address } = JSON.parse(lines[0]);
  await until(() => !alive(pid));
  expect(existsSync(dirname(address))).toBe(false);
}, 30_000);

test('a parent killed with SIGKILL leaves no orphan server', async () => {
  let pid = 0;
  await runChild('hang', (line, kill) => {
    pid = JSON.parse(line).pid;
    kill();
  });
  expect(pid).toBeGreaterThan(0);
  await until(() => !alive(pid));
}, 30_000);

test('a proxy returned by a Pool task comes back live (thread and process runtimes)', async () => {
  const { lines, code } = await runChild('echo');
  expect(code).toBe(0);
  expect(JSON.parse(lines[0])).toEqual({ thread: true, process: true });
}, 60_000);
