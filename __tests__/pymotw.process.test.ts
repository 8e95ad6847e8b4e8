// The programs of PyMOTW-3's multiprocessing article (its Process programs, and its Queue and Lock ones), ported to multiproc/python as a
// newcomer would (__tests__/fixtures/pymotw/, whose README says what a port had to change and why), run as
// a user runs them — `node --import tsx file.ts`, against the built package — and checked by what they
// print. Each must exit by itself. They mostly sleep, so a few run at once and each test awaits its own.
// Output of different workers reaches the parent's stdout on separate channels, so tests do not rely on
// the order of lines printed by different workers (see the README).
import { pymotwPrograms } from './helpers/pymotw.js';

const { output, run } = pymotwPrograms(['names', 'daemon_join', 'daemon_join_timeout', 'daemon', 'simple', 'simpleargs', 'import_main', 'terminate', 'exitcode', 'subclass', 'queue', 'lock', 'get_logger', 'namespaces_mutable'] as const);

const sorted = (xs: string[]) => [...xs].sort();

describe('PyMOTW-3 multiprocessing: Process', () => {
  test.each(['simple', 'import_main'] as const)('multiprocessing_%s: five workers print', async (name) => {
    expect(await output(name)).toEqual(Array(5).fill('Worker'));
  });

  test('multiprocessing_simpleargs: Process(target=worker, args=(i,))', async () => {
    expect(sorted(await output('simpleargs'))).toEqual([0, 1, 2, 3, 4].map((i) => `Worker: ${i}`));
  });

  test('multiprocessing_names: a named and a default-named Process (Process-3: the named ones count too)', async () => {
    const out = await output('names');
    expect(sorted(out)).toEqual(sorted(['worker 1', 'Process-3', 'my_service'].flatMap((n) => [`${n} Starting`, `${n} Exiting`])));
  });

  test('multiprocessing_daemon: the program ends with its non-daemon child; the daemon does not keep it alive', async () => {
    const out = (await output('daemon')).map((l) => l.replace(/ \d+$/, ''));
    // Python ends the daemon when the main module ends (1 s in); here it ends with the parent, after the
    // non-daemon child: on a loaded machine that can be after its 2 s sleep (a documented difference)
    expect(sorted(out.filter((l) => l !== 'Exiting : daemon'))).toEqual(sorted(['Starting: daemon', 'Starting: non-daemon', 'Exiting : non-daemon']));
  });

  test('multiprocessing_daemon_join: joined, the daemon finishes', async () => {
    expect(sorted((await output('daemon_join')).map((l) => l.replace(/ \d+$/, '')))).toEqual(sorted([
      'Starting: daemon', 'Starting: non-daemon', 'Exiting : non-daemon', 'Exiting : daemon',
    ]));
  });

  test('multiprocessing_daemon_join_timeout: join(1000) returns with the daemon alive', async () => {
    const out = (await output('daemon_join_timeout')).map((l) => l.replace(/ \d+$/, ''));
    expect(sorted(out)).toEqual(sorted(['Starting: daemon', 'Starting: non-daemon', 'Exiting : non-daemon', 'd.is_alive() true']));
  });

  test("multiprocessing_terminate: console.log(p) prints Python's repr through each state", async () => {
    const out = await output('terminate');
    expect(out[0]).toMatch(/^BEFORE: <Process name='Process-1' parent=\d+ initial> false$/);
    expect(out[1]).toMatch(/^DURING: <Process name='Process-1' pid=\d+ parent=\d+ started> true$/);
    expect(out[2]).toMatch(/^TERMINATED: <Process name='Process-1' pid=\d+ parent=\d+ started> true$/);
    expect(out[3]).toMatch(/^JOINED: <Process name='Process-1' pid=\d+ parent=\d+ stopped exitcode=-SIGTERM> false$/);
  });

  test('multiprocessing_exitcode: exit(1), return, a value, a raise, terminate()', async () => {
    const { err } = await run('exitcode');
    const out = await output('exitcode');
    expect(out.slice(-5)).toEqual([
      '     exit_error.exitcode = 1', '        exit_ok.exitcode = 0', '   return_value.exitcode = 0',
      '         raises.exitcode = 1', '     terminated.exitcode = -15',
    ]);
    expect(err).toContain('Process raises:\nError: There was an error!');
  });

  test('multiprocessing_subclass: class Worker extends Process { run() }, named Worker-N', async () => {
    expect(sorted(await output('subclass'))).toEqual([1, 2, 3, 4, 5].map((i) => `In Worker-${i}`));
  });
});

describe('PyMOTW-3 multiprocessing: a Queue and a Lock between processes', () => {
  test('multiprocessing_queue: an object through a Queue, its class given back in the worker', async () => {
    expect(await output('queue')).toEqual(['Doing something fancy in Process-1 for Fancy Dan!']);
  });

  test('multiprocessing_lock: with lock / acquire-release', async () => {
    expect(sorted(await output('lock'))).toEqual(['Lock acquired directly', 'Lock acquired via with']);
  });
});

describe('PyMOTW-3 multiprocessing: logging', () => {
  test('multiprocessing_get_logger: log_to_stderr(), get_logger().setLevel(logging.INFO) run as written', async () => {
    expect(await output('get_logger')).toEqual(['Doing some work']);
  });
});

describe('PyMOTW-3 multiprocessing: a mutable value in a Namespace', () => {
  test('multiprocessing_namespaces_mutable: appending to a list read from a Namespace does not change it', async () => {
    expect(await output('namespaces_mutable')).toEqual(['Before event: []', 'After event : []']);
  });
});
