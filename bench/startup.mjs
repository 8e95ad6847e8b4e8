// Start-up, where a user feels it first, beside the floors measured in the same run:
//   I1  `import 'multiproc'` in a fresh node (and inside a new worker thread), beside floors (node:os; an empty
//       .mjs file: the ES module loader alone) and the peers' own imports, median of 7 fresh nodes  target <= 15 ms
//   S1  Process start()+join() x30 in a row (the tutorials' pattern), thread runtime, with the spare
//       worker (default) and without; floor: a bare `new Worker` to its exit   target <= 0.5x bare
//   S2  the same, process runtime; floor: a bare fork() to its exit           target <= 1.1x bare
//       Each also shows the parallel floor: the same bare workers started two at a time. A spare is
//       booted while the previous Process runs, so back-to-back starts are bound by the CPU a worker's
//       whole life costs (boot, run, teardown) spread over the cores, not by one boot's latency: with 2
//       cores no start-up scheme that starts a fresh worker per Process goes below that row. The CPU time
//       per start (all threads, process.cpuUsage; threads only) is printed for the same reason, and for
//       threads the same floor with workers that also import the task module (its ESM import costs a new
//       thread more CPU than our whole worker entry).
//   T1  a `.ts` task module in a new Process: the first worker compiles it, later workers should
//       reuse the compiled module                                             target <= 50 ms later
// Python's twin s_process.py (fork, forkserver) runs in the same invocation when python3 is present.
// Every ratio printed is ours / theirs (times: lower is better).
// NODE_EXTRA_CA_CERTS is unset for the whole run (it slows every node start by 30-50 ms here).
// Usage: node bench/startup.mjs   (after `npm run build`; MULTIPROC_DIST=dir to use another build)
import { recorder } from './_rows.mjs';
import { Worker } from 'node:worker_threads';
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { median, now, report, runPython, withoutExtraCaCerts } from './_common.mjs';

if (withoutExtraCaCerts(import.meta.url)) process.exit(0);

const dist = new URL(process.env.MULTIPROC_DIST ? `file://${process.env.MULTIPROC_DIST}/` : '../dist/', import.meta.url);
const indexUrl = new URL('lib/index.js', dist).href;
const N = Number(process.env.N ?? 30);
const FRESH = Number(process.env.FRESH ?? 7);
const rows = [];
const row = (id, label, value, unit, comparisons = []) => {
  rows.push({ id, label, value, unit, comparisons: Object.fromEntries(comparisons) });
  report(label, value, unit, comparisons); // ratios are ours / theirs: lower is better for times
};

console.log(`  load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// I1: each figure from a fresh node, timed inside it (the node's own start is not counted).
function importMs(specifier) {
  const src = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', env: process.env });
  if (res.status !== 0) throw new Error(res.stderr);
  return Number(res.stdout.trim());
}
function workerImportMs(specifier) {
  const src = `const { parentPort } = require('node:worker_threads'); const t = performance.now();
    import(${JSON.stringify(specifier)}).then(() => parentPort.postMessage(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true });
    w.once('message', (ms) => void w.terminate().then(() => resolve(ms)));
    w.once('error', reject);
  });
}
{
  // Floors: a built-in (no file read) and an empty module file (what Node's ES module loader costs any
  // file); peers: the pool libraries' own imports, measured the same way.
  const emptyModule = join(mkdtempSync(join(tmpdir(), 'multiproc-bench-empty-')), 'empty.mjs');
  writeFileSync(emptyModule, 'export {};\n');
  const emptyUrl = pathToFileURL(emptyModule).href;
  const peers = [['tinypool', 'tinypool'], ['piscina', 'piscina'], ['workerpool', 'workerpool']];
  const peerUrl = (name) => pathToFileURL(createRequire(import.meta.url).resolve(name)).href;
  const series = { base: [], empty: [], lib: [], inWorker: [], workerBase: [], workerEmpty: [] };
  const peerTimes = Object.fromEntries(peers.map(([name]) => [name, []]));
  for (let i = 0; i < FRESH; i++) {
    series.base.push(importMs('node:os'));
    series.empty.push(importMs(emptyUrl));
    series.lib.push(importMs(indexUrl));
    for (const [name] of peers) peerTimes[name].push(importMs(peerUrl(name)));
    series.workerBase.push(await workerImportMs('node:os'));
    series.workerEmpty.push(await workerImportMs(emptyUrl));
    series.inWorker.push(await workerImportMs(indexUrl));
  }
  row('I1.main', `import 'multiproc', fresh node, median of ${FRESH}`, median(series.lib), 'ms', [
    ['import of node:os (floor)', median(series.base)],
    ['import of an empty .mjs file (floor)', median(series.empty)],
    ...peers.map(([name]) => [`import '${name}'`, median(peerTimes[name])]),
  ]);
  row('I1.worker', `import 'multiproc' inside a new worker thread, median of ${FRESH}`, median(series.inWorker), 'ms', [
    ['import of node:os in a worker (floor)', median(series.workerBase)],
    ['import of an empty .mjs file in a worker (floor)', median(series.workerEmpty)],
  ]);
}

