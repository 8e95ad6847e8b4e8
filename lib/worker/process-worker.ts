/**
 * The entry of a Process (thread or child process): runs its target once, prints a failure the way
 * Python does (`Process <name>:` and the stack), flushes what primitives still hold, and exits with 0
 * or 1 (or the exit code the target set).
 */
import type * as WorkerThreads from 'node:worker_threads';
import { ignoreBrokenPipes } from './output.js';
import { runTask } from './run-task.js';
import { setProcessName } from '../base/context.js';
import { builtin } from '../base/builtin.js';
import { inMainThread } from '../base/thread.js';
import { explainReferenceError } from '../base/load-task.js';
import { runExitHooks } from '../base/exit-hooks.js';
import type { ProcessStart } from '../protocol/messages.js';

// A thread's port to its parent; none in a child process, whose main thread then never loads node:worker_threads.
const parentPort = inMainThread ? null : builtin<typeof WorkerThreads>('node:worker_threads').parentPort;

/**
 * SIGINT (Process.interrupt(), or Ctrl-C reaching the process group) ends a child as KeyboardInterrupt
 * ends a Python target: its report on stderr, the exit hooks, exit code 1. A target that listens for
 * SIGINT itself handles it instead.
 */
function onInterrupt(name: string): () => void {
  const handler = () => {
    if (process.listenerCount('SIGINT') > 1) return;
    process.stderr.write(`Process ${name}:\nKeyboardInterrupt\n`);
    void runExitHooks().finally(() => process.exit(1));
  };
  return handler;
}

async function run(msg: ProcessStart): Promise<void> {
  setProcessName(msg.name, msg.parent);
  if (!parentPort) process.on('SIGINT', onInterrupt(msg.name));
  let code = 0;
  for (const url of msg.preload ?? []) {
    try {
      await import(url);
    } catch {
      // a convenience (Python's names on received objects): the target still runs without it
    }
  }
  try {
    await runTask(msg.spec, msg.args, msg.flags);
  } catch (err) {
    const e = explainReferenceError(err, msg.spec);
    let text: string;
    try {
      text = (e as Error)?.stack ?? String(e);
    } catch {
      text = '[a thrown value that could not be read]'; // a Proxy whose traps throw: the exit hooks must still run
    }
    process.stderr.write(`Process ${msg.name}:\n${text}\n`);
    code = 1;
  }
  await runExitHooks();
  process.exit(process.exitCode && code === 0 ? Number(process.exitCode) : code);
}

function onStart(msg: ProcessStart): void {
  if (msg?.t === 'start') void run(msg);
}

if (parentPort) {
  parentPort.once('message', onStart);
} else {
  ignoreBrokenPipes();
  process.once('message', onStart as (m: unknown) => void);
}
