// Every demo runs to completion in short mode and exits by itself (against the built package: `npm test` builds first).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../demos/', import.meta.url));
const demos = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).sort();

describe('demos (short mode)', () => {
  test.each(demos)('%s runs to completion and exits by itself', (file) => {
    const env = { ...process.env, MULTIPROC_DEMO_SHORT: '1', NODE_OPTIONS: '' };
    const res = spawnSync(process.execPath, ['--import', 'tsx', dir + file], { encoding: 'utf8', env, timeout: 120_000 });
    if (res.status !== 0) console.log(`${file}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    expect(res.signal).toBeNull(); // not killed by the timeout: it exited by itself
    expect(res.status).toBe(0);
    expect(res.stdout.trim().length).toBeGreaterThan(0);
  }, 130_000);
});
