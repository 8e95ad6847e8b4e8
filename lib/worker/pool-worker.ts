/**
 * The task module every Pool and executor worker loads: tinypool imports it and calls `runBatch` once
 * per run. A batch holds many tasks; they run one at a time, in order, as in a Python pool worker.
 *
 * What a batch does beyond running its tasks:
 * - it never holds tasks hostage: when its current task turns out to be slow (an async task still
 *   pending after SLICE_MS), it sends the results so far and hands the tasks not started back to the
 *   parent, which gives them to another worker; a sync batch that overruns SLICE_MS stops between
 *   tasks and hands the rest back in its reply;
 * - a dying worker (process.exit, uncaught exception, unhandled rejection) says so first, with the
 *   results it has and which task was running, so only that task dies with it;
 * - its reply carries how many bytes of output the worker wrote, so the parent prints them first;
 * - it counts tasks for maxTasksPerChild and retires the worker when the count is reached.
 */
import type * as AsyncHooks from 'node:async_hooks';
import type * as WorkerThreads from 'node:worker_threads';
import { ignoreBrokenPipes, written } from './output.js';
import { guardThreadReplies, onParentMessage, postToParent, threadWorkerData } from './tinypool-adapter.js';
import { runTask, isThenable } from './run-task.js';
import { setProcessName } from '../base/context.js';
import { encodeHandles } from '../base/codec/handles.js';
import { errorToWire } from '../base/codec/error-wire.js';
import { v8Codec } from '../base/codec/message.js';
import { findUnserializable } from '../base/codec/unserializable.js';
import { packNumbers } from '../base/codec/pack.js';
import { explainReferenceError, loadTask } from '../base/load-task.js';
import { hasExitHooks, runExitHooks } from '../base/exit-hooks.js';
import { runAfterTaskHooks } from '../base/task-hooks.js';
import { SerializationError } from '../base/errors.js';
import { builtin } from '../base/builtin.js';
import { inMainThread } from '../base/thread.js';
import { allBuffers, movedBuffers } from '../base/move.js';
import type { TaskSpec } from '../base/task.js';
import {
  CHUNK, FAILED, FORK_CONFIG_ENV, NOTE, OK, OK_HANDLES, OK_PACKED, TASK_FIELDS,
  type Batch, type BatchReply, type Control, type Note, type ToProcessWorker, type WorkerConfig,
} from '../protocol/messages.js';