const mp = await import(indexUrl);
const { Process, task, setSpareWorkers } = mp;
const scratch = mkdtempSync(join(tmpdir(), 'multiproc-bench-'));
const tasksJs = join(scratch, 'tasks.mjs');
writeFileSync(join(scratch, 'package.json'), '{"type":"module"}');
writeFileSync(tasksJs, 'export function f(x) { return x * x; }\n');
const taskUrl = new URL(`file://${tasksJs}`).href;
const target = task(taskUrl, 'f');

/** CPU time (all threads of this process, in ms) and wall time of `fn`, per start. */
async function withCpu(n, fn) {
  const c0 = process.cpuUsage();
  const wall = await fn();
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 / n };
}

async function processLoop(runtime, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const p = new Process({ target, args: [i], runtime });
    p.start();
    await p.join();
    if (p.exitCode !== 0) throw new Error(`Process exited with ${p.exitCode}`);
  }
  return (now() - t0) / n;
}

/** `n` bare workers started and ended, `lanes` at a time; ms per worker. `withTask`: each imports and calls the task module (threads). */
async function bareLoop(runtime, n, lanes = 1, withTask = false) {
  const t0 = now();
  let next = 0;
  const lane = async () => {
    while (next < n) await bareOne(runtime, next++, withTask);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return (now() - t0) / n;
}

function bareOne(runtime, i, withTask = false) {
  return new Promise((resolve, reject) => {
    const exitWith = withTask
      ? `import(${JSON.stringify(taskUrl)}).then((m) => process.exit(m.f(x) > -1 ? 0 : 1))`
      : 'process.exit(x * x > -1 ? 0 : 1)';
    const w = runtime === 'thread'
      ? new Worker(`require("node:worker_threads").parentPort.once("message", (x) => ${exitWith});`, { eval: true })
      : fork(fileURLToPath(new URL('./_raw-child.mjs', import.meta.url)), [], { serialization: 'advanced' });
    w.once('exit', resolve);
    w.once('error', reject);
    if (runtime === 'thread') w.postMessage(i);
    else {
      w.once('message', () => w.disconnect());
      w.send(i);
    }
  });
}

const py = runPython('s_process.py', ['fork', 'forkserver']);
const pyRows = [['py Process start+join [forkserver]', py['S.py.forkserver']?.value], ['py Process start+join [fork]', py['S.py.fork']?.value]];

for (const [id, runtime, target_] of [['S1', 'thread', '<= 0.5x bare'], ['S2', 'process', '<= 1.1x bare']]) {
  // Warm-up as the Python twin: one start+join first (it also starts the spare).
  await bareLoop(runtime, 1);
  setSpareWorkers(true);
  await processLoop(runtime, 1);
  const { wall: bare, cpu: bareCpu } = await withCpu(N, () => bareLoop(runtime, N));
  const { wall: spare, cpu: spareCpu } = await withCpu(N, () => processLoop(runtime, N));
  const parallel = await bareLoop(runtime, N, 2);
  const parallelTask = runtime === 'thread' ? await bareLoop(runtime, N, 2, true) : undefined;
  setSpareWorkers(false);
  const cold = await processLoop(runtime, N);
  const bareName = `bare ${runtime === 'thread' ? 'new Worker' : 'fork()'}`;
  console.log(`  -- ${runtime} runtime (target ${target_}):`);
  row(`${id}.spare`, `Process start+join x${N}, ${runtime}, spare worker (default)`, spare, 'ms', [
    [`${bareName} to exit (floor)`, bare],
    [`${bareName}s two at a time (parallel floor, 2 cores)`, parallel],
    [`${bareName}s importing the task module, two at a time (floor of a fresh worker per Process)`, parallelTask],
    ...pyRows,
  ]);
  row(`${id}.cold`, `Process start+join x${N}, ${runtime}, spares off`, cold, 'ms', [[`${bareName} to exit (floor)`, bare]]);
  // a child's own CPU time is not this process's: only the thread runtime's figure says what a start costs
  if (runtime === 'thread') row(`${id}.cpu`, `CPU time per start (all threads), ${runtime}, spare worker`, spareCpu, 'ms', [[`${bareName} to exit`, bareCpu]]);
}
setSpareWorkers(true);

// T1: a .ts task module, in new workers one after another (first pays tsx and the compile).
{
  const tsFile = join(scratch, 'tasks.ts');
  writeFileSync(tsFile, 'export function cube(x: number): number {\n  return x ** 3;\n}\n');
  const tsTarget = task(new URL(`file://${tsFile}`).href, 'cube');
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t0 = now();
    const p = new Process({ target: tsTarget, args: [i] });
    p.start();
    await p.join();
    times.push(now() - t0);
  }
  const js = await processLoop('thread', 6);
  row('T1.first', 'Process with a .ts task module: first worker', times[0], 'ms', [['same with a .js module', js]]);
  row('T1.later', 'Process with a .ts task module: later workers (median of 5)', median(times.slice(1)), 'ms', [['same with a .js module', js]]);
}

