// Queue throughput (worker thread producer -> main consumer) and SimpleQueue ping-pong, beside
// Python's mp.Queue / mp.SimpleQueue (g_queue.py, r_rtt.py from bench/python,
// run in this same invocation). Usage: node bench/primitives-queue.mjs  (after `npm run build`)
import { fmt, median, pythonValues as python, size } from './_common.mjs';
import { recorder } from './_rows.mjs';
import { Pool, Queue, SimpleQueue } from '../dist/lib/index.js';

const N = size(100_000, 10_000);
const N_RTT = size(20_000, 2_000);
const ROUNDS = size(3, 1);


function producer(q, ready, go, n, mode) {
  ready.put(1);
  go.getSync();
  if (mode === 'nowait') for (let i = 0; i < n; i++) q.putNowait(i);
  else for (let i = 0; i < n; i++) q.putSync(i);
}

function echo(a, b) {
  for (;;) {
    const x = a.getSync();
    if (x === null) return;
    b.put(x);
  }
}

async function oneWay(pool, mode, recv) {
  const q = new Queue();
  const ready = new SimpleQueue();
  const go = new SimpleQueue();
  const done = pool.apply(producer, [q, ready, go, N, mode]);
  await ready.get();
  const t = performance.now();
  go.put(1);
  let x;
  for (let i = 0; i < N; i++) x = recv === 'sync' ? q.getSync() : await q.get();
  const dt = (performance.now() - t) / 1000;
  if (x !== N - 1) throw new Error('bad last item');
  await done;
  return N / dt;
}

async function roundTrip(pool) {
  const a = new SimpleQueue();
  const b = new SimpleQueue();
  const done = pool.apply(echo, [a, b]);
  a.put(-1);
  await b.get();
  const t = performance.now();
  for (let i = 0; i < N_RTT; i++) {
    a.put(i);
    if (b.getSync() !== i) throw new Error('echo mismatch');
  }
  const dt = (performance.now() - t) / 1000;
  a.put(null);
  await done;
  return N_RTT / dt;
}

const pool = new Pool(1);
await pool.apply(() => 0);
const rows = [];
const measure = async (label, unit, fn) => {
  const xs = [];
  for (let r = 0; r < ROUNDS; r++) xs.push(await fn());
  rows.push({ label, unit, value: median(xs), xs });
  return median(xs);
};
const m = {};
m.sync = await measure('multiproc Queue putSync -> getSync (thread -> main)', 'items/s', () => oneWay(pool, 'sync', 'sync'));
m.async = await measure('multiproc Queue putNowait -> await get', 'items/s', () => oneWay(pool, 'nowait', 'async'));
m.rtt = await measure('multiproc SimpleQueue ping-pong (thread)', 'round trips/s', () => roundTrip(pool));
await pool.terminate();

// Process producers reach the queue through the creator's broker; the creator must await (not block in getSync),
// since the broker answers on the creator's event loop.
const ppool = new Pool({ processes: 1, runtime: 'process' });
await ppool.apply(() => 0);
m.procNowait = await measure('multiproc Queue putNowait (child process) -> await get', 'items/s', () => oneWay(ppool, 'nowait', 'async'));
await ppool.terminate();

const py = { ...python('g_queue.py', ['queue', 'simplequeue']), ...python('r_rtt.py', ['queue']) };
console.log(`multiproc queues (threads and a child process) vs Python mp queues (processes), same run; median of ${ROUNDS} rounds`);
for (const r of rows) console.log(`  ${r.label.padEnd(52)} ${fmt(r.value).padStart(9)} ${r.unit}`);
const ratio = (ours, id, what) =>
  console.log(`  ${what.padEnd(52)} ${py[id] ? `${(ours / py[id]).toFixed(2)}x  (python ${fmt(py[id])})` : 'n/a (python not run)'}`);
console.log('ratios (multiproc / python):');
ratio(m.sync, 'G.py.queue', 'Queue, getSync vs mp.Queue');
ratio(m.async, 'G.py.queue', 'Queue, await get vs mp.Queue');
ratio(m.sync, 'G.py.simplequeue', 'Queue, getSync vs mp.SimpleQueue');
ratio(m.rtt, 'R.py.simplequeue', 'SimpleQueue ping-pong');
ratio(m.procNowait, 'G.py.queue', 'Queue from a child process, await get vs mp.Queue');

// the report's rows (bench/_rows.mjs)
const rec = recorder(import.meta.url);
const byLabel = Object.fromEntries(rows.map((r) => [r.label, r.xs]));
const qt = rec.workload('queue.thread', {
  title: `Queue, worker thread producer x ${N / 1000}k ints -> main`, unit: 'items/s', better: 'higher',
  note: `median of ${ROUNDS} round(s); Python's twin (g_queue.py) is child process -> parent`,
});
qt.add('multiproc Queue putSync -> getSync', 'multiproc', byLabel['multiproc Queue putSync -> getSync (thread -> main)']);
qt.add('multiproc Queue putNowait -> await get', 'multiproc', byLabel['multiproc Queue putNowait -> await get']);
qt.add('python mp.Queue', 'python', py['G.py.queue']);
qt.add('python mp.SimpleQueue', 'python', py['G.py.simplequeue']);
const qr = rec.workload('queue.thread.rtt', {
  title: 'SimpleQueue ping-pong with a worker thread', unit: 'round trips/s', better: 'higher', note: `median of ${ROUNDS} round(s)`,
});
qr.add('multiproc SimpleQueue ping-pong', 'multiproc', m.rtt);
qr.add('python mp.SimpleQueue ping-pong', 'python', py['R.py.simplequeue']);
rec.save();
