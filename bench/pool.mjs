// Pool benchmarks P1-P4, both runtimes and both task forms (a function value, task(module, name)), side by side
// in the same run with raw tinypool and Python's multiprocessing (../shared/reference/python/a_pool.py, b_startup.py).
// Our Pool is tinypool with our batch layer above it: the raw tinypool rows are the same engine without it.
import { Worker } from 'node:worker_threads';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import { Pool, task } from '../dist/lib/index.js';
import { median, now, report, runPython, withoutExtraCaCerts } from './_common.mjs';

withoutExtraCaCerts(import.meta.url);

const N_MAP = 100_000;
const N = 20_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const tinyWorker = new URL('./_tinypool-sq.mjs', import.meta.url).href;
// Both task forms: a function sent by its source, and a module export (the same x*x tinypool runs).
const forms = { 'fn': (x) => x * x, 'task()': task(tinyWorker, 'default') };
const range = (n) => Array.from({ length: n }, (_, i) => i);

async function ours(runtime, sq) {
  const pool = new Pool({ processes: 2, runtime });
  await pool.map(sq, range(2000), 1); // warm-up, as the Python script does
  const out = {};
  const items = range(N_MAP);
  const dts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    const r = await pool.map(sq, items);
    dts.push(now() - t);
    if (r[N_MAP - 1] !== (N_MAP - 1) ** 2) throw new Error('wrong map result');
  }
  out.map = N_MAP / (median(dts) / 1000);
  const ap = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = now();
    const rs = [];
    for (let i = 0; i < N; i++) rs.push(pool.applyAsync(sq, [i]));
    for (const r of rs) await r.get();
    ap.push(now() - t);
  }
  out.apply = N / (median(ap) / 1000);
  const im = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = now();
    let s = 0;
    for await (const v of pool.imapUnordered(sq, range(N), 1)) s += v;
    im.push(now() - t);
  }
  out.imap = N / (median(im) / 1000);
  pool.close();
  await pool.join();
  return out;
}

async function tinypool(runtime) {
  const pool = new Tinypool({ filename: tinyWorker, minThreads: 2, maxThreads: 2, runtime: runtime === 'process' ? 'child_process' : 'worker_threads' });
  await Promise.all(range(2000).map((i) => pool.run(i)));
  const ap = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = now();
    await Promise.all(range(N).map((i) => pool.run(i)));
    ap.push(now() - t);
  }
  const bt = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = now();
    const items = range(N_MAP);
    const chunks = [];
    for (let i = 0; i < N_MAP; i += 1000) chunks.push(pool.run(items.slice(i, i + 1000)));
    (await Promise.all(chunks)).flat();
    bt.push(now() - t);
  }
  await pool.destroy();
  return { apply: N / (median(ap) / 1000), batched: N_MAP / (median(bt) / 1000) };
}

async function startOurs(runtime) {
  const ts = [];
  for (let i = 0; i < 15; i++) {
    const t = now();
    const pool = new Pool({ processes: 2, runtime });
    await pool.apply(forms.fn, [3]);
    pool.close();
    await pool.join();
    ts.push(now() - t);
  }
  return median(ts);
}

const rawWorkerSrc = `require('node:worker_threads').parentPort.on('message', (x) => require('node:worker_threads').parentPort.postMessage(x * x));`;
async function startRaw(runtime) {
  const ts = [];
  const childPath = fileURLToPath(new URL('./_raw-child.mjs', import.meta.url));
  for (let i = 0; i < 15; i++) {
    const t = now();
    const ws = runtime === 'thread'
      ? [0, 1].map(() => new Worker(rawWorkerSrc, { eval: true }))
      : [0, 1].map(() => fork(childPath, [], { serialization: 'advanced' }));
    const first = ws[0];
    await new Promise((resolve) => {
      first.once('message', resolve);
      if (runtime === 'thread') first.postMessage(3);
      else first.send(3);
    });
    await Promise.all(ws.map((w) => new Promise((resolve) => {
      w.once('exit', resolve);
      if (runtime === 'thread') w.terminate();
      else w.disconnect();
    })));
    ts.push(now() - t);
  }
  return median(ts);
}

console.log(`Pool benchmarks: 2 workers, median of ${ROUNDS} rounds (startup: median of 15)`);
const py = runPython('a_pool.py', ['map_default', 'apply_async', 'imap_unordered']);
const pyStart = runPython('b_startup.py', ['fork', 'spawn']);
const pyVal = (id) => py[id]?.value;
for (const runtime of ['thread', 'process']) {
  console.log(`\n[${runtime} workers]`);
  const tp = await tinypool(runtime);
  for (const [form, sq] of Object.entries(forms)) {
    const o = await ours(runtime, sq);
    report(`P1 map(sq, 100k), default chunksize [${form}]`, o.map, 'items/s', [
      ['python Pool(2).map default chunksize', pyVal('A.py.pool_map_default')],
      ['raw tinypool, batched 100 x run(1000 items)', tp.batched],
    ]);
    report(`P2 20k applyAsync, then get all [${form}]`, o.apply, 'tasks/s', [
      ['python Pool(2).apply_async x20000', pyVal('A.py.pool_apply_async')],
      ['raw tinypool, run() x20000 (defaults)', tp.apply],
    ]);
    report(`P3 imapUnordered chunksize 1 over 20k [${form}]`, o.imap, 'tasks/s', [
      ['python Pool(2).imap_unordered chunksize=1', pyVal('A.py.pool_imap_unordered_c1')],
    ]);
  }
  const so = await startOurs(runtime);
  const sr = await startRaw(runtime);
  const pyKey = Object.keys(pyStart).find((k) => k.includes('fork') && !k.includes('ppe'));
  report('P4 pool start + 1 task + close/join', so, 'ms', [
    [runtime === 'thread' ? 'raw 2x new Worker + 1 message + terminate' : 'raw 2x fork() + 1 message + disconnect', sr],
    ['python Pool(2) [fork]', pyKey ? pyStart[pyKey].value : undefined],
  ], { lowerIsBetter: true });
}
