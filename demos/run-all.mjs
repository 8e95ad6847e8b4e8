// Runs every demo in demos/ (each a short program that prints what it shows), one after another.
// A demo file is `demos/<name>.ts`; it runs through tsx against the library's sources.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const demos = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of demos) {
  console.log(`\n=== demos/${file} ${'='.repeat(Math.max(0, 60 - file.length))}`);
  const started = Date.now();
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (res.status !== 0) {
    failed++;
    console.log(`--- demos/${file} FAILED (exit ${res.status ?? res.signal}) after ${secs}s`);
  } else console.log(`--- demos/${file} done in ${secs}s`);
}
console.log(`\n${demos.length - failed} demos passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
