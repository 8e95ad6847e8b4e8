// The built package (what users import): bundled worker entry, error classes by name, packed map chunks,
// a .ts task module loaded through tsx registered on demand, a primitive crossing. `npm test` builds first.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs a fixture (fixtures/<name>.mjs) in a fresh node with `nodeArgs`; its last line of output, parsed. */
function runFixture(name: string, nodeArgs: string[] = [], timeout = 60_000): any {
  const script = fileURLToPath(new URL(`./fixtures/${name}.mjs`, import.meta.url));
  const res = spawnSync(process.execPath, [...nodeArgs, script], { encoding: 'utf8', timeout, env: { ...process.env, NODE_OPTIONS: '' } });
  if (res.status !== 0) console.log(res.stdout, res.stderr);
  expect(res.status).toBe(0);
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

/** What fixtures/dist-identity.mjs prints when every class is one, in the workers and back here. */
function expectOneClassEach(out: unknown): void {
  const all = { lock: true, queue: true, conn: true, event: true, dict: true };
  const back = { ...all, ctor: true };
  expect(out).toEqual({ python: true, thread: { inWorker: all, back }, process: { inWorker: all, back } });
}

test('the built package works end to end in both runtimes', () => {
  const out = runFixture('dist-check');
  for (const runtime of ['thread', 'process']) {
    expect(out[runtime]).toEqual({
      serialization: true, remote: true, lost: true, map: true, tsModule: 144, name: expect.stringMatching(/^PoolWorker-\d+$/), queue: 'from worker',
    });
  }
}, 90_000);

test('a primitive or Manager proxy passed to a task and back is the class exported from multiproc, in the worker and here', () => {
  expectOneClassEach(runFixture('dist-identity'));
}, 90_000);

test("import 'multiproc' leaves tinypool unloaded until the first pool starts, and node:v8 until a message needs it", () => {
  const out = runFixture('dist-lazy-tinypool');
  expect(out).toEqual({ afterImport: { assert: false, v8: false, tinypool: false }, afterPool: { tinypool: true }, sum: 5 });
}, 90_000);

test("import 'multiproc' leaves node:child_process, node:net, node:crypto and the Manager's start-up unloaded until used; those paths work from dist", () => {
  const out = runFixture('dist-lazy-import');
  const none = { child_process: false, net: false, crypto: false };
  expect(out).toEqual({
    before: none, afterImport: none, inWorker: none, exitCode: 0, fromChild: 'from child', child: 'done', afterManager: true,
  });
}, 90_000);

/** The files `entry` (in dist/) loads statically, transitively. */
function staticImports(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const [, spec] of src.matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g)) visit(resolvePath(dirname(file), spec));
  };
  visit(fileURLToPath(new URL(`../dist/${entry}`, import.meta.url)));
  return [...seen];
}

test("the bundle's root import reaches no Manager start-up code: it is a chunk loaded by the first start/connect", () => {
  const files = staticImports('lib/index.js');
  expect(files.length).toBeGreaterThan(1);
  // The Manager's start-up module is the one naming server-main.
  expect(files.filter((f) => readFileSync(f, 'utf8').includes('server-main'))).toEqual([]);
});

test('the root import loads its code from one chunk (each file costs ~0.3 ms): a module loaded by import() is listed in lazyChunks of scripts/bundle-entries.mjs', () => {
  // lib/index.js, the root's chunk, and at most esbuild's small helpers chunk.
  expect(staticImports('lib/index.js').length).toBeLessThanOrEqual(3);
});

test('a worker reviving a Lock or a Queue loads neither the cluster nor the Python names', () => {
  // The cluster's code names bullmq; the Python names' code defines cpu_count.
  for (const stub of ['primitives/sync/locks.js', 'primitives/queues.js']) {
    const files = staticImports(stub);
    expect(files.length).toBeGreaterThan(2);
    expect(files.filter((f) => /"bullmq"|cpu_count/.test(readFileSync(f, 'utf8')))).toEqual([]);
  }
});

describe('first use (scripts/first-use.mjs): the pools, the primitives and the Manager load when first used', () => {
  const run = (nodeArgs: string[]) => runFixture('dist-first-use', nodeArgs);
  const behaves = {
    lock: expect.objectContaining({ name: 'Lock', type: 'function', instance: true, proto: true, ctor: true, subclass: true, staticOk: true }),
    queue: true,
    pool: expect.objectContaining({ base: true, sum: 5, unsendable: true }),
    process: { exitCode: 0, instance: true },
    manager: expect.objectContaining({ value: 7, proxy: true, manager: true }),
    connection: expect.objectContaining({ loaded: true, ready: 1, got: 'hi', instance: true }),
  };

  test('under node, each group loads at its first use, and its stand-ins behave as the classes', () => {
    const out = run([]);
    expect(out).toEqual({ afterImport: [], ...behaves });
    expect(out.lock.groups).toEqual(['primitives']);
    expect(out.pool.groups).toEqual(['pools', 'primitives']);
    expect(out.connection.beforeListener).toBe(false); // connection.wait() loads no socket code
    expect(out.manager.groups).toEqual(['connection', 'manager', 'pools', 'primitives']); // its lazy start-up chunk reaches every group
  }, 90_000);

  test('under a hook that compiles ES modules for require (tsx), every group loads with the import: one copy of every class', () => {
    const out = run(['--import', 'tsx']);
    expect(out).toEqual({ afterImport: ['connection', 'manager', 'pools', 'primitives'], ...behaves });
  }, 90_000);

  test('under tsx, a primitive or proxy passed to a task and back is the class exported from multiproc', () => {
    expectOneClassEach(runFixture('dist-identity', ['--import', 'tsx'], 90_000));
  }, 120_000);
});

test("import 'multiproc' loads no built-in that only some paths use (worker_threads, stream, os, perf_hooks, ...), yet knows which thread it is in", () => {
  const { main, inWorker } = runFixture('dist-builtins');
  // each of these costs ~0.1-1.5 ms (worker_threads loads stream and ~20 internal modules)
  const rare = ['worker_threads', 'stream', 'child_process', 'net', 'crypto', 'os', 'perf_hooks', 'v8', 'util/types', 'fs/promises', 'timers/promises'];
  expect(main.loaded.filter((m: string) => rare.includes(m))).toEqual([]);
  expect(inWorker.loaded.filter((m: string) => rare.includes(m))).toEqual([]);
  expect(main).toMatchObject({ isMainThread: true, threadId: 0, real: { isMainThread: true, threadId: 0 } });
  expect(inWorker.isMainThread).toBe(false);
  expect(inWorker.threadId).toBe(inWorker.real.threadId);
  expect(inWorker.threadId).toBeGreaterThan(0);
}, 90_000);
