// Runs every benchmark in bench/ (each prints its figures beside the comparison systems, as ratios, and
// writes its rows to bench/report/data/), then draws bench/report/index.md with a chart per workload.
// Benchmarks import the built package (dist/), so `npm run bench` builds first.
//   node bench/run-all.mjs [name-part ...]   only the benches whose file name contains one of the parts
//   BENCH_QUICK=1                            small sizes, one round, and only the benches that write rows:
//                                            to test the pipeline, not to quote
// Measure alone: the load average is printed before and after, with a warning above 1.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quick } from './_common.mjs';
import { dataDir, environment, load } from './_rows.mjs';
import { generate } from './_report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const writesRows = (file) => readFileSync(join(here, file), 'utf8').includes('_rows.mjs');
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run-all.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .filter((f) => !quick || writesRows(f))
  .sort();

function loadLine(when) {
  const l = load();
  console.log(`load average ${when}: ${l.join(' ')}${l[0] > 1 ? '  !!! above 1: other work is running; the figures will be disturbed. Measure on a quiet machine and rerun.' : ''}`);
  return l;
}

const env = environment();
if (!env.pythonRef.present) {
  console.log(`!!! Python twins not found at ${env.pythonRef.path}: every Python row will be SKIPPED (set MULTIPROC_PYTHON_REF).`);
}
if (quick) console.log('QUICK MODE (BENCH_QUICK=1): small sizes, one round; the figures are not to be quoted.');
const started = new Date().toISOString();
const before = loadLine('before');
mkdirSync(dataDir, { recursive: true });
// a full run replaces every rows file; a partial one replaces only those of the benches it runs
for (const f of readdirSync(dataDir)) {
  if (only.length === 0 || benches.some((b) => f === b.replace(/\.mjs$/, '.json'))) rmSync(join(dataDir, f));
}
const failed = [];
for (const file of benches) {
  console.log(`\n=== bench/${file}`);
  const res = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit', env: process.env });
  if (res.status !== 0) failed.push(file);
}
console.log('');
const after = loadLine('after');
writeFileSync(join(dataDir, '_run.json'), JSON.stringify({ started, finished: new Date().toISOString(), quick, load: { before, after }, env, benches, failed }, null, 1));
const out = await generate(dataDir, join(here, 'report'));
console.log(`report: ${out.index} (${out.charts.length} charts)`);
if (failed.length) {
  console.log(`!!! benches that failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
