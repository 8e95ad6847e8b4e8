// Handing primitives to another host of a cluster (HandleTarget 'remote'): shared memory cannot go
// there and says to use a Manager proxy; a Manager proxy goes as its TCP address and authkey.
import { encodeHandles, toHandle } from '../lib/base/codec/handles.js';
import { SerializationError } from '../lib/base/errors.js';
import { Barrier, Condition, Event, Lock, RLock, Semaphore } from '../primitives/synchronize.js';
import { Queue, SimpleQueue } from '../primitives/queues.js';
import { Pipe } from '../primitives/connection.js';
import { Array as SharedArray, Value } from '../primitives/sharedctypes.js';
import { Manager } from '../primitives/manager/index.js';
import { reviveHandle } from '../primitives/manager/revive.js';

test('shared-memory primitives refuse another host, naming the Manager proxy to use', () => {
  const [a] = Pipe();
  for (const p of [new Lock(), new RLock(), new Semaphore(), new Event(), new Condition(), new Barrier(2), new Queue(), new SimpleQueue(), a, new Value('i', 1), SharedArray('i', 2)]) {
    expect(() => encodeHandles({ nested: [p] }, 'remote')).toThrow(SerializationError);
    expect(() => (p as any)[toHandle]('remote')).toThrow(/another host.*manager\.\w+\(\)|Manager/s);
  }
  expect(() => new Lock()[toHandle]('remote')).toThrow(/manager\.Lock\(\)/);
  expect(() => new Queue()[toHandle]('remote')).toThrow(/manager\.Queue\(\)/);
});

test('a Manager proxy crosses as its TCP address and authkey; on a Unix socket it says to use { host, port }', async () => {
  const tcp = await Manager.start({ address: { host: '127.0.0.1', port: 0 } });
  const unix = await Manager.start();
  try {
    const d = await tcp.dict({ a: 1 });
    const desc = d[toHandle]('remote');
    expect(desc.data).toMatchObject({ address: tcp.address, authkey: tcp.authkey });
    const back: any = await reviveHandle(desc.type, desc.data);
    expect(await back.get('a')).toBe(1);
    const l = await unix.Lock();
    expect(() => l[toHandle]('remote')).toThrow(SerializationError);
    expect(() => l[toHandle]('remote')).toThrow(/address: \{ host, port \}/);
  } finally {
    await Promise.all([tcp.shutdown(), unix.shutdown()]);
  }
});
