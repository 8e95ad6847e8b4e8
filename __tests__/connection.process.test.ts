import { Pipe } from '../primitives/connection.js';
import { Pool } from '../lib/pool.js';
import { Process } from '../lib/process.js';
import { task } from '../lib/base/task.js';
import { EOFError } from '../lib/base/errors.js';

const fixtures = new URL('./fixtures/pipe-tasks.ts', import.meta.url).href;

describe('Pipe across process workers', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ processes: 2, runtime: 'process' });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  test('a process worker sends and closes; EOF after all data', async () => {
    const [r, w] = Pipe(false);
    const done = pool.apply(task(fixtures, 'sendRange'), [w, 3, 500]);
    w.close();
    const got: number[] = [];
    for await (const [id, i] of r) {
      expect(id).toBe(3);
      got.push(i);
    }
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(await done).toBe(500);
    r.close();
  });

  test('ping-pong and blocking receive in a process worker', async () => {
    for (const fn of ['echo', 'echoSync']) {
      const [a, b] = Pipe();
      const result = pool.apply(task(fixtures, fn), [b]);
      b.close();
      for (let i = 0; i < 50; i++) {
        a.send({ i, s: 'x'.repeat(i) });
        expect(await a.recv()).toEqual({ i, s: 'x'.repeat(i) });
      }
      a.send(null);
      expect(await result).toBe(50);
      a.close();
    }
  });

  test('closing an end while a process peer is blocked in recvSync gives it EOFError', async () => {
    const [a, b] = Pipe();
    const result = pool.apply(task(fixtures, 'waitForEof'), [b]);
    b.close();
    expect(await a.recv()).toBe('ready');
    a.close();
    expect(await result).toBe('EOFError');
  });

  test('the creator sends to a process reader until it closes; 16 MiB message', async () => {
    const [r, w] = Pipe(false);
    const [rr, rw] = Pipe(false);
    const done = pool.apply(task(fixtures, 'drain'), [r, rw]);
    r.close();
    rw.close();
    for (let i = 0; i < 100; i++) w.send(i);
    w.send(new Uint8Array(16 * 1024 * 1024)); // a 16 MiB message through the broker
    w.close();
    expect(await rr.recv()).toBe(101);
    expect(await done).toBe(101);
    await expect(rr.recv()).rejects.toBeInstanceOf(EOFError);
    rr.close();
  });

  test('a Process (child process) that exits without closing has its handle closed', async () => {
    const [r, w] = Pipe(false);
    const p = new Process({ target: task(fixtures, 'sendAndLeaveOpen'), args: [w, 5], runtime: 'process' });
    p.start();
    w.close();
    const got: number[] = [];
    for await (const x of r) got.push(x);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await p.join();
    expect(p.exitCode).toBe(0);
    r.close();
  });
});
