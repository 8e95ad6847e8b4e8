/**
 * This thread's broker as a thread of its own. A core whose whole state is shared memory can be
 * rebuilt in another thread; hosting it there means process workers keep being served while the
 * creating thread blocks in a `...Sync` call that only they can end (which would deadlock a broker
 * running on the creating thread's own event loop).
 */
import type * as Crypto from 'node:crypto';
import type * as WorkerThreads from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { builtin } from '../../lib/base/builtin.js';
import { tsThreadEntry } from '../../lib/base/ts-loader.js';
import type { Address } from './protocol.js';
import { privateAddress, removePrivate } from './private-dirs.js';
import { CTL_ID, CTL_LEN, CTL_SEQ, TEXT_BYTES, readText, type RegisterRequest } from './broker-thread-protocol.js';

/** How to rebuild a core in another thread: `new (await import(module))[exportName](memory)`. */
export interface SharedForm {
  module: string;
  exportName: string;
  memory: unknown;
}

const START_TIMEOUT_MS = 30_000;

export class BrokerThread {
  readonly address: Address;
  readonly authkey: Uint8Array;
  readonly #worker: Worker;
  readonly #ctl = new Int32Array(new SharedArrayBuffer(16));
  readonly #text = new Uint8Array(new SharedArrayBuffer(TEXT_BYTES));
  #seq = 1;
  readonly #dir: string;

  constructor() {
    this.authkey = builtin<typeof Crypto>('node:crypto').randomBytes(32);
    const entry = new URL(`./broker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    // The socket's directory is made here, so this thread removes it at exit (the broker thread is
    // stopped without running any exit code of its own).
    const { dir, address } = privateAddress();
    this.#dir = dir;
    const workerData = { ctl: this.#ctl.buffer, text: this.#text.buffer, authkey: this.authkey, address };
    // From TypeScript sources the thread first registers tsx (Node 20 threads ignore --import).
    this.#worker = entry.pathname.endsWith('.ts')
      ? new (builtin<typeof WorkerThreads>('node:worker_threads').Worker)(tsThreadEntry(entry.href), { workerData, execArgv: [] })
      : new (builtin<typeof WorkerThreads>('node:worker_threads').Worker)(entry, { workerData, execArgv: [] });
    this.#worker.unref();
    this.#wait(1);
    this.address = JSON.parse(readText(this.#text, Atomics.load(this.#ctl, CTL_LEN))) as Address;
  }

  /** Rebuilds the core in the broker thread and returns its object id there (blocks briefly). */
  register(form: SharedForm): number {
    const seq = ++this.#seq;
    const req: RegisterRequest = { seq, module: form.module, exportName: form.exportName, memory: form.memory };
    this.#worker.postMessage(req);
    this.#wait(seq);
    const id = Atomics.load(this.#ctl, CTL_ID);
    if (id < 0) throw new Error(`the broker thread could not host the core: ${readText(this.#text, Atomics.load(this.#ctl, CTL_LEN))}`);
    return id;
  }

  #wait(seq: number): void {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const cur = Atomics.load(this.#ctl, CTL_SEQ);
      if (cur === seq) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the broker thread did not answer');
      Atomics.wait(this.#ctl, CTL_SEQ, cur, left);
    }
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
    removePrivate(this.#dir);
  }
}
