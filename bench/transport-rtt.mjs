// Transport round trips from a child process to its creator's broker, beside Python's r_rtt.py
// (mp.Pipe / SimpleQueue ping-pong between 2 processes, run in this same invocation), as ratios.
//   - async:    `await core.m()` on a remote core (waiting method), one at a time
//   - blocking: `core.m()` immediate method = Atomics.wait round trip through the I/O thread
//   - client:   the bare async Client (what a Manager proxy call costs), one at a time
//   - fire:     fire-and-forget calls per second (what a Pipe `send` from a process costs)
//   - raw:      a bare Unix-socket 1-byte ping-pong between two Node processes (the floor)
// Rows (bench/report/data/transport-rtt.json): rtt.child (round trips/s: ours, Python's Pipe and SimpleQueue,
// the raw floor) and rtt.fire (fire-and-forget calls/s; nothing measured beside it: Python has no such call).
// Usage: node bench/transport-rtt.mjs   (after `npm run build`). BENCH_QUICK=1: small sizes, one round.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { exposeCore, closeBroker } from '../dist/primitives/transport/expose-object.js';
import { connectRemoteCore } from '../dist/primitives/transport/remote-core.js';
import { connect } from '../dist/primitives/transport/client.js';

import { median, pythonValues, size, withoutExtraCaCerts } from './_common.mjs';
import { recorder } from './_rows.mjs';

const N = size(20_000, 2000); // Python's twin always does 20k, after one untimed round trip
const N_FIRE = size(200_000, 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? size(3, 1));
const WARM = size(1000, 200);
const shape = { kind: 'Bench', waiting: ['ping'], immediate: ['get', 'add'], fireAndForget: ['add'] };

class BenchCore {
  n = 0;
  ping() {
    return Promise.resolve(this.n);
  }
  get() {
    return this.n;
  }
  add(x) {
    this.n += x;
  }
}

const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(1));

async function child() {
  const results = {};
  process.on('message', async (msg) => {
    if (msg.t === 'raw') {
      const s = net.connect(msg.path);
      await new Promise((r) => s.once('connect', r));
      let n = 0;
      let t0 = 0;
      const dt = await new Promise((resolve) => {
        s.on('data', () => {
          if (++n === WARM) t0 = performance.now();
          if (n < N + WARM) s.write('x');
          else resolve((performance.now() - t0) / 1000);
        });
        s.write('x');
      });
      s.destroy();
      process.send({ raw: N / dt });
      return;
    }
    const ref = msg.ref;
    const core = await connectRemoteCore(ref, shape);
    for (let i = 0; i < WARM; i++) core.get();
    let t = performance.now();
    for (let i = 0; i < N; i++) core.get();
    results.blocking = N / ((performance.now() - t) / 1000);
    for (let i = 0; i < WARM; i++) await core.ping();
    t = performance.now();
    for (let i = 0; i < N; i++) await core.ping();
    results.async = N / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < N_FIRE; i++) core.add(1);
    core.get(); // ordered after every add: all have landed
    results.fire = N_FIRE / ((performance.now() - t) / 1000);
    const c = await connect(ref.address, ref.authkey);
    for (let i = 0; i < WARM; i++) await c.call(ref.id, 'get', []);
    t = performance.now();
    for (let i = 0; i < N; i++) await c.call(ref.id, 'get', []);
    results.client = N / ((performance.now() - t) / 1000);
    c.close();
    process.send(results);
  });
}

const python = () => pythonValues('r_rtt.py');

function ask(proc, msg) {
  return new Promise((resolve) => {
    proc.once('message', resolve);
    proc.send(msg);
  });
}

async function rawRound(proc) {
  const path = `/tmp/multiproc-bench-raw-${process.pid}.sock`;
  const server = net.createServer((c) => c.on('data', (d) => c.write(d)));
  await new Promise((r) => server.listen(path, r));
  const { raw } = await ask(proc, { t: 'raw', path });
  await new Promise((r) => server.close(r));
  return raw;
}

async function main() {
  withoutExtraCaCerts(import.meta.url);
  const rec = recorder(import.meta.url);
  const rows = { blocking: [], async: [], client: [], fire: [], raw: [], pipe: [], queue: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const core = new BenchCore();
    const ref = exposeCore(core, shape);
    const proc = fork(fileURLToPath(import.meta.url), ['child'], { serialization: 'advanced' });
    const r = await ask(proc, { ref });
    if (core.n !== N_FIRE) throw new Error(`fire-and-forget lost calls: ${core.n}`);
    for (const k of ['blocking', 'async', 'client', 'fire']) rows[k].push(r[k]);
    rows.raw.push(await rawRound(proc));
    proc.kill();
    await closeBroker();
    const py = python();
    if (py['R.py.pipe']) rows.pipe.push(py['R.py.pipe']);
    if (py['R.py.simplequeue']) rows.queue.push(py['R.py.simplequeue']);
  }
  const pipe = median(rows.pipe);
  const line = (label, v, unit = 'round trips/s') =>
    console.log(`${label.padEnd(58)} ${fmt(v).padStart(8)} ${unit}  (${(1e6 / v).toFixed(1)} us)${pipe && unit === 'round trips/s' ? `  x${(v / pipe).toFixed(2)} of py Pipe` : ''}`);
  console.log(`R. round trip, child process -> creator (median of ${ROUNDS} rounds; python in the same run)`);
  if (pipe) line('py mp.Pipe() ping-pong', pipe);
  if (rows.queue.length) line('py mp.SimpleQueue ping-pong', median(rows.queue));
  line('node raw Unix socket ping-pong (floor, no framing)', median(rows.raw));
  line('multiproc remote core, blocking immediate call', median(rows.blocking));
  line('multiproc remote core, await waiting call', median(rows.async));
  line('multiproc transport Client.call (Manager proxy path)', median(rows.client));
  console.log(`${'multiproc remote core, fire-and-forget calls'.padEnd(58)} ${fmt(median(rows.fire)).padStart(8)} calls/s  (Python Pipe send target: 297k msgs/s)`);

  const note = `median of ${ROUNDS} round(s), each a fresh child after ${WARM} untimed round trips`;
  const rtt = rec.workload('rtt.child', {
    title: `round trip, child process -> its creator, ${N / 1000}k one at a time`, unit: 'round trips/s', better: 'higher', note,
  });
  rtt.add('multiproc remote core, blocking immediate call', 'multiproc', rows.blocking, 'Atomics.wait through the I/O thread');
  rtt.add('multiproc remote core, await waiting call', 'multiproc', rows.async);
  rtt.add('multiproc Client.call (Manager proxy path)', 'multiproc', rows.client);
  rtt.add('python mp.Pipe() ping-pong', 'python', rows.pipe, 'r_rtt.py, 20k round trips');
  rtt.add('python mp.SimpleQueue ping-pong', 'python', rows.queue, 'r_rtt.py, 20k round trips');
  rtt.add('raw Unix socket, 1 byte, no framing', 'floor', rows.raw, 'two node processes');
  const fire = rec.workload('rtt.fire', {
    title: `fire-and-forget calls from a child process to its creator, ${N_FIRE / 1000}k`, unit: 'calls/s', better: 'higher',
    target: "Python's Pipe send: 297k msgs/s (measured earlier on this machine, not in this run)",
    note: `${note}; timed until a blocking call after them returns, so every call has landed`,
  });
  fire.add('multiproc remote core, fire-and-forget', 'multiproc', rows.fire);
  rec.save();
}

if (process.argv[2] === 'child') child();
else await main();
