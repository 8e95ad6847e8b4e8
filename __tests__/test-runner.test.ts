// `npm test` on a machine without redis-server: the cluster projects are skipped with a banner naming
// the reason and the command that enables them, and the rest still runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

test('without redis-server on PATH, npm test skips the cluster projects loudly and runs the rest', () => {
  const bin = mkdtempSync(join(tmpdir(), 'mp-bare-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const run = spawnSync(process.execPath, ['scripts/test.mjs', '--listTests'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PATH: bin, MULTIPROC_TEST_NO_PROVISION: '1' },
    });
    const out = run.stdout + run.stderr;
    expect(run.status).toBe(0);
    expect(out).toMatch(/SKIPPED TEST PROJECTS/);
    expect(out).toMatch(/cluster: redis-server is not on PATH — enable with: sudo apt-get install -y redis-server/);
    expect(out).toMatch(/netns:/);
    expect(out).toMatch(/pool\.test\.ts/);
    expect(out).not.toMatch(/cluster\.pool\.test\.ts/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
