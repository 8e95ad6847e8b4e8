// Helpers: cpuCount(), currentProcess() and activeChildren(), checked in the main thread and in real workers.
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Pool, Process, activeChildren, cpuCount, currentProcess, isMainThread, task } from '../lib/index.js';
import { fixture, runtimes } from './helpers/runtimes.js';
import { Gate } from './fixtures/executor-gate.js';

const tasks = fixture('executor-tasks.ts');
const reportIdentity = task(tasks, 'reportIdentity');
const gated = task(tasks, 'gated');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-helpers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('cpuCount() is the parallelism this process may use', () => {
  expect(cpuCount()).toBe(availableParallelism());
  expect(Number.isInteger(cpuCount()) && cpuCount() >= 1).toBe(true);
});

test('currentProcess() in the main thread is MainProcess', () => {
  expect(currentProcess()).toEqual({ name: 'MainProcess', pid: process.pid, threadId: 0, isMainThread: true });
  expect(isMainThread).toBe(true);
});

describe.each(runtimes)('inside a %s worker', (runtime) => {
  test('a Pool worker knows its name, its pid or thread id, and that it is not the main thread', async () => {
    const pool = new Pool({ processes: 1, runtime });
    try {
      const file = join(dir, `pool-${runtime}.json`);
      await pool.apply(reportIdentity, [file]);
      const me = JSON.parse(readFileSync(file, 'utf8'));
      expect(me.name).toMatch(/^PoolWorker-\d+$/);
      expect(me.isMainThread).toBe(false);
      expect(me.libMain).toBe(false);
      if (runtime === 'thread') {
        expect(me.pid).toBe(process.pid);
        expect(me.threadId).toBeGreaterThan(0);
      } else {
        expect(me.pid).not.toBe(process.pid);
        expect(me.pid).toBe(pool.workerIds[0]);
        expect(me.threadId).toBe(0);
      }
    } finally {
      await pool.terminate();
    }
  });

  test('a Process target sees the Process name', async () => {
    const file = join(dir, `process-${runtime}.json`);
    const p = new Process({ target: reportIdentity, args: [file], name: `reporter-${runtime}`, runtime });
    p.start();
    await p.join();
    expect(p.exitCode).toBe(0);
    const me = JSON.parse(readFileSync(file, 'utf8'));
    expect(me.name).toBe(`reporter-${runtime}`);
    expect(me.isMainThread).toBe(false);
  });

  test('activeChildren() lists started Processes until they exit', async () => {
    const gate = await Gate.open();
    try {
      const p = new Process({ target: gated, args: [gate.port, 'child', null], runtime });
      expect(activeChildren()).not.toContain(p);
      p.start();
      expect(activeChildren()).toContain(p);
      await gate.arrived('child');
      expect(activeChildren()).toContain(p);
      expect(p.isAlive()).toBe(true);
      gate.release('child');
      await p.join();
      expect(p.exitCode).toBe(0);
      expect(activeChildren()).not.toContain(p);
    } finally {
      await gate.close();
    }
  });
});
