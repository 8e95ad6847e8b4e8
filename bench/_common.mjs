// Shared benchmark plumbing: timing, medians, the Python twins, and ratio lines.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/**
 * Python's twins of each workload: bench/python/ (the same workloads written with Python's multiprocessing),
 * or MULTIPROC_PYTHON_REF. Without python3 (or the folder) every Python row is skipped, and each bench says so loudly.
 */
export const pythonDir = process.env.MULTIPROC_PYTHON_REF
  ? resolve(process.env.MULTIPROC_PYTHON_REF)
  : fileURLToPath(new URL('./python/', import.meta.url));

/** BENCH_QUICK=1: small sizes and few rounds, to test the pipeline; its figures are not to be quoted. */
export const quick = process.env.BENCH_QUICK === '1';
/** `full` normally, `small` in quick mode. */
export const size = (full, small) => (quick ? small : full);

let warnedNoPython = false;
function pythonMissing(path) {
  if (warnedNoPython) return;
  warnedNoPython = true;
  console.log(`\n  !!! PYTHON TWINS NOT FOUND: ${path} is missing; every Python row is SKIPPED.`);
  console.log('  !!! Set MULTIPROC_PYTHON_REF to the folder of the reference scripts (a_pool.py, r_rtt.py, ...).\n');
}

export const now = () => performance.now();

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a Python reference script; returns its JSON lines by id ({} when python3 or the script is missing). */
export function runPython(script, args = []) {
  const path = join(pythonDir, script);
  if (!existsSync(path)) {
    pythonMissing(path);
    return {};
  }
  const res = spawnSync('python3', [path, ...args], { cwd: pythonDir, encoding: 'utf8', timeout: 300_000 });
  if (res.error || res.status !== 0) {
    console.log(`  (python3 ${script} did not run: ${res.error?.message ?? res.stderr.trim().split('\n').pop()})`);
    return {};
  }
  const out = {};
  for (const line of res.stdout.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    const rec = JSON.parse(line);
    out[rec.id] = rec;
  }
  return out;
}

/** Runs a Python reference script; returns its figures by id (value only). */
export function pythonValues(script, args = []) {
  const out = {};
  for (const [id, rec] of Object.entries(runPython(script, args))) out[id] = rec.value;
  return out;
}

export function fmt(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(value < 10 ? 2 : 1);
}

/** Prints one figure and its ratio to each comparison (higher = better unless lowerIsBetter). */
export function report(label, value, unit, comparisons = [], { lowerIsBetter = false } = {}) {
  console.log(`  ${label.padEnd(58)} ${fmt(value).padStart(9)} ${unit}`);
  for (const [name, other] of comparisons) {
    if (other === undefined || other === null) continue;
    const ratio = lowerIsBetter ? other / value : value / other;
    console.log(`      vs ${name.padEnd(52)} ${fmt(other).padStart(9)} ${unit}  -> ${ratio.toFixed(2)}x${lowerIsBetter ? ' (speed-up)' : ''}`);
  }
}

/** Re-runs this script without NODE_EXTRA_CA_CERTS (it slows every node start by 30-50 ms here). */
export function withoutExtraCaCerts(scriptUrl) {
  if (!process.env.NODE_EXTRA_CA_CERTS) return false;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  console.log('  (re-running with NODE_EXTRA_CA_CERTS unset: it slows every node start-up on this machine)');
  const res = spawnSync(process.execPath, [fileURLToPath(scriptUrl), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(res.status ?? 1);
}
