/**
 * Which thread this is (node:worker_threads' `isMainThread` and `threadId`), known at load time without
 * loading node:worker_threads in a main thread: that module loads node:stream and ~20 internal modules,
 * ~1.5 ms of every `import 'multiproc'`.
 *
 * Node's bootstrap of a worker thread loads node:worker_threads before any user code runs, so a thread
 * where it is not loaded yet is a main thread (id 0). Where it is loaded, reading it costs nothing.
 * __tests__/thread-identity.test.ts checks that Node still behaves so.
 */
import type * as WorkerThreads from 'node:worker_threads';
import { builtin } from './builtin.js';

/**
 * Whether node:worker_threads is loaded in this thread. The list is trusted only in the form we know
 * (every bootstrap loads node:events): where Node keeps no list, or writes it otherwise, say yes (ask it).
 */
function workerThreadsLoaded(): boolean {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (!Array.isArray(list) || !list.includes('NativeModule events')) return true;
  return list.includes('NativeModule worker_threads');
}

const threads = workerThreadsLoaded() ? builtin<typeof WorkerThreads>('node:worker_threads') : undefined;

/** node:worker_threads' `isMainThread`: false in a worker thread, true in the main thread of any process. */
export const inMainThread: boolean = threads?.isMainThread ?? true;

/** node:worker_threads' `threadId`: 0 in a main thread. */
export const threadId: number = threads?.threadId ?? 0;
