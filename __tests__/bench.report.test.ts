// The benchmark report generator draws index.md and one SVG chart per workload from a rows file (a fixture:
// no benchmark runs here).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const generator = fileURLToPath(new URL('../bench/_report.mjs', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/bench-rows/', import.meta.url));

describe('bench report generator', () => {
  let out: string;
  let index: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'multiproc-bench-report-'));
    const env = { ...process.env, NODE_OPTIONS: '' };
    const res = spawnSync(process.execPath, [generator, '--data', fixtures, '--out', out], { encoding: 'utf8', env, timeout: 60_000 });
    if (res.status !== 0) console.log(`stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    expect(res.status).toBe(0);
    index = readFileSync(join(out, 'index.md'), 'utf8');
  }, 70_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('writes one SVG chart per workload that has figures, and none for one without', () => {
    expect(readdirSync(join(out, 'charts')).sort()).toEqual(['floor.only.svg', 'pool.map.thread.svg', 'pool.start.thread.svg']);
    for (const file of readdirSync(join(out, 'charts'))) {
      const svg = readFileSync(join(out, 'charts', file), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('</svg>');
    }
    expect(index).toContain('_No figures (this workload did not run)._');
  });

  test('the chart names every compared system and the multiproc forms', () => {
    const svg = readFileSync(join(out, 'charts', 'pool.map.thread.svg'), 'utf8');
    for (const name of ['python Pool(2).map', 'piscina (threads)', 'workerpool (thread)', 'multiproc [fn]', 'multiproc [task()]']) {
      expect(svg).toContain(name.replace(/&/g, '&amp;'));
    }
    // the speed-up labels: 6M / 2M = 3.00 and 3M / 2M = 1.50 over Python
    expect(svg).toContain('>3.00<');
    expect(svg).toContain('>1.50<');
  });

  test('the table under each chart gives speed-ups, inverted for times (lower is better)', () => {
    expect(index).toContain('![Pool.map fixture, thread workers](charts/pool.map.thread.svg)');
    expect(index).toMatch(/\| python Pool\(2\)\.map \| python \| 2\.00M \| 3\.00x \| 1\.50x \| fixture \|/);
    expect(index).toMatch(/\| tinypool \(worker_threads\) \| tinypool \| 40\.0 \| 2\.00x \| fixture \|/);
  });

  test('a goal given as figures is checked for each multiproc form', () => {
    expect(index).toContain('multiproc [fn] 3.00x over python Pool(2).map (wanted >= 3.00x): met');
    expect(index).toContain('multiproc [task()] 1.50x over python Pool(2).map (wanted >= 3.00x): **not met**');
    expect(index).toContain('multiproc [fn] 2.00x over tinypool (worker_threads) (wanted >= 0.91x): met');
  });

  test('the header has the machine, load averages and versions; the checklist marks what is missing', () => {
    expect(index).toMatch(/- CPU: .+, \d+ cores; memory [\d.]+ GiB/);
    expect(index).toContain('load average before 0.20 / 0.30 / 0.40');
    expect(index).toMatch(/- Versions: node v\d+[^\n]*tinypool [\d.]+, piscina [\d.]+, workerpool [\d.]+/);
    expect(index).toContain('[yes](#poolmapthread)');
    expect(index).toMatch(/`move\.f64` \| bench\/move\.mjs \| \*\*not measured\*\*/);
    expect(existsSync(join(out, 'index.md'))).toBe(true);
  });
});
