// Pipe throughput and round trip between a worker thread and the main thread, beside Python's
// mp.Pipe (d_pipe.py, r_rtt.py from bench/python, run in this same invocation).
// Usage: node bench/primitives-pipe.mjs   (after `npm run build`)
import { fmt, median, pythonValues as python, size } from './_common.mjs';
import { recorder } from './_rows.mjs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool, Pipe } from '../dist/lib/index.js';

const N_SMALL = size(200_000, 20_000);
const N_BIG = size(5_000, 500);
const SZ = 64 * 1024;
const N_RTT = size(20_000, 2_000);
const ROUNDS = size(3, 1);



// Producer in a worker: says 'ready', waits for 'go' on its duplex end, then sends.
async function producer(conn, kind, n, size) {
  conn.send('ready');
  conn.recvSync();
  if (kind === 'int') for (let i = 0; i < n; i++) conn.send(i);
  else if (kind === 'obj') for (let i = 0; i < n; i++) conn.send({ i, s: 'x' });
  else {
    const payload = new Uint8Array(size).fill(7);
    for (let i = 0; i < n; i++) conn.sendBytes(payload);
  }
  conn.close();
}

async function echo(conn) {
  for (;;) {
    const x = conn.recvSync();
    if (x === null) break;
    conn.send(x);
  }
  conn.close();
}

async function oneWay(pool, kind, mode) {
  const [a, b] = Pipe();
  const done = pool.apply(producer, [b, kind, kind === 'b64k' ? N_BIG : N_SMALL, SZ]);
  b.close();
  await a.recv(); // the task is running (a blocking receive before this would starve the dispatch)
  const t = performance.now();
  a.send('go');
  let last;
  if (kind === 'b64k') {
    for (let i = 0; i < N_BIG; i++) last = mode === 'sync' ? a.recvBytesSync() : await a.recvBytes();
    if (last.length !== SZ) throw new Error('bad size');
  } else {
    for (let i = 0; i < N_SMALL; i++) last = mode === 'sync' ? a.recvSync() : await a.recv();
    if ((last?.i ?? last) !== N_SMALL - 1) throw new Error('bad last message');
  }
  const dt = (performance.now() - t) / 1000;
  await done;
  a.close();
  return kind === 'b64k' ? (N_BIG * SZ) / dt / 1e6 : N_SMALL / dt;
}

async function roundTrip(pool, mode, keepCopy = false) {
  const [a, b] = Pipe();
  const done = pool.apply(echo, [b]);
  if (!keepCopy) b.close(); // Python's docs keep it open (keepCopy); closing it is the friendlier variant
  a.send(-1);
  await a.recv();
  const t = performance.now();
  for (let i = 0; i < N_RTT; i++) {
    a.send(i);
    const x = mode === 'sync' ? a.recvSync() : await a.recv();
    if (x !== i) throw new Error('echo mismatch');
  }
  const dt = (performance.now() - t) / 1000;
  a.send(null);
  await done;
  a.close();
  b.close();
  return N_RTT / dt;
}

/** The floor: a bare child_process IPC ping-pong (process.send both ways, no library). */
async function ipcRoundTrip() {
  const child = fork(fileURLToPath(new URL('./_raw-child.mjs', import.meta.url)), { serialization: 'json' });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  child.send(1);
  await next();
  const t = performance.now();
  for (let i = 0; i < N_RTT; i++) {
    child.send(i);
    if ((await next()) !== i * i) throw new Error('echo mismatch');
  }
  const dt = (performance.now() - t) / 1000;
  child.disconnect();
  return N_RTT / dt;
}

const pool = new Pool(1);
await pool.apply(() => 0); // start the worker outside the clock
const rows = [];
const measure = async (label, unit, fn) => {
  const xs = [];
  for (let r = 0; r < ROUNDS; r++) xs.push(await fn());
  rows.push({ label, unit, value: median(xs) });
  return median(xs);
};
const m = {};
m.int = await measure('multiproc Pipe send/recvSync int (thread -> main)', 'msgs/s', () => oneWay(pool, 'int', 'sync'));
m.intAsync = await measure('multiproc Pipe send/await recv int', 'msgs/s', () => oneWay(pool, 'int', 'async'));
m.obj = await measure('multiproc Pipe send/recvSync {i, s}', 'msgs/s', () => oneWay(pool, 'obj', 'sync'));
m.b64k = await measure('multiproc Pipe sendBytes/recvBytesSync 64 KiB', 'MB/s', () => oneWay(pool, 'b64k', 'sync'));
m.rtt = await measure('multiproc Pipe ping-pong (recvSync both sides)', 'round trips/s', () => roundTrip(pool, 'sync'));
m.rttAsync = await measure('multiproc Pipe ping-pong (await recv in main)', 'round trips/s', () => roundTrip(pool, 'async'));
await pool.terminate();

