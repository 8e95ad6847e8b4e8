// An esbuild plugin for the code-splitting build of scripts/bundle-entries.mjs: groups of our own modules
// (the pools, the primitives, the Manager) are not compiled at `import 'multiproc'` but loaded the first
// time one of their exports is used.
//
// Why: most of an import's time is V8 compiling the code it loads (~25 KB per ms here), and a program
// that only uses a Lock needs neither the engine nor the Manager's client.
//
// How: each group becomes an entry of the build (bundle/first-use/<group>.js; the code it shares with the
// root stays in the root's chunk, so there is one copy of every class). Each import of a group's module by
// one of the root's own modules resolves to a generated stand-in:
//   - a function export is a wrapper calling the real one (one with statics of its own: a Proxy, as a class);
//   - a class export is a Proxy of the real class (`new`, `instanceof`, statics, `extends` reach it, and the
//     class's instances name the stand-in as their `constructor`);
//   - any other value (a constant, a symbol) is not offered: the build fails with "No matching export"
//     naming the importer; keep such values in a module that stays in the root.
// The stand-in loads the group's entry with require(): Node >= 20.19 loads an ES module synchronously (the
// same instance an import gives), so a synchronous call such as `new Lock()` can be the first use. No module
// a group reaches may have a top-level await (require() refuses such a graph).
// Every other module of the build (the groups, the cluster, the Python names) imports modules plainly.
// From the TypeScript sources (tests) nothing changes: the imports are plain imports.
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const LOADER = 'first-use:loader';

/**
 * The loader every stand-in shares, given the URLs of all first-use entries (`urls`, source text).
 *
 * require() of an ES module gives the instance `import` gives only under Node's own loaders. A loader
 * hook that also compiles ES modules for require (tsx's, a test runner's) would make a second copy of
 * the library, with classes of its own; a test runner with a realm of its own (Jest) would load it into
 * Node's realm. So each entry file first awaits settleFirstUse(): it requires the file this loader is in
 * (loaded already by import: Node's require returns that very instance) and looks for this loader's adopt()
 * among its exports; if it is not there (a copy) or the require failed, every first-use entry is imported
 * there and then (what a program paid before first use existed), and the stand-ins use those.
 */
const loaderSource = (urls) => `
// An ES import of a built-in builds its namespace (~0.4 ms for node:module): process.getBuiltinModule does not.
if (typeof process.getBuiltinModule !== 'function' || !process.features.require_module) {
  throw new Error(\`multiproc needs Node ^20.19 or >= 22.12 (it loads its parts by require of ES modules); this is \${process.version}\`);
}
const req = process.getBuiltinModule('node:module').createRequire(import.meta.url);
const { fileURLToPath } = process.getBuiltinModule('node:url');
/** url -> the group entry's namespaces ({ m0, m1, ... }), from the entry itself as it loads */
const loaded = new Map();
/** url -> the stand-in classes of that group: [module namespace key, export name, stand-in] */
const standIns = new Map();
// Which first-use entries have loaded, by URL: a diagnostic (the package's tests read it).
const loadedUrls = (globalThis[Symbol.for('multiproc.firstUse.loaded')] ??= new Set());
let settled;
let preloading = false;
/**
 * Called by each group's entry as it loads, whoever loads it (a stand-in's first use, the preload, a worker
 * reviving a handle): from then on each class's instances name the stand-in as their constructor, so that
 * \`lock.constructor === Lock\` holds for the Lock a program imported.
 */
export function adopt(url, namespaces) {
  if (loaded.has(url)) return;
  loaded.set(url, namespaces);
  loadedUrls.add(url);
  for (const [m, key, p] of standIns.get(url) ?? []) {
    Object.defineProperty(namespaces[m][key].prototype, 'constructor', { value: p, writable: true, configurable: true });
  }
}
export function group(url) {
  const namespaces = loaded.get(url);
  if (namespaces) return namespaces;
  // Only the root's modules use stand-ins; code that may run while the groups are being imported awaits
  // settleFirstUse() first (see settleFirst). A use here would load a second copy: say so instead.
  if (preloading) throw new Error(\`multiproc's bundle: \${url} was used while the first-use groups were being imported (scripts/first-use.mjs)\`);
  req(fileURLToPath(url));
  const now = loaded.get(url);
  if (!now) throw new Error(\`multiproc: \${url} loaded into another copy of the package (a loader hook's require?), not this one\`);
  return now;
}
export function settleFirstUse() {
  return (settled ??= (async () => {
    let same = false;
    try { same = Object.values(req(fileURLToPath(import.meta.url))).includes(adopt); } catch {}
    if (same) return;
    // One at a time: groups import each other plainly, but an order keeps a mistake reproducible.
    preloading = true;
    try {
      for (const url of [${urls.join(', ')}]) await import(url);
    } finally {
      preloading = false;
    }
  })());
}
export function lazyClass(url, m, key) {
  const real = () => group(url)[m][key];
  // The target is a plain function so that both \`new\` and calls are allowed on the Proxy.
  const p = new Proxy(function () {}, {
    construct: (_, args, newTarget) => Reflect.construct(real(), args, newTarget === p ? real() : newTarget),
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    get: (_, k) => Reflect.get(real(), k),
    set: (_, k, v) => Reflect.set(real(), k, v),
    has: (_, k) => Reflect.has(real(), k),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
  if (!standIns.has(url)) standIns.set(url, []);
  standIns.get(url).push([m, key, p]);
  return p;
}
`;

const SETTLE = 'first-use:settle';
/**
 * What each entry file imports first: its own code, which may use a stand-in as it loads (a class that
 * `extends` one), runs only once settleFirstUse() has settled (see the loader).
 */
