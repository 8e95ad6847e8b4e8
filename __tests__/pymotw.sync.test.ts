// The programs of PyMOTW-3's multiprocessing article (its communication, synchronization and Pool programs), ported to multiproc/python as a
// newcomer would (__tests__/fixtures/pymotw/, whose README says what a port had to change and why), run as
// a user runs them — `node --import tsx file.ts`, against the built package — and checked by what they
// print. Each must exit by itself. They mostly sleep, so a few run at once and each test awaits its own.
// Output of different workers reaches the parent's stdout on separate channels, so tests do not rely on
// the order of lines printed by different workers (see the README).
import { pymotwPrograms } from './helpers/pymotw.js';

const { output } = pymotwPrograms(['semaphore', 'event', 'condition', 'pool_maxtasks', 'producer_consumer', 'manager_dict', 'namespaces', 'pool', 'wordcount'] as const);

const sorted = (xs: string[]) => [...xs].sort();

describe('PyMOTW-3 multiprocessing: communication and synchronization', () => {
  test('multiprocessing_producer_consumer: JoinableQueue, Consumer(Process) subclasses, poison pills', async () => {
    const out = await output('producer_consumer');
    expect(out[0]).toMatch(/^Creating (\d+) consumers$/);
    const consumers = Number(out[0].split(' ')[1]);
    const done = out.filter((l) => / \d+ \* \d+$/.test(l)).map((l) => l.split(': ')[1]);
    expect(sorted(done)).toEqual(sorted([...Array(10).keys()].map((i) => `${i} * ${i}`)));
    expect(out.filter((l) => /^Consumer-\d+: Exiting$/.test(l))).toHaveLength(consumers);
    // main prints the results after tasks.join(), in the order the consumers finished them
    expect(sorted(out.filter((l) => l.startsWith('Result: ')))).toEqual(sorted([...Array(10).keys()].map((i) => `Result: ${i} * ${i} = ${i * i}`)));
  });

  test('multiprocessing_event: wait() and wait(timeout)', async () => {
    const out = await output('event');
    expect(sorted(out)).toEqual(sorted([
      'main: waiting before calling Event.set()', 'wait_for_event_timeout: starting', 'wait_for_event: starting',
      'wait_for_event_timeout: e.is_set()-> false', 'main: event is set', 'wait_for_event: e.is_set()-> true',
    ]));
  });

  test('multiprocessing_condition: stage_2 processes wait until stage_1 notifies', async () => {
    const out = await output('condition');
    expect(sorted(out)).toEqual(sorted([
      'Starting stage_2[1]', 'Starting stage_2[2]', 'Starting s1', 's1 done and ready for stage 2',
      'stage_2[1] running', 'stage_2[2] running',
    ]));
  });

  test('multiprocessing_semaphore: Semaphore(3) with a manager list: never more than 3 active', async () => {
    const out = await output('semaphore');
    const activated = out.filter((l) => l.startsWith('Activating '));
    expect(sorted(activated.map((l) => l.split(' ')[1]))).toEqual([...Array(10).keys()].map(String));
    for (const line of out) {
      const names = line.slice(line.indexOf('[')).match(/'\d'/g) ?? [];
      expect(names.length).toBeLessThanOrEqual(3);
    }
    expect(out.at(-1)).toBe('Now running []');
  });

  test('multiprocessing_manager_dict: ten processes set d[i] = i * 2', async () => {
    const flat = (await output('manager_dict')).join(' ').replace(/\s+/g, ' ');
    expect(flat).toBe(`Results: { ${[...Array(10).keys()].map((i) => `'${i}': ${i * 2}`).join(', ')} }`);
  });

  test('multiprocessing_namespaces: a Namespace attribute set by a producer, read after an Event', async () => {
    const out = await output('namespaces');
    expect(out[0]).toMatch(/^Before event(, error: 'Namespace' object has no attribute 'value'|: This is the value)$/);
    expect(out[1]).toBe('After event: This is the value');
  });
});

describe('PyMOTW-3 multiprocessing: Pool and MapReduce', () => {
  test.each(['pool', 'pool_maxtasks'] as const)('multiprocessing_%s: an initializer prints each worker\'s name', async (name) => {
    const flat = (await output(name)).join(' ').replace(/\s+/g, ' ');
    const doubled = [...Array(10).keys()].map((i) => i * 2).join(', ');
    expect(flat).toMatch(new RegExp(`^Input : \\[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 \\] Built-in: \\[ ${doubled} \\] (Starting PoolWorker-\\d+ )+Pool : \\[ ${doubled} \\]$`));
    const starts = flat.match(/Starting PoolWorker-\d+/g)!;
    expect(new Set(starts).size).toBe(starts.length);
    if (name === 'pool_maxtasks') expect(starts.length).toBeGreaterThan(4); // workers are replaced after 2 tasks
  });

  test('multiprocessing_wordcount: SimpleMapReduce over the docs, the top 20 words', async () => {
    const out = await output('wordcount');
    const top = out.slice(out.indexOf('TOP 20 WORDS BY FREQUENCY') + 2);
    expect(top).toHaveLength(20);
    const counts = top.map((l) => Number(l.split(':')[1]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(top.every((l) => /^[a-z]+ *: +\d+$/.test(l))).toBe(true);
    expect(out.some((l) => /^PoolWorker-\d+ reading python-to-typescript\.md$/.test(l))).toBe(true);
  });
});
