// CPython's Lib/test/_test_multiprocessing.py, _TestProcess and _TestSubclassingProcess (the parts our
// Process has: no fork, no authkey, no sentinel), ported as a newcomer would, on both runtimes.
import { Process, Queue, Event, Pipe, active_children, current_process, cpu_count, SerializationError } from '../lib/python.js';
import { runtimes } from './helpers/runtimes.js';

describe.each(runtimes)('_TestProcess (%s)', (runtime) => {
  test('test_args_argument: args as given', async () => {
    for (const args of [1, 'str', [1], [1, 2]]) {
      const q = new Queue(1);
      const p = new Process({ target: async (q: Queue, arg: unknown) => q.put(arg), args: [q, args], runtime, daemon: true });
      p.start();
      expect(await q.get()).toEqual(args);
      await p.join();
      q.close();
    }
  });

  test('test_daemon_argument', () => {
    const target = () => undefined;
    expect(new Process({ target, runtime }).daemon).toBe(false); // the main process is not a daemon
    expect(new Process({ target, runtime, daemon: true }).daemon).toBe(true);
    expect(new Process({ target, runtime, daemon: false }).daemon).toBe(false);
    expect(new Process(null, target, null, [], {}, { daemon: true, runtime }).daemon).toBe(true);
  });

  test('test_process', async () => {
    const q = new Queue(1);
    const name = 'SomeProcess';
    const p = new Process({
      target: async (q: Queue, ...args: unknown[]) => {
        const { currentProcess } = await import('multiproc');
        await q.put(args);
        await q.put(currentProcess().name);
        await q.put(String(currentProcess()));
        await q.put(process.pid);
      },
      args: [q, 1, 2],
      name,
      runtime,
    });
    p.daemon = true;
    expect(p.is_alive()).toBe(false);
    expect(p.daemon).toBe(true);
    expect(active_children()).not.toContain(p);
    expect(Array.isArray(active_children())).toBe(true);
    expect(p.exitcode).toBeNull();
    p.start();
    expect(p.exitcode).toBeNull();
    expect(p.is_alive()).toBe(true);
    expect(active_children()).toContain(p);
    expect(await q.get()).toEqual([1, 2]);
    expect(await q.get()).toBe(p.name);
    expect(await q.get()).toMatch(/^<Process name='SomeProcess' parent=\d+ started>$/);
    const pid = await q.get();
    if (runtime === 'process') expect(pid).toBe(p.pid);
    await p.join();
    expect(p.exitcode).toBe(0);
    expect(p.is_alive()).toBe(false);
    expect(active_children()).not.toContain(p);
    q.close();
  });

  // _kill_process(meth): a child that set an event and sleeps, stopped by meth
  async function killProcess(meth: 'terminate' | 'kill'): Promise<number | null> {
    const event = new Event();
    const p = new Process({
      target: async (event: Event) => {
        event.set();
        await new Promise((r) => setTimeout(r, 100_000));
      },
      args: [event],
      runtime,
    });
    p.daemon = true;
    p.start();
    expect(p.is_alive()).toBe(true);
    expect(active_children()).toContain(p);
    expect(p.exitcode).toBeNull();
    let t = performance.now();
    expect(await p.join(0)).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(5000); // no wait for the process (which runs until told), whatever the load
    expect(p.is_alive()).toBe(true);
    t = performance.now();
    expect(await p.join(-1)).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(5000); // no wait for the process (which runs until told), whatever the load
    expect(p.is_alive()).toBe(true);
    expect(await event.wait(60_000)).toBe(true);
    p[meth]();
    expect(await p.join()).toBeUndefined();
    expect(p.is_alive()).toBe(false);
    expect(active_children()).not.toContain(p);
    await p.join();
    return p.exitcode;
  }

  test('test_terminate: exitcode is -SIGTERM', async () => {
    expect(await killProcess('terminate')).toBe(-15);
  });

  test('test_kill: exitcode is -SIGKILL', async () => {
    expect(await killProcess('kill')).toBe(-9);
  });

  test('test_active_children', async () => {
    expect(Array.isArray(active_children())).toBe(true);
    const event = new Event();
    const p = new Process({ target: (event: Event) => event.wait(), args: [event], runtime });
    expect(active_children()).not.toContain(p);
    try {
      p.daemon = true;
      p.start();
      expect(active_children()).toContain(p);
    } finally {
      event.set();
    }
    await p.join();
    expect(active_children()).not.toContain(p);
  });

  test('test_recursion: a Process can start Processes', async () => {
    const [rconn, wconn] = Pipe({ duplex: false } as any); // Pipe(duplex=False)
    // a function sent by source may call itself by its own name: the child gets its text again
    // (`lib` is this library's URL: under jest the objects come from its sources, which the children must load too;
    // a program run with tsx or node writes `await import('multiproc')`)
    async function testRecursion(wconn: any, id: number[], runtime: string, lib: string): Promise<number[]> {
      const { Process } = await import(lib);
      wconn.send(id);
      const codes: number[] = [];
      if (id.length < 2) {
        for (let i = 0; i < 2; i++) {
          const p = new Process({ target: testRecursion, args: [wconn, [...id, i], runtime, lib], runtime: runtime as any });
          p.start();
          await p.join();
          codes.push(p.exitCode!);
        }
      }
      return codes;
    }
    expect(await testRecursion(wconn, [], runtime, new URL('../lib/index.ts', import.meta.url).href)).toEqual([0, 0]);
    const result: number[][] = [];
    while (await rconn.poll()) result.push(await rconn.recv());
    expect(result).toEqual([[], [0], [0, 0], [0, 1], [1], [1, 0], [1, 1]]);
  }, 60_000);

  test('test_close: close() refuses a live process; a closed one refuses everything', async () => {
    const q = new Queue();
    const p = new Process({ target: async (q: Queue) => { await q.get(); }, args: [q], runtime, daemon: true });
    p.start();
    expect(p.is_alive()).toBe(true);
    expect(() => p.close()).toThrow(/still running/); // ValueError
    await q.put(null);
    await p.join();
    expect(p.is_alive()).toBe(false);
    expect(p.exitcode).toBe(0);
    p.close();
    expect(() => p.is_alive()).toThrow(/closed/);
    await expect(p.join()).rejects.toThrow(/closed/);
    expect(() => p.terminate()).toThrow(/closed/);
    p.close();
    q.close();
  });

  test('test_sys_exit: the exit code of process.exit(n), and of a throwing target', async () => {
    for (const [code, expected] of [[0, 0], [8, 8], [1, 1]]) {
      const p = new Process({ target: (c: number) => process.exit(c), args: [code], runtime, daemon: true });
      p.start();
      await p.join();
      expect(p.exitcode).toBe(expected);
    }
    const p = new Process({ target: () => { throw new Error('ignore this'); }, runtime, daemon: true });
    p.start();
    await p.join();
    expect(p.exitcode).toBe(1);
  });

  test('an argument that cannot be sent: start() throws SerializationError naming it (Python: PicklingError)', async () => {
    const p = new Process({ target: (o: unknown) => o, args: [{ ok: 1, cb: () => 1 }], runtime });
    expect(() => p.start()).toThrow(SerializationError);
    expect(() => new Process({ target: (o: unknown) => o, args: [() => 1], runtime }).start()).toThrow(/args\[0\]: function/);
    const err = (() => { try { new Process({ target: (o: unknown) => o, args: [{ cb: () => 1 }], runtime }).start(); } catch (e) { return e; } })();
    expect((err as SerializationError).path).toBe('args[0].cb');
  });

  test('_TestSubclassingProcess.test_subclassing: an upper-caser over a Pipe', async () => {
    const [child_conn, parent_conn] = Pipe();
    const upper = new Process({
      target: async (conn: any) => {
        for (;;) {
          const s = await conn.recv();
          if (s === null) break;
          conn.send(s.toUpperCase());
        }
        conn.close();
      },
      args: [child_conn],
      runtime,
      daemon: true,
    });
    upper.start();
    const submit = async (s: string) => {
      parent_conn.send(s);
      return parent_conn.recv();
    };
    expect(await submit('hello')).toBe('HELLO');
    expect(await submit('world')).toBe('WORLD');
    parent_conn.send(null);
    parent_conn.close();
    child_conn.close();
    await upper.join();
    expect(upper.exitcode).toBe(0);
  });
});

