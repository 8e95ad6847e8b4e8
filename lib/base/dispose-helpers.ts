/**
 * `using` / `await using` inside a function sent by source. Compilers lower these declarations into calls
 * of helpers they define at the top of the sender's module (esbuild, as tsx runs: `__using` and
 * `__callDispose`; tsc: `__addDisposableResource` and `__disposeResources`). A function sent by its
 * source text arrives without them, so a worker defines them globally, with the same contracts.
 */

type Entry = { dispose?: () => unknown; value?: unknown; async: boolean };

function disposeSymbol(name: 'dispose' | 'asyncDispose'): symbol {
  return (Symbol as any)[name] ?? Symbol.for(`Symbol.${name}`);
}

/** The dispose method of `value`, checked as the language does; async ones may fall back on the sync one. */
function disposerOf(value: unknown, async: boolean): () => unknown {
  if (typeof value !== 'object' && typeof value !== 'function') throw new TypeError('using: the value is not an object');
  let fn = async ? (value as any)[disposeSymbol('asyncDispose')] : undefined;
  if (fn === undefined) fn = (value as any)[disposeSymbol('dispose')];
  if (typeof fn !== 'function') throw new TypeError('using: the value is not disposable (no Symbol.dispose method)');
  return fn;
}

/** Records `value` for disposal on `stack` and returns it (null and undefined are allowed and skipped). */
function pushResource(stack: Entry[], value: unknown, async: boolean): unknown {
  if (value === null || value === undefined) {
    if (async) stack.push({ async }); // `await using x = null` still awaits once at the end
    return value;
  }
  stack.push({ dispose: disposerOf(value, async), value, async });
  return value;
}

function suppressed(error: unknown, suppressedError: unknown): Error {
  const Suppressed = (globalThis as any).SuppressedError;
  if (typeof Suppressed === 'function') return new Suppressed(error, suppressedError, 'An error was suppressed during disposal');
  const err = new Error('An error was suppressed during disposal') as Error & { error: unknown; suppressed: unknown };
  err.name = 'SuppressedError';
  err.error = error;
  err.suppressed = suppressedError;
  return err;
}

/**
 * Disposes `stack` last-in first-out. An error thrown while disposing replaces the pending one, which
 * it carries as `suppressed`; the final error is thrown. With an async entry, returns a promise.
 */
function disposeAll(stack: Entry[], error: unknown, hasError: boolean): Promise<void> | undefined {
  const fail = (err: unknown) => {
    error = hasError ? suppressed(err, error) : err;
    hasError = true;
  };
  const step = (): Promise<void> | undefined => {
    for (let entry = stack.pop(); entry; entry = stack.pop()) {
      const current = entry;
      try {
        const result = current.dispose?.call(current.value);
        if (current.async) return Promise.resolve(result).then(step, (err) => (fail(err), step()));
      } catch (err) {
        fail(err);
      }
    }
    if (hasError) throw error;
    return undefined;
  };
  return step();
}

/** Defines the helpers globally unless the program already has some under these names. */
export function installDisposeHelpers(): void {
  const g = globalThis as any;
  // esbuild: const x = __using(stack, value, isAwait); ... finally { __callDispose(stack, error, hasError) }
  g.__using ??= (stack: Entry[], value: unknown, async?: boolean) => pushResource(stack, value, Boolean(async));
  g.__callDispose ??= (stack: Entry[], error: unknown, hasError: boolean) => disposeAll(stack, error, hasError);
  // tsc: env = { stack: [], error: void 0, hasError: false }; __addDisposableResource(env, value, isAwait); __disposeResources(env)
  g.__addDisposableResource ??= (env: { stack: Entry[] }, value: unknown, async?: boolean) => pushResource(env.stack, value, Boolean(async));
  g.__disposeResources ??= (env: { stack: Entry[]; error: unknown; hasError: boolean }) => disposeAll(env.stack, env.error, env.hasError);
}

/** Whether function source calls one of the helpers (it was compiled with `using` lowered). */
export function needsDisposeHelpers(src: string): boolean {
  return src.includes('__callDispose') || src.includes('__disposeResources');
}
