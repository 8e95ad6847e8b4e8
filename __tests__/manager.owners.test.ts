/**
 * Lock ownership on a Manager is per connection, assigned by the server: two clients that claim the
 * same `pid:threadId` (two hosts whose programs got the same pid) are still two owners.
 */
import { Manager } from '../primitives/manager/index.js';
import { ROOT_ID } from '../primitives/manager/registry.js';
import { connect, type Client } from '../primitives/transport/client.js';

/** The identity both clients claim: what two hosts with the same pid would both announce. */
const SAME_CLAIM = '4242:0';

let manager: Manager;
let a: Client;
let b: Client;

beforeEach(async () => {
  manager = await Manager.start({ address: { host: '127.0.0.1', port: 0 } });
  a = await connect(manager.address, manager.authkey, { owner: SAME_CLAIM });
  b = await connect(manager.address, manager.authkey, { owner: SAME_CLAIM });
});

afterEach(async () => {
  a.close();
  b.close();
  await manager.shutdown();
});

function create(c: Client, kind: string, args: unknown[] = []): Promise<number> {
  return c.call(ROOT_ID, 'create', [kind, args]) as Promise<number>;
}

test('an RLock held by one connection cannot be released by another claiming the same pid:thread', async () => {
  const id = await create(a, 'RLock');
  expect(await a.call(id, 'acquire', [])).toBe(true);
  await expect(b.call(id, 'release', [])).rejects.toThrow(/un-acquired lock/);
  expect(await b.call(id, 'acquire', [false])).toBe(false);
  // Recursion still works for the owner itself.
  expect(await a.call(id, 'acquire', [false])).toBe(true);
  await a.call(id, 'release', []);
  expect(await a.call(id, 'locked', [])).toBe(true);
  await a.call(id, 'release', []);
  expect(await a.call(id, 'locked', [])).toBe(false);
  expect(await b.call(id, 'acquire', [false])).toBe(true);
  await expect(a.call(id, 'release', [])).rejects.toThrow(/un-acquired lock/);
  await b.call(id, 'release', []);
});

test('a Condition checks its lock owner per connection', async () => {
  const id = await create(a, 'Condition');
  expect(await a.call(id, 'acquire', [])).toBe(true);
  await expect(b.call(id, 'notify', [])).rejects.toThrow(/un-acquired lock/);
  await expect(b.call(id, 'wait', [0])).rejects.toThrow(/un-acquired lock/);
  await a.call(id, 'notify', []);
  expect(await a.call(id, 'wait', [0])).toBe(false); // nobody notifies: times out, lock re-acquired
  await a.call(id, 'release', []);
});

test('a connection that dies frees only its own locks, not those of a twin claiming the same identity', async () => {
  const held = await create(a, 'Lock');
  const gate = await create(a, 'Lock');
  expect(await a.call(held, 'acquire', [])).toBe(true);
  expect(await b.call(held, 'acquire', [false])).toBe(false); // b has used `held` too: it is told when b dies
  expect(await b.call(gate, 'acquire', [])).toBe(true);
  // a waits for `gate`: it is granted once the server has processed b's death, after `held`.
  const granted = a.call(gate, 'acquire', [true, 60]);
  await b.call('', 'ping', []); // a's wait has started before b goes (different connections: ping a too)
  await a.call('', 'ping', []);
  b.close(); // no goodbye: the server treats b as dead
  expect(await granted).toBe(true);
  expect(await a.call(held, 'locked', [])).toBe(true);
  await a.call(held, 'release', []);
  await a.call(gate, 'release', []);
});