/** Milliseconds, from process.hrtime: the global `performance` would load perf_hooks (~0.6 ms of a worker's start). */
function clock(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

/** How long a batch may hold its remaining tasks behind a slow one before handing them back. */
const SLICE_MS = 4;

// (thread.ts knows without loading node:worker_threads in a child, ~1 ms of its start)
const isThread = !inMainThread;
const threads = isThread ? builtin<typeof WorkerThreads>('node:worker_threads') : undefined;
const runtime = isThread ? 'thread' : 'process';
const me = isThread ? threads!.threadId : process.pid;

// ---- notes to the parent --------------------------------------------------------------------------

function post(note: Note): void {
  try {
    postToParent(NOTE, note);
  } catch {
    // a result in the note cannot be cloned: send the note without results (the reply will carry them)
    if ('r' in note && note.r.length > 0) post({ ...note, r: sendable(note.r) } as Note);
  }
}

// ---- configuration ----------------------------------------------------------------------------------

let config: WorkerConfig | null = null;
/** Threads: where this worker says which task of a batch it runs (WorkerConfig.progress). */
let progress: Int32Array | undefined;
let configured: Promise<void> | undefined;
let initFailure: unknown = null;
let initDone: Promise<void> | null = null;
let initializing = false;
let tasksRun = 0;
let retiring = false;
let exiting = false;

function configure(cfg: WorkerConfig): void {
  config = cfg;
  progress = cfg.progress;
  const number = cfg.counter ? Atomics.add(cfg.counter, 0, 1) + 1 : cfg.number;
  setProcessName(`${cfg.prefix}-${number}`, cfg.parent);
  if (isThread) post({ t: 'named', w: me, n: number! }); // a process was numbered by the parent
  if (cfg.preload?.length || cfg.initializer) initDone = prepare(cfg);
  if (isThread) {
    const channel = new threads!.BroadcastChannel(cfg.channel);
    channel.unref();
    channel.onmessage = (event) => obey((event as MessageEvent).data as Control);
    if (cfg.counter && Atomics.load(cfg.counter, 1) === 1) obey({ t: 'close' }); // the pool closed while we started
  }
}

/** Before the first task: the preloaded modules, then the initializer. */
async function prepare(cfg: WorkerConfig): Promise<void> {
  for (const url of cfg.preload ?? []) {
    try {
      await import(url);
    } catch {
      // a convenience (Python's names on received objects): a task still runs without it
    }
  }
  if (cfg.initializer) {
    // a worker ended by its initializer (process.exit, a crash) never started: the parent counts it as a
    // failed start, so a pool whose initializer always ends its worker fails its calls instead of starting
    // workers forever
    initializing = true;
    await runInitializer(cfg.initializer);
    initializing = false;
  }
}

/** Runs the initializer, as Python does, before the worker takes any task; a failure is printed and kept. */
async function runInitializer({ spec, args, flags }: NonNullable<WorkerConfig['initializer']>): Promise<void> {
  try {
    await runTask(spec, args, flags);
  } catch (err) {
    initFailure = explainReferenceError(err, spec);
    let text: string;
    try {
      text = (initFailure as Error)?.stack ?? String(initFailure);
    } catch {
      text = '[a thrown value that could not be read]'; // a Proxy whose traps throw: the failure is still kept
    }
    process.stderr.write(`Exception in initializer:\n${text}\n`);
  }
}

/** What the parent asks beside tinypool: retire (exit on our own) or close (flush, then be stopped). */
function obey(msg: Control): void {
  if (msg?.t === 'retire' && (msg.w === undefined || msg.w === me)) void exitGracefully();
  else if (msg?.t === 'close') void runExitHooks().then(() => post({ t: 'flushed', w: me }));
}

/** Leaves without a dying note: the parent asked, or is gone. Exit hooks flush what primitives still hold. */
async function exitGracefully(runHooks = true): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (runHooks) await runExitHooks();
  realExit(0);
}

// ---- a dying worker's last word ---------------------------------------------------------------------

interface Running {
  batch: Batch;
  /** Batch.c read as numbers: each task's one argument. */
  calls: Float64Array | undefined;
  /** Index of the first task whose result has not been sent. */
  from: number;
  results: unknown[];
  /** Index of the task running now (or last run). */
  running: number;
  /** Tasks from here on are not run (handed back, or never to be started). */
  stop: number;
  notes: number;
  timer: ReturnType<typeof setTimeout> | null;
}

let active: Running | null = null;
/**
 * The batch answered last. tinypool posts our reply only after the handler's promise settles and the
 * worker's output has drained: a task's leftovers (a microtask, a timer) may end the worker in between.
 * Its dying note then carries that batch's results, or the parent would think the batch never started
 * and run it again, on a worker the same task would end again: forever.
 */
let answered: Running | null = null;

function sayDying(error?: unknown): void {
  if (exiting) return;
  exiting = true;
  const wire = error === undefined ? undefined : errorToWire(error);
  const a = active ?? answered;
  if (a) {
    post({ t: 'dying', w: me, b: a.batch.b, from: a.from, r: a.results, running: a.running, out: written.out, err: written.err, error: wire });
  } else {
    post({ t: 'dying', w: me, b: -1, out: written.out, err: written.err, error: wire, ...(initializing ? { init: true as const } : {}) });
  }
}

const realExit = process.exit.bind(process);
process.exit = function exit(code?: number | string | null) {
  sayDying();
  // Node ends a thread that threw with process.exit() and no argument, process.exitCode set to 1:
  // passing `undefined` on would reset it to 0
  return arguments.length === 0 ? realExit() : realExit(code as number);
} as typeof process.exit;

// ---- errors a finished task left behind --------------------------------------------------------------

