// Primitives with CHILD PROCESSES, beside Python's twins run in this same invocation (g_queue.py,
// r_rtt.py, f_manager.py) and beside the floor an event loop can reach: a bare Node ping-pong between
// two processes (fork IPC, and a Unix socket), measured in the same run.
//   Q1  Queue, child-process producer x 100k ints, main `await q.get()`: each put form (await put,
//       putSync, putNowait), unbounded and bounded (maxsize 1000)          target >= 2x py mp.Queue
//   Q2  4 producer + 4 consumer child processes, 100k items through one Queue: none lost or
//       duplicated, FIFO per producer                                         target >= 100k items/s
//       (timed from the go to the consumers' lists; producers say they are done on a second queue,
//       so child-process exits are not counted; Python's twin, run the same way, is below)
//   R1  Pipe ping-pong with a child process (await recv both sides), as Python's docs write it (the parent
//       keeps its copy of the child's end open) and with that copy closed   target >= 0.77x the IPC floor
//   R2  Manager dict get+set pairs, one client, sequential              target within 1.3x of floor
// Usage: node bench/primitives-process.mjs   (after `npm run build`; MULTIPROC_DIST=dir to use another build)
// Rows go to bench/report/data/primitives-process.json (bench/_rows.mjs). BENCH_QUICK=1: small sizes, one round.
import { fork, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { median, fmt, now, runPython, size, withoutExtraCaCerts } from './_common.mjs';
import { recorder } from './_rows.mjs';

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
  const ROUNDS = Number(process.env.ROUNDS ?? size(5, 1));
  const N = size(100_000, 10_000);
  const N_RTT = size(10_000, 1000);
  /** Round trips before timing, the same for the Pipe and both floors (each path's code gets compiled). */
  const WARM_RTT = Number(process.env.WARM_RTT ?? size(2000, 200));

  const start = (name, args) => {
    const p = new Process({ target: t(name), args, runtime: 'process' });
    p.start();
    return p;
  };

  async function producerRun(form, maxsize) {
    const q = new Queue(maxsize);
    const go = new Event();
    const ready = new Event();
    const p = start('produce', [q, go, N, form, 0, ready]);
    await ready.wait(); // the child is up and about to wait for go: start-up is not what is measured
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
    const done = new SimpleQueue();
    const go = new Event();
    const per = N / 4;
    const ready = Array.from({ length: 8 }, () => new Event());
    const producers = [0, 1, 2, 3].map((k) => start('produceThenSignal', [q, go, per, 'await', k * per, done, ready[k]]));
    const consumers = [0, 1, 2, 3].map((k) => start('consume', [q, out, ready[4 + k]]));
    for (const r of ready) await r.wait(); // every child up (start-up is not what is measured)
    const t0 = now();
    go.set();
    for (let i = 0; i < 4; i++) await done.get();
    for (let i = 0; i < 4; i++) await q.put(null);
    const lists = [];
    for (let i = 0; i < 4; i++) lists.push(await out.get());
    const dt = (now() - t0) / 1000;
    await Promise.all([...producers, ...consumers].map((p) => p.join()));
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

  // Python's twin of Q2, run the same way (mp.Queue; producers flush their feeder, then say done).
  const PY_4X4 = `
import json, multiprocessing as mp, time
N = ${N}
def producer(q, go, n, base, done):
    go.wait()
    for i in range(n): q.put(base + i)
    q.close(); q.join_thread()
    done.put(1)
def consumer(q, out):
    got = []
    while True:
        x = q.get()
        if x is None: break
        got.append(x)
    out.put(got)
if __name__ == '__main__':
    q, out, done, go = mp.Queue(), mp.Queue(), mp.Queue(), mp.Event()
    per = N // 4
    ps = [mp.Process(target=producer, args=(q, go, per, k * per, done)) for k in range(4)]
    cs = [mp.Process(target=consumer, args=(q, out)) for _ in range(4)]
    for p in ps + cs: p.start()
    time.sleep(1.5)
    t = time.perf_counter(); go.set()
    for _ in range(4): done.get()
    for _ in range(4): q.put(None)
    lists = [out.get() for _ in range(4)]
    dt = time.perf_counter() - t
    for p in ps + cs: p.join()
    assert sorted(x for l in lists for x in l) == list(range(N))
    print(json.dumps({"value": N / dt}))
`;
  function python4x4() {
    const res = spawnSync('python3', ['-c', PY_4X4], { encoding: 'utf8', timeout: 300_000 });
    if (res.status !== 0) return undefined;
    const line = res.stdout.trim().split('\n').pop();
    return line ? JSON.parse(line).value : undefined;
  }

  /** Python's docs keep the parent's copy of the child's end open (`closeChildEnd` false); closing it is the friendlier variant. */
  async function pipePingPong(closeChildEnd) {
    const [a, b] = Pipe();
    const p = start('echo', [b]);
    if (closeChildEnd) b.close();
    for (let i = 0; i < WARM_RTT; i++) {
      a.send(-1);
      await a.recv();
    }
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
    if (!closeChildEnd) b.close();
    return N_RTT / dt;
  }

  async function floors() {
    const child = fork(fileURLToPath(import.meta.url), ['floor-child'], { serialization: 'json' });
    const ask = (m) => new Promise((r) => { child.once('message', r); child.send(m); });
    for (let i = 0; i < WARM_RTT; i++) await ask(-1);
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
    for (let i = 0; i < WARM_RTT; i++) await echo();
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

  const loadavg = async () => (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadStart = await loadavg();
  const rows = {};
  const add = (k, v) => (rows[k] ??= []).push(v);
  // Ratios are taken per round (each figure beside the ones measured next to it), then their median:
  // on a machine shared with other work that is far steadier than a ratio of medians.
  const ratios = {};
  const addRatio = (k, a, b) => {
    if (a !== undefined && b !== undefined) (ratios[k] ??= []).push(a / b);
  };
  const m = await Manager.start();
  for (let r = 0; r < ROUNDS; r++) {
    const q1 = {};
    for (const form of ['await', 'sync', 'nowait']) q1[form] = await producerRun(form, 0);
    q1['await.bounded'] = await producerRun('await', 1000);
    const g = runPython('g_queue.py');
    for (const [k, v] of Object.entries(q1)) {
      add(`q.${k}`, v);
      addRatio(`q.${k}/py`, v, g['G.py.queue']?.value);
    }
    for (const id of ['G.py.queue', 'G.py.simplequeue']) if (g[id]) add(id, g[id].value);
    const q44 = await fourByFour();
    const py44 = python4x4();
    add('q.4x4', q44);
    if (py44 !== undefined) add('py.4x4', py44);
    addRatio('q.4x4/py', q44, py44);
    // the Pipe between its two floors, all three warmed up alike
    const f1 = await floors();
    const pipeKept = await pipePingPong(false);
    const pipe = await pipePingPong(true);
    const f2 = await floors();
    const ipc = (f1.ipc + f2.ipc) / 2;
    const unix = (f1.unix + f2.unix) / 2;
    add('pipe.rtt', pipe);
    add('pipe.rtt.kept', pipeKept);
    addRatio('pipeKept/ipc', pipeKept, ipc);
    add('floor.ipc', ipc);
    add('floor.unix', unix);
    addRatio('pipe/ipc', pipe, ipc);
    addRatio('pipe/unix', pipe, unix);
    const py = { ...runPython('r_rtt.py', ['pipe']), ...runPython('f_manager.py', ['dict1']) };
    if (py['R.py.pipe']) add('R.py.pipe', py['R.py.pipe'].value);
    addRatio('pipe/py', pipe, py['R.py.pipe']?.value);
    const mgr = await managerPairs(m);
    add('mgr.pairs', mgr);
    addRatio('mgr/ipc', 2 * mgr, ipc);
    addRatio('mgr/unix', 2 * mgr, unix);
    if (py['F.py.dict_1client']) add('F.py.dict_1client', py['F.py.dict_1client'].value);
    addRatio('mgr/py', mgr, py['F.py.dict_1client']?.value);
  }
  await m.shutdown();

  const med = (k) => (rows[k] ? median(rows[k]) : undefined);
  const range = (xs, f = fmt) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
  const line = (label, k, unit) => {
    if (!rows[k]) return console.log(`  ${label.padEnd(64)}      n/a`);
    console.log(`  ${label.padEnd(64)} ${fmt(med(k)).padStart(8)} ${unit}  (${range(rows[k])}, n=${rows[k].length})`);
  };
  const ratio = (label, k, target = '') => {
    const xs = ratios[k];
    if (!xs) return console.log(`  ${label.padEnd(64)}      n/a`);
    console.log(`  ${label.padEnd(64)} ${median(xs).toFixed(2).padStart(7)}x  (${range(xs, (x) => x.toFixed(2))}, n=${xs.length}) ${target}`);
  };
  console.log(`primitives with child processes; ${ROUNDS} rounds, Python and the floors in each round; ratios per round, then their median (min-max)`);
  console.log('Q1. Queue, child-process producer x 100k ints -> main await get');
  line('multiproc await q.put(i)', 'q.await', 'items/s');
  line('multiproc q.putSync(i)', 'q.sync', 'items/s');
  line('multiproc q.putNowait(i)', 'q.nowait', 'items/s');
  line('multiproc await q.put(i), Queue(1000) (credits)', 'q.await.bounded', 'items/s');
  line('py mp.Queue put/get', 'G.py.queue', 'items/s');
  line('py mp.SimpleQueue put/get', 'G.py.simplequeue', 'items/s');
  for (const f of ['await', 'sync', 'nowait', 'await.bounded']) ratio(`ratio q.${f} / py mp.Queue`, `q.${f}/py`, '(target >= 2x)');
  console.log('Q2. 4 producer + 4 consumer child processes, 100k items, one Queue (checked: none lost/duplicated, FIFO per producer)');
  line('multiproc Queue, await put / await get (target >= 100k items/s)', 'q.4x4', 'items/s');
  line('py mp.Queue, the same (producers flush, then say done)', 'py.4x4', 'items/s');
  ratio('ratio multiproc / py', 'q.4x4/py');
  console.log(`R. round trips with a child process (${WARM_RTT} warm-up round trips each)`);
  line('floor: bare fork IPC ping-pong (json), mean of before and after', 'floor.ipc', 'round trips/s');
  line('floor: bare Unix socket ping-pong, mean of before and after', 'floor.unix', 'round trips/s');
  line("multiproc Pipe ping-pong, parent keeps the child's end (Python's docs)", 'pipe.rtt.kept', 'round trips/s');
  line("multiproc Pipe ping-pong, parent closes the child's end", 'pipe.rtt', 'round trips/s');
  line('py mp.Pipe ping-pong', 'R.py.pipe', 'round trips/s');
  line('multiproc Manager dict get+set pairs, 1 client (2 round trips each)', 'mgr.pairs', 'pairs/s');
  line('py Manager dict get+set pairs, 1 client', 'F.py.dict_1client', 'pairs/s');
  ratio("Pipe (child's end kept, as Python's docs) vs floor fork IPC (target >= 0.77)", 'pipeKept/ipc');
  ratio("Pipe (child's end closed) vs floor fork IPC", 'pipe/ipc');
  ratio('Pipe vs floor Unix socket (target >= 0.77)', 'pipe/unix');
  ratio('Pipe ping-pong vs py mp.Pipe', 'pipe/py');
  ratio('Manager round trips vs floor fork IPC (target >= 0.77)', 'mgr/ipc');
  ratio('Manager round trips vs floor Unix socket', 'mgr/unix');
  ratio('Manager pairs vs py Manager', 'mgr/py');
  console.log(`  load average: start ${loadStart}, end ${await loadavg()}`);

  // the report's rows (bench/_rows.mjs)
  const rec = recorder(import.meta.url);
  const pyQ = [['G.py.queue', 'python mp.Queue'], ['G.py.simplequeue', 'python mp.SimpleQueue']];
  const q1 = rec.workload('queue.child', {
    title: `Queue, child-process producer x ${N / 1000}k ints -> main await get`, unit: 'items/s', better: 'higher',
    target: 'multiproc >= 2x python mp.Queue', goal: { against: 'python mp.Queue', speedup: 2 }, note: `${ROUNDS} round(s), Python's twin (g_queue.py) in each`,
  });
  for (const [k, label] of [['q.await', 'await q.put(i)'], ['q.sync', 'q.putSync(i)'], ['q.nowait', 'q.putNowait(i)'], ['q.await.bounded', 'await q.put(i), Queue(1000)']]) {
    q1.add(`multiproc ${label}`, 'multiproc', rows[k] ?? []);
  }
  for (const [id, label] of pyQ) q1.add(label, 'python', rows[id] ?? [], 'child -> parent, 100k ints');
  const q2 = rec.workload('queue.child.4x4', {
    title: `Queue, 4 producer + 4 consumer child processes, ${N / 1000}k items`, unit: 'items/s', better: 'higher',
    target: 'multiproc >= 100k items/s', note: 'checked: none lost or duplicated, FIFO per producer',
  });
  q2.add('multiproc Queue', 'multiproc', rows['q.4x4'] ?? []);
  q2.add('python mp.Queue, the same', 'python', rows['py.4x4'] ?? []);
  const pp = rec.workload('pipe.child', {
    title: 'Pipe ping-pong with a child process (await recv both sides)', unit: 'round trips/s', better: 'higher',
    target: "multiproc, with the parent keeping its copy of the child's end as Python's docs do, >= 0.77x the bare Node IPC floor",
    goal: { against: 'bare Node fork IPC ping-pong (json)', speedup: 0.77 },
    note: `${N_RTT} round trips after ${WARM_RTT} warm-up; floors: mean of before and after the Pipe`,
  });
  pp.add("multiproc Pipe, child's end kept (Python's docs)", 'multiproc', rows['pipe.rtt.kept'] ?? []);
  pp.add("multiproc Pipe, child's end closed", 'multiproc', rows['pipe.rtt'] ?? []);
  pp.add('bare Node fork IPC ping-pong (json)', 'floor', rows['floor.ipc'] ?? []);
  pp.add('bare Node Unix socket ping-pong', 'floor', rows['floor.unix'] ?? []);
  pp.add('python mp.Pipe ping-pong', 'python', rows['R.py.pipe'] ?? [], 'r_rtt.py: the parent keeps the child end');
  const mg = rec.workload('manager.dict', {
    title: "Manager dict d['count'] -= 1 pairs, 1 client, child-process manager", unit: 'pairs/s', better: 'higher',
    note: 'a pair = 2 round trips; the floors are round trips/s halved',
  });
  mg.add('multiproc Manager dict', 'multiproc', rows['mgr.pairs'] ?? []);
  mg.add('python Manager().dict', 'python', rows['F.py.dict_1client'] ?? []);
  mg.add('bare Node fork IPC, 2 round trips', 'floor', (rows['floor.ipc'] ?? []).map((x) => x / 2));
  mg.add('bare Node Unix socket, 2 round trips', 'floor', (rows['floor.unix'] ?? []).map((x) => x / 2));
  rec.save();
}