export const settleLine = `import ${JSON.stringify(SETTLE)};\n`;
/**
 * The same, for a module of code shared by other entries (the Python names, the cluster): awaited in its own
 * code, since a chunk's side-effect imports do not order it (esbuild keeps only the imports whose names it uses).
 */
export const settleFirst = `import { settleFirstUse } from ${JSON.stringify(LOADER)};\nawait settleFirstUse();\n`;

const isClass = (v) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));
const validName = (key) => /^[A-Za-z_$][\w$]*$/.test(key);

/**
 * @param dist the tsc output directory the build reads
 * @param root the root module (dist-relative): only its graph's imports of first-use modules become stand-ins
 * @param rootEntry the root's entry file (dist-relative)
 * @param groups { name: dist-relative module paths }: the modules loaded at first use, by groups that
 *   load together (one entry, fewer chunks)
 * @param mark (file) => the source text of a URL to `file` (dist-relative), rewritten per output file later
 * @param reachRoot the source text of an import that reaches the root's code (keeps it in one chunk)
 * @returns the plugin, the entry points to add to the build, and the generated files to remove after it
 */
export async function firstUse(dist, root, rootEntry, groups, mark, reachRoot) {
  const entryOf = (g) => `bundle/first-use/${g}.js`;
  /** absolute path -> { group, index (its namespace in the group's entry: m<index>) } */
  const byPath = new Map();
  for (const [g, modules] of Object.entries(groups)) modules.forEach((m, i) => byPath.set(join(dist, m), { group: g, index: i }));
  // Each group's entry: its modules' namespaces, and the root's code reached for one chunk.
  const entryPoints = [];
  const generated = [];
  for (const [g, modules] of Object.entries(groups)) {
    const file = join(dist, `.first-use-${g}.js`);
    const names = modules.map((_, i) => `m${i}`);
    writeFileSync(file, [
      reachRoot(file),
      `import { adopt } from ${JSON.stringify(LOADER)};`,
      ...modules.map((m, i) => `import * as m${i} from './${m}';`),
      `export { ${names.join(', ')} };`,
      `adopt(${mark(entryOf(g))}, { ${names.join(', ')} });`,
    ].join('\n') + '\n');
    generated.push(file);
    entryPoints.push({ in: file, out: entryOf(g).replace(/\.js$/, '') });
  }
  // The root's own modules: reached from lib/index.js without passing through a first-use module. Only their
  // imports of first-use modules become stand-ins; the rest of the build (the groups, the cluster and the
  // Python names, which load after the root) imports modules plainly, so no code of theirs meets a stand-in
  // as it loads (under a loader hook, it could run before the stand-ins are settled).
  const rootGraph = await build({
    entryPoints: [join(dist, root)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'node',
    packages: 'external', logLevel: 'silent',
    plugins: [{
      name: 'first-use-boundary',
      setup(b) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => (byPath.has(resolve(args.resolveDir, args.path)) ? { path: args.path, external: true } : undefined));
      },
    }],
  }).then((r) => new Set(Object.keys(r.metafile.inputs).map((input) => resolve(input))));
  // The stand-in of each module, from its exports by kind (read from the tsc output before it is bundled).
  const standIns = new Map();
  for (const [abs, { group, index }] of byPath) {
    const ns = await import(pathToFileURL(abs).href);
    const lines = [`import { group, lazyClass } from ${JSON.stringify(LOADER)};`, `const url = ${mark(entryOf(group))};`];
    for (const [key, value] of Object.entries(ns)) {
      if (!validName(key) || typeof value !== 'function') continue;
      // a function with statics of its own (the shared-memory Array's `from`) gets the Proxy too, which reaches them
      if (isClass(value) || Object.keys(value).length > 0) lines.push(`export const ${key} = /* @__PURE__ */ lazyClass(url, 'm${index}', ${JSON.stringify(key)});`);
      else lines.push(`export function ${key}(...args) { return Reflect.apply(group(url).m${index}.${key}, this, args); }`);
    }
    standIns.set(abs, lines.join('\n'));
  }
  const plugin = {
    name: 'first-use',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind !== 'import-statement' || args.namespace !== 'file' || !rootGraph.has(args.importer)) return undefined;
        const abs = resolve(args.resolveDir, args.path);
        return byPath.has(abs) ? { path: abs, namespace: 'first-use' } : undefined;
      });
      b.onResolve({ filter: new RegExp(`^${LOADER}$`) }, () => ({ path: LOADER, namespace: 'first-use-loader' }));
      // The root's entry inlines a settle module of its own (no file more to load at import); the other
      // entries share one, in a chunk of its own.
      b.onResolve({ filter: new RegExp(`^${SETTLE}$`) }, (args) => ({
        path: args.importer === join(dist, rootEntry) ? 'root' : 'shared',
        namespace: 'first-use-settle',
      }));
      b.onLoad({ filter: /.*/, namespace: 'first-use-settle' }, () => ({
        contents: `import { settleFirstUse } from ${JSON.stringify(LOADER)};\nawait settleFirstUse();\n`,
        loader: 'js',
        resolveDir: dist,
      }));
      const urls = Object.keys(groups).map((g) => mark(entryOf(g)));
      b.onLoad({ filter: /.*/, namespace: 'first-use-loader' }, () => ({ contents: loaderSource(urls), loader: 'js', resolveDir: dist }));
      b.onLoad({ filter: /.*/, namespace: 'first-use' }, (args) => ({
        contents: standIns.get(args.path),
        loader: 'js',
        resolveDir: dirname(args.path),
      }));
    },
  };
  return { plugin, entryPoints, generated };
}
