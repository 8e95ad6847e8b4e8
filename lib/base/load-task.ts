/**
 * Inside a worker: turns a TaskSpec into a callable. Source functions are compiled once per text;
 * modules are imported once (through tsx for TypeScript).
 */
import type { TaskSpec } from './task.js';
import { installDisposeHelpers, needsDisposeHelpers } from './dispose-helpers.js';
import { importingTaskModule } from './context.js';

export type TaskFn = (...args: unknown[]) => unknown;

const compiled = new Map<string, TaskFn>();

// esbuild (tsx) with keepNames rewrites inner named functions as `__name(fn, "name")`; the helper exists
// only in the sender's module, so source sent from a tsx-run program needs it here too.
(globalThis as any).__name ??= (fn: unknown) => fn;

/** Compiles function source in the global scope (indirect eval: no access to this module). */
function compileSource(src: string): TaskFn {
  let fn = compiled.get(src);
  if (fn) return fn;
  if (needsDisposeHelpers(src)) installDisposeHelpers();
  try {
    fn = (0, eval)(`(${src}\n)`);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    // Method shorthand (`square(x) { ... }`, `async run() {}`) is not an expression on its own.
    const holder = (0, eval)(`({${src}\n})`);
    fn = Object.values(holder)[0] as TaskFn;
  }
  if (typeof fn !== 'function') throw new TypeError('task source did not evaluate to a function');
  compiled.set(src, fn);
  return fn;
}

function isTypeScriptUrl(url: string): boolean {
  return /\.(c|m)?tsx?$/.test(url.split(/[?#]/)[0]);
}

/** Through ts-import.js, loaded at the first TypeScript task: most workers never need its code. */
async function importTypeScript(url: string): Promise<Record<string, any>> {
  return (await import('./ts-import.js')).importTypeScript(url);
}

async function importExport(url: string, name: string): Promise<TaskFn> {
  const mod = await importingTaskModule(() => (isTypeScriptUrl(url) ? importTypeScript(url) : import(url)));
  const fn = mod[name] ?? (name === 'default' ? undefined : mod.default?.[name]);
  if (typeof fn !== 'function') {
    throw new TypeError(`task module ${url} has no function export '${name}' (found ${typeof fn})`);
  }
  return fn;
}

// A module export, once imported, is returned synchronously like a compiled source: an await per call
// would cost module references more than function values (and they are the form we recommend).
// Keyed by URL, then by name: a key made by joining them would be a new string, hashed again, for every call.
const imported = new Map<string, Map<string, TaskFn | Promise<TaskFn>>>();

function loadExport(url: string, name: string): TaskFn | Promise<TaskFn> {
  let exports = imported.get(url);
  if (exports === undefined) imported.set(url, (exports = new Map()));
  let fn = exports.get(name);
  if (fn === undefined) {
    const loading = importExport(url, name);
    const names = exports;
    names.set(name, loading);
    loading.then(
      (loaded) => names.set(name, loaded),
      () => names.delete(name), // a failed import is retried by the next call, as a fresh import would be
    );
    fn = loading;
  }
  return fn;
}

/** Loads a task; synchronous once loaded (a source is compiled, a module imported), so the hot path never awaits. */
export function loadTask(spec: TaskSpec): TaskFn | Promise<TaskFn> {
  return spec.kind === 'src' ? compileSource(spec.src) : loadExport(spec.url, spec.name);
}

/** A ReferenceError from a source function almost always means it used its enclosing scope. */
export function explainReferenceError(err: unknown, spec: TaskSpec): unknown {
  if (spec.kind !== 'src' || !isReferenceError(err) || (err as any).__multiprocHint) return err;
  // A named function declaration is most often already a module's top-level function (a port of a
  // Python program): name it in the fix, as Python would have pickled it by that name.
  const name = /^\s*(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/.exec(spec.src)?.[1];
  err.message +=
    ' (functions sent to a worker by source cannot use variables of their enclosing scope: ' +
    'pass the value as an argument, or export the function from a module and pass ' +
    (name === undefined ? 'task(import.meta.url, name))' : `task(import.meta.url, '${name}') for ${name})`);
  (err as any).__multiprocHint = true;
  return err;
}

/**
 * `instanceof` asks a thrown Proxy's getPrototypeOf trap, which may throw: thrown from here that escaped
 * the worker's batch, failed its neighbours and left the worker busy forever. Such a value is no
 * ReferenceError; sending it says what could be read of it.
 */
function isReferenceError(err: unknown): err is ReferenceError {
  try {
    return err instanceof ReferenceError;
  } catch {
    return false;
  }
}
