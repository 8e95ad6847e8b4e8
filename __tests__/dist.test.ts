// The built package (what users import): bundled worker entry, error classes by name, packed map chunks,
// a .ts task module loaded through tsx registered on demand, a primitive crossing. `npm test` builds first.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('the built package works end to end in both runtimes', () => {
  const script = fileURLToPath(new URL('./fixtures/dist-check.mjs', import.meta.url));
  const res = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (res.status !== 0) console.log(res.stdout, res.stderr);
  expect(res.status).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
  for (const runtime of ['thread', 'process']) {
    expect(out[runtime]).toEqual({
      serialization: true, remote: true, lost: true, map: true, tsModule: 144, name: expect.stringMatching(/^PoolWorker-\d+$/), queue: 'from worker',
    });
  }
}, 90_000);

test('a primitive or Manager proxy passed to a task and back is the class exported from multiproc, in the worker and here', () => {
  const script = fileURLToPath(new URL('./fixtures/dist-identity.mjs', import.meta.url));
  const res = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (res.status !== 0) console.log(res.stdout, res.stderr);
  expect(res.status).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
  const all = { lock: true, queue: true, conn: true, event: true, dict: true };
  expect(out).toEqual({ python: true, thread: { inWorker: all, back: all }, process: { inWorker: all, back: all } });
}, 90_000);

test("import 'multiproc' leaves tinypool unloaded until the first pool starts, and node:v8 until a message needs it", () => {
  const script = fileURLToPath(new URL('./fixtures/dist-lazy-tinypool.mjs', import.meta.url));
  const res = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (res.status !== 0) console.log(res.stdout, res.stderr);
  expect(res.status).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
  expect(out).toEqual({ afterImport: { assert: false, v8: false, tinypool: false }, afterPool: { tinypool: true }, sum: 5 });
}, 90_000);
