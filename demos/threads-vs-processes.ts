// Threads vs processes, for I/O-bound and CPU-bound work, with timings.
//
//   node --import tsx demos/threads-vs-processes.ts        (MULTIPROC_DEMO_SHORT=1 for less work)
//
// In Python, threads do not speed up CPU-bound work (the GIL), so CPU work goes to processes.
// Node's worker threads are separate V8 isolates that do run in parallel, which is why multiproc's
// Pool runs on threads by default. Processes cost more to start and to send data to, and buy
// isolation: a crash, a leak or process.exit() stays in the child.
import { progress } from './_progress.js';
import { cpuCount } from 'multiproc';
import { Executor, ProcessPoolExecutor, ThreadPoolExecutor } from 'multiproc';

const SHORT = process.env.MULTIPROC_DEMO_SHORT === '1';
const WORKERS = Math.max(2, Math.min(4, cpuCount()));
const IO_TASKS = SHORT ? 8 : 24;
const IO_MS = 100;
const CPU_TASKS = SHORT ? 4 : 8;
const FIB_N = SHORT ? 32 : 34;

/** I/O-bound: waits, as a network call or a disk read would. Self-contained: sent by source. */
const ioTask = async (ms: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
};

/**
 * CPU-bound: naive Fibonacci. It recurses through its own name, which a named function expression
 * keeps when compiled from source (an inner helper function would be wrapped by tsx's `__name`).
 */
function cpuTask(n: number): number {
  return n < 2 ? n : cpuTask(n - 1) + cpuTask(n - 2);
}


interface Timing {
  label: string;
  startMs: number;
  workMs: number;
}

/** Starts the executor's workers (timed apart), then runs `fn` over `inputs` with map(). */
async function timed<A>(label: string, make: () => Executor, fn: (a: A) => unknown, inputs: A[], tick: (line: string) => void): Promise<Timing> {
  const t0 = performance.now();
  await using executor = make();
  await Promise.all(Array.from({ length: executor.maxWorkers }, () => executor.submit(() => 0).result()));
  const t1 = performance.now();
  for await (const _ of executor.map(fn, inputs)) void _;
  const t2 = performance.now();
  tick(`  ${label.padEnd(28)} start ${(t1 - t0).toFixed(0).padStart(5)} ms   work ${(t2 - t1).toFixed(0).padStart(6)} ms`);
  return { label, startMs: t1 - t0, workMs: t2 - t1 };
}

async function inMainThread<A>(label: string, fn: (a: A) => unknown, inputs: A[], tick: (line: string) => void, concurrent: boolean): Promise<Timing> {
  const t0 = performance.now();
  if (concurrent) await Promise.all(inputs.map((x) => fn(x)));
  else for (const x of inputs) await fn(x);
  const ms = performance.now() - t0;
  tick(`  ${label.padEnd(28)} start     0 ms   work ${ms.toFixed(0).padStart(6)} ms`);
  return { label, startMs: 0, workMs: ms };
}

console.log(`${cpuCount()} CPUs; ${WORKERS} workers per executor`);
const bar = progress(9, 'runs'); // 7 runs and 2 headings
const ioInputs = Array.from({ length: IO_TASKS }, () => IO_MS);
const cpuInputs = Array.from({ length: CPU_TASKS }, () => FIB_N);

bar.tick(`I/O-bound: ${IO_TASKS} waits of ${IO_MS} ms`);
const io = [
  await inMainThread('main thread, one by one', ioTask, ioInputs, bar.tick, false),
  await inMainThread('main thread, all at once', ioTask, ioInputs, bar.tick, true),
  await timed('ThreadPoolExecutor', () => new ThreadPoolExecutor(WORKERS), ioTask, ioInputs, bar.tick),
  await timed('ProcessPoolExecutor', () => new ProcessPoolExecutor(WORKERS), ioTask, ioInputs, bar.tick),
];
bar.tick(`CPU-bound: fib(${FIB_N}) x ${CPU_TASKS}`);
const cpu = [
  await inMainThread('main thread', cpuTask, cpuInputs, bar.tick, false),
  await timed('ThreadPoolExecutor', () => new ThreadPoolExecutor(WORKERS), cpuTask, cpuInputs, bar.tick),
  await timed('ProcessPoolExecutor', () => new ProcessPoolExecutor(WORKERS), cpuTask, cpuInputs, bar.tick),
];
bar.stop();

const speedup = (t: Timing, base: Timing) => (base.workMs / t.workMs).toFixed(1);
console.log(`\nI/O-bound: an await already overlaps waits in one thread (x${speedup(io[1], io[0])}); ` +
  `a worker runs one call at a time, as in Python, so ${WORKERS} workers overlap only ${WORKERS} waits (threads x${speedup(io[2], io[0])}, processes x${speedup(io[3], io[0])}).`);
console.log(`CPU-bound: threads x${speedup(cpu[1], cpu[0])}, processes x${speedup(cpu[2], cpu[0])} over the main thread; ` +
  `processes took ${cpu[2].startMs.toFixed(0)} ms to start, threads ${cpu[1].startMs.toFixed(0)} ms.`);
console.log('Use threads (the default) for CPU work; processes when you need isolation or a separate heap.');
