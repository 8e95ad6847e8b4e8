// The contract with tinypool's private internals: one test per touch our adapters make
// (lib/engine/tinypool-adapter.ts, lib/worker/tinypool-adapter.ts), each failing with a message that
// names the touch. They run against the installed tinypool, or another copy:
//   MULTIPROC_TINYPOOL=/tmp/tp-2.1/node_modules/tinypool npx jest __tests__/tinypool-contract.test.ts
// (scripts/tinypool-contract.sh installs a version into a scratch directory and runs them).
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isReadyMessage, isServing, newWorkers, perChildEnv, ProcessRelay, runFailure, startWorker, type TinypoolLike, type WorkerHandle } from '../lib/engine/tinypool-adapter.js';
import { fixture, settledOrPending } from './helpers/runtimes.js';

type Runtime = 'worker_threads' | 'child_process';
const handler = fixture('tinypool-contract-handler.mjs');
let Tinypool: new (options: Record<string, unknown>) => TinypoolLike & { on(e: string, f: (...a: any[]) => void): void };
let version = '';
const pools: TinypoolLike[] = [];
let dir: string;

beforeAll(async () => {
  const where = process.env.MULTIPROC_TINYPOOL;
  const mod = where ? await import(pathToFileURL(join(where, 'dist/index.js')).href) : await import('tinypool');
  Tinypool = mod.default;
  // from package.json: tinypool 2.1's static `version` getter throws under ESM
  const pkg = where ? join(where, 'package.json') : fileURLToPath(new URL('../node_modules/tinypool/package.json', import.meta.url));
  version = JSON.parse(readFileSync(pkg, 'utf8')).version;
  dir = mkdtempSync(join(tmpdir(), 'multiproc-contract-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  await Promise.all(pools.splice(0).map((tp) => settledOrPending(tp.destroy().catch(() => {}), 3000)));
});

function pool(runtime: Runtime, options: Record<string, unknown> = {}) {
  const tp = new Tinypool({ filename: handler, runtime, minThreads: 1, maxThreads: 1, serialization: 'advanced', ...options });
  tp.on('error', () => {});
  pools.push(tp);
  return tp;
}


/** Fails with the touch's name when `ok` is false. */
function contract(touch: string, ok: boolean, detail = ''): void {
  if (!ok) throw new Error(`tinypool ${version} broke the contract of touch "${touch}"${detail ? `: ${detail}` : ''}`);
}

function handles(tp: TinypoolLike): WorkerHandle[] {
  try {
    return newWorkers(tp, new WeakSet());
  } catch (err) {
    contract('1: worker objects (.thread / .process, listed in threads)', false, String(err));
    throw err;
  }
}

function noteFrom(handle: WorkerHandle): Promise<any> {
  return new Promise((resolve) => {
    const listener = (msg: any) => {
      if (msg?.__contract__) {
        handle.emitter.off('message', listener);
        resolve(msg.__contract__);
      }
    };
    handle.emitter.on('message', listener);
  });
}

const runtimes: [Runtime, 'thread' | 'process'][] = [['worker_threads', 'thread'], ['child_process', 'process']];

describe.each(runtimes)('tinypool contract (%s)', (runtime, ours) => {
  test('touch 1: threads lists worker objects holding the node Worker (.thread) or ChildProcess (.process), made at once', async () => {
    const tp = pool(runtime);
    const [h] = handles(tp);
    contract('1: worker objects', h !== undefined, 'no worker listed right after construction');
    contract('1: worker objects', h.runtime === ours, `runtime ${h.runtime}`);
    contract('1: worker objects', ours === 'thread' ? h.emitter instanceof Worker : h.emitter instanceof ChildProcess, '.thread/.process is not a Worker/ChildProcess');
    const pid = await tp.run({ op: 'pid' });
    contract('1: worker objects', ours === 'thread' ? h.id === (h.emitter as Worker).threadId : h.id === pid, 'threadId is not the thread id / pid');
  });

  test('touch 2: a worker\'s \'error\' listeners are tinypool\'s failure path: called with our error they fail its runs with it and start a replacement', async () => {
    const tp = pool(runtime);
    const [h] = handles(tp);
    const hung = tp.run({ op: 'hang' });
    await new Promise((r) => setTimeout(r, 100)); // let the run reach the worker (failing it before that fails it too)
    const ours = new Error('ours');
    h.fail(ours);
    const err = await settledOrPending(hung.catch((e) => e), 5000);
    contract('2: error listeners as failure path', err === ours, `the run settled with ${String(err)}`);
    contract('2: error listeners as failure path', !isServing(tp, h), 'tinypool still lists the failed worker');
    contract('2: error listeners as failure path', tp.threads.length === 1, 'no replacement was started');
    contract('2: error listeners as failure path', (await tp.run({ op: 'pid' })) !== undefined, 'the replacement does not serve');
  });

  test('touch 5: tinypool\'s rejections are told apart by text: AbortError, "Terminating worker thread", CancelError', async () => {
    const tp = pool(runtime);
    const ac = new AbortController();
    const aborted = tp.run({ op: 'hang' }, { signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50)); // the run reaches its worker; an abort before that is an AbortError too
    ac.abort();
    contract('5: AbortError', runFailure(await aborted) === 'aborted', String(await aborted));

    await settledOrPending(tp.run({ op: 'pid' }), 5000); // the replacement is up
    const busy = tp.run({ op: 'hang' }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50)); // the hanging run takes the worker, so the next one queues in tinypool
    const queued = tp.run({ op: 'pid' }).catch((e) => e);
    tp.cancelPendingTasks();
    contract('5: CancelError', runFailure(await settledOrPending(queued, 5000)) === 'cancelled', String(await settledOrPending(queued, 10)));
    const destroyed = tp.destroy();
    contract('5: "Terminating worker thread"', runFailure(await settledOrPending(busy, 5000)) === 'stopped', String(await settledOrPending(busy, 10)));
    await destroyed;
  });

  test('touch 6 / W2: tinypool\'s first message is { ready: true }; a note of ours beside its replies is accepted', async () => {
    const tp = pool(runtime);
    const [h] = handles(tp);
    const first = new Promise<unknown>((resolve) => h.emitter.once('message', resolve));
    let poolError: unknown = null;
    tp.on('error', (e: unknown) => (poolError = e));
    const note = noteFrom(h);
    const result = await settledOrPending(tp.run({ op: 'note', n: 3 }), 5000);
    contract('6: ready handshake', isReadyMessage(await first), `first message ${JSON.stringify(await first)}`);
    contract('W2: notes beside replies', result === 'noted', `the run settled with ${String(result)}`);
    contract('W2: notes beside replies', (await settledOrPending(note, 2000)) !== 'pending', 'the note did not arrive');
    contract('W2: notes beside replies', poolError === null, `tinypool reported ${String(poolError)}`);
  });

  test('touch 7: after a start-up failure tinypool starts no replacement, but a run makes it start one', async () => {
    const mark = join(dir, `fail-once-${ours}`);
    const tp = pool(runtime, { env: { ...process.env, CONTRACT_FAIL_ONCE: mark } });
    const [h] = handles(tp);
    await settledOrPending(tp.run({ op: 'pid' }), 10000);
    writeFileSync(mark, ''); // the next worker fails while starting
    h.fail(new Error('lost')); // tinypool replaces it: the replacement fails to start
    contract('7: start-up failure flag', tp.threads.length === 1, 'no replacement for a lost worker');
    for (let waited = 0; waited < 10000 && tp.threads.length > 0; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // had tinypool replaced it, the replacement would be listed by now
    contract('7: start-up failure flag', tp.threads.length === 0, `${tp.threads.length} workers after a start-up failure (tinypool now replaces them itself: the kick is no longer needed)`);
    startWorker(tp);
    contract('7: a run starts a worker', tp.threads.length === 1, 'an empty run started no worker');
    contract('7: a run starts a worker', typeof (await settledOrPending(tp.run({ op: 'pid' }), 10000)) === 'number', 'the started worker does not serve');
  });

  test('an abort stops the run\'s worker and starts its replacement synchronously, inside abort()', async () => {
    const tp = pool(runtime);
    const [h] = handles(tp);
    const ac = new AbortController();
    const run = tp.run({ op: 'hang' }, { signal: ac.signal }).catch(() => {});
    await new Promise((r) => setTimeout(r, 50)); // the run reaches its worker, so the abort stops that worker
    ac.abort();
    contract('1: worker objects (abort replaces at once)', !isServing(tp, h) && tp.threads.length === 1, 'the replacement was not listed right after abort()');
    await run;
  });
});

test('touch 3: a child\'s exit reaches tinypool only through onUnexpectedExit, which the adapter takes off', async () => {
  const tp = pool('child_process');
  const [h] = handles(tp);
  const dying = tp.run({ op: 'exit', code: 3 });
  const exited = new Promise((r) => h.emitter.once('exit', r));
  await settledOrPending(exited, 5000);
  contract('3: onUnexpectedExit', (await settledOrPending(dying.catch((e) => e), 300)) === 'pending', 'tinypool still heard the exit by itself');
  const ours = new Error('lost');
  h.fail(ours);
  contract('3: onUnexpectedExit', (await settledOrPending(dying.catch((e) => e), 3000)) === ours, 'the run did not fail with our error');
});

test('public option serialization: \'advanced\' (tinypool >= 2.1): child processes get values whole, not as JSON', async () => {
  const tp = pool('child_process');
  const got: any = await settledOrPending(tp.run({ map: new Map([['a', 1]]) }), 5000);
  const type = Object.prototype.toString.call(got?.map); // a Map of Node's realm, not the test's
  contract('serialization option', type === '[object Map]' && got.map.get('a') === 1, `a Map arrived as ${type} ${JSON.stringify(got)}`);
});

test('touch 4: a ProcessWorker relays runs through send({ ...request, source: \'port\' }); a batch v8 refuses is replaced by an unsendable one', async () => {
  const tp = pool('child_process');
  handles(tp);
  const batch = { b: 7, specs: [], t: [[0, new SharedArrayBuffer(8), 0]] };
  const got: any = await settledOrPending(tp.run(batch), 5000);
  contract('4: relay send', got !== 'pending', 'the run hung: the relay threw out of reach');
  contract('4: relay send', got?.b === 7 && got?.unsendable === true, `the worker got ${JSON.stringify(got)}`);
});

test('touch 9: a ProcessWorker relays runs and replies across its own port (.port), so a run may carry a ticket swapped at the relay, and a reply crosses as a ticket', async () => {
  const tp = pool('child_process');
  const relay = new ProcessRelay();
  try {
    newWorkers(tp, new WeakSet(), relay);
  } catch (err) {
    contract('9: relay port', false, String(err));
  }
  const batch = { b: 9, specs: [], t: [1, [2, 3], new Map([['k', 'v']])] };
  const raw: any = await settledOrPending(tp.run(relay.ticket(batch)), 5000);
  contract('9: relay port', raw !== 'pending', 'the run hung');
  // the handler echoes what reached the child: the batch itself, whose reply (b: 9) was held here
  contract('9: relay port', raw?.relayed === 9, `the run resolved to ${JSON.stringify(raw)}, not the reply's ticket`);
  const got: any = relay.reply(raw);
  contract('9: relay port', got?.b === 9 && got.relay === undefined && got.t?.[1]?.[1] === 3 && got.t[2]?.get?.('k') === 'v', `the child got ${JSON.stringify(got)}`);
  contract('9: relay port', relay.size === 0, `${relay.size} batches or replies still held`);
});

test('touch 8: a child\'s environment is copied from the env option once per fork, so a getter gives each child its own value', async () => {
  let reads = 0;
  const env = perChildEnv({ ...process.env } as Record<string, string>, 'CONTRACT_PER_CHILD', () => `child-${++reads}`);
  const tp = pool('child_process', { env, minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 1 });
  // both runs at once: one per child
  const got = await settledOrPending(Promise.all([0, 1].map(() => tp.run({ op: 'env', key: 'CONTRACT_PER_CHILD' }))), 5000);
  contract('8: per-child env', Array.isArray(got) && [...got].sort().join() === 'child-1,child-2' && reads === 2, `children saw ${JSON.stringify(got)} after ${reads} reads`);
});

test('touch W1: a thread finds its workerData in process.__tinypool_state__.workerData', async () => {
  const tp = pool('worker_threads', { workerData: { tag: 'config' } });
  const got = await settledOrPending(tp.run({ op: 'workerData' }), 5000);
  contract('W1: __tinypool_state__.workerData', JSON.stringify(got) === JSON.stringify({ tag: 'config' }), JSON.stringify(got));
});

test('touch W3: a thread\'s reply is posted with MessagePort.prototype.postMessage({ result }), which the adapter guards', async () => {
  const tp = pool('worker_threads');
  const got = await settledOrPending(tp.run({ op: 'unclonable' }).catch((e) => e), 5000);
  contract('W3: reply post guard', got === 'repaired', `the run settled with ${String(got)}`);
});

test('touch W4: a child hears our messages on its IPC channel beside tinypool\'s', async () => {
  const tp = pool('child_process');
  const [h] = handles(tp);
  contract('W4: messages to a child', (await settledOrPending(tp.run({ op: 'listen' }), 5000)) === 'listening');
  const echo = noteFrom(h);
  h.child!.send({ __contract__: 1, x: 'hi' });
  const got = await settledOrPending(echo, 5000);
  contract('W4: messages to a child', got !== 'pending' && got.echo === 'hi', JSON.stringify(got));
});

test('no module but the two adapters names tinypool\'s private internals', () => {
  const root = fileURLToPath(new URL('../lib/', import.meta.url));
  const privateNames = /__tinypool_state__|onUnexpectedExit|__tinypool_worker_message__|Terminating worker thread|CancelError|ready: true|\.process!\.send|\btw\.(thread|process|send)\b/;
  const adapters = new Set(['engine/tinypool-adapter.ts', 'worker/tinypool-adapter.ts']);
  const offenders: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !adapters.has(path) && privateNames.test(readFileSync(join(root, path), 'utf8'))) offenders.push(path);
    }
  };
  walk('');
  expect(offenders).toEqual([]);
});
