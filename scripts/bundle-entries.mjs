// Bundles the package's entry points so `import 'multiproc'` loads a handful of files instead of ~100:
// Node spends most of an import's time finding, reading and compiling each module file, not running it.
//
// One copy of every class: a Lock made in the main thread and revived in a worker must be `instanceof`
// the Lock a task gets from `import 'multiproc'`. So every path into the package reaches the same code:
//   - dist/lib/index.js ('multiproc') is an entry of one code-splitting build;
//   - every other module that is imported by URL or by a package export (python names, the cluster,
//     the modules that revive handles in a worker, the executor's initializer, ...) is re-exported
//     through an internal entry of the same build (dist/bundle/internal.js; cluster.js and python.js for
//     those), and its file in dist/ is replaced by a stub that re-exports its names from there;
// Shared code lands in a chunk under dist/bundle/, loaded once whichever entry came first.
// The main modules of a thread or process (the manager's server, the transport's threads, the cluster's
// CLI) are bundled whole, each on its own: as entries of the same build they would cut the shared code
// into many more chunks for the root to load. Each runs in its own thread or process and hands nothing to
// user code there by class (errors cross by name, cores are rebuilt from the shared bundle by URL).
//
// A bundled module's `import.meta.url` still names its own file in dist/, so the URLs it builds
// (the worker entries, `./cores.js`, handle descriptors, the cluster's package-relative names) are
// unchanged: each is rewritten to a URL relative to the output file it lands in.
//
// Runs after tsc and after scripts/bundle-worker.mjs (the worker bundles are made from the unbundled
// output). The other files tsc wrote stay in dist/ (and their .d.ts give the types) but nothing loads them.
import { build } from 'esbuild';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { firstUse, settleFirst, settleLine } from './first-use.mjs';

const dist = resolve('dist');
const bundleDir = join(dist, 'bundle');

/** Reached by package exports, by URL at run time, or by a handle descriptor: re-exported from an internal entry. */
const secondary = [
  'lib/python.js',
  'lib/python/names.js',
  'lib/cluster/python-pool.js',
  'lib/cluster/index.js',
  'lib/executor/worker-init.js',
  'primitives/sharedctypes.js',
  'primitives/connection.js',
  'primitives/queues.js',
  'primitives/sync/locks.js',
  'primitives/sync/condition.js',
  'primitives/sync/barrier.js',
  'primitives/manager/proxy-base.js',
  'primitives/manager/revive.js',
];
/** Main modules of a process or thread (top-level side effects): each bundled whole, on its own. */
const mains = [
  'lib/cluster/cli.js',
  'primitives/manager/server-main.js',
  'primitives/transport/io-thread.js',
  'primitives/transport/broker-main.js',
];
const primary = 'lib/index.js';

const toPosix = (p) => p.split(sep).join('/');
const rel = (fromFile, toFile) => {
  const r = toPosix(relative(dirname(fromFile), toFile));
  return r.startsWith('./') || r.startsWith('../') ? r : `./${r}`;
};

// The names each secondary module exports (from a metafile-only pass), for its stub.
const probe = await build({
  entryPoints: secondary.map((m) => join(dist, m)),
  outdir: join(dist, '.probe'), outbase: dist, bundle: true, splitting: true, format: 'esm', platform: 'node',
  packages: 'external', write: false, metafile: true, logLevel: 'silent',
});
const exportsOf = new Map();
for (const meta of Object.values(probe.metafile.outputs)) {
  if (meta.entryPoint) exportsOf.set(toPosix(relative(dist, resolve(meta.entryPoint))), meta.exports);
}