// A child process holding one end while this thread holds the other talks over a direct lane
// (primitives/channel/pipe-lane.ts): this thread awaits, so its event loop answers the child's request
// for the lane when the child receives its end.
const ppool = new Pool({ processes: 1, runtime: 'process' });
await ppool.apply(() => 0);
m.procInt = await measure('multiproc Pipe send int (child process) -> await recv', 'msgs/s', () => oneWay(ppool, 'int', 'async'));
m.procRtt = await measure('multiproc Pipe ping-pong with a child process (await recv)', 'round trips/s', () => roundTrip(ppool, 'async'));
m.procRttKept = await measure("  the same, parent's copy of the child's end kept open", 'round trips/s', () => roundTrip(ppool, 'async', true));
m.ipcRtt = await measure('node child_process IPC ping-pong (floor, no library)', 'round trips/s', ipcRoundTrip);
await ppool.terminate();

const py = { ...python('d_pipe.py', ['int', 'obj', 'b64k_sendbytes']), ...python('r_rtt.py', ['pipe']) };
console.log(`multiproc Pipe (threads and a child process) vs Python mp.Pipe (processes), same run; median of ${ROUNDS} rounds`);
for (const r of rows) console.log(`  ${r.label.padEnd(52)} ${fmt(r.value).padStart(9)} ${r.unit}`);
const ratio = (ours, id, what) =>
  console.log(`  ${what.padEnd(52)} ${py[id] ? `${(ours / py[id]).toFixed(2)}x  (python ${fmt(py[id])})` : 'n/a (python not run)'}`);
console.log('ratios (multiproc / python):');
ratio(m.int, 'D.py.pipe_int', 'int msgs, recvSync');
ratio(m.intAsync, 'D.py.pipe_int', 'int msgs, await recv');
ratio(m.obj, 'D.py.pipe_obj', 'small dict msgs');
ratio(m.b64k, 'D.py.pipe_64k_sendbytes', '64 KiB sendBytes/recvBytes');
ratio(m.rtt, 'R.py.pipe', 'ping-pong, recvSync');
ratio(m.rttAsync, 'R.py.pipe', 'ping-pong, await recv');
ratio(m.procInt, 'D.py.pipe_int', 'int msgs from a child process, await recv');
ratio(m.procRtt, 'R.py.pipe', 'ping-pong with a child process');
ratio(m.procRttKept, 'R.py.pipe', "ping-pong with a child, parent's copy kept open");
console.log(`  ping-pong with a child vs bare Node IPC: ${(m.procRtt / m.ipcRtt).toFixed(2)}x copy closed, ${(m.procRttKept / m.ipcRtt).toFixed(2)}x copy kept (target >= 0.77x)`);

// the report's rows (bench/_rows.mjs)
const rec = recorder(import.meta.url);
const one = rec.workload('pipe.thread', {
  title: `Pipe, ${N_SMALL / 1000}k int messages one way, worker thread -> main`, unit: 'msgs/s', better: 'higher',
  note: `median of ${ROUNDS} round(s); Python's twin (d_pipe.py) is between two processes`,
});
one.add('multiproc Pipe send / recvSync', 'multiproc', m.int);
one.add('multiproc Pipe send / await recv', 'multiproc', m.intAsync);
one.add('python mp.Pipe send/recv int', 'python', py['D.py.pipe_int']);
const rt = rec.workload('pipe.thread.rtt', {
  title: 'Pipe ping-pong with a worker thread', unit: 'round trips/s', better: 'higher', note: `median of ${ROUNDS} round(s)`,
});
rt.add('multiproc Pipe, recvSync both sides', 'multiproc', m.rtt);
rt.add('multiproc Pipe, await recv in main', 'multiproc', m.rttAsync);
rt.add('python mp.Pipe ping-pong', 'python', py['R.py.pipe']);
rec.save();