/**
 * Which task made the code that is running: each task runs in a context holding its serial number, which
 * the timers and promises it creates inherit. An uncaught error whose context is a task that has already
 * returned (a timer it left behind, a promise nobody caught) is no error of the task running now: killing
 * the worker would fail that innocent call, and break a ProcessPoolExecutor, over a call that succeeded.
 */
const taskContext = new (builtin<typeof AsyncHooks>('node:async_hooks').AsyncLocalStorage)<number>();
let taskSerial = 0;
/** Serial of the task running now (pending, for an async one); 0 when none is. */
let runningSerial = 0;

/** The error being raised comes from a task that has returned: not from the one running, nor from outside any task. */
function leftBehind(): boolean {
  const from = taskContext.getStore();
  return from !== undefined && from !== runningSerial;
}

// A monitor only watches: an exception of the running task (or of no task) still ends the worker as it would have.
process.on('uncaughtExceptionMonitor', (err) => {
  if (!leftBehind()) sayDying(err);
});
process.on('uncaughtException', function onUncaught(err) {
  if (leftBehind()) {
    outliveLeftBehind(err);
    return;
  }
  // Die as Node does without this listener (a thread's parent gets the error, exit code 1): raised again
  // with no listener, before anything else runs (next ticks come before promise jobs and I/O).
  process.off('uncaughtException', onUncaught);
  process.nextTick(() => {
    throw err;
  });
});

/**
 * Python prints an exception raised in a thread a task left behind and the worker goes on. Here the error
 * is printed, and the worker is retired as after maxTasksPerChild: it finishes the task it runs (the rest
 * of its batch goes back to the pool) and is replaced, so nobody runs on in a state the error may have broken.
 */
function outliveLeftBehind(err: unknown): void {
  let text: string;
  try {
    text = (err as Error)?.stack ?? String(err);
  } catch {
    text = '[an error that could not be printed]';
  }
  process.stderr.write(`multiproc: ${runtime} worker ${me}: an error raised after its task had returned (a timer or promise the task left behind); the worker finishes what it runs and is replaced:\n${text}\n`);
  if (retiring || exiting) return;
  retiring = true;
  if (active === null) {
    post({ t: 'retiring', w: me }); // no batch reply will say it: the parent must not count the exit as a loss
    void exitGracefully();
  }
}

// ---- results ----------------------------------------------------------------------------------------

// ---- moved buffers (threads) -------------------------------------------------------------------------

/** Result lists and replies → buffers that leave with them (results marked with move(), arguments handed back). */
const transfers = new WeakMap<object, ArrayBuffer[]>();
let anyTransfers = false;

function addTransfer(key: object, buffers: ArrayBuffer[] | undefined): void {
  if (!buffers) return;
  anyTransfers = true;
  const list = transfers.get(key);
  if (list) list.push(...buffers);
  else transfers.set(key, buffers);
}

/** What a message to the parent must transfer: tinypool's reply to a run, or one of our notes. */
function transferOf(message: any): ArrayBuffer[] | undefined {
  const payload = message?.result ?? message?.[NOTE];
  if (typeof payload !== 'object' || payload === null) return undefined;
  const own = transfers.get(payload);
  const results = Array.isArray(payload.r) ? transfers.get(payload.r) : undefined;
  if (!own || !results) return own ?? results;
  return [...new Set([...own, ...results])];
}

function pushOk(results: unknown[], value: unknown, flags: number): void {
  if (typeof value !== 'object' || value === null) {
    results.push(OK, value);
    return;
  }
  // Reading the result may throw (a getter, a Proxy, nesting too deep): that is this task's
  // SerializationError, never the batch's failure.
  try {
    if (flags & CHUNK && value instanceof Float64Array) {
      // a chunk's results packed as they were made (numbers in and out: see run-task.ts)
      pushPacked(results, value);
      return;
    }
    if (isThread) addTransfer(results, movedBuffers(value));
    if (flags & CHUNK) {
      const packed = packNumbers(value as unknown[]);
      if (packed) {
        pushPacked(results, packed);
        return;
      }
    }
    const enc = encodeHandles(value, runtime, 'result');
    results.push(enc.found ? OK_HANDLES : OK, enc.value);
  } catch (err) {
    const unsendable = err instanceof SerializationError ? err : new SerializationError(`cannot send the task's result back: ${String((err as Error)?.message ?? err)}`, 'result', { cause: err });
    results.push(FAILED, errorToWire(unsendable));
  }
}

