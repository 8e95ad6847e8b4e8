// Manager proxies beside Python's Manager (f_manager.py) in the same run; every proxy call is a round trip
// to the manager's server process, as in Python:
//   manager.dict.fresh   d.count -= 1 as a get + set pair, 1 client, awaited one by one (Python: d['count'] -= 1);
//                        also the same pairs all in flight at once (Promise.all), which Python cannot write
//   manager.dict.lock2   2 client processes x N/2 locked pairs (lock.acquire, get, set, release: 4 round trips)
//   manager.list.append  l.append(i), 1 client, awaited one by one
// Each round runs in a fresh node process with a fresh Manager and no warm-up, as each Python round is a fresh
// interpreter with a fresh Manager: the first timed batch, like a user's program.
// Rows go to bench/report/data/manager.json. BENCH_QUICK=1: small sizes, one round.
import { fork, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Manager } from '../dist/lib/index.js';
import { now, report, runPython, size, withoutExtraCaCerts } from './_common.mjs';
import { recorder, summary } from './_rows.mjs';

const N = size(20_000, 2000); // Python's twin always does 20k
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? size(3, 1));
const self = fileURLToPath(import.meta.url);

/** A client process of the 2-clients case: revives its proxies, says ready, does n locked pairs on 'go'. */
async function client() {
  // the proxies arrive as handles, as they would in a Pool or Process worker
  const { reviveHandle } = await import('../dist/primitives/manager/revive.js');
  process.once('message', async ({ handles, n }) => {
    const [d, lock] = await Promise.all(handles.map((h) => reviveHandle(h.type, h.data)));
    process.send('ready');
    process.once('message', async () => {
      for (let i = 0; i < n; i++) {
        await lock.acquire();
        await d.set('count', (await d.get('count')) - 1);
        await lock.release();
      }
      process.send('done', () => process.exit(0));
    });
  });
}

const answer = (proc) => new Promise((resolve, reject) => {
  const onExit = (code) => reject(new Error(`a client process exited (${code}) before it answered`));
  proc.once('exit', onExit);
  proc.once('message', (m) => {
    proc.off('exit', onExit);
    resolve(m);
  });
});

/** One round in this (fresh) process: prints its figures as one JSON line. */
async function round() {
  const m = await Manager.start();
  const out = {};
  try {
    let d = await m.dict({ count: N });
    let t = now();
    for (let i = 0; i < N; i++) await d.set('count', (await d.get('count')) - 1);
    out.dict1 = N / ((now() - t) / 1000);
    if ((await d.get('count')) !== 0) throw new Error('dict, 1 client: wrong count');

    // every pair in flight at once (each still a get then a set on the server)
    d = await m.dict({ count: N });
    t = now();
    const calls = [];
    for (let i = 0; i < N; i++) calls.push(d.get('count'), d.set('k', i));
    await Promise.all(calls);
    out.pipelined = N / ((now() - t) / 1000);

    const l = await m.list();
    t = now();
    for (let i = 0; i < N; i++) await l.append(i);
    out.append = N / ((now() - t) / 1000);
    if ((await l.length()) !== N) throw new Error('list append: wrong length');

    d = await m.dict({ count: N });
    const lock = await m.Lock();
    const children = [0, 1].map(() => fork(self, ['client'], { serialization: 'advanced' }));
    try {
      const handles = [d, lock].map((p) => p[Symbol.for('multiproc.toHandle')]('process'));
      for (const c of children) c.send({ handles, n: N / 2 });
      await Promise.all(children.map(answer));
      t = now();
      for (const c of children) c.send('go');
      await Promise.all(children.map(answer));
      out.dict2lock = N / ((now() - t) / 1000);
      if ((await d.get('count')) !== 0) throw new Error('dict + Lock, 2 clients: wrong count');
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill();
    }
  } finally {
    await m.shutdown();
  }
  console.log(JSON.stringify(out));
}

async function main() {
  withoutExtraCaCerts(import.meta.url);
  const rec = recorder(import.meta.url); // its start time and load: before the rounds
  console.log(`Manager proxies, ${N} operations per case; ${ROUNDS} round(s), each a fresh node process and a fresh Python one`);
  const ours = { dict1: [], pipelined: [], dict2lock: [], append: [] };
  const py = { dict1: [], dict2lock: [], append: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const res = spawnSync(process.execPath, [self, 'round'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
    if (res.status !== 0) throw new Error(`round ${r + 1} failed (${res.error?.message ?? `exit ${res.status}`})`);
    const figures = JSON.parse(res.stdout.trim().split('\n').pop());
    for (const k of Object.keys(ours)) ours[k].push(figures[k]);
    const p = runPython('f_manager.py');
    py.dict1.push(p['F.py.dict_1client']?.value);
    py.dict2lock.push(p['F.py.dict_2clients_lock']?.value);
    py.append.push(p['F.py.list_append']?.value);
  }
  const med = (xs) => summary(xs).value;

  const note = `${ROUNDS} round(s), each a fresh process and Manager, no warm-up (as the Python twin)`;
  const dict = rec.workload('manager.dict.fresh', {
    title: `Manager dict: d.count -= 1 (get + set pair) x ${N / 1000}k, 1 client, first batch in a fresh process`, unit: 'pairs/s', better: 'higher', note,
  });
  dict.add('multiproc, awaited one by one', 'multiproc', ours.dict1);
  dict.add('multiproc, all pairs in flight (Promise.all)', 'multiproc', ours.pipelined, 'no Python form: its proxies block');
  dict.add("python Manager().dict d['count'] -= 1", 'python', py.dict1, '20k pairs');

  const lock2 = rec.workload('manager.dict.lock2', {
    title: `Manager dict + Lock: 2 client processes x ${N / 2000}k locked pairs (4 round trips each)`, unit: 'pairs/s', better: 'higher',
    note: `${note}; timed from 'go' to both clients done; proxies handed to the clients as handles`,
  });
  lock2.add('multiproc', 'multiproc', ours.dict2lock);
  lock2.add('python Manager().dict + Manager().Lock, 2 processes', 'python', py.dict2lock, '2 x 10k pairs');

  const append = rec.workload('manager.list.append', {
    title: `Manager list: append x ${N / 1000}k, 1 client, awaited one by one`, unit: 'ops/s', better: 'higher', note,
  });
  append.add('multiproc', 'multiproc', ours.append);
  append.add('python Manager().list append', 'python', py.append, '20k appends');
  rec.save();

  report('dict d.count -= 1 (get+set), 1 client, awaited', med(ours.dict1), 'pairs/s', [['py Manager dict, 1 client', med(py.dict1)]]);
  report('dict get+set pairs, 1 client, all in flight', med(ours.pipelined), 'pairs/s', [['py Manager dict, 1 client (sequential)', med(py.dict1)]]);
  report('dict + Lock, 2 client processes (4 round trips/pair)', med(ours.dict2lock), 'pairs/s', [['py Manager dict + Lock, 2 processes', med(py.dict2lock)]]);
  report('list append, 1 client, awaited', med(ours.append), 'ops/s', [['py Manager list append', med(py.append)]]);
}

if (process.argv[2] === 'client') await client();
else if (process.argv[2] === 'round') await round();
else await main();
