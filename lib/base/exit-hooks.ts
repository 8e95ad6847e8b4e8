/**
 * Work that must finish before a worker exits on its own (a Process target returned): primitives
 * register flushes here so that data written just before the exit is not lost.
 */
// On globalThis: primitives register through their own import of this module, which in a bundled worker is a
// different copy from the one the worker entry runs.
const hooks: Set<() => Promise<void> | void> = ((globalThis as any)[Symbol.for('multiproc.exitHooks')] ??= new Set());

export function beforeWorkerExit(hook: () => Promise<void> | void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Whether anything waits to be flushed at exit (a pool can then stop its workers without asking them first). */
export function hasExitHooks(): boolean {
  return hooks.size > 0;
}

export async function runExitHooks(): Promise<void> {
  for (const hook of [...hooks]) {
    try {
      await hook();
    } catch {
      // an exit hook must never stop the exit
    }
  }
}