// Modules the root reaches by static imports but that load only when one of their exports is first used
// (scripts/first-use.mjs), by groups that load together: what a program may never use, and no export of
// theirs is read as the root loads.
const firstUseGroups = {
  primitives: [
    'lib/base/codec/unserializable.js',
    'primitives/sync/locks.js', 'primitives/sync/condition.js', 'primitives/sync/barrier.js', 'primitives/sharedctypes.js',
    'primitives/connection.js', 'primitives/queues.js', 'primitives/channel/pipe-lane.js', 'primitives/channel/pipe-lane-guest.js',
  ],
  pools: ['lib/engine/tinypool-engine.js', 'lib/pool-base.js', 'lib/pool.js', 'lib/process-start.js', 'lib/process.js', 'lib/executor.js'],
  manager: ['primitives/manager/index.js'],
  connection: ['primitives/listener.js'],
};
const firstUseModules = Object.values(firstUseGroups).flat();
// The internal, cluster and Python entries reach every first-use group's modules themselves (not by stand-ins):
// whatever they load then loads with them, and the code the groups share lands in a few chunks, not in one
// chunk per set of entries that reaches it (each file costs ~0.3 ms at a first use).
const reachFirstUse = (file) => Object.keys(firstUseGroups).map((g) => `import ${JSON.stringify(rel(file, join(dist, `.first-use-${g}.js`)))};\n`).join('');
// The internal entries: the cluster and the Python names each get their own, so a worker reviving a
// Lock or a Queue (which loads its module's stub) does not compile the cluster's and Python's code.
// bundle/internal.js also reaches the whole root (an import for its side effects, none): the root's code
// then stays in one shared chunk, as when one entry reached everything. Split across chunks by which
// entries reach it, the root's code cost ~2 ms more per import (hundreds of cross-chunk bindings to link).
const groupOf = (m) => (m.startsWith('lib/cluster/') ? 'cluster' : m.startsWith('lib/python') ? 'python' : 'internal');
const groups = [...new Set(secondary.map(groupOf))];
const entryFile = (g) => join(dist, `.${g}-entry.js`);
for (const g of groups) {
  const lines = secondary.map((m, i) => (groupOf(m) === g ? `export * as m${i} from './${m}';\n` : '')).join('');
  writeFileSync(entryFile(g), settleLine + (g === 'internal' ? `import './${primary}';\n${lines}` : lines) + reachFirstUse(entryFile(g)));
}
// The root's entry: the package's names, then the wait every entry file has (scripts/first-use.mjs).
const rootEntry = join(dist, '.root-entry.js');
writeFileSync(rootEntry, `${settleLine}export * from './${primary}';\n`);

