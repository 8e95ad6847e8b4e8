// What differs between the executors: a dead process worker breaks a ProcessPoolExecutor (BrokenProcessPool),
// a failing initializer breaks either, maxTasksPerChild, worker names, and a lost thread worker.
import { BrokenPoolError, WorkerLostError } from '../lib/base/errors.js';
import { ProcessPoolExecutor, ThreadPoolExecutor, type Executor } from '../lib/executor.js';
import { task } from '../lib/base/task.js';
import { fixture } from './helpers/runtimes.js';
import { Gate } from './fixtures/executor-gate.js';

const tasks = fixture('executor-tasks.ts');
const gated = task(tasks, 'gated');
const square = task<(x: number) => number>(tasks, 'square');
const pid = task<() => number>(tasks, 'pid');
const workerName = task<() => string>(tasks, 'workerName');

let executor: Executor | undefined;
let gate: Gate | undefined;
afterEach(async () => {
  await executor?.shutdown({ cancelFutures: true });
  await gate?.close();
  executor = gate = undefined;
});

test('a process worker that dies breaks the executor: running and queued futures and later submits fail with BrokenPoolError', async () => {
  gate = await Gate.open();
  const ex = (executor = new ProcessPoolExecutor(2));
  const running = ex.submit(gated, gate.port, 'g0', 'never');
  await gate.arrived('g0');
  const killer = ex.submit(task(tasks, 'killSelf'));
  const queued = [1, 2, 3, 4].map((i) => ex.submit(gated, gate!.port, `q${i}`, i));

  const err = await killer.exception();
  expect(err).toBeInstanceOf(BrokenPoolError);
  expect((err as BrokenPoolError).code).toBe('ERR_BROKEN_POOL');
  expect((err as Error).cause).toBeInstanceOf(WorkerLostError);
  await expect(running.result()).rejects.toBeInstanceOf(BrokenPoolError);
  for (const f of queued) await expect(f.result()).rejects.toBeInstanceOf(BrokenPoolError);

  expect(() => ex.submit(square, 2)).toThrow(BrokenPoolError);
  expect(() => ex.submit(square, 2)).toThrow('A child process terminated abruptly, the process pool is not usable anymore');
  expect(() => ex.map(square, [1])).toThrow(BrokenPoolError);
  await ex.shutdown();
  expect(ex.workerIds).toEqual([]);
});

test('an idle process worker that dies breaks the executor too, as Python (test_killed_child)', async () => {
  gate = await Gate.open();
  const ex = (executor = new ProcessPoolExecutor(2));
  const running = ex.submit(gated, gate.port, 'g0', 'never');
  await gate.arrived('g0');
  const busy = gate.pids.get('g0');
  const idle = ex.workerIds.find((p) => p !== busy)!;
  expect(idle).toBeDefined();
  process.kill(idle, 'SIGKILL');
  await expect(running.result()).rejects.toBeInstanceOf(BrokenPoolError);
  expect(() => ex.submit(square, 2)).toThrow(BrokenPoolError);
});

test('a process worker killed while it is still starting breaks the executor as well', async () => {
  gate = await Gate.open();
  const ex = (executor = new ProcessPoolExecutor(2));
  const running = ex.submit(gated, gate.port, 'g0', 'never');
  const [first, second] = ex.workerIds;
  expect(second).toBeDefined(); // both children exist, neither has loaded its modules yet
  process.kill(second, 'SIGKILL');
  await expect(running.result()).rejects.toBeInstanceOf(BrokenPoolError);
  expect(() => ex.submit(square, 2)).toThrow(BrokenPoolError);
  expect(first).not.toBe(second);
});

test.each([
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor(1, { initializer: task(tasks, 'initFail') }), 'thread'],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor(1, { initializer: task(tasks, 'initFail') }), 'process'],
])('%s: a failing initializer breaks the executor', async (_name, make, kind) => {
  const ex = (executor = make());
  const f = ex.submit(square, 3);
  const err = await f.exception();
  expect(err).toBeInstanceOf(BrokenPoolError);
  expect((err as Error).message).toMatch(new RegExp(`^A ${kind} initializer failed, the ${kind} pool is not usable anymore: error in initializer`));
  expect(() => ex.submit(square, 3)).toThrow(BrokenPoolError);
});

test('ThreadPoolExecutor: a thread that exits rejects its call with WorkerLostError and the executor keeps serving', async () => {
  const ex = (executor = new ThreadPoolExecutor(1));
  await expect(ex.submit(task(tasks, 'exitWorker')).result()).rejects.toBeInstanceOf(WorkerLostError);
  expect(await ex.submit(square, 6).result()).toBe(36);
});

test('ProcessPoolExecutor maxTasksPerChild: a worker is replaced after that many calls', async () => {
  const ex = (executor = new ProcessPoolExecutor(1, { maxTasksPerChild: 2 }));
  const pids = [];
  for (let i = 0; i < 4; i++) pids.push(await ex.submit(pid).result());
  expect(pids[0]).toBe(pids[1]);
  expect(pids[2]).toBe(pids[3]);
  expect(pids[2]).not.toBe(pids[0]);
  expect(pids[0]).not.toBe(process.pid);
});

test('worker names: threadNamePrefix for threads; processes run in their own pid', async () => {
  const threads = (executor = new ThreadPoolExecutor(1, { threadNamePrefix: 'crawler' }));
  expect(await threads.submit(workerName).result()).toBe('crawler-1');
  expect(await threads.submit(pid).result()).toBe(process.pid);
  await threads.shutdown();
  const procs = (executor = new ProcessPoolExecutor({ maxWorkers: 1 }));
  expect(await procs.submit(workerName).result()).toMatch(/^ProcessPoolExecutor-\d+-1$/);
  expect(await procs.submit(pid).result()).not.toBe(process.pid);
});
