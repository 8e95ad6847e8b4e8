// The relay of child-process runs (ProcessRelay in lib/engine/tinypool-adapter.ts): a run's task is a ticket
// swapped for its batch where tinypool's relay sends it to the child, and the child's reply crosses
// tinypool's in-thread port as a ticket too. Checked on tinypool's real child processes running our pool
// worker entry (dist/), as the engine runs them.
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import Tinypool from 'tinypool';
import { newWorkers, ProcessRelay, type TinypoolLike } from '../lib/engine/tinypool-adapter.js';
import { settledOrPending } from './helpers/runtimes.js';

const entry = fileURLToPath(new URL('../dist/lib/worker/pool-worker.bundle.mjs', import.meta.url));
const square = { kind: 'src', src: '(x) => x * x' };
const pools: Tinypool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((tp) => settledOrPending(tp.destroy().catch(() => {}), 5000)));
});

/** Bare tinypool running our pool worker entry in one child, configured as the engine configures it. */
function childPool(): Tinypool {
  const config = { prefix: 'RelayWorker', number: 1, initializer: null, maxTasks: 0, channel: 'relay-test' };
  const tp = new Tinypool({
    filename: entry, runtime: 'child_process', minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 2, useAtomics: false,
    serialization: 'advanced', argv: ['--multiproc-worker'],
    env: { ...process.env, MULTIPROC_POOL_WORKER_CONFIG: serialize(config).toString('base64') } as Record<string, string>,
  });
  tp.on('error', () => {});
  pools.push(tp);
  return tp;
}

function relayed(tp: Tinypool): ProcessRelay {
  const relay = new ProcessRelay();
  for (const handle of newWorkers(tp as unknown as TinypoolLike, new WeakSet(), relay)) {
    // the adapter took tinypool's exit handling off: a death fails the worker's runs as the engine does
    handle.emitter.once('exit', () => handle.fail(new Error('the worker died')));
  }
  return relay;
}

test('a batch sent by ticket runs in the child; its reply comes back by ticket; nothing stays held', async () => {
  const tp = childPool();
  const relay = relayed(tp);
  const tasks: unknown[] = [];
  for (let i = 0; i < 500; i++) tasks.push(0, [i], 0);
  const replies = await Promise.all([1, 2, 3].map(async (b) => {
    const raw: any = await tp.run(relay.ticket({ b, specs: [square], t: tasks }));
    expect(raw).toEqual({ relayed: b }); // only the ticket crossed tinypool's port
    return relay.reply(raw) as any;
  }));
  for (const [k, reply] of replies.entries()) {
    expect(reply.b).toBe(k + 1);
    // A sync batch that overruns the worker's time slice (a loaded machine) stops between tasks and hands
    // the rest back: `rest` says where it stopped. At least the first task always runs.
    expect(reply.rest).toBeGreaterThanOrEqual(1);
    expect(reply.rest).toBeLessThanOrEqual(500);
    expect(reply.r.length).toBe(2 * reply.rest);
    for (let i = 0; i < reply.rest; i++) expect(reply.r[2 * i + 1]).toBe(i * i);
  }
  expect(relay.size).toBe(0);
});

test('a ticket that reaches the child unswapped is answered as its batch handed back whole', async () => {
  const tp = childPool();
  newWorkers(tp as unknown as TinypoolLike, new WeakSet()); // workers taken over without the relay: no swap
  const relay = new ProcessRelay();
  const reply: any = await settledOrPending(tp.run(relay.ticket({ b: 4, specs: [square], t: [0, [3], 0] })), 10000);
  expect(reply).not.toBe('pending');
  expect(reply.b).toBe(4);
  expect(reply.rest).toBe(0); // nothing ran: the engine queues the batch's tasks again
  expect(reply.r).toEqual([]);
  expect(relay.reply(reply)).toBe(reply); // a reply that is not a ticket passes as it is
});

test('a batch v8 refuses is answered as unsendable by ticket; a failed run leaves nothing held', async () => {
  const tp = childPool();
  const relay = relayed(tp);
  const raw = await settledOrPending(tp.run(relay.ticket({ b: 5, specs: [square], t: [0, [() => 1], 0] })), 10000);
  const reply: any = relay.reply(raw);
  expect(reply?.b).toBe(5);
  expect(reply?.unsendable).toBe(true);
  expect(relay.size).toBe(0);

  // a run whose worker dies fails; the engine then drops what the relay held for it
  const dying = tp.run(relay.ticket({ b: 6, specs: [{ kind: 'src', src: '() => process.exit(3)' }], t: [0, [], 0] }));
  expect(await settledOrPending(dying.then(() => 'replied', (err) => String(err)), 10000)).toBe('Error: the worker died');
  relay.drop(6);
  expect(relay.size).toBe(0);
});
