// F. Manager proxies: dict get+set pairs (1 client; 2 client processes with a Lock), list append,
// and the same pairs pipelined — beside Python's Manager in the same run (f_manager.py).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Manager } from '../dist/primitives/manager/index.js';
import { median, now, report, runPython, withoutExtraCaCerts } from './_common.mjs';

const N = 20_000;
const ROUNDS = 3;

if (process.argv[2] === 'client') {
  // A client process of the 2-clients case: connect, wait for go, do n locked pairs.
  // The proxies arrive as handles, as they would in a Pool/Process worker.
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
} else {
  if (withoutExtraCaCerts(import.meta.url)) process.exit(0);
  console.log('F. Manager proxies (Python: f_manager.py, same run)');
  const py = runPython('f_manager.py');
  const m = await Manager.start();
  const results = { dict1: [], pipelined: [], dict2lock: [], append: [] };
  for (let r = 0; r < ROUNDS; r++) {
    let d = await m.dict({ count: N });
    for (let i = 0; i < 1000; i++) await d.set('w', await d.get('count')); // warm-up
    let t = now();
    for (let i = 0; i < N; i++) await d.set('count', (await d.get('count')) - 1);
    results.dict1.push(N / ((now() - t) / 1000));
    if ((await d.get('count')) !== 0) throw new Error('dict1: wrong count');

    // pipelined: all pairs in flight at once (each pair still a get then a set on the server)
    d = await m.dict({ count: N });
    t = now();
    const calls = [];
    for (let i = 0; i < N; i++) calls.push(d.get('count'), d.set('k', i));
    await Promise.all(calls);
    results.pipelined.push(N / ((now() - t) / 1000));

    const l = await m.list();
    t = now();
    for (let i = 0; i < N; i++) await l.append(i);
    results.append.push(N / ((now() - t) / 1000));
    if ((await l.length()) !== N) throw new Error('append: wrong length');

    // 2 client processes x N/2 locked pairs
    d = await m.dict({ count: N });
    const lock = await m.Lock();
    const children = [0, 1].map(() => fork(fileURLToPath(import.meta.url), ['client'], { serialization: 'advanced' }));
    const handles = [d, lock].map((p) => p[Symbol.for('multiproc.toHandle')]('process'));
    for (const c of children) c.send({ handles, n: N / 2 });
    await Promise.all(children.map((c) => new Promise((res) => c.once('message', res))));
    t = now();
    for (const c of children) c.send('go');
    await Promise.all(children.map((c) => new Promise((res) => c.once('message', res))));
    results.dict2lock.push(N / ((now() - t) / 1000));
    if ((await d.get('count')) !== 0) throw new Error('dict2lock: wrong count');
    for (const c of children) c.kill();
  }
  await m.shutdown();
  const pyv = (id) => py[id]?.value;
  report('dict d.count -= 1 (get+set), 1 client, awaited', median(results.dict1), 'pairs/s', [['py Manager dict, 1 client', pyv('F.py.dict_1client')]]);
  report('dict get+set pairs, 1 client, pipelined', median(results.pipelined), 'pairs/s', [['py Manager dict, 1 client (sequential)', pyv('F.py.dict_1client')]]);
  report('dict + Lock, 2 client processes (4 round trips/pair)', median(results.dict2lock), 'pairs/s', [['py Manager dict + Lock, 2 processes', pyv('F.py.dict_2clients_lock')]]);
  report('list append, 1 client, awaited', median(results.append), 'ops/s', [['py Manager list append', pyv('F.py.list_append')]]);
}
