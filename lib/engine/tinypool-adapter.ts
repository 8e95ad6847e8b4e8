/**
 * Every place the parent side of the engine reaches past tinypool's public API, in one file. The rest
 * of the engine sees only what is exported here: worker handles, a takeover of a worker's failure
 * path, a guarded relay to child processes, and run failures sorted into kinds. Each touch has a
 * contract test (__tests__/tinypool-contract.test.ts) that fails, naming the touch, the day a tinypool
 * release changes it; docs/architecture.md lists them.
 *
 * Functions take the Tinypool instance (or its worker object) as an argument and never import
 * tinypool, so the contract tests can run them against another tinypool version.
 */
import type { ChildProcess } from 'node:child_process';
import type { Worker as NodeWorker } from 'node:worker_threads';

/** The fields of a batch (lib/protocol/messages.ts) the adapter reads or writes. */
interface Batch {
  b: number;
  specs: unknown[];
  t: unknown[];
  unsendable?: true;
  relay?: 1;
}

/**
 * A tinypool worker object (ThreadWorker / ProcessWorker). `threadId` is public (TinypoolWorker);
 * the rest is private.
 */
interface TinypoolWorkerObject {
  threadId: number;
  /** touch 1: the node Worker of a ThreadWorker. */
  thread?: NodeWorker;
  /** touch 1: the ChildProcess of a ProcessWorker. */
  process?: ChildProcess & { connected: boolean };
  /** touch 3: the 'exit' listener a ProcessWorker adds, which turns any exit into an 'error'. */
  onUnexpectedExit?: () => void;
  /** touch 4: how a ProcessWorker relays a run from its MessagePort to the child. */
  send?: (message: any) => void;
  /** touch 9: the MessagePort end a ProcessWorker hears runs on and posts the child's replies to. */
  port?: { postMessage(message: any, transfer?: readonly any[]): void };
}

/** What `Tinypool` offers that we use: `threads` is public, its elements are worker objects. */
export interface TinypoolLike {
  readonly threads: unknown[];
  run(task: unknown, options?: { signal?: AbortSignal }): Promise<unknown>;
  cancelPendingTasks(): void;
  destroy(): Promise<void>;
}

/** Our handle on one worker tinypool started. */
export interface WorkerHandle {
  /** Thread id or pid. */
  readonly id: number;
  readonly runtime: 'thread' | 'process';
  /** The node Worker or ChildProcess: 'message', 'exit', 'error', stdout and stderr. */
  readonly emitter: NodeWorker | ChildProcess;
  /** The child process (process runtime). */
  readonly child?: ChildProcess & { connected: boolean };
  /**
   * Fails the worker down tinypool's own failure path (it rejects the worker's runs with `error`,
   * forgets the worker and starts a replacement). Ours to call, once the worker has exited and
   * everything it sent has been read: tinypool's listeners were taken off the worker.
   */
  fail(error: Error): void;
  /** The object tinypool lists in `threads`, to tell whether tinypool still serves it. */
  readonly key: unknown;
}

/**
 * Workers in `tp` not in `seen` (which is updated): tinypool creates them inside its own calls. A child
 * process's runs and replies go through `relay` when given (see ProcessRelay).
 */
export function newWorkers(tp: TinypoolLike, seen: WeakSet<object>, relay?: ProcessRelay): WorkerHandle[] {
  const out: WorkerHandle[] = [];
  for (const tw of tp.threads as TinypoolWorkerObject[]) {
    if (seen.has(tw)) continue;
    seen.add(tw);
    out.push(takeOver(tw, relay));
  }
  return out;
}

/** Whether tinypool still lists this worker (it forgets one it stopped: abort, destroy, recycling). */
export function isServing(tp: TinypoolLike, worker: WorkerHandle): boolean {
  return tp.threads.includes(worker.key);
}

function takeOver(tw: TinypoolWorkerObject, relay: ProcessRelay | undefined): WorkerHandle {
  const emitter = (tw.thread ?? tw.process)!;
  if (!emitter) throw new Error('tinypool contract: a worker object has neither .thread nor .process');
  // touch 2: tinypool's 'error' listeners are its failure path; we call them ourselves, at the right
  // time (after 'exit' and the worker's last messages) and with an error that names the worker.
  const listeners = emitter.listeners('error') as ((err: unknown) => void)[];
  for (const listener of listeners) emitter.off('error', listener);
  if (tw.process) {
    // touch 3: a ProcessWorker reports any exit at once as "Worker exited unexpectedly"; we report it
    // ourselves after the child's pipes and IPC are drained.
    tw.process.off('exit', tw.onUnexpectedExit!);
    guardSend(tw, relay);
    if (relay) relayReplies(tw, relay);
  }
  return {
    id: tw.threadId,
    runtime: tw.thread ? 'thread' : 'process',
    emitter,
    child: tw.process,
    key: tw,
    fail: (error) => {
      for (const listener of listeners) listener(error);
    },
  };
}

/**
 * touch 4: a ProcessWorker relays a run to its child with `process.send` inside a MessagePort listener:
 * a value v8 refuses would throw there, out of anyone's reach, and leave the run pending forever.
 * Serializing every batch beforehand would double the cost of every run, so the relay is guarded: a
 * batch that cannot be sent is replaced by one saying so (`unsendable`), which the worker answers at
 * once, and the engine then names the value that could not cross.
 */
