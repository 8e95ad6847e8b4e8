// Primitives with CHILD PROCESSES, beside Python's twins run in this same invocation (g_queue.py,
// r_rtt.py, f_manager.py) and beside the floor an event loop can reach: a bare Node ping-pong between
// two processes (fork IPC, and a Unix socket), measured in the same run.
//   Q1  Queue, child-process producer x 100k ints, main `await q.get()`: each put form (await put,
//       putSync, putNowait), unbounded and bounded (maxsize 1000)          target >= 2x py mp.Queue
//   Q2  4 producer + 4 consumer child processes, 100k items through one Queue: none lost or
//       duplicated, FIFO per producer                                         target >= 100k items/s
//   R1  Pipe ping-pong with a child process (await recv both sides)     target within 1.3x of floor
//   R2  Manager dict get+set pairs, one client, sequential              target within 1.3x of floor
// Usage: node bench/primitives-process.mjs   (after `npm run build`; MULTIPROC_DIST=dir to use another build)
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { median, fmt, now, runPython, withoutExtraCaCerts } from './_common.mjs';

if (process.argv[2] === 'floor-child') {
  // The floor's far side: echo on IPC, and on a Unix socket when asked.
  process.on('message', (m) => {
    if (m && typeof m === 'object' && m.path) {
      const s = net.connect(m.path);
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      return;
    }
    process.send(m);
  });
} else {
  if (withoutExtraCaCerts(import.meta.url)) process.exit(0);
  const dist = new URL(process.env.MULTIPROC_DIST ? `file://${process.env.MULTIPROC_DIST}/` : '../dist/', import.meta.url);
  const { Process } = await import(new URL('lib/process.js', dist));
  const { task } = await import(new URL('lib/base/task.js', dist));
  const { Queue, SimpleQueue } = await import(new URL('primitives/queues.js', dist));
  const { Event } = await import(new URL('primitives/synchronize.js', dist));
  const { Pipe } = await import(new URL('primitives/connection.js', dist));
  const { Manager } = await import(new URL('primitives/manager/index.js', dist));
  const tasks = new URL('./_primitive-tasks.mjs', import.meta.url).href;
  const t = (name) => task(tasks, name);
  const ROUNDS = Number(process.env.ROUNDS ?? 3);
  const N = 100_000;
  const N_RTT = 10_000;

  const start = (name, args) => {
    const p = new Process({ target: t(name), args, runtime: 'process' });
    p.start();
    return p;
  };

  async function producerRun(form, maxsize) {
    const q = new Queue(maxsize);
    const go = new Event();
    const p = start('produce', [q, go, N, form]);
    await q.put(-1); // (nothing to time yet: let the child start and connect)
    await q.get();
    const t0 = now();
    go.set();
    let x;
    for (let i = 0; i < N; i++) x = await q.get();
    const dt = (now() - t0) / 1000;
    await p.join();
    if (x !== N - 1) throw new Error(`bad last item ${x}`);
    return N / dt;
  }

  async function fourByFour() {
    const q = new Queue();
    const out = new SimpleQueue();
    const go = new Event();
    const per = N / 4;
    const producers = [0, 1, 2, 3].map((k) => start('produce', [q, go, per, 'await', k * per]));
    const consumers = [0, 1, 2, 3].map(() => start('consume', [q, out]));
    await new Promise((r) => setTimeout(r, 1500)); // every child up (start-up is not what is measured)
    const t0 = now();
    go.set();
    await Promise.all(producers.map((p) => p.join()));
    for (let i = 0; i < 4; i++) await q.put(null);
    const lists = [];
    for (let i = 0; i < 4; i++) lists.push(await out.get());
    const dt = (now() - t0) / 1000;
    await Promise.all(consumers.map((p) => p.join()));
    const seen = new Uint8Array(N);
    for (const list of lists) {
      const last = [-1, -1, -1, -1];
      for (const x of list) {
        if (seen[x]++) throw new Error(`duplicated item ${x}`);
        const k = Math.floor(x / per);
        if (x <= last[k]) throw new Error(`producer ${k} out of order`);
        last[k] = x;
      }
    }
    if (seen.some((v) => v !== 1)) throw new Error('lost items');
    return N / dt;
  }

  async function pipePingPong() {
    const [a, b] = Pipe();
    const p = start('echo', [b]);
    b.close();
    a.send(-1);
    await a.recv();
    const t0 = now();
    for (let i = 0; i < N_RTT; i++) {
      a.send(i);
      if ((await a.recv()) !== i) throw new Error('echo mismatch');
    }
    const dt = (now() - t0) / 1000;
    a.send(null);
    await a.recv();
    await p.join();
    a.close();
    return N_RTT / dt;
  }

  async function floors() {
    const child = fork(fileURLToPath(import.meta.url), ['floor-child'], { serialization: 'json' });
    const ask = (m) => new Promise((r) => { child.once('message', r); child.send(m); });
    await ask(-1);
    let t0 = now();
    for (let i = 0; i < N_RTT; i++) await ask(i);
    const ipc = N_RTT / ((now() - t0) / 1000);
    const path = `/tmp/multiproc-bench-${process.pid}.sock`;
    const server = net.createServer();
    await new Promise((r) => server.listen(path, r));
    const conn = new Promise((r) => server.once('connection', r));
    child.send({ path });
    const s = await conn;
    s.setNoDelay(true);
    const echo = () => new Promise((r) => { s.once('data', r); s.write('12345678'); });
    for (let i = 0; i < 100; i++) await echo();
    t0 = now();
    for (let i = 0; i < N_RTT; i++) await echo();
    const unix = N_RTT / ((now() - t0) / 1000);
    s.destroy();
    child.kill();
    await new Promise((r) => server.close(r));
    return { ipc, unix };
  }

  async function managerPairs(m) {
    const d = await m.dict({ count: N_RTT });
    for (let i = 0; i < 500; i++) await d.set('w', await d.get('count'));
    const t0 = now();
    for (let i = 0; i < N_RTT; i++) await d.set('count', (await d.get('count')) - 1);
    const dt = (now() - t0) / 1000;
    if ((await d.get('count')) !== 0) throw new Error('wrong count');
    return N_RTT / dt;
  }

  const rows = {};
  const add = (k, v) => (rows[k] ??= []).push(v);
  const m = await Manager.start();
  for (let r = 0; r < ROUNDS; r++) {
    for (const form of ['await', 'sync', 'nowait']) add(`q.${form}`, await producerRun(form, 0));
    add('q.await.bounded', await producerRun('await', 1000));
    add('q.4x4', await fourByFour());
    add('pipe.rtt', await pipePingPong());
    add('mgr.pairs', await managerPairs(m));
    const f = await floors();
    add('floor.ipc', f.ipc);
    add('floor.unix', f.unix);
    const py = { ...runPython('/g_queue.py'), ...runPython('/r_rtt.py', ['pipe']), ...runPython('/f_manager.py', ['dict1']) };
    for (const id of ['G.py.queue', 'G.py.simplequeue', 'R.py.pipe', 'F.py.dict_1client']) if (py[id]) add(id, py[id].value);
  }
  await m.shutdown();

  const med = (k) => (rows[k] ? median(rows[k]) : undefined);
  const range = (k) => (rows[k] ? `${fmt(Math.min(...rows[k]))}-${fmt(Math.max(...rows[k]))}` : '');
  const line = (label, k, unit) => console.log(`  ${label.padEnd(64)} ${fmt(med(k)).padStart(8)} ${unit}  (${range(k)}, n=${rows[k].length})`);
  const ratio = (label, a, b, target) => {
    if (med(a) === undefined || med(b) === undefined) return console.log(`  ${label.padEnd(64)}      n/a`);
    console.log(`  ${label.padEnd(64)} ${(med(a) / med(b)).toFixed(2).padStart(7)}x  ${target}`);
  };
  console.log(`primitives with child processes; median of ${ROUNDS} rounds, Python and the floors in the same run`);
  console.log('Q1. Queue, child-process producer x 100k ints -> main await get');
  line('multiproc await q.put(i)', 'q.await', 'items/s');
  line('multiproc q.putSync(i)', 'q.sync', 'items/s');
  line('multiproc q.putNowait(i)', 'q.nowait', 'items/s');
  line('multiproc await q.put(i), Queue(1000) (credits)', 'q.await.bounded', 'items/s');
  line('py mp.Queue put/get', 'G.py.queue', 'items/s');
  line('py mp.SimpleQueue put/get', 'G.py.simplequeue', 'items/s');
  for (const f of ['await', 'sync', 'nowait', 'await.bounded']) ratio(`ratio q.${f} / py mp.Queue`, `q.${f}`, 'G.py.queue', '(target >= 2x)');
  console.log('Q2. 4 producer + 4 consumer child processes, 100k items, one Queue (checked: none lost/duplicated, FIFO per producer)');
  line('multiproc Queue, await put / await get', 'q.4x4', 'items/s');
  console.log('R. round trips with a child process');
  line('floor: bare fork IPC ping-pong (json)', 'floor.ipc', 'round trips/s');
  line('floor: bare Unix socket ping-pong', 'floor.unix', 'round trips/s');
  line('multiproc Pipe ping-pong (await recv both sides)', 'pipe.rtt', 'round trips/s');
  line('py mp.Pipe ping-pong', 'R.py.pipe', 'round trips/s');
  line('multiproc Manager dict get+set pairs, 1 client (2 round trips each)', 'mgr.pairs', 'pairs/s');
  line('py Manager dict get+set pairs, 1 client', 'F.py.dict_1client', 'pairs/s');
  rows['mgr.rtt'] = rows['mgr.pairs'].map((v) => 2 * v);
  ratio('Pipe vs floor fork IPC (1 = as fast; target >= 1/1.3 = 0.77)', 'pipe.rtt', 'floor.ipc', '');
  ratio('Pipe vs floor Unix socket', 'pipe.rtt', 'floor.unix', '');
  ratio('Manager round trips vs floor fork IPC (target >= 0.77)', 'mgr.rtt', 'floor.ipc', '');
  ratio('Manager round trips vs floor Unix socket', 'mgr.rtt', 'floor.unix', '');
  ratio('Pipe ping-pong vs py mp.Pipe', 'pipe.rtt', 'R.py.pipe', '');
  ratio('Manager pairs vs py Manager', 'mgr.pairs', 'F.py.dict_1client', '');
  console.log(`  load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
