// The example programs of Python's multiprocessing docs, ported to multiproc/python as a newcomer would
// (__tests__/fixtures/python-docs/), run as a user runs them — `node --import tsx file.ts`, against the
// built package — and checked by what they print. Each must also exit by itself.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./fixtures/python-docs/', import.meta.url));

function run(file: string, extraEnv: Record<string, string> = {}): { stdout: string; stderr: string; ms: number } {
  const t = performance.now();
  const env = { ...process.env, NODE_OPTIONS: '', ...extraEnv };
  const res = spawnSync(process.execPath, ['--import', 'tsx', dir + file], { encoding: 'utf8', env, timeout: 60_000 });
  if (res.status !== 0) console.log(`${file}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  expect(res.signal).toBeNull(); // not killed by the timeout: it exited by itself
  expect(res.status).toBe(0);
  return { stdout: res.stdout, stderr: res.stderr, ms: performance.now() - t };
}

const lines = (s: string) => s.trim().split('\n');

describe('multiprocessing.rst examples', () => {
  test('pool-map.ts: with Pool(5) as p: print(p.map(f, [1, 2, 3]))', () => {
    expect(run('pool-map.ts').stdout.trim()).toBe('[ 1, 4, 9 ]');
  });

  test('process-info.ts: info() in the parent and in a child process', () => {
    const out = lines(run('process-info.ts').stdout);
    expect(out[0]).toBe('main line');
    const mainPid = Number(out.find((l) => l.startsWith('process id:'))!.split(':')[1]);
    const childLines = out.slice(out.indexOf('function f'));
    expect(Number(childLines.find((l) => l.startsWith('parent process:'))!.split(':')[1])).toBe(mainPid);
    expect(Number(childLines.find((l) => l.startsWith('process id:'))!.split(':')[1])).not.toBe(mainPid);
    expect(out).toContain('hello bob Process-1');
  });

  test.each(['queue.ts', 'pipe.ts'])('%s: a child sends [42, None, "hello"]', (file) => {
    expect(run(file).stdout.trim()).toBe("[ 42, null, 'hello' ]");
  });

  test('lock.ts: ten processes print under one Lock, whole lines', () => {
    const out = lines(run('lock.ts').stdout).sort();
    expect(out).toEqual(Array.from({ length: 10 }, (_, i) => `hello world ${i}`).sort());
  });

  test('shared-memory.ts: Value and Array changed by a child process', () => {
    const out = run('shared-memory.ts').stdout;
    expect(out.split('\n')[0]).toBe('3.1415927');
    expect(out.replace(/\s+/g, ' ')).toContain('[ 0, -1, -2, -3, -4, -5, -6, -7, -8, -9 ]');
  });

  test('manager.ts: a dict and a list changed by a child through the Manager', () => {
    const out = run('manager.ts').stdout.replace(/\s+/g, ' ');
    expect(out).toContain("{ '1': '1', '2': 2, '0.25': null }"); // Python: {1: '1', '2': 2, 0.25: None}
    expect(out).toContain('[ 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 ]');
  });

  test.each(['pool-tour.ts', 'pool-tour-camel.ts'])('%s: map, imap_unordered, apply_async, get(timeout=1), TimeoutError, the with-block stops a sleeping task', (file) => {
    const { stdout, ms } = run(file);
    const flat = stdout.replace(/\s+/g, ' ');
    expect(flat).toContain('[ 0, 1, 4, 9, 16, 25, 36, 49, 64, 81 ]');
    const out = lines(stdout);
    const afterMap = out.slice(out.findIndex((l) => l.startsWith(']')) + 1);
    expect(afterMap.slice(0, 10).map(Number).sort((a, b) => a - b)).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    expect(afterMap[10]).toBe('400');
    expect(Number(afterMap[11])).toBeGreaterThan(0); // a pid
    expect(out.slice(-3)).toEqual([
      'We lacked patience and got a multiprocessing.TimeoutError',
      'For the moment, the pool remains available for more work',
      'Now the pool is closed and no longer available',
    ]);
    expect(ms).toBeLessThan(10_000); // the 10 s sleep was stopped with the pool, not waited for
  });
});

describe('multiprocessing.rst: managers and programming guidelines', () => {
  test('custom-manager.ts: a class registered from the main module, guarded by isMainThread (no manager per import)', () => {
    const { stdout, ms } = run('custom-manager.ts');
    expect(lines(stdout)).toEqual(['7', '56']);
    expect(ms).toBeLessThan(30_000);
  });

  test('remote-manager.ts: a TCP manager; another process connects by address and authkey and puts', () => {
    expect(lines(run('remote-manager.ts').stdout)).toEqual(['hello']);
  });

  test('join-before-get.ts: join() before get() of a large item does not deadlock (it does in Python)', () => {
    expect(lines(run('join-before-get.ts').stdout)).toEqual(['thread 1000000 0', 'process 1000000 0']);
  });
});

describe('multiprocessing.rst: contexts and start methods', () => {
  test('start-methods.ts: set_start_method("spawn"), get_context("spawn")', () => {
    expect(lines(run('start-methods.ts').stdout)).toEqual(['hello', 'hello', 'spawn spawn']);
  });
});

describe('Doc/includes examples', () => {
  test('workers.ts (mp_workers.py): task and done queues, STOP sentinels', () => {
    const out = lines(run('workers.ts').stdout);
    expect(out[0]).toBe('Unordered results:');
    const results = out.slice(1).map((l) => l.trim());
    expect(results).toHaveLength(30);
    const expected = [
      ...Array.from({ length: 20 }, (_, i) => `mul(${i}, 7) = ${i * 7}`),
      ...Array.from({ length: 10 }, (_, i) => `plus(${i}, 8) = ${i + 8}`),
    ];
    expect(results.map((l) => l.replace(/^Process-\d says that /, '')).sort()).toEqual(expected.sort());
    expect(results.slice(20).every((l) => l.includes('plus('))).toBe(true); // the second batch came after the first
  });

  test('synchronize.ts (mp_synchronize.py): Value, Queue, Condition over a twice-held RLock, Semaphore(3), join(timeout), Event, shared arrays', () => {
    expect(lines(run('synchronize.ts').stdout).filter((l) => !l.startsWith('#'))).toEqual([
      'No more running processes',
      'queue: 31 841',
      'main is waiting',
      'main has woken up',
      'never more than 3 at once: true',
      'joined after some dots',
      'event: all 5 woke',
      'Tests passed',
    ]);
  }, 60_000);

  test('pool-errors-timeouts.ts (mp_pool.py): error handling, get/next with timeout, callbacks, close, terminate', () => {
    const out = run('pool-errors-timeouts.ts').stdout;
    for (const line of [
      'Got ZeroDivisionError as expected from pool.apply()',
      'Got ZeroDivisionError as expected from pool.map()',
      'Got ZeroDivisionError as expected from list(pool.imap())',
      'Got ZeroDivisionError as expected from IMapIterator.next()',
      'callbacks succeeded',
      'close() succeeded',
      'terminate() succeeded',
    ]) expect(out).toContain(line);
    expect(out).toMatch(/Testing ApplyResult\.get\(\) with timeout:\.*\n\t56\n/);
    const next = out.slice(out.indexOf('Testing IMapIterator.next()'));
    expect(next.match(/\n\t\d+/g)!.map((s) => Number(s.trim()))).toEqual(Array.from({ length: 10 }, (_, k) => k * 7));
  });
});

describe('concurrent.futures.rst examples', () => {
  test('futures-primes.ts: ProcessPoolExecutor.map(is_prime, PRIMES)', () => {
    expect(lines(run('futures-primes.ts').stdout)).toEqual([
      '112272535095293 is prime: True',
      '112582705942171 is prime: True',
      '112272535095293 is prime: True',
      '115280095190773 is prime: True',
      '115797848077099 is prime: True',
      '1099726899285419 is prime: False',
    ]);
  });

  test('futures-as-completed.ts: ThreadPoolExecutor, future_to_url, as_completed, an exception per future', () => {
    const out = lines(run('futures-as-completed.ts').stdout);
    expect(out).toHaveLength(5);
    expect(out).toContain('http://www.cnn.com/ page is 32 bytes');
    expect(out).toContain('http://nonexistent-subdomain.python.org/ generated an exception: getaddrinfo ENOTFOUND nonexistent-subdomain.python.org');
  });
});

describe('TestNoForkBomb', () => {
  test.each(['process', 'thread'])('no-guard.ts (%s): a worker importing a main module without the guard cannot start workers', (runtime) => {
    const { stdout, stderr } = run('no-guard.ts', { RUNTIME: runtime });
    expect(stderr).toContain('An attempt has been made to start a new process or pool while this worker is still importing');
    expect(stdout).not.toContain('123');
    expect(stdout.trim()).toBe('exitcode 1');
  });
});

describe('multiprocessing.rst: Listeners and Clients', () => {
  test('listener-client.ts: a Listener with an authkey; a client process receives an object, bytes, and bytes into an array', () => {
    const out = lines(run('listener-client.ts').stdout);
    expect(out[0]).toMatch(/^connection accepted from \[ '127\.0\.0\.1', \d+ \]$/);
    expect(out.slice(1)).toEqual(["[ 2.25, null, 'junk', 'float' ]", 'hello', '8', 'Int32Array(5) [ 42, 1729, 0, 0, 0 ]']);
  });

  test('connection-wait.ts: wait() on four pipes until each reports EOF; every message, each process in order', () => {
    const out = lines(run('connection-wait.ts').stdout);
    expect(out).toHaveLength(40);
    for (let n = 1; n <= 4; n++) {
      expect(out.filter((l) => l.endsWith(`'Process-${n}' ]`))).toEqual(Array.from({ length: 10 }, (_, i) => `[ ${i}, 'Process-${n}' ]`));
    }
  });
});
