// Process.interrupt() (Python 3.14): SIGINT to a child process. By default the target ends as Python's
// does with KeyboardInterrupt (exitCode 1, "Process <name>:" and KeyboardInterrupt on stderr); a target
// that handles SIGINT itself decides. A worker thread cannot receive a signal: interrupt() says so.
import { spawnSync } from 'node:child_process';
import { Process, task } from '../lib/index.js';
import { fixture } from './helpers/runtimes.js';
import { Gate } from './fixtures/executor-gate.js';

const waitAtGate = task(fixture('interrupt-tasks.ts'), 'waitAtGate');
const handleInterrupt = task(fixture('interrupt-tasks.ts'), 'handleInterrupt');

describe('Process.interrupt()', () => {
  let gate: Gate;
  beforeEach(async () => {
    gate = await Gate.open();
  });
  afterEach(async () => {
    await gate.close();
  });

  test('a child process without its own SIGINT handler ends with exitCode 1, as after KeyboardInterrupt', async () => {
    const p = new Process({ target: waitAtGate, args: [gate.port, 'a'], runtime: 'process' });
    p.start();
    await gate.arrived('a');
    p.interrupt();
    await p.join();
    expect(p.exitCode).toBe(1);
  });

  test('a target that handles SIGINT itself goes on: here it returns, exitCode 0', async () => {
    const p = new Process({ target: handleInterrupt, args: [gate.port, 'b'], runtime: 'process' });
    p.start();
    await gate.arrived('b');
    p.interrupt();
    await p.join();
    expect(p.exitCode).toBe(0);
  });

  test('before start() and after the end it does nothing', async () => {
    const p = new Process({ target: (x: number) => x, args: [1], runtime: 'process' });
    p.interrupt();
    p.start();
    await p.join();
    p.interrupt();
    expect(p.exitCode).toBe(0);
  });

  test('on a thread it throws a TypeError naming the cause', async () => {
    const p = new Process({ target: waitAtGate, args: [gate.port, 't'] });
    p.start();
    try {
      await gate.arrived('t');
      expect(() => p.interrupt()).toThrow(TypeError);
      expect(() => p.interrupt()).toThrow(/runtime: 'process'/);
      expect(p.isAlive()).toBe(true);
    } finally {
      p.terminate();
      await p.join();
    }
  });
});

test('stderr says "Process <name>:" and KeyboardInterrupt, as Python prints', () => {
  const program = `
    import { Process, task } from ${JSON.stringify(new URL('../lib/index.ts', import.meta.url).href)};
    import { Gate } from ${JSON.stringify(new URL('./fixtures/executor-gate.ts', import.meta.url).href)};
    const gate = await Gate.open();
    const p = new Process({ target: task(${JSON.stringify(fixture('interrupt-tasks.ts'))}, 'waitAtGate'), args: [gate.port, 'x'], runtime: 'process', name: 'Worker-7' });
    p.start();
    await gate.arrived('x');
    p.interrupt();
    await p.join();
    await gate.close();
    console.log('exitCode', p.exitCode);
  `;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(res.stdout).toContain('exitCode 1');
  expect(res.stderr).toMatch(/Process Worker-7:\nKeyboardInterrupt/);
});
