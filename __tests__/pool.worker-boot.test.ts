// What a pool worker loads at boot (every Pool start pays it, twice for Pool(2)): the built package's worker
// entry, without the built-in modules that only some tasks need (TypeScript task modules, the checks of values
// that cannot be sent); those load at first use. Runs the built package, as users do (a worker started from the
// TypeScript sources registers tsx first). `npm test` builds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtin } from '../lib/base/builtin.js';
import { Pool, task } from '../lib/index.js';
import { fixture } from './helpers/runtimes.js';

const whoAmIWithEnv = task<(i: number) => [string, string | null]>(fixture('pool-tasks.ts'), 'whoAmIWithEnv');

const libUrl = new URL('../dist/lib/index.js', import.meta.url).href;
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-boot-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'double.ts'), 'export function double(x: number): number {\n  return 2 * x;\n}\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` (an async program body with Pool and task in scope) in a fresh process; returns what it printed last. */
function runProgram(body: string): unknown {
  const src = `import { Pool, task } from ${JSON.stringify(libUrl)};\n${body}`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', src], {
    encoding: 'utf8', timeout: 90_000, env: { ...process.env, NODE_OPTIONS: '', MULTIPROC_TS_CACHE: join(dir, 'cache') },
  });
  if (res.status !== 0) throw new Error(`program failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

test('a pool worker boots without node:net, node:v8, node:os and the lazy parts of node:util and node:fs, which only some tasks need', () => {
  const loaded = runProgram(`
    const out = {};
    for (const runtime of ['thread', 'process']) {
      const pool = new Pool({ processes: 1, runtime });
      out[runtime] = await pool.apply(() => process.moduleLoadList.filter((m) => /^NativeModule (net|v8|os|internal[/]util[/]parse_args[/]parse_args|internal[/]fs[/]streams)$/.test(m)));
      pool.close();
      await pool.join();
    }
    console.log(JSON.stringify(out));
  `);
  // a child process with an IPC channel (advanced serialization) loads net and v8 before any code of ours
  expect(loaded).toEqual({ thread: [], process: ['NativeModule net', 'NativeModule v8'] });
}, 120_000);

test('a .ts task module and an unsendable result still work in a worker that booted without their code', () => {
  const url = pathToFileURL(join(dir, 'double.ts')).href;
  const out = runProgram(`
    const out = {};
    for (const runtime of ['thread', 'process']) {
      const pool = new Pool({ processes: 1, runtime });
      const doubled = await pool.apply(task(${JSON.stringify(url)}, 'double'), [21]);
      const refused = await pool.apply(async () => new (await import('node:net')).Socket()).then(() => 'sent', (e) => e.constructor.name + ': ' + e.message);
      out[runtime] = [doubled, refused];
      pool.close();
      await pool.join();
    }
    console.log(JSON.stringify(out));
  `);
  const refused = expect.stringMatching(/^SerializationError: .*net\.Socket/);
  expect(out).toEqual({ thread: [42, refused], process: [42, refused] });
}, 120_000);

test('builtin() gives the built-in module itself', () => {
  expect(builtin<typeof os>('node:os').availableParallelism).toBe(os.availableParallelism);
});

test('close() and join() stop a worker still booting instead of waiting for it (no initializer)', async () => {
  // tinypool's second child process sleeps 60 s before it loads anything: it is still booting when the pool closes
  const slowBoot = join(dir, 'slow-boot.cjs');
  writeFileSync(slowBoot, "if (process.env.TINYPOOL_WORKER_ID === '2') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);\n");
  const pool = new Pool({ processes: 2, runtime: 'process', execArgv: ['--require', slowBoot] });
  expect(await pool.apply((x: number) => 2 * x, [21])).toBe(42); // tinypool gives the first task to its first worker
  const started = Date.now();
  pool.close();
  await pool.join();
  expect(Date.now() - started).toBeLessThan(4000); // waiting for it would take until the 5 s grace
}, 60_000);

describe('a child process worker finds its configuration in its environment (no round trip before its first batch)', () => {
  test('each child gets its own number, also the replacements of retired workers; the variable is not left to tasks', async () => {
    const pool = new Pool({ processes: 2, runtime: 'process', maxTasksPerChild: 1 });
    const seen = await pool.map(whoAmIWithEnv, [0, 1, 2, 3, 4], 1);
    pool.close();
    await pool.join();
    const names = seen.map(([name]) => name as string);
    expect(new Set(names).size).toBe(5); // one worker per task, never a number twice
    for (const name of names) expect(name).toMatch(/^PoolWorker-[1-9]\d*$/);
    expect(seen.map(([, env]) => env)).toEqual([null, null, null, null, null]);
  }, 120_000);

  test('a configuration too large for the environment (large initializer arguments) comes by message instead', async () => {
    const big = 'x'.repeat(200_000);
    const pool = new Pool({
      processes: 1, runtime: 'process', initargs: [big],
      initializer: (s: string) => { (globalThis as any).initLength = s.length; },
    });
    expect(await pool.apply(() => (globalThis as any).initLength)).toBe(200_000);
    pool.close();
    await pool.join();
  }, 120_000);
});
