// Pool workloads, both runtimes, in one run: multiproc (both task forms: a function sent by its source, and
// task(module, name)) beside Python's multiprocessing twin (a_pool.py, b_startup.py), raw tinypool with the
// settings multiproc gives it (the same engine without our layer), piscina and workerpool, as ratios.
//   pool.map     Pool.map(sq, 100k), default chunksize; peers get Python's default chunking (8 runs of 12500);
//                floor: two bare workers doing the same map by hand
//   pool.apply   20k applyAsync, then get() each: the FIRST timed batch after a warm-up map (Python's warm-up:
//                map over 2000 items, chunksize 1), in a fresh pool each round; peers: 20k run() then await each
//   pool.imap    imapUnordered chunksize 1 over 20k, first batch after the same warm-up; peers: 20k run()
//                consumed as they settle
//   pool.start   Pool(2) created, 1 task, close + join; beside two bare Workers (forks) and bare tinypool
// Rows go to bench/report/data/pool.json (bench/_rows.mjs). BENCH_QUICK=1: small sizes, one round.
import { Worker } from 'node:worker_threads';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import Tinypool from 'tinypool';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import { Pool, task } from '../dist/lib/index.js';
import { median, now, report, runPython, size, withoutExtraCaCerts } from './_common.mjs';
import { recorder } from './_rows.mjs';

withoutExtraCaCerts(import.meta.url);

const N_MAP = size(100_000, 10_000);
const N = size(20_000, 2_000);
const WARM = 2000; // Python's warm-up: pool.map(sq, range(2000), chunksize=1)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? size(5, 1));
const START_ITER = size(15, 3);
const sqFile = new URL('./_tinypool-sq.mjs', import.meta.url);
const wpFile = fileURLToPath(new URL('./_workerpool-sq.mjs', import.meta.url));
// Both task forms: a function sent by its source, and a module export (the same x*x the peers run).
const forms = { fn: (x) => x * x, 'task()': task(sqFile.href, 'default') };
const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Each comparison pool behind one shape: make, run one call, close. */
function peers(runtime) {
  const thread = runtime === 'thread';
  const list = [{
    system: `tinypool (${thread ? 'worker_threads' : 'child_process'})`,
    kind: 'tinypool',
    note: "multiproc's settings: 2 runs in flight per worker, no Atomics wait" + (thread ? '' : ", the parent's environment"),
    // what multiproc's engine asks of tinypool: 2 workers, 2 runs in flight each, no Atomics wait loop, and a
    // child process gets the parent's environment (tinypool alone gives it an empty one)
    make: () => new Tinypool({
      filename: sqFile.href, runtime: thread ? 'worker_threads' : 'child_process', minThreads: 2, maxThreads: 2,
      concurrentTasksPerWorker: 2, useAtomics: false, serialization: thread ? undefined : 'advanced',
      env: thread ? undefined : process.env,
    }),
    run: (p, x) => p.run(x),
    close: (p) => p.destroy(),
  }];
  if (thread) {
    list.push({
      system: 'piscina (threads)',
      kind: 'piscina',
      make: () => new Piscina({ filename: sqFile.href, minThreads: 2, maxThreads: 2 }),
      run: (p, x) => p.run(x),
      close: (p) => p.destroy(),
    });
  }
  list.push({
    system: `workerpool (${runtime})`,
    kind: 'workerpool',
    make: () => workerpool.pool(wpFile, { minWorkers: 2, maxWorkers: 2, workerType: runtime }),
    run: (p, x) => p.exec('sq', [x]),
    close: (p) => p.terminate(),
  });
  return list;
}

const checkSum = (s, n) => {
  if (s !== ((n - 1) * n * (2 * n - 1)) / 6) throw new Error(`wrong sum of squares: ${s}`);
};

// ---- multiproc
/**
 * Both task forms side by side: a pool per form, each warmed by its own map, then their timed maps taken
 * in turns, the form going first alternating by round. One form measured wholly before the other would
 * pay alone for what the program's first maps cost the main thread (code not yet optimised): that made
 * the first form measured ~1.3x slower whichever it was.
 */