setSpareWorkers(false);
rmSync(scratch, { recursive: true, force: true });
console.log(`  load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ bench: 'startup', rows }));

// the report's rows (bench/_rows.mjs): one workload per issue row, ours beside the floor and Python
const rec = recorder(import.meta.url);
const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
const kindOf = (label) => (label.startsWith('py ') ? 'python' : /^import '(tinypool|piscina|workerpool)'$/.exec(label)?.[1] ?? 'floor');
function workload(id, meta, ids) {
  const w = rec.workload(id, { unit: 'ms', better: 'lower', ...meta });
  const seen = new Set();
  for (const rid of ids) {
    const r = byId[rid];
    if (!r) continue;
    w.add(r.label, 'multiproc', r.value);
    for (const [label, value] of Object.entries(r.comparisons)) {
      if (value === undefined || seen.has(label)) continue;
      seen.add(label);
      w.add(label, kindOf(label), value);
    }
  }
}
workload('import.time', { title: "import 'multiproc' (main thread, and in a new worker)", target: '<= 15 ms' }, ['I1.main', 'I1.worker']);
workload('process.start.thread', { title: `Process start + join, ${N} in a row, thread runtime`, target: '<= 0.5x a bare Worker', goal: { against: 'floor', speedup: 2 } }, ['S1.spare', 'S1.cold']);
workload('process.start.process', { title: `Process start + join, ${N} in a row, process runtime`, target: '<= 1.1x a bare fork()', goal: { against: 'floor', speedup: 1 / 1.1 } }, ['S2.spare', 'S2.cold']);
workload('ts.first-task', { title: 'a .ts task module in new workers (first pays the compile)', target: '<= 50 ms in later workers' }, ['T1.first', 'T1.later']);
rec.save();
export { rows };
