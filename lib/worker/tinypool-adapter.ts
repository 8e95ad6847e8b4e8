/**
 * Every place the worker side reaches past tinypool's public API, in one file: where a thread finds
 * its workerData, how a note reaches the parent beside tinypool's replies, and the guard on the reply
 * a thread sends. Each touch has a contract test (__tests__/tinypool-contract.test.ts); the list is
 * in docs/architecture.md.
 */
import type * as WorkerThreads from 'node:worker_threads';
import { builtin } from '../base/builtin.js';
import { inMainThread } from '../base/thread.js';

// (thread.ts knows without loading node:worker_threads in a child, ~1 ms of its start)
const isThread = !inMainThread;
const threads = isThread ? builtin<typeof WorkerThreads>('node:worker_threads') : undefined;

/**
 * touch W1: a thread's workerData, as tinypool keeps it (`process.__tinypool_state__.workerData`;
 * node's own `workerData` holds tinypool's private data beside it). Tinypool's static
 * `Tinypool.workerData` reads the same field, but importing tinypool into every worker costs more.
 */
export function threadWorkerData<T>(): T {
  const state = (process as { __tinypool_state__?: { workerData?: unknown } }).__tinypool_state__;
  if (!state) throw new Error('tinypool contract: process.__tinypool_state__ is missing in a tinypool worker');
  return state.workerData as T;
}

/**
 * touch W2: a message to the parent beside tinypool's replies, under `key`. A thread's goes on
 * parentPort dressed as tinypool's `{ ready: true }` handshake, which tinypool accepts at any time and
 * otherwise ignores (any other message there is an error to it). A child's goes on the IPC channel
 * without tinypool's envelope, which tinypool's relay passes by.
 */
export function postToParent(key: string, note: unknown): void {
  if (isThread) threads!.parentPort!.postMessage({ ready: true, [key]: note });
  else process.send?.({ [key]: note });
}

/**
 * touch W3: a thread's reply is posted by tinypool (`port.postMessage({ taskId, result, ... })`), where
 * a result that cannot be cloned would throw and kill the worker. The post is guarded: when it throws
 * for a message whose `result` `isOurs`, `repair(result)` gives the result to post instead. The same
 * wrapper adds what `transfersOf(message)` names to the post's transfer list (buffers a task moved).
 */
export function guardThreadReplies(
  isOurs: (result: unknown) => boolean,
  repair: (result: any) => unknown,
  transfersOf?: (message: any) => ArrayBuffer[] | undefined,
): void {
  if (!isThread) return;
  const { MessagePort } = threads!;
  const postMessage = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: WorkerThreads.MessagePort, message: any, transfer?: any) {
    const moved = transfersOf?.(message);
    if (moved) transfer = transfer?.length ? [...new Set([...transfer, ...moved])] : moved;
    try {
      return postMessage.call(this, message, transfer);
    } catch (err) {
      if (!isOurs(message?.result)) throw err;
      return postMessage.call(this, { ...message, result: repair(message.result) }, transfer);
    }
  } as typeof MessagePort.prototype.postMessage;
}

/**
 * touch W4: a child process hears messages of ours (marked with `key`) on its IPC channel beside
 * tinypool's, which tinypool's child entry passes by for lack of its envelope.
 */
export function onParentMessage(key: string, listener: (msg: any) => void): void {
  process.on('message', (msg: any) => {
    if (msg && msg[key]) listener(msg);
  });
}
