/**
 * The broker thread's entry: an object server hosting shared-memory cores rebuilt in this thread, so
 * process workers are served even while the thread that created the primitives blocks (`acquireSync`,
 * `getSync`, a long loop). The parent registers cores through messages and sleeps on `ctl` until the
 * id (or an error) is written back.
 */
import type * as WorkerThreads from 'node:worker_threads';
import { builtin } from '../../lib/base/builtin.js';
import { ObjectServer } from './server.js';
import { formatAddress } from './protocol.js';
import { CTL_ID, CTL_LEN, CTL_SEQ, writeText, type RegisterRequest } from './broker-thread-protocol.js';

const { parentPort, workerData } = builtin<typeof WorkerThreads>('node:worker_threads');

const { ctl: ctlBuffer, text: textBuffer, authkey, address } = workerData as {
  ctl: SharedArrayBuffer; text: SharedArrayBuffer; authkey: Uint8Array; address: string;
};
const ctl = new Int32Array(ctlBuffer);
const text = new Uint8Array(textBuffer);

const server = ObjectServer.listenSync({ authkey, address });

/** Answers the parent: id >= 0 with the address text, or -1 with an error message. */
function answer(seq: number, id: number, message: string): void {
  Atomics.store(ctl, CTL_LEN, writeText(text, message));
  Atomics.store(ctl, CTL_ID, id);
  Atomics.store(ctl, CTL_SEQ, seq);
  Atomics.notify(ctl, CTL_SEQ);
}

// Tell the parent where we listen (seq 1); it waits for this before its first registration.
answer(1, 0, JSON.stringify(server.address));

// The message listener keeps this thread alive; the parent unrefs the Worker, so we never keep the process alive.
parentPort!.on('message', async (req: RegisterRequest) => {
  try {
    const mod = await import(req.module);
    const Core = mod[req.exportName];
    if (typeof Core !== 'function') throw new TypeError(`${req.module} exports no core class ${req.exportName}`);
    const id = server.register(new Core(req.memory)) as number;
    answer(req.seq, id, formatAddress(server.address));
  } catch (err) {
    answer(req.seq, -1, (err as Error)?.message ?? String(err));
  }
});
