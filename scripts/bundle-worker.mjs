// Bundles each worker entry into one CommonJS file: a new worker then loads 1 module instead of ~15, through
// the CommonJS loader (faster to start than the ESM one). Task modules are still loaded with import().
//   pool-worker: the task module tinypool workers load (Pool, executors)
//   process-worker: the entry of a Process
import { build } from 'esbuild';

for (const entry of ['pool-worker', 'process-worker']) {
  await build({
    entryPoints: [`dist/lib/worker/${entry}.js`],
    outfile: `dist/lib/worker/${entry}.bundle.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    minify: true, // less to parse at every worker start
    keepNames: true, // error class names travel by name
    define: { 'import.meta.url': '__multiprocBundleUrl' },
    banner: { js: 'const __multiprocBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
}
