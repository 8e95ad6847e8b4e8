// lib/base/thread.ts tells a worker thread from a main thread without loading node:worker_threads in a
// main thread, on the strength of Node's own behaviour: a worker thread's bootstrap loads node:worker_threads
// before any user code, a main thread's (of a plain program or of a child process) does not. These tests
// fail if a Node release changes that. They run the built module (dist/lib/base/thread.js, which `npm test`
// builds) where a thread or a process must load it, and the source here.
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread as realIsMainThread, threadId as realThreadId } from 'node:worker_threads';
import { inMainThread, threadId } from '../lib/base/thread.js';

const threadModule = new URL('../dist/lib/base/thread.js', import.meta.url).href;
// First thing the user code does: is node:worker_threads loaded? Then what the module says (it must not
// load it in a main thread either), and the truth from node:worker_threads.
const probe = (send: string) => `
  const atStart = process.moduleLoadList.includes('NativeModule worker_threads');
  const listForm = process.moduleLoadList.includes('NativeModule events');
  import(${JSON.stringify(threadModule)}).then((m) => {
    const afterModule = process.moduleLoadList.includes('NativeModule worker_threads');
    const real = process.getBuiltinModule('node:worker_threads');
    ${send}({ listForm, atStart, afterModule, inMainThread: m.inMainThread, threadId: m.threadId, real: { isMainThread: real.isMainThread, threadId: real.threadId } });
  });`;

type Report = { listForm: boolean; atStart: boolean; afterModule: boolean; inMainThread: boolean; threadId: number; real: { isMainThread: boolean; threadId: number } };

function inWorker(code: string, options: { eval?: boolean } = {}): Promise<Report> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, options);
    w.once('message', (m) => void w.terminate().then(() => resolve(m)));
    w.once('error', reject);
  });
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-thread-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a fresh main thread (ES module and CommonJS entry) has not loaded node:worker_threads, and the module keeps it so', () => {
  for (const [args, file] of [[['--input-type=module', '-e'], ''], [['-e'], ''], [[], 'main.mjs'], [[], 'main.cjs']] as const) {
    const code = probe('((r) => console.log(JSON.stringify(r)))');
    const argv = file ? [join(dir, file)] : [...args, code];
    if (file) writeFileSync(join(dir, file), code);
    const res = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(res.stderr).toBe('');
    const report = JSON.parse(res.stdout) as Report;
    expect({ how: argv.slice(0, -1).concat(file), ...report }).toEqual({
      how: argv.slice(0, -1).concat(file), listForm: true, atStart: false, afterModule: false, inMainThread: true, threadId: 0, real: { isMainThread: true, threadId: 0 },
    });
  }
});

test("a child process's main thread (forked, with an IPC channel) has not loaded node:worker_threads", async () => {
  const file = join(dir, 'child.cjs');
  writeFileSync(file, probe('((r) => process.send(r, () => process.disconnect()))'));
  const child = fork(file, [], { env: { ...process.env, NODE_OPTIONS: '' } });
  const report = await new Promise<Report>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Report));
    child.once('error', reject);
  });
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
  expect(report).toEqual({ listForm: true, atStart: false, afterModule: false, inMainThread: true, threadId: 0, real: { isMainThread: true, threadId: 0 } });
});

test('a worker thread has loaded node:worker_threads before its first line (CommonJS, ES module and eval entries), and the module reads it', async () => {
  const send = "((r) => require('node:worker_threads').parentPort.postMessage(r))";
  const esmSend = '(async (r) => (await import("node:worker_threads")).parentPort.postMessage(r))';
  writeFileSync(join(dir, 'worker.cjs'), probe(send));
  writeFileSync(join(dir, 'worker.mjs'), probe(esmSend));
  const reports = [
    await inWorker(probe(send), { eval: true }),
    await inWorker(join(dir, 'worker.cjs')),
    await inWorker(join(dir, 'worker.mjs')),
  ];
  for (const r of reports) {
    expect(r).toMatchObject({ listForm: true, atStart: true, inMainThread: false, real: { isMainThread: false } });
    expect(r.threadId).toBe(r.real.threadId);
    expect(r.threadId).toBeGreaterThan(0);
  }
});

test('here (the sources, in the test runner): the module agrees with node:worker_threads', () => {
  expect({ inMainThread, threadId }).toEqual({ inMainThread: realIsMainThread, threadId: realThreadId });
});

test('where Node keeps no load list (or writes it in another form), the module asks node:worker_threads', async () => {
  const hide = (form: string) => `Object.defineProperty(process, 'moduleLoadList', { value: ${form}, configurable: true });`;
  const read = `import(${JSON.stringify(threadModule)}).then((m) => send({ inMainThread: m.inMainThread, threadId: m.threadId }));`;
  for (const form of ['undefined', "['BuiltinModule events']"]) {
    const main = spawnSync(process.execPath, ['-e', `${hide(form)} const send = (r) => console.log(JSON.stringify(r)); ${read}`], {
      encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(main.stderr).toBe('');
    expect(JSON.parse(main.stdout)).toEqual({ inMainThread: true, threadId: 0 });
    const worker = await inWorker(`${hide(form)} const send = (r) => require('node:worker_threads').parentPort.postMessage(r); ${read}`, { eval: true });
    expect(worker.inMainThread).toBe(false);
    expect(worker.threadId).toBeGreaterThan(0);
  }
});
