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

test('Ctrl-C to the process group: a child stuck in a CPU loop (it cannot run its SIGINT handler) still ends with its parent', async () => {
  const { spawn } = await import('node:child_process');
  const program = new URL('./fixtures/interrupt-group-program.ts', import.meta.url).pathname;
  const parent = spawn(process.execPath, ['--import', 'tsx', program], {
    stdio: ['ignore', 'pipe', 'inherit'], detached: true, env: { ...process.env, NODE_OPTIONS: '' },
  });
  let childPid = 0;
  try {
    childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /child (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.on('exit', () => reject(new Error(`parent ended early: ${out}`)));
    });
    const exited = new Promise((resolve) => parent.on('exit', resolve));
    process.kill(-parent.pid!, 'SIGINT');
    await exited;
    const alive = () => {
      try {
        process.kill(childPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 20_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  } finally {
    try {
      if (childPid) process.kill(childPid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
    try {
      process.kill(-parent.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}, 60_000);
