/**
 * The entry point of every worker, thread or child process. Receives task batches, runs them one
 * at a time (as a Python pool worker does), and sends results back in batches.
 */
import { parentPort } from 'node:worker_threads';
import { serialize } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { setProcessName } from '../base/context.js';
import { decodeHandles, encodeHandles } from '../base/codec/handles.js';
import { errorToWire } from '../base/codec/error-wire.js';
import { findUnserializable } from '../base/codec/unserializable.js';
import { packNumbers } from '../base/codec/pack.js';
import { SerializationError } from '../base/errors.js';
import type { TaskSpec } from '../base/task.js';
import { explainReferenceError, loadTask, type TaskFn } from '../base/load-task.js';
import { runExitHooks } from '../base/exit-hooks.js';
import { CHUNK, HANDLES, PACKED, STAR, type FromWorker, type ResultMessage, type TaskMessage, type ToWorker } from './protocol.js';

const runtime = parentPort ? 'thread' : 'process';
const post: (msg: FromWorker) => void = parentPort
  ? (msg) => parentPort!.postMessage(msg)
  : (msg) => process.send!(msg);

const specs = new Map<number, TaskSpec>();
const queue: TaskMessage[] = [];
let queueHead = 0;
let results: ResultMessage[] = [];
let running = false;
let ready: Promise<void> | null = null;
let busyMs = 0;

function specOf(ref: TaskMessage[1]): TaskSpec {
  if (typeof ref === 'number') return specs.get(ref)!;
  specs.set(ref[0], ref[1]);
  return ref[1];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as any).then === 'function';
}

/** Runs one task message; returns its result synchronously when it can, so sync tasks never await. */
function runTask(msg: TaskMessage): unknown {
  const spec = specOf(msg[1]);
  const flags = msg[3];
  const loaded = loadTask(spec);
  const invoke = (fn: TaskFn, args: unknown): unknown => {
    if (!(flags & CHUNK)) return fn(...(args as unknown[]));
    // Chunks of single items are sent flat: wrapping each item in an array costs 10x in cloning.
    const call: (item: unknown) => unknown = flags & STAR ? (item) => fn(...(item as unknown[])) : fn;
    const list = args as unknown[];
    const out = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const r = call(list[i]);
      if (isThenable(r)) return finishChunkAsync(call, list, out, i, r);
      out[i] = r;
    }
    return out;
  };
  if (isThenable(loaded) || flags & HANDLES) {
    return (async () => invoke(await loaded, flags & HANDLES ? await decodeHandles(msg[2]) : msg[2]))();
  }
  return invoke(loaded, msg[2]);
}

async function finishChunkAsync(call: (item: unknown) => unknown, list: unknown[], out: unknown[], i: number, first: PromiseLike<unknown>) {
  out[i] = await first;
  for (let j = i + 1; j < list.length; j++) out[j] = await call(list[j]);
  return out;
}

function pushResult(id: number, ok: boolean, value: unknown, spec: TaskSpec | undefined, chunk: boolean): void {
  if (!ok) {
    results.push([id, false, errorToWire(spec ? explainReferenceError(value, spec) : value), 0]);
    return;
  }
  if (chunk) {
    const packed = packNumbers(value as unknown[]);
    if (packed) {
      results.push([id, true, packed, PACKED]);
      return;
    }
  }
  if (typeof value === 'object' && value !== null) {
    const enc = encodeHandles(value, runtime === 'thread' ? 'thread' : 'process');
    results.push([id, true, enc.value, enc.found ? HANDLES : 0]);
  } else {
    results.push([id, true, value, 0]);
  }
}

/** Sends the results gathered so far; a result that cannot cross becomes that task's SerializationError. */
function flush(): void {
  if (results.length === 0) return;
  const msg: FromWorker = { t: 'done', r: results, busy: busyMs };
  results = [];
  busyMs = 0;
  try {
    post(msg);
  } catch {
    for (const r of msg.r) {
      if (!r[1]) continue;
      try {
        if (runtime === 'process') serialize(r[2]);
        else structuredClone(r[2]);
      } catch {
        const where = findUnserializable(r[2], 'result', runtime) ?? 'result';
        const err = new SerializationError(`cannot send the task's result back: ${where}`, where.split(':')[0]);
        r[1] = false;
        r[2] = errorToWire(err);
        r[3] = 0;
      }
    }
    post(msg);
  }
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    if (ready) await ready;
    while (queueHead < queue.length) {
      const msg = queue[queueHead++];
      const start = performance.now();
      let spec: TaskSpec | undefined;
      try {
        spec = specOf(msg[1]);
        let value = runTask(msg);
        if (isThenable(value)) {
          flush(); // do not hold finished results while awaiting a slow one
          value = await value;
        }
        pushResult(msg[0], true, value, spec, (msg[3] & CHUNK) !== 0);
      } catch (err) {
        pushResult(msg[0], false, err, spec, false);
      }
      busyMs += performance.now() - start;
    }
    queue.length = 0;
    queueHead = 0;
    flush();
  } finally {
    running = false;
  }
}

async function runInit(msg: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  setProcessName(msg.name);
  if (msg.role === 'process') {
    await runProcessTarget(msg.init!);
    return;
  }
  if (msg.init) {
    try {
      const value = runTask(msg.init);
      if (isThenable(value)) await value;
    } catch (err) {
      post({ t: 'initError', error: errorToWire(err) });
      throw err;
    }
  }
  post({ t: 'ready' });
}

/** A Process target: run once, print a failure like Python does, and exit with 0 or 1. */
async function runProcessTarget(init: TaskMessage): Promise<void> {
  let code = 0;
  try {
    const value = runTask(init);
    if (isThenable(value)) await value;
  } catch (err) {
    const spec = specOf(init[1]);
    const e = explainReferenceError(err, spec);
    process.stderr.write(`Process ${JSON.stringify(process.title)} target failed:\n${(e as any)?.stack ?? String(e)}\n`);
    code = 1;
  }
  await runExitHooks();
  process.exit(process.exitCode && code === 0 ? Number(process.exitCode) : code);
}

function onMessage(msg: ToWorker): void {
  switch (msg.t) {
    case 'run':
      for (const t of msg.tasks) queue.push(t);
      void drain();
      break;
    case 'init':
      ready = runInit(msg).catch(() => {
        // the parent was told (initError); a worker whose initializer failed does not serve tasks
        setImmediate(() => process.exit(1));
        return new Promise<void>(() => {});
      });
      break;
    case 'exit':
      void runExitHooks().then(() => process.exit(0));
      break;
  }
}

if (parentPort) {
  parentPort.on('message', onMessage);
} else {
  process.on('message', onMessage as (m: unknown) => void);
  // The parent is gone: a pool worker has nobody left to serve.
  process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${(err as any)?.stack ?? String(err)}\n`);
    try {
      process.send!({ t: 'fatal', error: errorToWire(err) } satisfies FromWorker, () => process.exit(1));
      setTimeout(() => process.exit(1), 500).unref();
    } catch {
      process.exit(1);
    }
  });
}
