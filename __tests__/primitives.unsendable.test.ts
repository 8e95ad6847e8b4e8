/**
 * A value that cannot even be read for sending (a getter that throws, nesting 1e5 deep) fails that
 * call only, with SerializationError naming its path; the primitive keeps working.
 */
import { Queue } from '../primitives/queues.js';
import { Pipe } from '../primitives/connection.js';
import { Manager } from '../primitives/manager/index.js';
import { SerializationError } from '../lib/base/errors.js';

const throwingGetter = () => ({ ok: 1, g: 0, get bad() { throw new Error('boom'); } });
function deep(levels: number): unknown {
  let d: unknown = { end: true };
  for (let i = 0; i < levels; i++) d = { a: d };
  return d;
}

function caught(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SerializationError);
    return err as SerializationError;
  }
  throw new Error('no error');
}

describe('Queue', () => {
  test('put/putSync/putNowait of a throwing getter or 1e5-deep nesting: SerializationError naming the path; the queue goes on', async () => {
    const q = new Queue();
    const err = await q.put(throwingGetter()).catch((e) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.path).toBe('obj.bad');
    expect(err.message).toMatch(/obj\.bad: its getter threw: boom/);
    expect(caught(() => q.putSync({ list: [1, throwingGetter()] })).path).toBe('obj.list[1].bad');
    expect(caught(() => q.putNowait(deep(1e5))).path).toBe('obj.a');
    const deepErr = await q.put(deep(1e5)).catch((e) => e);
    expect(deepErr).toBeInstanceOf(SerializationError);
    expect(deepErr.message).toMatch(/nested too deeply/);
    await q.put('next');
    expect(q.qsize()).toBe(1);
    expect(await q.get()).toBe('next');
  });
});

describe('Pipe', () => {
  test('send of a throwing getter or 1e5-deep nesting: SerializationError naming the path; the pipe goes on', async () => {
    const [a, b] = Pipe();
    expect(caught(() => a.send({ x: throwingGetter() })).path).toBe('obj.x.bad');
    expect(caught(() => a.send([deep(1e5)])).path).toBe('obj[0]');
    a.send('after');
    expect(await b.recv()).toBe('after');
    a.close();
    b.close();
  });
});

describe('Manager proxies', () => {
  let manager: Manager;
  beforeAll(async () => {
    manager = await Manager.start();
  });
  afterAll(async () => {
    await manager.shutdown();
  });

  test('a call with a throwing getter or 1e5-deep nesting rejects SerializationError naming the argument; the proxy goes on', async () => {
    const d = await manager.dict();
    const e1 = await d.set('k', throwingGetter()).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SerializationError);
    expect((e1 as SerializationError).path).toBe('args[1].bad');
    const e2 = await d.set('k', deep(1e5)).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(SerializationError);
    expect((e2 as SerializationError).path).toBe('args[1]');
    await d.set('k', 1);
    expect(await d.get('k')).toBe(1);
    const q = await manager.Queue();
    const e3 = await q.put({ g: throwingGetter() }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(SerializationError);
    expect((e3 as SerializationError).path).toBe('obj.g.bad');
    await q.put(2);
    expect(await q.get()).toBe(2);
  });
});