// A module loaded at run time by URL must be one of the entries or stubs above, or it would be loaded
// as a second copy from tsc's output. Catches the usual forms: `new URL('./x' ...)` and a module naming
// itself (`MODULE = import.meta.url`, `module: import.meta.url`) for a worker to import.
const reachable = new Set([primary, ...secondary, ...mains]);
const unlisted = new Set();
function checkLoadedByUrl(file, src) {
  const self = /(?:MODULE\s*=|module:|\]\s*=)\s*import\.meta\.url/.test(src);
  if (self && !reachable.has(file)) unlisted.add(`${file} (names itself by URL)`);
  for (const [, spec] of src.matchAll(/new URL\(\s*[`'"](\.{1,2}\/[^`'"$]*)/g)) {
    if (spec.endsWith('/') || /\.(ts|mjs|cjs)$/.test(spec)) continue; // a directory, a source file, a worker bundle
    const target = toPosix(relative(dist, resolve(dirname(join(dist, file)), spec.endsWith('.js') ? spec : `${spec}.js`)));
    if (!reachable.has(target)) unlisted.add(`${target} (loaded by URL from ${file})`);
  }
}

// `import.meta.url` of each source file becomes a marker naming that file; fixed up per output file below.
const MARK = '__multiprocModuleUrl';
// Modules our code loads with import() (a chunk each, at first use), reached only after the root loaded.
// In the code-splitting build each also imports the root (nothing to run: it has run), so the root's code
// stays in one chunk. Else the parts of the root a lazy chunk shares go to chunks of their own, by which
// lazy chunks use them, and the root loads them all (8 files instead of 2: ~0.3 ms CPU per file).
const lazyChunks = ['primitives/manager/start.js', 'primitives/transport/link.js', 'lib/base/ts-import.js'];
for (const m of [...lazyChunks, ...firstUseModules]) if (!existsSync(join(dist, m))) throw new Error(`scripts/bundle-entries.mjs: ${m} is gone`);

function moduleUrlPlugin({ lazyReachRoot = false } = {}) {
  const lazy = new Set(lazyChunks.map((m) => join(dist, m)));
  return {
    name: 'module-url',
    setup(b) {
      b.onLoad({ filter: /\.js$/, namespace: 'file' }, (args) => {
        if (!args.path.startsWith(dist + sep)) return undefined;
        let src = readFileSync(args.path, 'utf8');
        const reachRoot = lazyReachRoot && lazy.has(args.path);
        const file = toPosix(relative(dist, args.path));
        // the Python names and the cluster define classes on the root's (`extends mp.Pool`) as they load
        const waits = lazyReachRoot && /^lib\/(python|cluster)[/.]/.test(file);
        if (!src.includes('import.meta.url') && !reachRoot && !waits) return undefined;
        if (src.includes('import.meta.url')) {
          checkLoadedByUrl(file, src);
          src = src.replaceAll('import.meta.url', `${MARK}(${JSON.stringify(file)})`);
        }
        if (reachRoot) src = `import ${JSON.stringify(rel(args.path, join(dist, primary)))};\n${reachFirstUse(args.path)}${src}`;
        if (waits) src = `${settleFirst}${src}`;
        return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

const out = join(dist, '.bundle-out');
rmSync(out, { recursive: true, force: true });
const options = {
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external', // tinypool finds its own worker file next to itself; bullmq/ioredis are optional peers
  minify: true, // less to parse at every start
  keepNames: true, // error classes travel by name
  metafile: true,
  logLevel: 'warning',
  plugins: [moduleUrlPlugin()],
};
const firstUseBuild = await firstUse(
  dist,
  primary,
  relative(dist, rootEntry),
  firstUseGroups,
  (file) => `${MARK}(${JSON.stringify(file)})`,
  (file) => `import ${JSON.stringify(rel(file, join(dist, primary)))};`,
);
const result = await build({
  entryPoints: [
    { in: rootEntry, out: 'lib/index' },
    ...groups.map((g) => ({ in: entryFile(g), out: `bundle/${g}` })),
    ...firstUseBuild.entryPoints,
  ],
  splitting: true,
  chunkNames: 'bundle/chunk-[hash]',
  ...options,
  plugins: [moduleUrlPlugin({ lazyReachRoot: true }), firstUseBuild.plugin],
});
for (const file of [...groups.map(entryFile), rootEntry, ...firstUseBuild.generated]) rmSync(file);
// BUNDLE_META=<file>: esbuild's metafile of the build, to see what each output holds and why.
if (process.env.BUNDLE_META) writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile));
const mainsResult = await build({
  entryPoints: mains.map((m) => ({ in: join(dist, m), out: m.replace(/\.js$/, '') })),
  ...options,
});

if (unlisted.size) throw new Error(`loaded at run time but not bundled; add to secondary or mains in scripts/bundle-entries.mjs:\n  ${[...unlisted].join('\n  ')}`);
// Put every output in place, with the marker turned into a URL relative to the file it is in.
rmSync(bundleDir, { recursive: true, force: true });
const markRe = new RegExp(`${MARK}\\(("[^"]+")\\)`, 'g');
for (const file of [...Object.keys(result.metafile.outputs), ...Object.keys(mainsResult.metafile.outputs)]) {
  const abs = resolve(file);
  const target = join(dist, relative(out, abs));
  let code = readFileSync(abs, 'utf8');
  code = code.replace(markRe, (_, name) => `new URL(${JSON.stringify(rel(target, join(dist, JSON.parse(name))))},import.meta.url).href`);
  if (code.includes(MARK)) throw new Error(`${file}: an import.meta.url was not rewritten`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, code);
  rmSync(`${target}.map`, { force: true }); // tsc's map described the file this one replaces
}
rmSync(out, { recursive: true, force: true });

// Stubs: each secondary module's file re-exports its names from its group's internal entry.
secondary.forEach((m, i) => {
  const names = exportsOf.get(m);
  if (!names) throw new Error(`no exports found for ${m}`);
  const file = join(dist, m);
  const plain = names.filter((n) => n !== 'default');
  const lines = [`import { m${i} as ns } from ${JSON.stringify(rel(file, join(bundleDir, `${groupOf(m)}.js`)))};`];
  if (plain.length) lines.push(`export const { ${plain.join(', ')} } = ns;`);
  if (names.includes('default')) lines.push('export default ns.default;');
  writeFileSync(file, `// Generated by scripts/bundle-entries.mjs: this module lives in the bundle.\n${lines.join('\n')}\n`);
  rmSync(`${file}.map`, { force: true });
});

const count = (dir) => readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).length;
console.log(`bundled entries: ${count(bundleDir)} files in dist/bundle`);
