/**
 * A daemon Process (a child process) blocked in a `...Sync` call when the program ends ends with it,
 * silently, as in Python (where the parent terminates its daemonic children at exit). It used to see
 * its connection to the parent drop first and print `Process ...: ConnectionClosedError` most runs.
 */
import { alive, runFile } from './helpers/programs.js';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('./fixtures/daemon-blocked.ts', import.meta.url));


const RUNS = 3;

test(`daemon processes blocked in getSync, acquireSync, waitSync (Event, Condition), recvSync end silently with the program (${RUNS} runs)`, async () => {
  for (let i = 0; i < RUNS; i++) {
    const { code, out, err } = await runFile(program);
    expect(err).toBe('');
    expect(code).toBe(0);
    const pids = JSON.parse(out.trim()) as number[];
    expect(pids).toHaveLength(5);
    // Each daemon closed its copy of the pipes: it is gone (or, briefly, a zombie of the init process).
    for (let t = 0; t < 100 && pids.some(alive); t++) await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(alive)).toEqual([]);
  }
}, 180_000);
