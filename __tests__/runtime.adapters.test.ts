// The runtime adapters (lib/runtime/): one interface over a worker thread or a child process, whether
// Process started it (start()) or tinypool did (wrap()). Exit info is the same shape for both runtimes
// and for both starters: { code, signal, error }.

import { runtimeAdapter, type ExitInfo, type RuntimeWorker } from '../lib/runtime/index.js';
import { newWorkers, type TinypoolLike } from '../lib/engine/tinypool-adapter.js';
import { fixture, runtimes, settledOrPending } from './helpers/runtimes.js';
import { runProgram } from './helpers/programs.js';

const entry = new URL(fixture('runtime-entry.mjs'));
const exitOf = (w: RuntimeWorker) => new Promise<ExitInfo>((resolve) => w.onExit(resolve));
const goneOf = (w: RuntimeWorker) => new Promise<ExitInfo>((resolve) => w.onGone(resolve));
const started: RuntimeWorker[] = [];

function start(runtime: 'thread' | 'process'): RuntimeWorker {
  const w = runtimeAdapter(runtime).start(entry, {});
  started.push(w);
  return w;
}

afterEach(() => {
  for (const w of started.splice(0)) w.kill('SIGKILL');
});

describe.each(runtimes)('runtime adapter (%s)', (runtime) => {
  test('a worker that ends by itself: code 0, no signal; exit before gone, each once', async () => {
    const w = start(runtime);
    expect(typeof w.id).toBe('number');
    expect(w.runtime).toBe(runtime);
    const order: string[] = [];
    w.onExit(() => order.push('exit'));
    w.onGone(() => order.push('gone'));
    const gone = goneOf(w);
    w.send({ op: 'return' });
    const info = await settledOrPending(gone, 20_000);
    expect(info).toMatchObject({ code: 0, signal: null });
    expect(order).toEqual(['exit', 'gone']);
    // a listener added after the end hears it at once
    expect(await settledOrPending(exitOf(w), 100)).toMatchObject({ code: 0, signal: null });
  }, 30_000);

  test('process.exit(3): code 3', async () => {
    const w = start(runtime);
    const exit = exitOf(w);
    w.send({ op: 'exit', code: 3 });
    expect(await settledOrPending(exit, 20_000)).toMatchObject({ code: 3, signal: null });
  }, 30_000);

  test('an uncaught error: code 1 (a thread also says which error)', async () => {
    const w = start(runtime);
    const exit = exitOf(w);
    w.send({ op: 'throw' });
    const info = (await settledOrPending(exit, 20_000)) as ExitInfo;
    expect(info).toMatchObject({ code: 1, signal: null });
    if (runtime === 'thread') expect(String((info.error as Error)?.message)).toContain('uncaught in the worker');
  }, 30_000);

  test('kill(): no code, the signal (a thread is terminated and reads the same)', async () => {
    const term = start(runtime);
    const kill = start(runtime);
    term.send({ op: 'hang' });
    kill.send({ op: 'hang' });
    const [a, b] = [exitOf(term), exitOf(kill)];
    term.kill();
    kill.kill('SIGKILL');
    expect(await settledOrPending(a, 20_000)).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(await settledOrPending(b, 20_000)).toMatchObject({ code: null, signal: 'SIGKILL' });
  }, 30_000);

  test('setRef(false): a worker still running does not keep its program alive (and a child dies with it)', () => {
    const res = runProgram(`
      import { runtimeAdapter } from ${JSON.stringify(new URL('../lib/runtime/index.ts', import.meta.url).href)};
      const w = runtimeAdapter(${JSON.stringify(runtime)}).start(new URL(${JSON.stringify(entry.href)}), {});
      w.send({ op: 'hang' });
      w.dieWithParent(true);
      w.setRef(false);
      console.log('pid', w.id);
    `, { timeout: 30_000 });
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/pid \d+/);
  }, 40_000);
});

test("a child's output written before it exits is in before 'gone'", async () => {
  // stdout is inherited by a started child; wrap a child whose output passes through us instead
  const { fork } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const child = fork(fileURLToPath(entry), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], serialization: 'advanced' });
  const w = runtimeAdapter('process').wrap(child);
  started.push(w);
  let out = '';
  w.stdout!.on('data', (d) => (out += d));
  const gone = goneOf(w);
  w.send({ op: 'print', text: 'x'.repeat(100_000) });
  await settledOrPending(gone, 20_000);
  expect(out.length).toBe(100_000);
}, 30_000);

describe.each(runtimes)('a pool worker and a Process worker report their exits the same way (%s)', (runtime) => {
  let Tinypool: new (options: Record<string, unknown>) => TinypoolLike & { on(e: string, f: (...a: any[]) => void): void };
  const pools: TinypoolLike[] = [];
  beforeAll(async () => {
    Tinypool = (await import('tinypool')).default as any;
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((tp) => settledOrPending(tp.destroy().catch(() => {}), 3000)));
  });

  /** A worker tinypool started, wrapped by the same adapter Process starts its workers with. */
  function poolWorker(): { worker: RuntimeWorker; tp: TinypoolLike } {
    const adapter = runtimeAdapter(runtime);
    const tp = new Tinypool({
      ...adapter.poolOptions(new URL(fixture('tinypool-contract-handler.mjs')), {}),
      minThreads: 1,
      maxThreads: 1,
    });
    tp.on('error', () => {});
    pools.push(tp);
    const [handle] = newWorkers(tp, new WeakSet());
    return { worker: adapter.wrap(handle.emitter), tp };
  }

  test('process.exit(3) and kill', async () => {
    const pooled = poolWorker();
    const exitInPool = exitOf(pooled.worker);
    pooled.tp.run({ op: 'exit', code: 3 }).catch(() => {});
    const own = start(runtime);
    const exitOwn = exitOf(own);
    own.send({ op: 'exit', code: 3 });
    const [a, b] = await Promise.all([settledOrPending(exitInPool, 20_000), settledOrPending(exitOwn, 20_000)]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ code: 3, signal: null });

    const hung = poolWorker();
    const killedInPool = exitOf(hung.worker);
    hung.tp.run({ op: 'hang' }).catch(() => {});
    const ownHung = start(runtime);
    ownHung.send({ op: 'hang' });
    const killedOwn = exitOf(ownHung);
    hung.worker.kill('SIGKILL');
    ownHung.kill('SIGKILL');
    const [c, d] = await Promise.all([settledOrPending(killedInPool, 20_000), settledOrPending(killedOwn, 20_000)]);
    expect(c).toEqual(d);
    expect(c).toMatchObject({ code: null, signal: 'SIGKILL' });
  }, 60_000);
});

