// Callbacks (Future done callbacks, Pool callback/errorCallback): a failing one, sync or async, is
// reported as Python reports it and the program goes on; a done future is readable without await.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Future, InvalidStateError, CancelledError, ThreadPoolExecutor, ProcessPoolExecutor, type Runtime,
} from '../lib/index.js';
import { runtimes } from './helpers/runtimes.js';

const program = fileURLToPath(new URL('./fixtures/callback-program.ts', import.meta.url));

describe.each(runtimes)('a program whose callbacks fail (%s workers)', (runtime: Runtime) => {
  let res: ReturnType<typeof spawnSync>;
  beforeAll(() => {
    res = spawnSync(process.execPath, ['--import', 'tsx', program, runtime], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' },
    });
  });

  test('runs to the end (no unhandled rejection) and exits 0', () => {
    if (res.status !== 0) console.log(`stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    expect(res.signal).toBeNull();
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('still running');
    expect(res.stderr).not.toMatch(/Unhandled|unhandledRejection/i);
  });

  test("a done callback reads the result without await (the seeds' print(res.result()))", () => {
    expect(res.stdout).toContain('result 42');
    expect(res.stdout).toContain('third callback ran, exception null');
  });

  test('each failure is reported as Python does: "exception calling callback for <Future ...>" and the traceback', () => {
    const stderr = String(res.stderr);
    const headline = /exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned number>\n/g;
    expect(stderr.match(headline)).toHaveLength(2);
    expect(stderr).toMatch(/exception calling callback for <Future[^\n]*>\nError: async done callback failed\n\s+at /);
    expect(stderr).toMatch(/exception calling callback for <Future[^\n]*>\nError: sync done callback failed\n\s+at /);
    expect(stderr).toMatch(/exception calling callback[^\n]*\nError: pool callback failed on 2\n\s+at /);
    expect(stderr).toMatch(/exception calling [^\n]*\nError: pool errorCallback failed on task failed\n\s+at /);
    expect(res.stdout).toContain('get 2');
  });
});

describe('Future.resultNow / exceptionNow', () => {
  test('read a done future at once; throw InvalidStateError while it is not done', () => {
    const f = new Future<number>();
    expect(() => f.resultNow()).toThrow(InvalidStateError);
    expect(() => f.resultNow()).toThrow(/not done|needs a done future/);
    expect(() => f.exceptionNow()).toThrow(InvalidStateError);
    f.setResult(5);
    expect(f.resultNow()).toBe(5);
    expect(f.exceptionNow()).toBeNull();
  });

  test('a failed future throws its error from resultNow and gives it from exceptionNow', () => {
    const f = new Future<number>();
    const err = new RangeError('bad');
    f.setException(err);
    expect(() => f.resultNow()).toThrow(err);
    expect(f.exceptionNow()).toBe(err);
  });

  test('a cancelled future throws CancelledError from both', () => {
    const f = new Future<number>();
    f.cancel();
    expect(() => f.resultNow()).toThrow(CancelledError);
    expect(() => f.exceptionNow()).toThrow(CancelledError);
  });

  test('callbacks after a failing one still run, in order, and see the value', () => {
    const f = new Future<string>();
    const seen: string[] = [];
    const write = process.stderr.write;
    let reported = '';
    process.stderr.write = ((chunk: string) => {
      reported += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      f.addDoneCallback(() => { throw new Error('first fails'); });
      f.addDoneCallback((g) => seen.push(g.resultNow()));
      f.setResult('v');
      f.addDoneCallback((g) => seen.push(`late ${g.resultNow()}`)); // already done: runs at once
    } finally {
      process.stderr.write = write;
    }
    expect(seen).toEqual(['v', 'late v']);
    expect(reported).toMatch(/^exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned string>\nError: first fails/);
  });
});

describe.each(runtimes)('done callbacks of executor futures (%s workers)', (runtime: Runtime) => {
  test('a callback reads the result and the error synchronously', async () => {
    const executor = runtime === 'thread' ? new ThreadPoolExecutor(2) : new ProcessPoolExecutor(2);
    try {
      const results: unknown[] = [];
      const ok = executor.submit((x: number) => x * x, 7);
      const bad = executor.submit(() => { throw new TypeError('nope'); });
      const both = new Promise<void>((resolve) => {
        let n = 0;
        const done = () => (++n === 2 ? resolve() : undefined);
        ok.addDoneCallback((f) => { results.push(f.resultNow()); done(); });
        bad.addDoneCallback((f) => { results.push((f.exceptionNow() as Error).message); done(); });
      });
      await both;
      expect(results.sort()).toEqual([49, 'nope'].sort());
    } finally {
      await executor.shutdown();
    }
  });
});
