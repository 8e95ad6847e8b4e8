// Draws the benchmark report from the rows files the benches wrote (bench/_rows.mjs says their shape):
// bench/report/index.md with the machine, load and versions at the top, then per workload one SVG chart
// (vega-lite, rendered headless) of multiproc's speed-up over each other system and a table of the figures.
// Usage: node bench/_report.mjs [--data DIR] [--out DIR]   (defaults: bench/report/data, bench/report)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { environment } from './_rows.mjs';

/** What the report must show (the rows of the "fast where users feel it" table), and which bench measures it. */
export const EXPECTED = [
  ['import.time', "import 'multiproc' (main thread, and in a new worker)", 'bench/startup.mjs'],
  ['process.start.thread', 'Process start + join, 30 in a row, thread runtime', 'bench/startup.mjs'],
  ['process.start.process', 'Process start + join, 30 in a row, process runtime', 'bench/startup.mjs'],
  ['ts.first-task', 'first .ts task module in each new worker', 'bench/startup.mjs'],
  ['pipe.child', "Pipe ping-pong with a child, as Python's docs write it (parent keeps the child's end)", 'bench/primitives-process.mjs'],
  ['pool.map.thread', 'Pool.map 100k, default chunksize, threads', 'bench/pool.mjs'],
  ['pool.map.process', 'Pool.map 100k, default chunksize, processes', 'bench/pool.mjs'],
  ['pool.apply.thread', '20k applyAsync then get() each, first batch after a warm-up map, threads', 'bench/pool.mjs'],
  ['pool.apply.process', '20k applyAsync then get() each, first batch after a warm-up map, processes', 'bench/pool.mjs'],
  ['pool.imap.thread', 'imapUnordered chunksize 1, first batch, threads', 'bench/pool.mjs'],
  ['pool.imap.process', 'imapUnordered chunksize 1, first batch, processes', 'bench/pool.mjs'],
  ['pool.start.thread', 'Pool(2) start + 1 task + close/join, threads', 'bench/pool.mjs'],
  ['pool.start.process', 'Pool(2) start + 1 task + close/join, processes', 'bench/pool.mjs'],
  ['queue.thread', 'Queue, worker thread producer -> main', 'bench/primitives-queue.mjs'],
  ['queue.child', 'Queue, child process producer -> main', 'bench/primitives-process.mjs'],
  ['lock.contended', 'Lock contended: 2 workers x 200k increments of a shared Value', 'bench/primitives-lock.mjs'],
  ['move.f64', '100 MB Float64Array round trip through apply', 'bench/move.mjs'],
  ['cluster.map', 'cluster Pool.map chunked, 2 hosts (>= 1M items/s), beside a local Pool', 'bench/cluster.mjs'],
  ['cluster.apply', 'cluster applyAsync round trips (>= 2k/s), beside a local Pool', 'bench/cluster.mjs'],
];

const covers = (expected, id) => id === expected || id.startsWith(`${expected}.`);

/** multiproc's speed-up over `other` (>1 = multiproc faster), whichever way the unit points. */
export function speedup(workload, ours, other) {
  return workload.better === 'lower' ? other.value / ours.value : ours.value / other.value;
}

/**
 * The goal as figures: each multiproc row's speed-up over the row the goal names (`goal.against`: a kind or a
 * system), beside the speed-up it asks for (`goal.speedup`).
 */
export function goalCheck(w) {
  if (!w.goal) return undefined;
  const other = w.rows.find((r) => r.system === w.goal.against) ?? w.rows.find((r) => r.kind === w.goal.against);
  if (!other) return `${w.goal.against} not measured`;
  return w.rows.filter((r) => r.kind === 'multiproc').map((m) => {
    const x = speedup(w, m, other);
    return `${m.system} ${x.toFixed(2)}x over ${other.system} (wanted >= ${w.goal.speedup.toFixed(2)}x): ${x >= w.goal.speedup ? 'met' : '**not met**'}`;
  }).join('; ');
}

/** The chart's data: one bar per (multiproc row, other row) pair. */
function ratioData(w) {
  const ours = w.rows.filter((r) => r.kind === 'multiproc');
  const others = w.rows.filter((r) => r.kind !== 'multiproc');
  const out = [];
  for (const o of others) for (const m of ours) if (o.value > 0 && m.value > 0) out.push({ against: o.system, subject: m.system, speedup: speedup(w, m, o) });
  return out;
}

/** A vega-lite spec: multiproc's speed-up over each system, or (with nothing to compare) the figures themselves. */
export function chartSpec(w) {
  const data = ratioData(w);
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 520, background: 'white' };
  if (data.length === 0) {
    return {
      ...base,
      title: { text: w.title, subtitle: `${w.unit}, ${w.better} is better` },
      data: { values: w.rows },
      mark: 'bar',
      encoding: {
        y: { field: 'system', type: 'nominal', sort: null, title: null },
        x: { field: 'value', type: 'quantitative', title: w.unit },
      },
    };
  }
  const y = { field: 'against', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } };
  const subjects = w.rows.filter((r) => r.kind === 'multiproc').map((r) => r.system); // bars and legend in row order
  const yOffset = { field: 'subject', sort: subjects };
  return {
    ...base,
    title: { text: w.title, subtitle: 'speed-up of multiproc over each system (> 1 = multiproc faster; the rule marks 1)' },
    data: { values: data },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y, yOffset,
          x: { field: 'speedup', type: 'quantitative', title: 'speed-up (x)' },
          color: { field: 'subject', type: 'nominal', title: 'multiproc', sort: subjects, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480 } },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
        encoding: { y, yOffset, x: { field: 'speedup', type: 'quantitative' }, text: { field: 'speedup', format: '.2f' } },
      },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', color: 'black', strokeDash: [4, 3] }, encoding: { x: { field: 'one', type: 'quantitative' } } },
    ],
  };
}

