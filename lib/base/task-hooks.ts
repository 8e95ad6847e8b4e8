/**
 * Work that must be done in a worker after a task's function returns and before its result is
 * sent: a process worker's fire-and-forget calls on primitives (pipelined `put`, `send`) are waited
 * for until the primitives' creator has applied them, so the parent that receives the result finds
 * the task's puts in the queue (and, at exit, `p.join()` finds them too). The engines call
 * `runAfterTaskHooks()` in the worker before posting a result; hooks are synchronous and cheap when
 * there is nothing to wait for. Kept on globalThis, like exit-hooks.ts, for the bundled worker entry.
 */
const hooks: Set<() => void> = ((globalThis as any)[Symbol.for('multiproc.afterTaskHooks')] ??= new Set());

/** Registers a hook; returns a function that removes it. */
export function afterTask(hook: () => void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Called by the worker side of an engine once a task has returned, before its result is sent. */
export function runAfterTaskHooks(): void {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      // a hook's failure must not lose the task's result
    }
  }
}