function guardSend(tw: TinypoolWorkerObject, relay: ProcessRelay | undefined): void {
  const send = tw.send!.bind(tw);
  tw.send = (message: any) => {
    if (relay && message?.source === 'port') message.task = relay.redeem(message.task);
    try {
      send(message);
    } catch (err) {
      // the relay's envelope: { ...request, source: 'port' }, the request's `task` being our batch
      const batch = message?.task as Batch | undefined;
      if (message?.source !== 'port' || typeof batch?.b !== 'number') throw err;
      send({ ...message, task: { b: batch.b, specs: [], t: [], unsendable: true } satisfies Batch });
    }
  };
}

/**
 * touch 9: a ProcessWorker's runs reach its relay (touch 4) across a MessagePort inside this thread, and the
 * child's replies cross one back: every batch and every reply is cloned on this thread twice more than the
 * IPC channel needs, and a clone of a deserialized array is written element by element as a sparse one
 * (v8 makes deserialized arrays holey). So a run's task is a ticket for a batch held here, swapped for the
 * batch at the relay, and a reply is held here as it arrives while only its ticket crosses the port.
 * A ticket holds no task: one that reached a worker unswapped would be answered as its batch handed back whole.
 */
export class ProcessRelay {
  /** Batches whose ticket is on its way to the relay, by batch id. */
  readonly #outgoing = new Map<number, Batch>();
  /** Batches sent to a child by ticket: their reply is held here. */
  readonly #sent = new Set<number>();
  /** Replies held for their ticket, by batch id. */
  readonly #replies = new Map<number, unknown>();

  /** The task to run in place of `batch`: a ticket for it. */
  ticket(batch: Batch): Batch {
    this.#outgoing.set(batch.b, batch);
    return { b: batch.b, specs: [], t: [], relay: 1 };
  }

  /** At the relay: the batch a ticket stands for (anything else passes as it is). */
  redeem(task: unknown): unknown {
    const ticket = task as Batch | undefined;
    if (ticket?.relay !== 1) return task;
    const batch = this.#outgoing.get(ticket.b);
    if (batch === undefined) return task;
    this.#outgoing.delete(ticket.b);
    this.#sent.add(ticket.b);
    return batch;
  }

  /** A child's reply to a batch sent by ticket is held; returns the ticket to post in its place (undefined: post the reply). */
  hold(result: unknown): unknown {
    const b = (result as { b?: unknown } | null)?.b;
    if (typeof b !== 'number' || !this.#sent.delete(b)) return undefined;
    this.#replies.set(b, result);
    return { relayed: b };
  }

  /** What a run resolved to: the reply a ticket stands for, or the value itself. */
  reply(value: unknown): unknown {
    const b = (value as { relayed?: unknown } | null)?.relayed;
    if (typeof b !== 'number') return value;
    const reply = this.#replies.get(b);
    this.#replies.delete(b);
    return reply;
  }

  /** A run failed: nothing of its batch is held any longer. */
  drop(b: number): void {
    this.#outgoing.delete(b);
    this.#sent.delete(b);
    this.#replies.delete(b);
  }

  /** Batches and replies held (for tests: 0 once every run has settled). */
  get size(): number {
    return this.#outgoing.size + this.#sent.size + this.#replies.size;
  }
}

/** touch 9: the relay's way back: tinypool posts a child's reply (`{ ...reply, result }`) to the port the run came on. */
function relayReplies(tw: TinypoolWorkerObject, relay: ProcessRelay): void {
  const port = tw.port;
  if (!port || typeof port.postMessage !== 'function') throw new Error('tinypool contract: a ProcessWorker has no port');
  const post = port.postMessage.bind(port);
  port.postMessage = (message: any, transfer?: readonly any[]) => {
    const ticket = message?.source === 'port' && message.error === null ? relay.hold(message.result) : undefined;
    return post(ticket === undefined ? message : { ...message, result: ticket }, transfer);
  };
}

/** Why a run failed, when tinypool failed it (rather than our worker or the worker's death). */
export type RunFailure = 'aborted' | 'stopped' | 'cancelled' | 'other';

/**
 * touch 5: tinypool's own rejections are told apart by their texts: its AbortError (the run's signal),
 * "Terminating worker thread" (the worker was stopped: destroy, or an abort of another run on it) and
 * CancelError (cancelPendingTasks).
 */
export function runFailure(err: unknown): RunFailure {
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  if (name === 'AbortError') return 'aborted';
  if (message === 'Terminating worker thread') return 'stopped';
  if (name === 'CancelError') return 'cancelled';
  return 'other';
}

/**
 * touch 6: whether a message on the worker's own channel is tinypool's start-up handshake
 * (`{ ready: true }`), which a worker sends once its task module has loaded.
 */
export function isReadyMessage(msg: unknown): boolean {
  return msg !== null && typeof msg === 'object' && (msg as { ready?: unknown }).ready === true;
}

/**
 * touch 7: after a worker fails during start-up tinypool no longer replaces lost workers by itself (a
 * flag it never resets), and a run it queued for that worker waits for one. A run finding no worker
 * ready makes tinypool start one: an empty batch does that, and costs a worker nothing.
 */
export function startWorker(tp: TinypoolLike): void {
  const empty: Batch = { b: 0, specs: [], t: [] };
  tp.run(empty).then(() => {}, () => {});
}

/**
 * touch 8: tinypool starts a child process with the environment `{ ...env, TINYPOOL_WORKER_ID }`, copied
 * from the `env` option once per child as it forks it. A getter on `env` is therefore read once per child,
 * before the child runs: `valueOf` gives each child a value of its own under `key` (undefined: none).
 */
export function perChildEnv(env: Record<string, string>, key: string, valueOf: () => string | undefined): Record<string, string> {
  Object.defineProperty(env, key, { enumerable: true, configurable: true, get: valueOf });
  return env;
}
