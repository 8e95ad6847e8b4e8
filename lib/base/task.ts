/**
 * Tasks: how a function reaches a worker. A self-contained function travels as its
 * source text; a `task(module, exportName)` reference travels as a module URL the worker imports.
 */
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import { builtin } from './builtin.js';

const taskRefBrand: unique symbol = Symbol.for('multiproc.TaskRef') as any;

/** A typed reference to a function exported by a module that workers can import. */
export interface TaskRef<A extends unknown[] = any[], R = unknown> {
  readonly [taskRefBrand]: true;
  readonly module: string;
  readonly exportName: string;
  /** Phantom field carrying the function type for inference; never set. */
  readonly __fn?: (...args: A) => R;
}

/** What a Pool/Process accepts as work: a self-contained function, or a module export. */
export type Task<A extends unknown[] = any[], R = unknown> = ((...args: A) => R | PromiseLike<R>) | TaskRef<A, R>;

/** The wire form of a task, as the worker loads it. */
export type TaskSpec = { kind: 'src'; src: string } | { kind: 'mod'; url: string; name: string };

function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(module) && !/^[a-zA-Z]:[\\/]/.test(module)) return module;
  const { isAbsolute, resolve } = builtin<typeof Path>('node:path');
  const { pathToFileURL } = builtin<typeof Url>('node:url');
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (module.startsWith('.')) return pathToFileURL(resolve(module)).href;
  return module; // a bare package specifier: the worker resolves it
}

/**
 * Names a function exported by a module, for workers to import and call.
 * `task(import.meta.url, 'square')` names a function of the calling module.
 */
export function task<F extends (...args: any[]) => any>(
  module: string | URL,
  exportName = 'default',
): TaskRef<Parameters<F>, Awaited<ReturnType<F>>> {
  if (typeof module !== 'string' && !(module instanceof URL)) {
    throw new TypeError(`task(): module must be a string or URL, got ${typeof module}`);
  }
  if (typeof exportName !== 'string' || exportName === '') {
    throw new TypeError('task(): exportName must be a non-empty string');
  }
  return Object.freeze({ [taskRefBrand]: true as const, module: moduleUrl(module), exportName });
}

export function isTaskRef(value: unknown): value is TaskRef {
  return typeof value === 'object' && value !== null && (value as any)[taskRefBrand] === true;
}

const specCache = new WeakMap<object, TaskSpec>();

/** Turns a Task into its wire form; throws TypeError for anything else. */
export function toTaskSpec(fn: unknown, what = 'fn'): TaskSpec {
  if (isTaskRef(fn)) {
    let spec = specCache.get(fn);
    if (!spec) specCache.set(fn, (spec = { kind: 'mod', url: fn.module, name: fn.exportName }));
    return spec;
  }
  if (typeof fn !== 'function') {
    throw new TypeError(`${what} must be a function or a task(module, exportName) reference, got ${fn === null ? 'null' : typeof fn}`);
  }
  let spec = specCache.get(fn);
  if (!spec) {
    const src = Function.prototype.toString.call(fn);
    // a native or bound function prints as `function f() { [native code] }`: only the tail needs a look
    if (src.charCodeAt(src.length - 1) === 125 && /\{\s*\[native code\]\s*\}\s*$/.test(src.slice(-64))) {
      throw new TypeError(
        `${what} (${fn.name || 'anonymous'}) is a native or bound function and cannot be sent by source; ` +
          'wrap it in a self-contained function or export it and pass task(module, exportName)',
      );
    }
    spec = { kind: 'src', src };
    specCache.set(fn, spec);
  }
  return spec;
}
