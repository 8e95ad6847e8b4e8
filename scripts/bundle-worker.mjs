// Bundles each worker entry into one file: a new worker then loads 1 module instead of ~15.
//   pool-worker.bundle.mjs:    the task module tinypool workers import (Pool, executors). ESM: tinypool
//                              imports it with import(), which loads ESM faster than CommonJS it must translate.
//   process-worker.bundle.cjs: the entry of a Process, started directly (the CommonJS loader starts fastest).
// Task modules are still loaded with import().
import { build } from 'esbuild';
import { lazyBuiltins } from './lazy-builtins.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  minify: true, // less to parse at every worker start
  keepNames: true, // error class names travel by name
  plugins: [lazyBuiltins], // rare paths' built-ins load at first use
};

await build({
  ...common,
  entryPoints: ['dist/lib/worker/pool-worker.js'],
  outfile: 'dist/lib/worker/pool-worker.bundle.mjs',
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
