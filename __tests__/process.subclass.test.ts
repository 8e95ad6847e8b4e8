// Python's "extend the Process class": a subclass overrides run(); start() runs the override in the worker
// on a copy of the instance's own properties, primitives among them crossing as primitives.
import { Process, Queue, SerializationError, Value, task } from '../lib/index.js';
import * as py from '../lib/python.js';
import { fixture, runtimes } from './helpers/runtimes.js';

describe.each(runtimes)('a Process subclass that overrides run() (%s)', (runtime) => {
  test('run() runs in the worker with the own properties; a shared Value changes for the parent, a copied field does not', async () => {
    class Counter extends Process {
      data = new Value('i', 0);
      tag = 'parent';
      out = new Queue<unknown>();
      get label(): string {
        return `${this.name}:${this.tag}`;
      }
      double(x: number): number {
        return x * 2;
      }
      override run(): void {
        this.data.value = this.double(21);
        this.out.putSync([this.label, typeof this.pid, this.pid !== null]);
        this.tag = 'child';
      }
    }
    const p = new Counter({ runtime, name: 'counter' });
    p.start();
    expect(await p.out.get(true, 20_000)).toEqual(['counter:parent', 'number', true]);
    await p.join();
    expect(p.exitCode).toBe(0);
    expect(p.data.value).toBe(42); // shared, as Python's Value in a subclass's __init__
    expect(p.tag).toBe('parent'); // a copy went to the worker, as Python's spawn pickles the object
  }, 30_000);

  test('super.run() reaches the level below; a throwing run() gives exitCode 1', async () => {
    class Base extends Process {
      out = new Queue<string>();
      override run(): void {
        this.out.putSync('base');
      }
    }
    class Derived extends Base {
      override run(): void {
        super.run();
        this.out.putSync('derived');
      }
    }
    const p = new Derived({ runtime });
    p.start();
    await p.join();
    expect([await p.out.get(), await p.out.get()]).toEqual(['base', 'derived']);
    expect(p.exitCode).toBe(0);

    class Failing extends Process {
      override run(): never {
        throw new Error('boom in run');
      }
    }
    const f = new Failing({ runtime });
    f.start();
    await f.join();
    expect(f.exitCode).toBe(1);
  }, 30_000);

  test('what cannot travel fails start() at once, named, and leaves nothing running', () => {
    class WithCallback extends Process {
      cb = () => 1;
      override run(): void {}
    }
    const a = new WithCallback({ runtime });
    const err: any = (() => { try { a.start(); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.message).toMatch(/this\.cb: function cb/);
    expect(a.isAlive()).toBe(false);

    class WithPrivate extends Process {
      #secret = 1;
      override run(): void {
        console.log(this.#secret);
      }
    }
    expect(() => new WithPrivate({ runtime }).start()).toThrow(/WithPrivate's methods cannot be sent to the worker.*#name/);
  });

  test("multiproc/python: `constructor(n) { super(); }`, as Python's Process.__init__(self)", async () => {
    class Worker extends py.Process {
      out = new Queue<number>();
      constructor(public n: number) {
        super(null, null, null, null, null, { runtime });
      }
      override run(): void {
        this.out.putSync(this.n * 10);
      }
    }
    const w = new Worker(4);
    w.start();
    await w.join();
    expect(await w.out.get()).toBe(40);
    expect(w.exitcode).toBe(0);
  }, 30_000);
});

test('run() of a Process itself calls its target in the calling thread, as Python does', async () => {
  const seen: number[] = [];
  expect(new Process({ target: (a: number, b: number) => { seen.push(a + b); return a * b; }, args: [2, 3] }).run()).toBe(6);
  expect(seen).toEqual([5]);
  expect(await new Process({ target: task(fixture('process-tasks.ts'), 'double'), args: [21] }).run()).toBe(42);
});

test('a Process without a target throws unless a subclass overrides run()', () => {
  expect(() => new Process()).toThrow(/with a target \(or subclass Process and override run\(\)\)/);
  class NoRun extends Process {}
  expect(() => new NoRun()).toThrow(TypeError);
});

test('run written as a class field (run = () => ...) is refused with a TypeError saying to write a method', () => {
  class Arrow extends Process {
    run = () => 1;
  }
  expect(() => new Arrow()).toThrow(/Arrow\.run is a class field .*write `run\(\) \{ \.\.\. \}`/);
  class PyArrow extends py.Process {
    run = () => 1;
  }
  expect(() => new PyArrow()).toThrow(/PyArrow\.run is a class field/);
  // with a target too, the field would silently lose to the target: refused at start(), before anything runs
  class WithTarget extends Process {
    run = () => 1;
    constructor() {
      super({ target: () => 2 });
    }
  }
  const p = new WithTarget();
  expect(() => p.start()).toThrow(/WithTarget\.run is a class field/);
  expect(p.pid).toBeNull(); // never started
});

test("default names count every Process made, named or not, after the class's name (Python's _process_counter)", () => {
  const a = new Process({ target: () => 0 });
  new Process({ target: () => 0, name: 'named' });
  const b = new py.Process(null, () => 0);
  const na = Number(a.name.split('-')[1]);
  expect(a.name).toMatch(/^Process-\d+$/);
  expect(b.name).toBe(`Process-${na + 2}`); // the named one took a number too
  class Worker extends py.Process {
    run() {}
  }
  expect(new Worker().name).toBe(`Worker-${na + 3}`); // Python: type(self).__name__ + '-N'
});

test("a Process prints as Python's repr, in String() and in console.log (PyMOTW's terminate example prints it)", async () => {
  const { inspect } = await import('node:util');
  const p = new Process({ target: () => new Promise(() => {}), name: 'slow' });
  expect(String(p)).toBe(`<Process name='slow' parent=${process.pid} initial>`);
  p.start();
  expect(inspect(p)).toMatch(new RegExp(`^<Process name='slow' pid=\\d+ parent=${process.pid} started>$`));
  p.terminate();
  await p.join();
  expect(inspect(p)).toMatch(/ stopped exitcode=-SIGTERM>$/);
  class Worker extends py.Process {
    run() {}
  }
  expect(String(new Worker({ daemon: true }))).toMatch(/^<Worker name='Worker-\d+' parent=\d+ initial daemon>$/);
});
