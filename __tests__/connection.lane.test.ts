/**
 * A Pipe whose ends are each held once — by this thread and by one child process — moves to a direct
 * lane (primitives/channel/pipe-lane.ts). These tests bring the lane up, then check that it keeps
 * everything a Pipe promises: order across the switch, teardown when either end is passed on, a
 * poll after a signal, EOF after a close or a death, and no deadlock when both sides send a lot.
 */
import { Pipe, type Connection } from '../primitives/connection.js';
import { Event } from '../primitives/synchronize.js';
import { EOFError } from '../lib/base/errors.js';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';

const fixtures = new URL('./fixtures/pipe-lane-tasks.ts', import.meta.url).href;
const LANE_ACTIVE = Symbol.for('multiproc.laneActive');
const onLane = (c: Connection): boolean => (c as any)[LANE_ACTIVE];

let pool: Pool;
beforeAll(() => {
  pool = new Pool({ processes: 2, runtime: 'process' });
});
afterAll(async () => {
  await pool.terminate();
});

/** Ping-pongs (the child echoes) until the lane is up; then tells the child to stop echoing. */
async function bringUp(a: Connection, stop = true): Promise<void> {
  for (let i = 0; i < 20_000 && !onLane(a); i++) {
    a.send(i);
    expect(await a.recv()).toBe(i);
  }
  expect(onLane(a)).toBe(true);
  if (stop) a.send('stop');
}

function start(name: string, args: unknown[]): [Promise<unknown>, Connection] {
  const [a, b] = Pipe();
  const done = pool.apply(task(fixtures, name), [b, ...args]);
  b.close();
  return [done, a];
}

test('the lane comes up; order holds across the switch both ways; the child closing gives EOF', async () => {
  const [done, a] = start('echo', []);
  for (let i = 0; i < 30; i++) a.send(i); // queued in the ring before the child even runs
  for (let i = 0; i < 30; i++) expect(await a.recv()).toBe(i);
  await bringUp(a, false);
  for (let i = 0; i < 300; i++) a.send({ i });
  for (let i = 0; i < 300; i++) expect(await a.recv()).toEqual({ i });
  a.send(null);
  await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
  expect(await done).toBe(true);
  a.close();
});

test('passing this end on tears the lane down: what the child had not read comes back in order, the new holder gets its answer', async () => {
  const threads = new Pool({ processes: 1 });
  try {
    const gotTwo = new Event();
    const go = new Event();
    const [done, a] = start('hostTearsDown', [gotTwo, go]);
    await bringUp(a);
    for (let i = 1; i <= 5; i++) a.send(i);
    expect(await gotTwo.wait(20_000)).toBe(true); // the child read 1, 2 and holds 3, 4, 5 unread
    const relay = threads.apply(task(fixtures, 'recvOne'), [a]); // the lane ends here
    expect(onLane(a)).toBe(false);
    go.set();
    a.send('end');
    expect(await done).toEqual([1, 2, 3, 4, 5]);
    expect(await relay).toBe('from C');
    a.close();
  } finally {
    await threads.terminate();
  }
});

test("the child passing its end on tears the lane down: its unread messages reach its new holder first", async () => {
  const readOne = new Event();
  const [done, a] = start('guestTearsDown', [readOne]);
  await bringUp(a);
  a.send(1);
  a.send(2);
  a.send(3);
  expect(await readOne.wait(20_000)).toBe(true);
  a.send(4);
  a.send('end');
  expect(await done).toEqual([1, 2, 3, 4, false]);
  a.close();
});

test('after the peer sends and then signals by an Event, a poll sees what it sent (both ways)', async () => {
  const sent = new Event();
  const back = new Event();
  const [done, a] = start('sendThenSignal', [sent, back]);
  await bringUp(a);
  expect(await sent.wait(20_000)).toBe(true);
  expect(a.pollSync()).toBe(true);
  expect(await a.recv()).toBe('x');
  a.send('y');
  back.set();
  expect(await done).toEqual([true, 'y']);
  a.close();
});

test('a child that dies after sending (and one more call): everything it sent arrives, then EOF', async () => {
  const [a, b] = Pipe();
  const p = new Process({ target: task(fixtures, 'sendThenDie'), args: [b, 200], runtime: 'process' });
  p.start();
  b.close();
  await bringUp(a);
  for (let i = 0; i < 200; i++) expect(await a.recv()).toBe(i);
  await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
  await p.join();
  a.close();
});

test('closing this end gives the child EOF after what was sent before', async () => {
  const [done, a] = start('readAll', []);
  await bringUp(a);
  for (let i = 0; i < 3; i++) a.send(i);
  a.close();
  expect(await done).toEqual([0, 1, 2]);
});

test('both sides sending 4 MiB at once do not deadlock', async () => {
  const [done, a] = start('exchangeBlocks', [64]);
  await bringUp(a);
  for (let i = 0; i < 64; i++) a.sendBytes(new Uint8Array(64 * 1024).fill(i));
  let ok = 0;
  for (let i = 0; i < 64; i++) if ((await a.recvBytes())[1000] === i) ok++;
  expect(ok).toBe(64);
  expect(await done).toBe(64);
  a.close();
});

// Python's docs never close the parent's copy of the child's end: the lane comes up all the same, and
// ends (falling back to the rings, which both holders share) only when that copy is used.
describe("the parent keeps its copy of the child's end", () => {
  /** Like start(), but the parent's copy `b` of the child's end stays open. */
  function startKeeping(name: string, args: unknown[]): [Promise<unknown>, Connection, Connection] {
    const [a, b] = Pipe();
    const done = pool.apply(task(fixtures, name), [b, ...args]);
    return [done, a, b];
  }

  test('the lane comes up while that copy is idle; closing it later leaves the lane up', async () => {
    const [done, a, b] = startKeeping('echo', []);
    await bringUp(a, false);
    for (let i = 0; i < 100; i++) a.send(i);
    for (let i = 0; i < 100; i++) expect(await a.recv()).toBe(i);
    b.close();
    expect(onLane(a)).toBe(true);
    a.send(null);
    expect(await done).toBe(true);
    a.close();
  });

  test('a receive on that copy ends the lane: it reads what the child had not, in order; the child gets the rest', async () => {
    const gotTwo = new Event();
    const go = new Event();
    const [done, a, b] = startKeeping('hostTearsDown', [gotTwo, go]);
    await bringUp(a);
    for (let i = 1; i <= 5; i++) a.send(i);
    expect(await gotTwo.wait(20_000)).toBe(true); // the child read 1, 2 and holds 3, 4, 5 unread
    expect(await b.recv()).toBe(3); // the parent's copy reads next, from the child's ring
    expect(onLane(a)).toBe(false);
    go.set();
    a.send('end');
    expect(await done).toEqual([1, 2, 4, 5]);
    expect(await a.recv()).toBe('from C');
    a.close();
    b.close();
  });

  test("a send on that copy ends the lane: it arrives after what the child sent before, and before what it sends after", async () => {
    const sent = new Event();
    const go = new Event();
    const [done, a, b] = startKeeping('sendsAroundGo', [sent, go]);
    await bringUp(a);
    expect(await sent.wait(20_000)).toBe(true);
    b.send('t1');
    expect(onLane(a)).toBe(false);
    go.set();
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await a.recv());
    expect(got).toEqual(['c1', 'c2', 'c3', 't1', 'c4']);
    a.send('end');
    expect(await done).toBe(false);
    a.close();
    b.close();
  });
});
