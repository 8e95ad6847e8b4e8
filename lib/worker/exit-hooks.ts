/**
 * Work that must finish before a worker exits on its own (a Process target returned): primitives
 * register flushes here so that data written just before the exit is not lost.
 */
const hooks = new Set<() => Promise<void> | void>();

export function beforeWorkerExit(hook: () => Promise<void> | void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
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
