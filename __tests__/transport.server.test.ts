// Object server + client: calls, errors, pipelining, identity, disconnects (primitives/transport/server.ts, client.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ObjectServer, currentClient, type ClientInfo } from '../primitives/transport/server.js';
import { connect, type Client } from '../primitives/transport/client.js';
import { ownerId } from '../primitives/kernel/core.js';
import { tsxLoaderUrl } from '../lib/base/ts-loader.js';
import { ConnectionClosedError, Empty, Full, LockStateError, SerializationError } from '../lib/base/errors.js';

const key = new TextEncoder().encode('k');

/** A child running __tests__/fixtures/transport-child.ts; resolves once it listens for orders. */
function child(): Promise<{ proc: ChildProcess; ask(msg: unknown): Promise<any> }> {
  const proc = fork(fileURLToPath(new URL('./fixtures/transport-child.ts', import.meta.url)), [], {
    execArgv: ['--import', tsxLoaderUrl()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (msg: unknown) => new Promise<any>((resolve) => {
    proc.once('message', resolve);
    proc.send(msg as any);
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('message', () => resolve({ proc, ask }));
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', () => r()));
}

class Store {
  items: unknown[] = [];
  put(x: unknown) {
    if (this.items.length >= 2) throw new Full();
    this.items.push(x);
  }
  get() {
    if (this.items.length === 0) throw new Empty();
    return this.items.shift();
  }
  async getLater(x: unknown) {
    await new Promise((r) => setImmediate(r));
    return x;
  }
  async failLater() {
    await new Promise((r) => setImmediate(r));
    throw new LockStateError();
  }
  whoAmI() {
    const c = currentClient()!;
    return { pid: c.pid, owner: c.owner, id: c.id };
  }
  fn() {
    return () => 1; // cannot cross
  }
  echo(x: unknown) {
    return x;
  }
}

describe('object server calls', () => {
  let server: ObjectServer;
  let client: Client;
  beforeEach(async () => {
    server = await ObjectServer.listen({ authkey: key });
    server.register(new Store(), 'store');
    client = await connect(server.address, key);
  });
  afterEach(async () => {
    client.close();
    await server.close();
  });

  test('sync and async methods return their results', async () => {
    await client.call('store', 'put', ['a']);
    expect(await client.call('store', 'get', [])).toBe('a');
    expect(await client.call('store', 'getLater', [42])).toBe(42);
  });

  test('errors arrive as the same classes, with code and remote stack', async () => {
    const empty: any = await client.call('store', 'get', []).catch((e) => e);
    expect(empty).toBeInstanceOf(Empty);
    expect(empty.code).toBe('ERR_QUEUE_EMPTY');
    await client.call('store', 'put', [1]);
    await client.call('store', 'put', [2]);
    await expect(client.call('store', 'put', [3])).rejects.toBeInstanceOf(Full);
    const lock: any = await client.call('store', 'failLater', []).catch((e) => e);
    expect(lock).toBeInstanceOf(LockStateError);
    expect(lock.message).toBe('release unlocked lock');
    expect(lock.cause.remoteStack).toMatch(/failLater/);
  });

  test('unknown objects and methods are TypeErrors; prototype methods are not callable', async () => {
    await expect(client.call('nope', 'get', [])).rejects.toThrow(TypeError);
    await expect(client.call('store', 'missing', [])).rejects.toThrow(/has no method "missing"/);
    await expect(client.call('store', 'constructor', [])).rejects.toThrow(TypeError);
    await expect(client.call('store', 'toString', [])).rejects.toThrow(TypeError);
  });

  test('v8 values cross intact: Map, Set, Date, BigInt, undefined, typed arrays, cycles', async () => {
    const cyc: any = { name: 'c' };
    cyc.self = cyc;
    const value = { m: new Map([[1, 'a']]), s: new Set([2]), d: new Date(5), b: 10n ** 20n, u: undefined, t: new Float64Array([1.5]), cyc };
    const back: any = await client.call('store', 'echo', [value]);
    expect(back.m.get(1)).toBe('a');
    expect(back.s.has(2)).toBe(true);
    expect(back.d.getTime()).toBe(5);
    expect(back.b).toBe(10n ** 20n);
    expect('u' in back).toBe(true);
    expect(back.t[0]).toBe(1.5);
    expect(back.cyc.self).toBe(back.cyc);
  });

  test('an argument or result that cannot cross is a SerializationError; the link survives', async () => {
    await expect(client.call('store', 'echo', [() => 1])).rejects.toBeInstanceOf(SerializationError);
    await expect(client.call('store', 'fn', [])).rejects.toBeInstanceOf(SerializationError);
    expect(await client.call('store', 'echo', ['ok'])).toBe('ok');
  });

  test('10k pipelined calls resolve in order with their own results', async () => {
    const calls = [];
    for (let i = 0; i < 10_000; i++) calls.push(client.call('store', i % 2 ? 'echo' : 'getLater', [i]));
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  test('a call larger than the frame limit rejects without closing the link', async () => {
    const small = await ObjectServer.listen({ authkey: key, maxFrame: 1024 });
    small.register(new Store(), 1);
    const c = await connect(small.address, key, { maxFrame: 1024 });
    try {
      await expect(c.call(1, 'echo', [new Uint8Array(4096)])).rejects.toBeInstanceOf(SerializationError);
      expect(await c.call(1, 'echo', [7])).toBe(7);
    } finally {
      c.close();
      await small.close();
    }
  });

  test('each connection is told apart: currentClient() gives pid, owner and id', async () => {
    const other = await connect(server.address, key, { owner: 'someone:7' });
    try {
      const a: any = await client.call('store', 'whoAmI', []);
      const b: any = await other.call('store', 'whoAmI', []);
      expect(a).toMatchObject({ pid: process.pid, owner: ownerId() });
      expect(b).toMatchObject({ pid: process.pid, owner: 'someone:7' });
      expect(a.id).not.toBe(b.id);
    } finally {
      other.close();
    }
  });

  test('notify() sends no reply; a failure reaches onError with the object id', async () => {
    const errors: unknown[] = [];
    const failed = new Promise<void>((resolve) => client.onError((id, err) => {
      errors.push([id, err]);
      resolve();
    }));
    client.notify('store', 'put', [1]);
    client.notify('store', 'put', [2]);
    client.notify('store', 'put', [3]); // Full
    await failed;
    expect(errors).toHaveLength(1);
    expect((errors[0] as any)[0]).toBe('store');
    expect((errors[0] as any)[1]).toBeInstanceOf(Full);
    expect(await client.call('store', 'get', [])).toBe(1);
  });

  test('after close() pending and later calls reject with ConnectionClosedError', async () => {
    const c = await connect(server.address, key);
    server.register({ never: () => new Promise(() => {}) }, 'hang');
    const pending = c.call('hang', 'never', []);
    c.close();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(c.call('store', 'echo', [1])).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => c.notify('store', 'echo', [1])).toThrow(ConnectionClosedError);
  });

  test('server.close() rejects the clients pending calls', async () => {
    server.register({ never: () => new Promise(() => {}) }, 'hang');
    const pending = client.call('hang', 'never', []);
    await client.call('store', 'echo', [0]); // the hang call has reached the server
    await server.close();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe('object server across processes', () => {
  test('server SIGKILLed: pending and later calls reject with ConnectionClosedError within a second', async () => {
    const { proc, ask } = await child();
    try {
      const { address } = await ask({ role: 'server', authkey: [...key] });
      const c = await connect(address, key);
      expect(await c.call('calc', 'add', [2, 3])).toBe(5);
      const pending = c.call('hang', 'never', []);
      const t0 = Date.now();
      proc.kill('SIGKILL');
      await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
      expect(Date.now() - t0).toBeLessThan(1000);
      await expect(c.call('calc', 'add', [1, 1])).rejects.toBeInstanceOf(ConnectionClosedError);
    } finally {
      proc.kill('SIGKILL');
      await exited(proc);
    }
  });

  test('a client process SIGKILLed: abandon(owner) runs on objects it used, then onDisconnect', async () => {
    const events: string[] = [];
    let disconnected!: (c: ClientInfo) => void;
    const gone = new Promise<ClientInfo>((r) => (disconnected = r));
    const lock = {
      holder: null as string | null,
      acquire(owner: string) {
        this.holder = owner;
        return true;
      },
      block: () => new Promise(() => {}),
      abandon(owner: string) {
        events.push(`abandon ${owner}`);
        if (this.holder === owner) this.holder = null;
      },
    };
    const server = await ObjectServer.listen({
      authkey: key,
      onDisconnect: (c) => {
        events.push(`disconnect ${c.owner}`);
        disconnected(c);
      },
    });
    server.register(lock, 'lock');
    server.register({ abandon: () => events.push('unused object abandoned') }, 'other');
    const { proc, ask } = await child();
    try {
      const { owner } = await ask({ role: 'client', address: server.address, authkey: [...key], objectId: 'lock' });
      expect(lock.holder).toBe(owner);
      expect(owner).toBe(`${proc.pid}:0`);
      proc.kill('SIGKILL');
      const info = await gone;
      expect(info.pid).toBe(proc.pid);
      expect(lock.holder).toBeNull();
      expect(events).toEqual([`abandon ${owner}`, `disconnect ${owner}`]);
    } finally {
      proc.kill('SIGKILL');
      await exited(proc);
      await server.close();
    }
  });
});