async function oursMap(runtime) {
  const entries = Object.entries(forms);
  const pools = entries.map(() => new Pool({ processes: 2, runtime }));
  for (let f = 0; f < entries.length; f++) await pools[f].map(entries[f][1], range(WARM), 1);
  const items = range(N_MAP);
  const dts = entries.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < entries.length; k++) {
      const f = (i + k) % entries.length;
      const t = now();
      const r = await pools[f].map(entries[f][1], items);
      dts[f].push(now() - t);
      if (r[N_MAP - 1] !== (N_MAP - 1) ** 2) throw new Error('wrong map result');
    }
  }
  for (const pool of pools) {
    pool.close();
    await pool.join();
  }
  return Object.fromEntries(entries.map(([form], f) => [form, N_MAP / (median(dts[f]) / 1000)]));
}

const rawMapWorkerSrc = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (chunk) => {
  const out = new Float64Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) out[i] = chunk[i] * chunk[i];
  parentPort.postMessage(out, [out.buffer]);
});`;
/**
 * The floor of the map row: the same map by hand on two bare workers (or forks) — Python's 8 chunks, each
 * packed into a Float64Array and sent, squared there and sent back, written into one result array — with
 * no pool, no batching, no error or lifetime handling: what moving 100k numbers costs on this machine.
 */
async function rawMap(runtime) {
  const thread = runtime === 'thread';
  const ws = [0, 1].map(() => (thread
    ? new Worker(rawMapWorkerSrc, { eval: true })
    : fork(fileURLToPath(new URL('./_raw-map-child.mjs', import.meta.url)), [], { serialization: 'advanced' })));
  const waiting = ws.map(() => []);
  ws.forEach((w, k) => w.on('message', (out) => waiting[k].shift()(out)));
  const send = (k, chunk) => new Promise((resolve) => {
    waiting[k].push(resolve);
    if (thread) ws[k].postMessage(chunk, [chunk.buffer]);
    else ws[k].send(chunk);
  });
  const items = range(N_MAP);
  const per = Math.ceil(N_MAP / (4 * 2)); // Python's default chunksize for 2 workers
  const once = async () => {
    const result = new Array(N_MAP);
    const parts = [];
    for (let i = 0, k = 0; i < N_MAP; i += per, k ^= 1) {
      const start = i;
      const chunk = Float64Array.from(items.slice(start, start + per));
      parts.push(send(k, chunk).then((out) => { for (let j = 0; j < out.length; j++) result[start + j] = out[j]; }));
    }
    await Promise.all(parts);
    if (result[N_MAP - 1] !== (N_MAP - 1) ** 2) throw new Error('wrong raw map result');
  };
  for (let i = 0; i < 3; i++) await once(); // warm, as our pools are by their warm-up map
  const dts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = now();
    await once();
    dts.push(now() - t);
  }
  await Promise.all(ws.map((w) => new Promise((resolve) => {
    w.once('exit', resolve);
    if (thread) w.terminate();
    else w.disconnect();
  })));
  return N_MAP / (median(dts) / 1000);
}

async function oursFirstBatch(runtime, sq, kind) {
  const pool = new Pool({ processes: 2, runtime });
  await pool.map(sq, range(WARM), 1);
  const t = now();
  let s = 0;
  if (kind === 'apply') {
    const rs = [];
    for (let i = 0; i < N; i++) rs.push(pool.applyAsync(sq, [i]));
    for (const r of rs) s += await r.get();
  } else {
    for await (const v of pool.imapUnordered(sq, range(N), 1)) s += v;
  }
  const dt = now() - t;
  checkSum(s, N);
  pool.close();
  await pool.join();
  return N / (dt / 1000);
}

/** Each task form's median; the forms take turns (which goes first alternating), so neither pays alone for what ran before. */
async function oursStart(runtime) {
  const ts = Object.fromEntries(Object.keys(forms).map((form) => [form, []]));
  for (let i = 0; i <= START_ITER; i++) {
    const order = i % 2 ? Object.entries(forms) : Object.entries(forms).reverse();
    for (const [form, sq] of order) {
      const t = now();
      const pool = new Pool({ processes: 2, runtime });
      await pool.apply(sq, [3]);
      pool.close();
      await pool.join();
      if (i > 0) ts[form].push(now() - t); // the first one loads the code: not what a program pays per pool
    }
  }
  return Object.fromEntries(Object.entries(ts).map(([form, xs]) => [form, median(xs)]));
}

// ---- peers
async function peerMap(peer) {
  const p = peer.make();
  await Promise.all(range(WARM).map((i) => peer.run(p, i)));
  const chunk = Math.ceil(N_MAP / (4 * 2)); // Python's default chunksize for 2 workers
  const items = range(N_MAP);
  const dts = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = now();
    const parts = [];
    for (let i = 0; i < N_MAP; i += chunk) parts.push(peer.run(p, items.slice(i, i + chunk)));
    const r = (await Promise.all(parts)).flat();
    dts.push(now() - t);
    if (r[N_MAP - 1] !== (N_MAP - 1) ** 2) throw new Error('wrong map result');
  }
  await peer.close(p);
  return N_MAP / (median(dts) / 1000);
}

async function peerFirstBatch(peer, kind) {
  const p = peer.make();
  await Promise.all(range(WARM).map((i) => peer.run(p, i)));
  const t = now();
  let s = 0;
  if (kind === 'apply') {
    const rs = range(N).map((i) => peer.run(p, i));
    for (const r of rs) s += await r;
  } else {
    await Promise.all(range(N).map((i) => peer.run(p, i).then((v) => { s += v; })));
  }
  const dt = now() - t;
  checkSum(s, N);
  await peer.close(p);
  return N / (dt / 1000);
}

async function peerStart(peer) {
  const ts = [];
  for (let i = 0; i <= START_ITER; i++) {
    const t = now();
    const p = peer.make();
    if ((await peer.run(p, 3)) !== 9) throw new Error('wrong answer');
    await peer.close(p);
    if (i > 0) ts.push(now() - t);
  }
  return median(ts);
}

/**
 * The floor of our layer: bare tinypool with our settings and our worker entry (dist's pool-worker bundle),
 * given its configuration as the engine gives it, running one batch of one task: what is left is the engine.
 */
async function entryStart(runtime) {
  const thread = runtime === 'thread';
  const entry = fileURLToPath(new URL('../dist/lib/worker/pool-worker.bundle.mjs', import.meta.url));
  const config = (counter) => ({ prefix: 'PoolWorker', counter, number: counter ? undefined : 1, initializer: null, maxTasks: 0, channel: `bench-${Math.random()}` });
  const batch = { b: 1, specs: [{ kind: 'src', src: '(x) => x * x' }], t: [0, [3], 0] };
  const ts = [];
  for (let i = 0; i <= START_ITER; i++) {
    const t = now();
    const p = new Tinypool({
      filename: entry, runtime: thread ? 'worker_threads' : 'child_process', minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 2, useAtomics: false,
      ...(thread
        ? { workerData: config(new Int32Array(new SharedArrayBuffer(8))) }
        : { serialization: 'advanced', argv: ['--multiproc-worker'], env: { ...process.env, MULTIPROC_POOL_WORKER_CONFIG: serialize(config()).toString('base64') } }),
    });
    const reply = await p.run(batch);
    if (reply?.r?.[1] !== 9) throw new Error(`our worker entry answered ${JSON.stringify(reply)}`);
    await p.destroy();
    if (i > 0) ts.push(now() - t);
  }
  return median(ts);
}

const rawWorkerSrc = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (x) => parentPort.postMessage(x * x));`;
/** The floor: two bare Workers (or forks), one message answered, both ended. */
async function rawStart(runtime) {
  const ts = [];
  const childPath = fileURLToPath(new URL('./_raw-child.mjs', import.meta.url));
  for (let i = 0; i <= START_ITER; i++) {
    const t = now();
    const ws = runtime === 'thread'
      ? [0, 1].map(() => new Worker(rawWorkerSrc, { eval: true }))
      : [0, 1].map(() => fork(childPath, [], { serialization: 'advanced' }));
    await new Promise((resolve) => {
      ws[0].once('message', resolve);
      if (runtime === 'thread') ws[0].postMessage(3);
      else ws[0].send(3);
    });
    await Promise.all(ws.map((w) => new Promise((resolve) => {
      w.once('exit', resolve);
      if (runtime === 'thread') w.terminate();
      else w.disconnect();
    })));
    if (i > 0) ts.push(now() - t);
  }
  return median(ts);
}