export async function renderSvg(spec) {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const fmt = (v) => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(a < 10 ? 2 : 1);
};
const cell = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const loadText = (l) => (l ? l.map((x) => x.toFixed(2)).join(' / ') : 'unknown');
const busy = (l) => (l && l[0] > 1 ? ' **(above 1: figures disturbed by other work; rerun on a quiet machine)**' : '');

function table(w) {
  const ours = w.rows.filter((r) => r.kind === 'multiproc');
  const head = ['system', 'kind', `${w.unit} (${w.better} is better)`, ...ours.map((m) => `speed-up of ${m.system}`), 'how measured'];
  const lines = [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of w.rows) {
    const ratios = ours.map((m) => (r.kind === 'multiproc' ? '' : `${speedup(w, m, r).toFixed(2)}x`));
    lines.push(`| ${[r.system, r.kind, fmt(r.value), ...ratios, r.note].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Reads every rows file in `dataDir` (and _run.json, the run's environment) and writes `outDir`/index.md + charts. */
export async function generate(dataDir, outDir) {
  const files = readdirSync(dataDir).filter((f) => f.endsWith('.json') && f !== '_run.json').sort();
  let run;
  try {
    run = JSON.parse(readFileSync(join(dataDir, '_run.json'), 'utf8'));
  } catch {
    run = { env: environment() }; // a report drawn without run-all: the environment as it is now
  }
  const scripts = files.map((f) => JSON.parse(readFileSync(join(dataDir, f), 'utf8')));
  const chartDir = join(outDir, 'charts');
  rmSync(chartDir, { recursive: true, force: true });
  mkdirSync(chartDir, { recursive: true });

  const env = run.env ?? environment();
  const quick = run.quick || scripts.some((s) => s.quick);
  const md = ['# multiproc benchmark report', ''];
  md.push(`Generated ${new Date().toISOString()} by \`npm run bench\`${run.started ? ` (run ${run.started} to ${run.finished})` : ''}.`);
  if (quick) md.push('', '> **QUICK MODE (BENCH_QUICK=1): small sizes and one round, to test the pipeline. Do not quote these figures.**');
  md.push('', '## Machine, load and versions', '');
  md.push(`- CPU: ${env.machine.cpu}, ${env.machine.cores} cores; memory ${env.machine.memGiB} GiB; ${env.machine.os}`);
  md.push(`- Load average (1 / 5 / 15 min) before the run: ${loadText(run.load?.before)}${busy(run.load?.before)}`);
  md.push(`- Load average after the run: ${loadText(run.load?.after)}${busy(run.load?.after)}`);
  md.push(`- Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v ?? 'absent'}`).join(', ')}`);
  md.push(`- Python twins: ${env.pythonRef.present ? `\`${env.pythonRef.path}\`` : `**absent** (\`${env.pythonRef.path}\`): every Python row is skipped; set MULTIPROC_PYTHON_REF`}`);
  if (env.note) md.push(`- ${env.note}`);
  if (run.failed?.length) md.push(`- **Benches that failed (their rows may be missing): ${run.failed.join(', ')}**`);
  md.push('', 'Every chart shows how many times faster multiproc is than each other system, measured in the same run',
    '(above 1 = multiproc faster; for times in ms the ratio is theirs / ours). The table under each chart has the figures.', '');

  const workloads = scripts.flatMap((s) => s.workloads.map((w) => ({ ...w, script: s.script })));
  md.push('## Checklist: the workloads this report must show', '', '| workload | id | measured by | in this report |', '|---|---|---|---|');
  for (const [id, what, by] of EXPECTED) {
    const found = workloads.filter((w) => covers(id, w.id));
    md.push(`| ${cell(what)} | \`${id}\` | ${by} | ${found.length ? found.map((w) => `[yes](#${w.id.replace(/\./g, '')})`).join(', ') : `**not measured** (${by} absent or did not write rows)`} |`);
  }

  const written = [];
  for (const s of scripts) {
    md.push('', `## bench/${s.script}`, '', `Ran ${s.started} to ${s.finished}; load average before ${loadText(s.load?.before)}, after ${loadText(s.load?.after)}${busy(s.load?.before)}.`);
    for (const w of s.workloads) {
      md.push('', `### ${w.id}`, '', `**${w.title}**`, '');
      if (w.target) md.push(`Target: ${w.target}.`, '');
      const check = goalCheck(w);
      if (check) md.push(`Target check: ${check}.`, '');
      if (w.note) md.push(`${w.note}.`, '');
      if (w.rows.length === 0) {
        md.push('_No figures (this workload did not run)._');
        continue;
      }
      const file = `${w.id.replace(/[^A-Za-z0-9._-]/g, '_')}.svg`;
      writeFileSync(join(chartDir, file), await renderSvg(chartSpec(w)));
      written.push(file);
      md.push(`![${cell(w.title)}](charts/${file})`, '', table(w));
    }
  }
  if (scripts.length === 0) md.push('', '_No rows files found: run `npm run bench`._');
  writeFileSync(join(outDir, 'index.md'), `${md.join('\n')}\n`);
  return { index: join(outDir, 'index.md'), charts: written };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? resolve(process.argv[i + 1]) : dflt;
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  const out = await generate(arg('--data', join(here, 'report', 'data')), arg('--out', join(here, 'report')));
  console.log(`report: ${out.index} (${out.charts.length} charts)`);
}
