// Transport round trips from a child process to its creator's broker, beside Python's r_rtt.py
// (mp.Pipe / SimpleQueue ping-pong between 2 processes, run in this same invocation), as ratios.
//   - async:    `await core.m()` on a remote core (waiting method), one at a time
//   - blocking: `core.m()` immediate method = Atomics.wait round trip through the I/O thread
//   - client:   the bare async Client (what a Manager proxy call costs), one at a time
//   - fire:     fire-and-forget calls per second (what a Pipe `send` from a process costs)
//   - raw:      a bare Unix-socket 1-byte ping-pong between two Node processes (the floor)
// Usage: node bench/transport-rtt.mjs   (after `npm run build`)
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { exposeCore, closeBroker } from '../dist/primitives/transport/expose.js';
import { connectRemoteCore } from '../dist/primitives/transport/remote-core.js';
import { connect } from '../dist/primitives/transport/client.js';

import { pythonValues } from './_common.mjs';
const N = 20_000;
const N_FIRE = 200_000;
const ROUNDS = 3;
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
          if (++n === 1000) t0 = performance.now();
          if (n < N + 1000) s.write('x');
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
    for (let i = 0; i < 1000; i++) core.get();
    let t = performance.now();
    for (let i = 0; i < N; i++) core.get();
    results.blocking = N / ((performance.now() - t) / 1000);
    for (let i = 0; i < 1000; i++) await core.ping();
    t = performance.now();
    for (let i = 0; i < N; i++) await core.ping();
    results.async = N / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < N_FIRE; i++) core.add(1);
    core.get(); // ordered after every add: all have landed
    results.fire = N_FIRE / ((performance.now() - t) / 1000);
    const c = await connect(ref.address, ref.authkey);
    for (let i = 0; i < 1000; i++) await c.call(ref.id, 'get', []);
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
}

if (process.argv[2] === 'child') child();
else await main();
