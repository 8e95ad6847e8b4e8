// Runs every benchmark in bench/ (each prints its figures beside the comparison systems, as ratios).
// Benchmarks import the built package (dist/), so `npm run bench` builds first.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run-all.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const file of benches) {
  console.log(`\n=== bench/${file}`);
  spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit', env: process.env });
}
