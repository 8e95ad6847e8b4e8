/**
 * Python's customized managers: `Manager.register(typeid, callable, { exposed })` makes a type the
 * server process creates, with a proxy generated from its exposed methods, through the same
 * declaration path as the Manager's own types.
 */
import { Pool, task } from '../lib/index.js';
import { Manager } from '../primitives/manager/index.js';
import { call } from '../primitives/manager/proxy-base.js';
import { fixture } from './helpers/runtimes.js';

const types = fixture('manager-types.ts');

class MathsManager extends Manager {}
MathsManager.register('Maths', task(types, 'Maths'));
MathsManager.register('Counter', task(types, 'makeCounter'), { exposed: ['inc', 'peek'] });

let m: MathsManager;
beforeAll(async () => {
  m = await MathsManager.start();
});
afterAll(async () => {
  await m.shutdown();
});

test('a registered class: its public methods are exposed; the proxy calls them on the server', async () => {
  const maths = await m.create<{ add(a: number, b: number): Promise<number>; slowMul(a: number, b: number): Promise<number> }>('Maths', 100);
  expect(await maths.add(4, 3)).toBe(107);
  expect(await maths.slowMul(6, 7)).toBe(42);
  expect(String(maths)).toMatch(/^<MathsProxy id=\d+ at /);
  // as Python's, the typeid is also a method of the manager
  const again = await (m as any).Maths();
  expect(await again.add(1, 1)).toBe(2);
  // a name starting with _ is not public, as in Python
  expect((maths as any)._hidden).toBeUndefined();
  await expect(call(maths as any, '_hidden', [])).rejects.toThrow(/Maths has no method "_hidden"/);
});

test('a registered factory with an explicit exposed list', async () => {
  const counter = await m.create<{ inc(): Promise<number>; peek(): Promise<number> }>('Counter', 10);
  expect(await counter.inc()).toBe(11);
  expect(await counter.peek()).toBe(11);
});

test.each(['thread', 'process'] as const)('a registered type\'s proxy passed to a %s worker arrives working', async (runtime) => {
  const maths = await m.create('Maths');
  const pool = new Pool({ processes: 1, runtime });
  try {
    expect(await pool.apply(task(types, 'addInWorker'), [maths])).toBe(42);
  } finally {
    await pool.terminate();
  }
});

test.each(['thread', 'process'] as const)('a registered type\'s proxy stored in a dict is read back working by a %s worker that never saw the type', async (runtime) => {
  const d = await m.dict();
  await d.set('maths', await m.create('Maths', 1000));
  const pool = new Pool({ processes: 1, runtime });
  try {
    expect(await pool.apply(task(types, 'addFromDict'), [d])).toBe(1003);
  } finally {
    await pool.terminate();
  }
});

test('a client attached with connect creates registered types too', async () => {
  const other = await Manager.connect(m.address, m.authkey);
  try {
    const counter = await other.create<{ inc(): Promise<number> }>('Counter', 0);
    expect(await counter.inc()).toBe(1);
  } finally {
    other.close();
  }
});

test('bad registrations fail with a clear error naming what was wrong', async () => {
  class Bad extends Manager {}
  expect(() => Bad.register('dict', task(types, 'Maths'))).toThrow(TypeError);
  expect(() => Bad.register('', task(types, 'Maths'))).toThrow(TypeError);
  expect(() => Bad.register('X', (() => 1) as any)).toThrow(/task\(module, exportName\)/);
  expect(() => Bad.register('X', task(types, 'Maths'), { exposed: 'add' as any })).toThrow(TypeError);
  expect(() => Bad.register('X', task(types, 'Maths'), { exposed: ['add', 'then'] })).toThrow(/"then" cannot be exposed/);
  await expect(m.create('Nope')).rejects.toThrow(/cannot create "Nope"/);

  class Broken extends Manager {}
  Broken.register('NotCallable', task(types, 'notCallable'));
  await expect(Broken.start()).rejects.toThrow(/NotCallable.*notCallable/);
  class NoExposed extends Manager {}
  NoExposed.register('Factory', task(types, 'makeCounter'));
  await expect(NoExposed.start()).rejects.toThrow(/exposed/);
});

test('start and connect still work called unbound (a subclass\'s return its own class)', async () => {
  const { start } = Manager;
  const plain = await start({});
  try {
    expect(plain).toBeInstanceOf(Manager);
    expect(plain).not.toBeInstanceOf(MathsManager);
    expect(m).toBeInstanceOf(MathsManager);
    await expect(plain.create('Maths')).rejects.toThrow(/cannot create "Maths"/);
  } finally {
    await plain.shutdown();
  }
});