/**
 * A chunk's numbers, as the bare buffer (cheaper to serialize than its view). The array is ours, made for
 * this reply: a thread hands its buffer over instead of copying it (a 12,500-number chunk is 100 KB).
 */
function pushPacked(results: unknown[], packed: Float64Array): void {
  results.push(OK_PACKED, packed.buffer);
  if (isThread) addTransfer(results, [packed.buffer as ArrayBuffer]);
}

function pushError(results: unknown[], err: unknown, spec: TaskSpec): void {
  results.push(FAILED, errorToWire(explainReferenceError(err, spec)));
}

/** A result list in which every value can cross: those that cannot become that task's SerializationError. */
function sendable(results: unknown[]): unknown[] {
  const out = results.slice();
  for (let i = 0; i < out.length; i += 2) {
    if (out[i] === FAILED) continue;
    const where = findUnserializable(out[i + 1], 'result', runtime);
    if (where) {
      out[i] = FAILED;
      out[i + 1] = errorToWire(new SerializationError(`cannot send the task's result back: ${where}`, where.split(':')[0]));
    }
  }
  return out;
}

// A thread's reply is cloned by tinypool's postMessage: a result that cannot be cloned would throw there and
// kill the worker. Catch it, turn the culprits into SerializationErrors, and send the rest.
guardThreadReplies(
  (result) => Array.isArray((result as BatchReply | undefined)?.r) && (result as BatchReply).w === me,
  (result: BatchReply) => ({ ...result, r: sendable(result.r) }),
  (message) => {
    // the reply to the batch answered last is leaving now: a dying note need not (and, its buffers moved, cannot) carry it
    if (answered !== null && message?.result?.b === answered.batch.b && message.result.w === me) answered = null;
    return anyTransfers ? transferOf(message) : undefined;
  },
);

// ---- batches ----------------------------------------------------------------------------------------

/** Batches tinypool delivered while another was running (concurrentTasksPerWorker > 1). */
const waiting: { batch: Batch; resolve: (reply: unknown) => void }[] = [];
let running = false;

function reply(a: Running, busy: number, extra: Partial<BatchReply> = {}): unknown {
  if (a.results.length > 0) runAfterTaskHooks(); // the tasks' pipelined puts are applied before their results arrive
  const r: BatchReply = {
    w: me, b: a.batch.b, from: a.from, r: a.results, rest: a.stop, busy, out: written.out, err: written.err, notes: a.notes,
    ...(retiring ? { retire: true } : {}), ...(hasExitHooks() ? { hooks: true } : {}), ...extra,
  };
  const count = a.batch.t.length / TASK_FIELDS;
  if (a.batch.m && a.stop < count) {
    // the tasks not run hold buffers moved here, which the parent no longer has: they go back with them
    r.back = [];
    for (let k = a.stop; k < count; k++) r.back.push(a.batch.t[k * TASK_FIELDS + 1]);
    addTransfer(r, allBuffers(r.back));
  }
  // A child's reply is sent by tinypool with process.send, where a value v8 refuses would kill the worker:
  // values not surely serializable are checked first (a thread's reply is guarded at postMessage instead).
  if (!isThread && !surelySerializable(r.r)) {
    try {
      v8Codec().serialize(r.r);
    } catch {
      r.r = sendable(r.r);
    }
  }
  return r;
}

/**
 * Whether v8 can surely serialize these results, by a cheap look (packed numbers, primitives, plain data):
 * the full check (serializing them) is only for the rest.
 */
