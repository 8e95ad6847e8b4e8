// The packed package as a TypeScript consumer gets it: `npm pack`, installed into a scratch project that
// has NOT installed the optional peers bullmq and ioredis, compiled with `tsc --strict` and no skipLibCheck
// (as many projects run), then run. The root and multiproc/python faces must type-check and work without
// the cluster's peers. `npm test` builds dist/ first. No network: the project's dependencies are linked
// from this repository's node_modules and npm runs offline.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const modules = join(repoRoot, 'node_modules');
let scratch = '';

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const env = { ...process.env, NODE_OPTIONS: '', npm_config_audit: 'false', npm_config_fund: 'false' };
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 150_000, env, ...options });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return String(res.stdout);
}

const MAIN = `import { Pool, Process, Queue, Lock, task, type PoolOptions } from 'multiproc';
import { Pool as PyPool } from 'multiproc/python';

const options: PoolOptions = { processes: 2 };
const pool = new Pool(options);
const squares: number[] = await pool.map(task(new URL('./tasks.js', import.meta.url).href, 'square'), [1, 2, 3]);
await pool.close();
await pool.join();
const q = new Queue<string>();
const lock = new Lock();
const p = new Process({ target: (qq: Queue<string>) => qq.put('hi'), args: [q] });
p.start();
const got = await q.get();
await p.join();
const py = new PyPool(1);
const cube = await py.apply((x: number) => x ** 3, [3]);
await py.close();
await py.join();
console.log(JSON.stringify({ squares, got, exitCode: p.exitCode, cube, lock: typeof lock.acquire }));
`;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'multiproc-install-'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the packed tarball installs without bullmq/ioredis, compiles under tsc --strict and runs', () => {
  const packed = run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: repoRoot }).trim().split('\n').pop()!;
  const app = join(scratch, 'app');
  run('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'scratch', version: '1.0.0', type: 'module', private: true,
    dependencies: {
      tinypool: `file:${join(modules, 'tinypool')}`,
      tsx: `file:${join(modules, 'tsx')}`,
      '@types/node': `file:${join(modules, '@types/node')}`,
    },
  }));
  run('npm', ['install', '--offline', '--ignore-scripts', join(scratch, packed)], { cwd: app });
  expect(existsSync(join(app, 'node_modules/multiproc/dist/lib/index.d.ts'))).toBe(true);
  expect(readdirSync(join(app, 'node_modules'))).not.toEqual(expect.arrayContaining(['bullmq']));
  expect(readdirSync(join(app, 'node_modules'))).not.toEqual(expect.arrayContaining(['ioredis']));

  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'] },
    files: ['main.ts', 'tasks.ts'],
  }));
  writeFileSync(join(app, 'tasks.ts'), 'export function square(x: number): number {\n  return x * x;\n}\n');
  writeFileSync(join(app, 'main.ts'), MAIN);
  run(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', '.'], { cwd: app });

  const out = run(process.execPath, ['out/main.js'], { cwd: app, timeout: 60_000 });
  expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ squares: [1, 4, 9], got: 'hi', exitCode: 0, cube: 27, lock: 'function' });
}, 300_000);
