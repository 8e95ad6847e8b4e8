// What only a whole program shows: output at exit and its order, what keeps a program alive, the
// parent's Node flags, and child processes that must not outlive a killed parent.
import { runtimes, fixture } from './helpers/runtimes.js';
import { alive, libUrl, runProgram, startProgram, within } from './helpers/programs.js';
import { Pool } from '../lib/index.js';

const tasksUrl = fixture('engine-tasks.ts');

describe.each(runtimes)('a program using %s workers', (runtime) => {
  test('every line a task prints comes before its result, and none is lost when the program ends with the pool open', () => {
    const res = runProgram(`
      import { Pool, ThreadPoolExecutor, task } from ${JSON.stringify(libUrl)};
      const printLines = task(${JSON.stringify(tasksUrl)}, 'printLines');
      const pool = new Pool({ processes: 2, runtime: ${JSON.stringify(runtime)} });
      const done = await pool.starmap(printLines, Array.from({ length: 100 }, (_, i) => [i, 10]), 1);
      console.log('SUMMARY', done.length);
    `);
    expect(res.stderr).toBe('');
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(1001);
    expect(lines.at(-1)).toBe('SUMMARY 100');
    for (let i = 0; i < 100; i++) expect(lines.filter((l) => l.startsWith(`task ${i} `))).toHaveLength(10);
  });

  test('an awaited result keeps the program alive, even right after an unsendable argument', () => {
    const res = runProgram(`
      import { Pool } from ${JSON.stringify(libUrl)};
      const pool = new Pool({ processes: 2, runtime: ${JSON.stringify(runtime)} });
      await pool.map((x) => x, [() => 1, 2]).catch((e) => console.log(e.name));
      console.log(await pool.apply(async (x) => { await new Promise((r) => setTimeout(r, 200)); return x * 2; }, [21]));
      pool.close();
      await pool.join();
      console.log('joined');
    `);
    expect(res.stdout.trim().split('\n')).toEqual(['SerializationError', '42', 'joined']);
    expect(res.status).toBe(0);
  });

  test('an awaited join() of a daemon Process keeps the program alive until it ends', () => {
    const res = runProgram(`
      import { Process } from ${JSON.stringify(libUrl)};
      const p = new Process({ target: () => new Promise((r) => setTimeout(r, 300)), daemon: true, runtime: ${JSON.stringify(runtime)} });
      p.start();
      await p.join();
      console.log('after join', p.exitCode);
    `);
    expect(res.stdout.trim()).toBe('after join 0');
    expect(res.status).toBe(0);
  });

  test("a Process whose target throws prints the Process's name, as Python does", () => {
    const res = runProgram(`
      import { Process } from ${JSON.stringify(libUrl)};
      const p = new Process({ name: 'conn1', target: () => { throw new Error('target broke'); }, runtime: ${JSON.stringify(runtime)} });
      p.start();
      await p.join();
      console.log('exit', p.exitCode);
    `);
    expect(res.stderr).toMatch(/^Process conn1:\nError: target broke/m);
    expect(res.stdout.trim()).toBe('exit 1');
  });

  test('a pool that is never closed prints nothing at exit (no EPIPE from workers still writing)', () => {
    const res = runProgram(`
      import { Pool } from ${JSON.stringify(libUrl)};
      const pool = new Pool({ processes: 2, runtime: ${JSON.stringify(runtime)} });
      pool.applyAsync(async () => { for (;;) { console.log('tick'); await new Promise((r) => setTimeout(r, 1)); } });
      console.log(await pool.apply((x) => x + 1, [41]));
      await new Promise((r) => setTimeout(r, 100)); // time passes with a worker still printing: the exit meets it mid-write
      process.exit(0);
    `);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('42');
    expect(res.stderr).not.toMatch(/EPIPE|Error/);
  });
});

describe('a parent started with process-wide Node flags', () => {
  test('threads leave out the flags a worker thread refuses: Pool, ThreadPoolExecutor and a thread Process work', () => {
    const res = runProgram(
      `
      import { Pool, ThreadPoolExecutor, Process } from ${JSON.stringify(libUrl)};
      const pool = new Pool(2);
      console.log(await pool.apply((x) => x + 1, [1]));
      await pool.terminate();
      const ex = new ThreadPoolExecutor(1);
      console.log(await ex.submit((x) => x * 3, 1).result());
      await ex.shutdown();
      const p = new Process({ target: () => {} });
      p.start();
      await p.join();
      console.log('process', p.exitCode);
    `,
      { execArgv: ['--max-old-space-size=512', '--expose-gc', '--stack-trace-limit=30'] },
    );
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n')).toEqual(['2', '3', 'process 0']);
  });
});

describe('child processes do not outlive their parent', () => {
  const kinds = {
    Pool: `const pool = new Pool({ processes: 2, runtime: 'process' });
      pool.applyAsync(() => { for (;;); }); pool.applyAsync(() => { for (;;); });
      await new Promise((r) => setTimeout(r, 300)); // the workers likely spin by now (they must die with the parent either way)
      console.log('PIDS', pool.workerIds.join(','));`,
    ProcessPoolExecutor: `const ex = new ProcessPoolExecutor(1);
      ex.submit(() => { for (;;); });
      await new Promise((r) => setTimeout(r, 300)); // the worker likely spins by now (it must die with the parent either way)
      console.log('PIDS', ex.workerIds.join(','));`,
    Process: `const p = new Process({ target: () => { for (;;); }, runtime: 'process' });
      p.start();
      console.log('PIDS', p.pid);`,
  };
  test.each(Object.keys(kinds).flatMap((kind) => (['SIGKILL', 'SIGTERM', 'SIGINT'] as const).map((sig) => [kind, sig] as const)))(
    '%s children busy in a CPU loop end within a second of the parent dying by %s',
    async (kind, signal) => {
      const program = startProgram(`
        import { Pool, Process, ProcessPoolExecutor } from ${JSON.stringify(libUrl)};
        ${kinds[kind as keyof typeof kinds]}
        setInterval(() => {}, 1000);
      `);
      const line = await program.line(/^PIDS /);
      const pids = line.slice(5).split(',').map(Number);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) expect(alive(pid)).toBe(true);
      program.child.kill(signal);
      await program.exited;
      expect(await within(1000, () => pids.every((pid) => !alive(pid)))).toBe(true);
    },
  );
});

test('sizes are checked at once: absurd worker counts and resource limits throw, without starting anything', () => {
  const started = Date.now();
  expect(() => new Pool({ processes: 1e6 })).toThrow(RangeError);
  expect(() => new Pool({ processes: 2, resourceLimits: { maxOldGenerationSizeMb: -1 } })).toThrow(RangeError);
  expect(() => new Pool({ processes: 2, resourceLimits: { maxOldGenerationSizeMb: 'big' as any } })).toThrow(TypeError);
  expect(() => new Pool({ processes: 2, resourceLimits: { heap: 5 } as any })).toThrow(TypeError);
  expect(() => new Pool({ processes: 2, env: { A: 1 as any } })).toThrow(TypeError);
  expect(() => new Pool({ processes: 2, execArgv: 'x' as any })).toThrow(TypeError);
  expect(Date.now() - started).toBeLessThan(1000);
});
