// Output piped to a reader that closes early (`node prog.js | head -1`) with a Pool open: the program
// ends quietly with code 0, as a plain Node program does, instead of dying of an unhandled EPIPE.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runtimes } from './helpers/runtimes.js';

const program = fileURLToPath(new URL('./fixtures/epipe-program.ts', import.meta.url));

describe.each(runtimes)('stdout piped to a reader that closes early (%s workers)', (runtime) => {
  test('no EPIPE crash: exit code 0, nothing about EPIPE on stderr', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', program, runtime], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // the reader: takes the first line, then closes its end (as `head -1` does)
    let firstLine = '';
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        firstLine += s;
        if (firstLine.includes('\n')) {
          child.stdout.destroy();
          resolve();
        }
      });
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(firstLine.split('\n')[0]).toBe('first line');
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(stderr).toContain('done 0');
    expect(signal).toBeNull();
    expect(code).toBe(0);
  }, 90_000);
});
