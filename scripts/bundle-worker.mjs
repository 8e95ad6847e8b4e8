// Bundles each worker entry into one file: a new worker then loads 1 module instead of ~15.
//   pool-worker.bundle.mjs:    the task module tinypool workers import (Pool, executors). ESM: tinypool
//                              imports it with import(), which loads ESM faster than CommonJS it must translate.
//   pool-worker-ts.bundle.mjs: what that worker imports at its first TypeScript task module (lib/base/ts-import):
//                              kept out, a worker boots without it and the built-in modules it loads. Its own
//                              file rather than a split chunk, which would share esbuild's helpers through a
//                              third file loaded at every boot.
//   process-worker.bundle.cjs: the entry of a Process, started directly (the CommonJS loader starts fastest).
// Task modules are still loaded with import().
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  minify: true, // less to parse at every worker start
  keepNames: true, // error class names travel by name
};

const tsImportBundle = './pool-worker-ts.bundle.mjs';
await build({
  ...common,
  entryPoints: ['dist/lib/worker/pool-worker.js'],
  outfile: 'dist/lib/worker/pool-worker.bundle.mjs',
  format: 'esm',
  plugins: [{
    name: 'ts-import-apart',
    setup(b) {
      b.onResolve({ filter: /^\.\/ts-import\.js$/ }, () => ({ path: tsImportBundle, external: true }));
    },
  }],
});
await build({
  ...common,
  entryPoints: ['dist/lib/base/ts-import.js'],
  outfile: `dist/lib/worker/${tsImportBundle}`,
  format: 'esm',
});
await build({
  ...common,
  entryPoints: ['dist/lib/worker/process-worker.js'],
  outfile: 'dist/lib/worker/process-worker.bundle.cjs',
  format: 'cjs',
  define: { 'import.meta.url': '__multiprocBundleUrl' },
  banner: { js: 'const __multiprocBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