// ---- the run
const rec = recorder(import.meta.url);
console.log(`Pool workloads: 2 workers; throughput median of ${ROUNDS} round(s), start-up median of ${START_ITER}`);
const py = { map: [], apply: [], imap: [] };
for (let r = 0; r < ROUNDS; r++) {
  // one Python process per workload, so each measures its first batch after the warm-up map, as ours do
  py.map.push(runPython('a_pool.py', ['map_default'])['A.py.pool_map_default']?.value);
  py.apply.push(runPython('a_pool.py', ['apply_async'])['A.py.pool_apply_async']?.value);
  py.imap.push(runPython('a_pool.py', ['imap_unordered'])['A.py.pool_imap_unordered_c1']?.value);
}
const pyStart = runPython('b_startup.py', ['fork', 'forkserver']);
const pyMed = (xs) => (xs.some((x) => x !== undefined) ? median(xs.filter((x) => x !== undefined)) : undefined);

const TARGETS = {
  map: { thread: 'multiproc >= 3x python', process: 'multiproc >= 2x python' },
  apply: 'multiproc >= 15x python on the first batch',
  imap: 'multiproc >= 5x python',
  start: 'multiproc <= 1.1x bare tinypool with the same settings (ratio to two bare Workers reported too)',
};

for (const runtime of ['thread', 'process']) {
  console.log(`\n[${runtime} workers]`);
  const ps = peers(runtime);
  const pyRow = (w, key, label, note) => w.add(label, 'python', py[key], note);

  const map = rec.workload(`pool.map.${runtime}`, {
    title: `Pool.map(sq, ${N_MAP / 1000}k items), default chunksize, ${runtime} workers`, unit: 'items/s', better: 'higher',
    target: TARGETS.map[runtime], goal: { against: 'python', speedup: runtime === 'thread' ? 3 : 2 }, note: `median of ${ROUNDS} maps after a warm-up map (ours: the two forms' maps in turns, which goes first alternating); peers run Python's default chunking (8 runs)`,
  });
  const mapFigures = await oursMap(runtime);
  for (const [form, v] of Object.entries(mapFigures)) map.add(`multiproc [${form}]`, 'multiproc', v);
  pyRow(map, 'map', 'python Pool(2).map', 'processes (fork); 100k items, default chunksize');
  const rawMapFigure = await rawMap(runtime);
  map.add(`bare ${runtime === 'thread' ? 'Workers' : 'forks'}, the same map by hand (8 packed chunks)`, 'floor', rawMapFigure,
    'no pool: chunks packed into Float64Arrays, squared and sent back, written into one array');
  const peerMapFigures = [];
  for (const peer of ps) {
    const v = await peerMap(peer);
    peerMapFigures.push([peer.system, v]);
    map.add(peer.system, peer.kind, v, [peer.note, `runs of ${Math.ceil(N_MAP / 8)} items`].filter(Boolean).join('; '));
  }
  for (const [form, v] of Object.entries(mapFigures)) {
    report(`map ${N_MAP} items, default chunksize [${form}]`, v, 'items/s', [['python Pool(2).map', pyMed(py.map)], ['bare workers, the map by hand (floor)', rawMapFigure], ...peerMapFigures]);
  }

  for (const kind of ['apply', 'imap']) {
    const w = rec.workload(`pool.${kind}.${runtime}`, {
      title: kind === 'apply'
        ? `${N / 1000}k applyAsync then get() each, first batch after a warm-up map, ${runtime} workers`
        : `imapUnordered chunksize 1 over ${N / 1000}k, first batch after a warm-up map, ${runtime} workers`,
      unit: 'tasks/s', better: 'higher', target: TARGETS[kind], goal: { against: 'python', speedup: kind === 'apply' ? 15 : 5 },
      note: `a fresh pool per round, warmed by a map over ${WARM} items with chunksize 1 (as the Python twin); median over ${ROUNDS} round(s) of the first timed batch`,
    });
    const figures = {};
    for (const [form, sq] of Object.entries(forms)) {
      const xs = [];
      for (let r = 0; r < ROUNDS; r++) xs.push(await oursFirstBatch(runtime, sq, kind));
      figures[form] = median(xs);
      w.add(`multiproc [${form}]`, 'multiproc', xs);
    }
    pyRow(w, kind, kind === 'apply' ? 'python Pool(2).apply_async' : 'python Pool(2).imap_unordered', kind === 'apply' ? 'processes (fork); 20k apply_async, then get each' : 'processes (fork); 20k items, chunksize 1');
    const peerFigures = [];
    for (const peer of ps) {
      const xs = [];
      for (let r = 0; r < ROUNDS; r++) xs.push(await peerFirstBatch(peer, kind));
      peerFigures.push([peer.system, median(xs)]);
      w.add(peer.system, peer.kind, xs, [peer.note, kind === 'apply' ? 'run() per task, then await each' : 'run() per task, summed as they settle'].filter(Boolean).join('; '));
    }
    for (const [form, v] of Object.entries(figures)) {
      report(`${kind === 'apply' ? 'applyAsync then get each' : 'imapUnordered c1'}, first batch [${form}]`, v, 'tasks/s', [['python', pyMed(py[kind])], ...peerFigures]);
    }
  }

  const start = rec.workload(`pool.start.${runtime}`, {
    title: `Pool(2) start + 1 task + close/join, ${runtime} workers`, unit: 'ms', better: 'lower', target: TARGETS.start, goal: { against: 'tinypool', speedup: 1 / 1.1 },
    note: `median of ${START_ITER} in one process, after one untimed; our two task forms in turns`,
  });
  const startFigures = await oursStart(runtime);
  for (const [form, v] of Object.entries(startFigures)) start.add(`multiproc [${form}]`, 'multiproc', v);
  const raw = await rawStart(runtime);
  start.add(runtime === 'thread' ? 'two bare Workers (1 message, terminate)' : 'two bare fork()s (1 message, disconnect)', 'floor', raw);
  const entryFloor = await entryStart(runtime);
  start.add("tinypool + multiproc's worker entry", 'floor', entryFloor, 'our settings and worker entry, one batch of one task, no engine: the floor of the layer above tinypool');
  const peerStartFigures = [];
  for (const peer of ps) {
    const v = await peerStart(peer);
    peerStartFigures.push([peer.system, v]);
    start.add(peer.system, peer.kind, v, peer.note);
  }
  for (const m of ['fork', 'forkserver']) {
    const rowPy = pyStart[`B.py.${m}`];
    if (rowPy) start.add(`python Pool(2) [${m}]`, 'python', rowPy.value, rowPy.notes);
  }
  for (const [form, v] of Object.entries(startFigures)) {
    report(`Pool(2) start + 1 task + close/join [${form}]`, v, 'ms', [
      ['two bare Workers/forks', raw], ["tinypool + multiproc's worker entry", entryFloor], ...peerStartFigures, ['python Pool(2) [fork]', pyStart['B.py.fork']?.value],
    ], { lowerIsBetter: true });
  }
}
rec.save();
