// Spare workers for Process (lib/process-spares.ts): a start leaves booted workers waiting; the next
// start with the same settings runs on one of them, and one more is started behind it. Spares never keep
// a program alive, die with it, and can be turned off.
import { Process, setSpareWorkers } from '../lib/index.js';
import { sparePids, stopSpares } from '../lib/process-spares.js';
import { runtimes } from './helpers/runtimes.js';
import { libUrl, runProgram } from './helpers/programs.js';

/** A target whose result is its exit code, so nothing but the Process itself is needed to see it ran. */
const exitWith = (code: number) => {
  process.exitCode = code;
};

/** Resolves after pending immediates (the refill is scheduled with setImmediate). */
const afterImmediates = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  setSpareWorkers(true);
  stopSpares();
});

describe.each(runtimes)('spare workers (%s)', (runtime) => {
  test('a start leaves a spare; the next start runs on it and another is started behind it', async () => {
    setSpareWorkers(1);
    const first = new Process({ target: exitWith, args: [3], runtime });
    first.start();
    await first.join();
    expect(first.exitCode).toBe(3);
    const [spare] = sparePids(runtime);
    expect(typeof spare).toBe('number');
    expect(spare).not.toBe(first.pid);

    const second = new Process({ target: exitWith, args: [4], runtime });
    second.start();
    expect(second.pid).toBe(spare);
    await afterImmediates();
    const [next] = sparePids(runtime);
    expect(typeof next).toBe('number');
    expect(next).not.toBe(spare);
    await second.join();
    expect(second.exitCode).toBe(4);
  }, 60_000);

  test('a start with other settings does not take the spare; the same new settings twice in a row replace it', async () => {
    setSpareWorkers(1);
    const first = new Process({ target: exitWith, args: [0], runtime });
    first.start();
    await first.join();
    const [spare] = sparePids(runtime);
    const readsEnv = (name: string) => {
      process.exitCode = process.env[name] === 'yes' ? 5 : 6;
    };
    const other = () => new Process({ target: readsEnv, args: ['SPARE_TEST'], env: { SPARE_TEST: 'yes' }, runtime });

    const once = other();
    once.start();
    expect(once.pid).not.toBe(spare);
    await once.join();
    expect(once.exitCode).toBe(5); // its own environment, not the spare's
    expect(sparePids(runtime)).toEqual([spare]); // one start with other settings does not throw it away

    const twice = other();
    twice.start();
    expect(twice.pid).not.toBe(spare);
    expect(sparePids(runtime)).not.toContain(spare); // the same new settings again: replaced
    await twice.join();
    expect(twice.exitCode).toBe(5);
    const [renewed] = sparePids(runtime);
    expect(typeof renewed).toBe('number');

    const third = other();
    third.start();
    expect(third.pid).toBe(renewed);
    await third.join();
    expect(third.exitCode).toBe(5);
  }, 60_000);

  test('a daemon started on a spare still does not keep its program alive', () => {
    const res = runProgram(`
      import { Process } from ${JSON.stringify(libUrl)};
      const warm = new Process({ target: () => 0, runtime: ${JSON.stringify(runtime)} });
      warm.start(); await warm.join();
      const d = new Process({ target: () => new Promise(() => setInterval(() => {}, 1000)), daemon: true, runtime: ${JSON.stringify(runtime)} });
      d.start();
      console.log('started', d.isAlive());
    `, { timeout: 60_000 });
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('started true');
  }, 90_000);
});

test('setSpareWorkers(false) stops the waiting spares and starts no more; bad values are refused', async () => {
  const first = new Process({ target: exitWith, args: [0], runtime: 'thread' });
  first.start();
  await first.join();
  expect(sparePids('thread').length).toBeGreaterThan(0);
  setSpareWorkers(false);
  expect(sparePids('thread')).toEqual([]);
  const second = new Process({ target: exitWith, args: [0], runtime: 'thread' });
  second.start();
  await second.join();
  expect(sparePids('thread')).toEqual([]);
  expect(() => setSpareWorkers(-1)).toThrow(TypeError);
  expect(() => setSpareWorkers('no' as unknown as boolean)).toThrow(TypeError);
}, 60_000);

describe('a whole program', () => {
  const program = `
    import { Process } from ${JSON.stringify(libUrl)};
    import { sparePids } from ${JSON.stringify(new URL('../lib/process-spares.ts', import.meta.url).href)};
    for (const runtime of ['thread', 'process']) {
      const p = new Process({ target: () => 0, runtime });
      p.start();
      await p.join();
    }
    console.log(JSON.stringify({ thread: sparePids('thread'), process: sparePids('process') }));
  `;

  test('ends on its own with spares waiting, and its spare child processes die with it', async () => {
    const res = runProgram(program, { timeout: 60_000 });
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    expect(out.thread.length).toBe(2);
    expect(out.process.length).toBe(1);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The child goes when its parent's channel closes (and the reaper kills it): bounded wait.
    const deadline = Date.now() + 20_000;
    while (alive(out.process[0]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(out.process[0])).toBe(false);
  }, 90_000);

  test('MULTIPROC_SPARE_WORKERS=0 turns them off from the start', () => {
    const res = runProgram(program, { timeout: 60_000, env: { MULTIPROC_SPARE_WORKERS: '0' } });
    expect(res.status).toBe(0);
    expect(JSON.parse(res.stdout.trim().split('\n').pop()!)).toEqual({ thread: [], process: [] });
  }, 90_000);
});