function surelySerializable(results: unknown[]): boolean {
  let budget = 10_000;
  const plain = (v: unknown): boolean => {
    if (--budget < 0) return false;
    if (typeof v !== 'object' || v === null) return typeof v !== 'function' && typeof v !== 'symbol';
    if (ArrayBuffer.isView(v)) return !(v.buffer instanceof SharedArrayBuffer);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!plain(v[i])) return false;
      return true;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key in v) if (!plain((v as Record<string, unknown>)[key])) return false;
    return true;
  };
  try {
    for (let i = 1; i < results.length; i += 2) if (!plain(results[i])) return false;
  } catch {
    return false; // a getter threw or nesting is too deep: the full check says which
  }
  return true;
}

/** Answers a batch without running any of its tasks (`extra` says why, if not plain refusal). */
function refusal(batch: Batch, extra?: Partial<BatchReply>): unknown {
  return reply({ batch, calls: undefined, from: 0, results: [], running: -1, stop: 0, notes: 0, timer: null }, 0, extra);
}

/** The parent's view of "slow": hand back what has not started, and let waiting batches go elsewhere. */
function handBack(a: Running): void {
  a.timer = null;
  if (active !== a) return;
  if (a.results.length > 0 || a.stop > a.running + 1) {
    a.stop = a.running + 1;
    if (a.results.length > 0) runAfterTaskHooks();
    post({ t: 'part', w: me, b: a.batch.b, from: a.from, r: a.results, running: a.running, rest: a.stop, out: written.out, err: written.err });
    a.notes++;
    a.from += a.results.length / 2;
    a.results = [];
  }
  refuseWaiting();
}

function refuseWaiting(): void {
  for (const w of waiting.splice(0)) w.resolve(refusal(w.batch));
}

/** Runs tasks from `a.running + 1` until done, handed back, or the quota is reached; async when a task is. */
function execute(a: Running, start: number): unknown {
  const { t: tasks, specs } = a.batch;
  // packed calls of a function already loaded are called directly: no argument list, no lookup per call
  const direct = a.calls !== undefined ? loadedNow(specs[0]) : undefined;
  while (a.running + 1 < a.stop) {
    if (retiring || (a.running >= 0 && clock() - start > SLICE_MS)) {
      a.stop = a.running + 1;
      break;
    }
    const k = ++a.running;
    if (progress !== undefined) Atomics.store(progress, a.batch.s!, k + 1);
    runningSerial = ++taskSerial;
    taskContext.enterWith(runningSerial); // what this task creates is known as its own (see leftBehind)
    let spec: TaskSpec;
    let args: unknown;
    let flags: number;
    if (a.calls !== undefined) {
      spec = specs[0];
      args = direct === undefined ? [a.calls[k]] : undefined;
      flags = 0;
    } else {
      const at = k * TASK_FIELDS;
      spec = specs[tasks[at] as number];
      args = tasks[at + 1];
      flags = tasks[at + 2] as number;
    }
    let value: unknown;
    try {
      value = direct !== undefined ? direct(a.calls![k]) : runTask(spec, args, flags);
    } catch (err) {
      pushError(a.results, err, spec);
      countTask();
      continue;
    }
    if (isThenable(value)) return awaitTask(a, start, value, spec, flags);
    pushOk(a.results, value, flags);
    countTask();
  }
  return finish(a, start);
}

/** A task's function when it is loaded already (no module to import first), else undefined. */
function loadedNow(spec: TaskSpec): ((x: number) => unknown) | undefined {
  try {
    const fn = loadTask(spec);
    return isThenable(fn) ? undefined : (fn as (x: number) => unknown);
  } catch {
    return undefined; // runTask fails each call with the reason
  }
}

async function awaitTask(a: Running, start: number, pending: PromiseLike<unknown>, spec: TaskSpec, flags: number): Promise<unknown> {
  if (a.timer === null && (a.running + 1 < a.stop || waiting.length > 0)) {
    a.timer = setTimeout(() => handBack(a), SLICE_MS);
  }
  // awaited first: the results list may be replaced (sent in a note) while we wait
  let ok = true;
  let value: unknown;
  try {
    value = await pending;
  } catch (err) {
    ok = false;
    value = err;
  }
  if (ok) pushOk(a.results, value, flags);
  else pushError(a.results, value, spec);
  countTask();
  return execute(a, start);
}

