import { spawnSync } from 'node:child_process';
import { Process, ValueError, activeChildren, task } from '../lib/index.js';
import { runtimes, fixture } from './helpers/runtimes.js';
import { libUrl, runProgram } from './helpers/programs.js';

const tasks = (name: string) => task(fixture('process-tasks.ts'), name);

describe.each(runtimes)('Process (%s)', (runtime) => {
  test('start, join, exitCode 0, isAlive, pid, name', async () => {
    const p = new Process({ target: (a: number, b: number) => a + b, args: [1, 2], runtime, name: 'adder' });
    expect(p.name).toBe('adder');
    expect(p.exitCode).toBeNull();
    expect(p.pid).toBeNull();
    expect(p.isAlive()).toBe(false);
    p.start();
    expect(typeof p.pid).toBe('number');
    await p.join();
    expect(p.exitCode).toBe(0);
    expect(p.isAlive()).toBe(false);
    expect(String(p)).toContain('exitcode=0');
  });

  test('default names are Process-N and distinct', () => {
    const a = new Process({ target: () => 0, runtime });
    const b = new Process({ target: () => 0, runtime });
    expect(a.name).toMatch(/^Process-\d+$/);
    expect(a.name).not.toBe(b.name);
  });

  test('a target that throws gives exitCode 1 and its stack on stderr', async () => {
    const script = `
      import { Process, task } from ${JSON.stringify(new URL('../lib/index.ts', import.meta.url).href)};
      const p = new Process({ target: task(${JSON.stringify(fixture('process-tasks.ts'))}, 'failWith'), args: ['kaboom'], runtime: ${JSON.stringify(runtime)} });
      p.start(); await p.join(); console.log('exit', p.exitCode);
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(res.stdout).toContain('exit 1');
    expect(res.stderr).toContain('Error: kaboom');
    expect(res.stderr).toMatch(/at .*failWith/);
  });

  test('process.exit(n) inside the target gives exitCode n', async () => {
    const p = new Process({ target: tasks('exitWith'), args: [5], runtime });
    p.start();
    await p.join();
    expect(p.exitCode).toBe(5);
  });

  test('currentProcess().name inside the target is the Process name', async () => {
    const script = `
      import { Process, task } from ${JSON.stringify(new URL('../lib/index.ts', import.meta.url).href)};
      const p = new Process({ target: task(${JSON.stringify(fixture('process-tasks.ts'))}, 'reportName'), name: 'worker-7', runtime: ${JSON.stringify(runtime)} });
      p.start(); await p.join();
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(res.stdout).toContain('name=worker-7');
  });

  test('join(timeout) returns after the timeout while the process runs; terminate gives -15', async () => {
    const p = new Process({ target: tasks('spin'), runtime });
    p.start();
    const started = Date.now();
    await p.join(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(p.isAlive()).toBe(true);
    expect(p.exitCode).toBeNull();
    expect(activeChildren()).toContain(p);
    p.terminate();
    await p.join();
    expect(p.exitCode).toBe(-15);
    expect(activeChildren()).not.toContain(p);
  });

  test('kill gives -9', async () => {
    const p = new Process({ target: tasks('waitForever'), runtime });
    p.start();
    await p.join(50);
    p.kill();
    await p.join();
    expect(p.exitCode).toBe(-9);
  });

  test('misuse: start twice, join before start, close while running', async () => {
    const p = new Process({ target: tasks('waitForever'), runtime });
    await expect(p.join()).rejects.toThrow('can only join a started process');
    p.start();
    expect(() => p.start()).toThrow('cannot start a process twice');
    expect(() => p.close()).toThrow(ValueError);
    expect(() => p.close()).toThrow(/still running/);
    p.terminate();
    await p.join();
    p.close();
    expect(() => p.isAlive()).toThrow(ValueError);
    expect(() => p.isAlive()).toThrow('process object is closed');
  });

  test('a Process can start a Process (recursion)', async () => {
    const p = new Process({ target: tasks('parentOfChild'), args: [runtime], runtime });
    p.start();
    await p.join();
    expect(p.exitCode).toBe(13);
  });

  test('a daemon Process does not keep its parent alive', () => {
    const script = `
      import { Process, task } from ${JSON.stringify(new URL('../lib/index.ts', import.meta.url).href)};
      const p = new Process({ target: task(${JSON.stringify(fixture('process-tasks.ts'))}, 'waitForever'), daemon: true, runtime: ${JSON.stringify(runtime)} });
      p.start(); console.log('started', p.daemon);
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(res.stdout).toContain('started true');
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
  });

  test('bad options throw synchronously', () => {
    expect(() => new Process({ target: 5 as any, runtime })).toThrow(TypeError);
    expect(() => new Process(null as any)).toThrow(TypeError);
    expect(() => new Process({ target: () => 0, args: 'x' as any, runtime })).toThrow(TypeError);
    expect(() => new Process({ target: () => 0, runtime: 'green' as any })).toThrow(TypeError);
  });

  test('a start whose arguments cannot be sent throws, is not alive, and leaves no worker keeping the program', () => {
    const res = runProgram(`
      import { Process } from ${JSON.stringify(libUrl)};
      const p = new Process({ target: (x) => x, args: [new WeakMap()], runtime: ${JSON.stringify(runtime)} });
      try { p.start(); } catch (err) { console.log('threw', err.name, err.message, p.isAlive(), p.pid); }
    `, { timeout: 30_000 });
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`threw SerializationError cannot send to a ${runtime} worker: args[0]: WeakMap`);
    expect(res.stdout).toContain('false null');
  }, 40_000);
});
