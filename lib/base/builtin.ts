/**
 * A Node built-in module, loaded the first time it is asked for. An ES `import` of a built-in builds its
 * whole namespace when the importing module loads (every lazy export of node:util, node:net, node:v8, ...):
 * ~0.3–1 ms each, paid at the boot of every pool worker for code that most workers never run (the checks
 * of values that cannot be sent, TypeScript task modules).
 */
import { createRequire } from 'node:module';

let fallback: NodeRequire | undefined;

export function builtin<T>(id: string): T {
  // process.getBuiltinModule: Node >= 20.16; older Nodes load it through a require of this module
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule(id) as T;
  return (fallback ??= createRequire(import.meta.url))(id) as T;
}