describe.each(runtimes)('TestStdinBadfiledescriptor (%s)', (runtime) => {
  test('test_pool_in_process: a Process runs a Pool of its own', async () => {
    const p = new Process({
      target: async () => {
        const { Pool } = await import('multiproc/python');
        const pool = new Pool({ processes: 4 });
        const x = await pool.map((x: number) => x * x, [1, 2, 3, 4, 5, 6, 7]);
        pool.close();
        await pool.join();
        if (x.join() !== '1,4,9,16,25,36,49') process.exit(2);
      },
      runtime,
    });
    p.start();
    await p.join();
    expect(p.exitcode).toBe(0);
  });

  test('test_queue_in_process: a Process starts a Process with a Queue', async () => {
    const p = new Process({
      target: async () => {
        const { Process, Queue, Empty } = await import('multiproc/python');
        const queue = new Queue();
        const sub = new Process({
          target: (q: any) => {
            try {
              q.get_nowait();
            } catch (e: any) {
              if (e.name !== 'Empty') throw e;
            }
          },
          args: [queue],
          daemon: true,
        });
        sub.start();
        await sub.join();
        if (sub.exitcode !== 0 || !Empty) process.exit(3);
      },
      runtime,
    });
    p.start();
    await p.join();
    expect(p.exitcode).toBe(0);
  });
});

describe('_TestProcess (main)', () => {
  test('test_current', () => {
    const current = current_process();
    expect(current.name).toBe('MainProcess');
    expect(current.pid).toBe(process.pid);
    expect(current.isMainThread).toBe(true);
  });

  test("String(current_process()) reads as Python's repr", () => {
    expect(String(current_process())).toBe("<_MainProcess name='MainProcess' parent=None started>");
  });

  test('test_cpu_count', () => {
    const cpus = cpu_count();
    expect(Number.isInteger(cpus)).toBe(true);
    expect(cpus).toBeGreaterThanOrEqual(1);
  });

  test('join / start misuse: join before start, start twice', async () => {
    const p = new Process({ target: () => undefined });
    await expect(p.join()).rejects.toThrow(/can only join a started process/);
    p.start();
    expect(() => p.start()).toThrow(/cannot start a process twice/);
    await p.join();
  });
});
