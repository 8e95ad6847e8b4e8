// A TypeScript task module is compiled once per content and later workers import the compiled JavaScript
// (lib/base/ts-cache.ts), without loading tsx. Runs the built package (as users do: a worker started from
// the TypeScript sources registers tsx first, and then the cache is rightly not used). `npm test` builds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const libUrl = new URL('../dist/lib/index.js', import.meta.url).href;
let dir = '';
let cache = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-tscache-'));
  cache = join(dir, 'cache');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'helper.js'), 'export const base = 10;\n');
  // Its exit code says how it was loaded: 10 through tsx, else 10 + x plus 50 if import.meta.url still
  // names the .ts source (a cached copy elsewhere must not change it). Exit codes of a process are 8-bit.
  writeFileSync(join(dir, 'plain.ts'), `import { base } from './helper.js';
const here: string = import.meta.url;
export function run(x: number): void {
  process.exitCode = (globalThis as any).__multiprocTsx ? 10 : base + x + (here.endsWith('/plain.ts') ? 50 : 0);
}
`);
  writeFileSync(join(dir, 'thrower.ts'), `type Reason = string;
export function run(): void {
  const reason: Reason = 'thrown from thrower';
  throw new Error(reason);
}
`);
  writeFileSync(join(dir, 'other.ts'), 'export const seven: number = 7;\n');
  writeFileSync(join(dir, 'nested.ts'), `import { seven } from './other.ts';
export function run(): void {
  process.exitCode = (globalThis as any).__multiprocTsx ? seven : 99;
}
`);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a Process per (module, runtime) in one fresh program; returns the exit codes. */
function runProgram(module: string, runtimes: string[], env: Record<string, string> = {}, cwd?: string) {
  const url = pathToFileURL(join(dir, module)).href;
  const src = `
    import { Process, task } from ${JSON.stringify(libUrl)};
    const codes = [];
    for (const runtime of ${JSON.stringify(runtimes)}) {
      const p = new Process({ target: task(${JSON.stringify(url)}, 'run'), args: [codes.length], runtime });
      p.start();
      await p.join();
      codes.push(p.exitCode);
    }
    console.log(JSON.stringify(codes));
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', src], {
    encoding: 'utf8', timeout: 90_000, cwd, env: { ...process.env, NODE_OPTIONS: '', MULTIPROC_TS_CACHE: cache, ...env },
  });
  if (res.status !== 0) throw new Error(`program failed (${res.status}): ${res.stderr}`);
  return { codes: JSON.parse(res.stdout.trim().split('\n').pop()!) as number[], stderr: res.stderr };
}

const run = (module: string, runtimes: string[], env: Record<string, string> = {}) => runProgram(module, runtimes, env).codes;

test('a .ts module is compiled once; later workers, in both runtimes and in a later run, import the compiled form without tsx', () => {
  expect(run('plain.ts', ['thread', 'process', 'thread'])).toEqual([60, 61, 62]);
  const entries = readdirSync(cache);
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatch(/^[0-9a-f]{32}\.mjs$/);
  expect(run('plain.ts', ['process'])).toEqual([60]);
  expect(readdirSync(cache)).toEqual(entries);
}, 180_000);

test('an edited module gets a new compiled entry: its new code runs', () => {
  expect(run('plain.ts', ['thread'])).toEqual([60]);
  writeFileSync(join(dir, 'helper.js'), 'export const base = 20;\n'); // a plain import: read live, not cached
  writeFileSync(join(dir, 'plain.ts'), `import { base } from './helper.js';
export function run(x: number): void { process.exitCode = base + x + 5; }
`);
  expect(run('plain.ts', ['thread'])).toEqual([25]);
  expect(readdirSync(cache)).toHaveLength(2);
}, 180_000);

test('a module importing another .ts file goes through tsx, as before', () => {
  expect(run('nested.ts', ['thread', 'process'])).toEqual([7, 7]);
  expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
}, 180_000);

test('MULTIPROC_TS_CACHE=0 turns the cache off', () => {
  expect(run('plain.ts', ['thread'], { MULTIPROC_TS_CACHE: '0' })).toEqual([10]);
  expect(existsSync(cache)).toBe(false);
}, 180_000);

test('a failure in a compiled module has a stack naming the .ts source and its line', () => {
  const { codes, stderr } = runProgram('thrower.ts', ['thread', 'process']);
  expect(codes).toEqual([1, 1]);
  expect(readdirSync(cache)).toHaveLength(1);
  expect(stderr).toContain('thrown from thrower');
  expect(stderr).toMatch(/thrower\.ts:4:\d+/);
  expect(stderr).not.toContain(cache);
}, 180_000);

test("the compiled form follows the working directory's tsconfig.json as tsx does (comments allowed); one that extends another is left to tsx", () => {
  // With useDefineForClassFields false a field initialiser assigns, so the base class's setter runs.
  writeFileSync(join(dir, 'fields.ts'), `class Base {
  set v(n: number) {
    (globalThis as any).setterHit = n;
  }
}
class Derived extends Base {
  // @ts-ignore: a field over an accessor, on purpose
  v = 1;
}
export function run(): void {
  new Derived();
  process.exitCode = ((globalThis as any).setterHit === 1 ? 30 : 40) + ((globalThis as any).__multiprocTsx ? 100 : 0);
}
`);
  writeFileSync(join(dir, 'tsconfig.json'), `{
  // as tsc --init writes it
  "compilerOptions": { "target": "ES2020", /* assign fields */ "useDefineForClassFields": false, },
}
`);
  expect(runProgram('fields.ts', ['thread', 'process'], {}, dir).codes).toEqual([30, 30]);
  expect(readdirSync(cache)).toHaveLength(1);
  writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "useDefineForClassFields": true } }');
  expect(runProgram('fields.ts', ['thread'], {}, dir).codes).toEqual([40]);
  expect(readdirSync(cache)).toHaveLength(2);
  writeFileSync(join(dir, 'base.json'), '{ "compilerOptions": { "useDefineForClassFields": false } }');
  writeFileSync(join(dir, 'tsconfig.json'), '{ "extends": "./base.json" }');
  expect(runProgram('fields.ts', ['thread'], {}, dir).codes).toEqual([130]);
  expect(readdirSync(cache)).toHaveLength(2);
}, 180_000);
