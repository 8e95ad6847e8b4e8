// The convention every benchmark follows so `npm run bench` can draw the report (bench/_report.mjs):
// a script records its figures with `recorder()` and, when done, writes ONE JSON file
// bench/report/data/<script name>.json (BENCH_DATA_DIR overrides the folder):
//
//   { "script": "pool.mjs", "started": ISO, "finished": ISO, "quick": bool,
//     "load": { "before": [1, 5, 15 min], "after": [...] },
//     "workloads": [ {
//         "id": "pool.map.thread",            // stable id; the report's checklist looks for these
//         "title": "Pool.map 100k, default chunksize, threads",
//         "unit": "items/s", "better": "higher" | "lower",
//         "target": "multiproc >= 3x python",  // optional: the goal, as text
//         "goal": { "against": "python", "speedup": 3 },  // optional: the same as figures (a kind or a system
//                                              // name; for times the speed-up is theirs / ours), checked in the report
//         "note": "how it was measured",       // optional
//         "rows": [ { "system": "multiproc [fn]", "kind": "multiproc", "value": 123, "note": "n=5, 100-130" }, ... ]
//     } ] }
//
// kind is one of multiproc | python | tinypool | piscina | workerpool | floor. The report charts every
// multiproc row against every other row of its workload as a speed-up (>1 = multiproc faster).
// Ids the report expects (issue "fast where users feel it"): pool.{map,apply,imap,start}.{thread,process},
// pipe.child, queue.thread, queue.child, lock.contended, import.time, process.start.{thread,process},
// move.f64 (a 100 MB Float64Array round trip through apply).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, pythonDir } from './_common.mjs';

export const dataDir = process.env.BENCH_DATA_DIR ?? fileURLToPath(new URL('./report/data/', import.meta.url));

/** Load average (1, 5, 15 min), two decimals. */
export const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

/** Summary of repeated figures: the median, with n and min-max as the row's note. */
export function summary(xs) {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return { value: undefined, note: 'not measured' };
  const r = (x) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);
  return { value: median(ok), note: ok.length > 1 ? `median of ${ok.length} (${r(Math.min(...ok))}-${r(Math.max(...ok))})` : '' };
}

/** Collects the workloads of one bench script; `save()` writes its rows file. */
export function recorder(scriptUrl) {
  const script = basename(fileURLToPath(scriptUrl));
  const started = new Date().toISOString();
  const before = load();
  const workloads = [];
  return {
    /** Declares a workload; add rows to the object it returns. */
    workload(id, meta) {
      const w = { id, ...meta, rows: [] };
      workloads.push(w);
      return {
        /** One figure (or several: their median) of one system. Undefined figures are skipped. */
        add(system, kind, values, note) {
          const s = summary(Array.isArray(values) ? values : [values]);
          if (s.value === undefined) return;
          w.rows.push({ system, kind, value: s.value, note: [note, s.note].filter(Boolean).join('; ') });
        },
      };
    },
    save() {
      mkdirSync(dataDir, { recursive: true });
      const file = join(dataDir, script.replace(/\.m?js$/, '.json'));
      const quick = process.env.BENCH_QUICK === '1';
      writeFileSync(file, JSON.stringify({ script, started, finished: new Date().toISOString(), quick, load: { before, after: load() }, workloads }, null, 1));
      console.log(`  (rows written to ${file})`);
    },
  };
}

function packageVersion(name) {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** The machine, the versions of everything measured, and where Python's twins are: the report's header. */
export function environment() {
  const py = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  const cpuList = cpus();
  return {
    machine: {
      cpu: cpuList[0]?.model?.trim() ?? 'unknown', cores: cpuList.length,
      memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, os: `${type()} ${release()}`,
    },
    versions: {
      node: process.version, python: py.status === 0 ? (py.stdout || py.stderr).trim().replace(/^Python /, '') : undefined,
      multiproc: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
      tinypool: packageVersion('tinypool'), piscina: packageVersion('piscina'), workerpool: packageVersion('workerpool'),
    },
    pythonRef: { path: pythonDir, present: existsSync(pythonDir) },
    note: process.env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS is set: start-up benches re-run themselves without it (it slows every node start)' : undefined,
  };
}
