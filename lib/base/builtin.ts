/**
 * A Node built-in module, loaded the first time it is asked for: the one way our code reaches a built-in
 * (`const net = () => builtin<typeof Net>('node:net')` beside `import type * as Net from 'node:net'`).
 *
 * Why not `import { x } from 'node:x'`: an ES import loads the module when the importing module loads,
 * for code that most programs never run (a Manager, a fork, a hash), and builds its whole namespace,
 * which reads every export (node:fs's loads fs/promises and the streams, node:util's parseArgs and
 * MIME): ~0.1–1.5 ms each, at every `import 'multiproc'` and at the boot of every pool worker.
 * (`performance` and `setImmediate` are used as Node's globals: Node loads what they need at first use.)
 * `npm run lint` refuses a value import of a `node:` module in lib/ and primitives/.
 */
// Each module once: a hot path may ask on every call (process.getBuiltinModule costs ~150 ns a call).
const loaded: Record<string, unknown> = Object.create(null);

export function builtin<T>(id: string): T {
  return (loaded[id] ??= load(id)) as T;
}

function load(id: string): unknown {
  // Node >= 20.16 (the package needs 20.19: the bundle loads its parts by require of ES modules)
  return process.getBuiltinModule(id);
}