function countTask(): void {
  tasksRun++;
  if (config!.maxTasks > 0 && tasksRun >= config!.maxTasks) retiring = true;
}

function finish(a: Running, start: number): unknown {
  if (a.timer) clearTimeout(a.timer);
  active = null;
  answered = a;
  runningSerial = 0;
  running = false;
  const out = reply(a, clock() - start);
  if (retiring) refuseWaiting();
  else if (waiting.length > 0) setImmediate(startNext); // after this reply has gone out
  return out;
}

function startNext(): void {
  const next = waiting.shift();
  if (!next) return;
  if (running) waiting.unshift(next);
  else next.resolve(begin(next.batch));
}

function begin(batch: Batch): unknown {
  if (retiring || exiting) return refusal(batch);
  running = true;
  const calls = batch.c === undefined ? undefined : new Float64Array(batch.c);
  const count = calls ? calls.length : batch.t.length / TASK_FIELDS;
  const a: Running = { batch, calls, from: 0, results: [], running: -1, stop: count, notes: 0, timer: null };
  active = a;
  return execute(a, clock());
}

/** tinypool's handler: one batch per run. */
export default function runBatch(batch: Batch): unknown {
  if (batch.unsendable) return refusal(batch, { unsendable: true });
  return accept(batch);
}

function accept(batch: Batch): unknown {
  if (initDone !== null || (config === null && initFailure === null)) return afterInit(batch);
  if (initFailure) return failInit(batch);
  if (running) {
    // Behind a task still pending: if it stays pending, this batch goes back to the parent.
    const a = active;
    if (a && a.timer === null) a.timer = setTimeout(() => handBack(a), SLICE_MS);
    return new Promise((resolve) => waiting.push({ batch, resolve }));
  }
  return begin(batch);
}

async function afterInit(batch: Batch): Promise<unknown> {
  await configured;
  if (config === null && initFailure === null) initFailure = new Error('the worker received no configuration');
  await initDone;
  initDone = null;
  return accept(batch);
}

/** A worker whose initializer failed fails its first batch with that error, then leaves to be replaced. */
function failInit(batch: Batch): unknown {
  retiring = true;
  return refusal(batch, { initError: errorToWire(initFailure) });
}

// ---- start-up (last: everything above is declared) ---------------------------------------------------

/** Configures from what `read` gives; a failure is kept, and the first batch fails with it. */
function configureOrKeep(read: () => WorkerConfig): void {
  try {
    configure(read());
  } catch (err) {
    initFailure = err;
  }
}

/**
 * A failure while starting must not end the worker before it can say why (tinypool would report only
 * that its task module could not be loaded): it is kept, and the first batch fails with it.
 */
function start(): void {
  if (isThread) {
    configured = Promise.resolve();
    configure(threadWorkerData<WorkerConfig>());
    return;
  }
  ignoreBrokenPipes();
  const fromFork = process.env[FORK_CONFIG_ENV];
  let welcomed: (() => void) | undefined;
  configured = fromFork === undefined ? new Promise((resolve) => (welcomed = resolve)) : Promise.resolve();
  onParentMessage(NOTE, (msg: ToProcessWorker) => {
    if (msg.t !== 'welcome') obey(msg);
    else if (welcomed) {
      configureOrKeep(() => msg.config);
      welcomed();
      welcomed = undefined;
    }
  });
  if (fromFork === undefined) {
    post({ t: 'hello', w: me });
  } else {
    // set as tinypool forked us: no round trip to the parent before the first batch
    delete process.env[FORK_CONFIG_ENV]; // the tasks' environment is the user's
    configureOrKeep(() => v8Codec().deserialize(Buffer.from(fromFork, 'base64')) as WorkerConfig);
    post({ t: 'hello', w: me, ...(config ? { n: config.number } : {}) });
  }
  // The parent is gone: nobody is left to serve (a busy child is stopped by the parent's reaper instead).
  process.on('disconnect', () => void exitGracefully(false));
}

try {
  start();
} catch (err) {
  initFailure = err;
  configured ??= Promise.resolve();
}
