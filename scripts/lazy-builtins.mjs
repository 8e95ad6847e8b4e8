// An esbuild plugin for the bundles users load: the Node built-ins that only rare paths need (start a
// Manager, serve a primitive to a worker process, fork, hash a key) are loaded at their first use, not
// at `import 'multiproc'`.
//
// Why: `import { fork } from 'node:child_process'` loads the module (and node:net, dgram, ...) at once,
// and an ES import of a built-in also builds a namespace reading every export, which runs the lazy
// getters (for node:fs that loads fs/promises and the streams): ~2-3 ms per module at every start,
// in the main thread and again in every worker.
//
// How: each import of a built-in from our code resolves to a generated module that loads it with
// require() (no namespace is built); for the listed ones, on first use:
//   - a function is a wrapper calling the real one (`fork(...)`, `randomBytes(...)`);
//   - a class is a Proxy of the real class (`new`, `instanceof`, statics, `extends` all reach it);
//   - any other value (a constant, an object) is not offered: the build fails with "No matching
//     export" if code imports one from a listed module; drop that module from the list.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The built-ins loaded on first use. */
export const lazyModules = ['child_process', 'net', 'crypto'];

function moduleSource(name) {
  const real = require(`node:${name}`);
  const spec = JSON.stringify(`node:${name}`);
  const lines = ["import { createRequire } from 'node:module';"];
  const valid = (key) => /^[A-Za-z_$][\w$]*$/.test(key) && key !== 'default';
  if (!lazyModules.includes(name)) {
    // Loaded at once (most are loaded by Node's own start anyway), without the namespace: each export
    // is read when the bundle uses it (the pure calls of unused ones are dropped).
    lines.push(`const m = createRequire(import.meta.url)(${spec});`, 'const get = (key) => m[key];');
    for (const key of Object.keys(real)) if (valid(key)) lines.push(`export const ${key} = /* @__PURE__ */ get(${JSON.stringify(key)});`);
    lines.push('export default m;');
    return lines.join('\n');
  }
  lines.push(
    'let m;',
    `const mod = () => (m ??= createRequire(import.meta.url)(${spec}));`,
    // A lazy class: the target is a plain function so that `new` and calls are allowed on the Proxy.
    'const lazyClass = (key) => {',
    '  const p = new Proxy(function () {}, {',
    '    construct: (_, args, newTarget) => Reflect.construct(mod()[key], args, newTarget === p ? mod()[key] : newTarget),',
    '    apply: (_, self, args) => Reflect.apply(mod()[key], self, args),',
    '    get: (_, k) => Reflect.get(mod()[key], k),',
    '    has: (_, k) => Reflect.has(mod()[key], k),',
    '    getPrototypeOf: () => Reflect.getPrototypeOf(mod()[key]),',
    '  });',
    '  return p;',
    '};',
  );
  for (const key of Object.keys(real)) {
    if (typeof real[key] !== 'function' || !valid(key)) continue;
    if (/^[A-Z]/.test(key)) lines.push(`export const ${key} = /* @__PURE__ */ lazyClass(${JSON.stringify(key)});`);
    else lines.push(`export function ${key}(...args) { return mod().${key}(...args); }`);
  }
  return lines.join('\n');
}

/**
 * The plugin: static imports of built-ins from bundled code load them with require() (no namespace),
 * the listed ones at first use.
 */
export const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (args.kind !== 'import-statement' || args.namespace === 'lazy-builtin' || args.path === 'node:module') return undefined;
      return { path: args.path, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: moduleSource(args.path.slice('node:'.length)),
      loader: 'js',
      resolveDir: process.cwd(),
    }));
  },
};
