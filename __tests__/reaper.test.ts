// The reaper (lib/base/reaper.ts): children it holds die when their parent is killed; a child it was told
// to forget is left alone.
import { alive, runProgram } from './helpers/programs.js';

test('a killed parent takes the children the reaper holds with it, not the ones it forgot', async () => {
  const res = runProgram(`
    import { spawn } from 'node:child_process';
    import { forgetChild, reapWithParent } from ${JSON.stringify(new URL('../lib/base/reaper.ts', import.meta.url).href)};
    const sleeper = () => { const c = spawn('sleep', ['60'], { stdio: 'ignore', detached: true }); c.unref(); return c.pid; };
    const [a, b, c] = [sleeper(), sleeper(), sleeper()];
    for (const pid of [a, b, c]) reapWithParent(pid);
    forgetChild(b); // the middle one: the reaper's list is edited, not cut short
    console.log(JSON.stringify({ a, b, c }));
    process.kill(process.pid, 'SIGKILL');
  `, { timeout: 30_000 });
  expect(res.signal).toBe('SIGKILL');
  const { a, b, c } = JSON.parse(res.stdout.trim());
  try {
    const deadline = Date.now() + 20_000;
    while ((alive(a) || alive(c)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(a)).toBe(false);
    expect(alive(c)).toBe(false);
    expect(alive(b)).toBe(true);
  } finally {
    for (const pid of [a, b, c]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}, 40_000);
