/**
 * The two hooks through which upper layers of primitives/ plug into primitives/kernel/ (which may not
 * import them): the blocking sleep a thread with lanes installs (kernel/wait.ts), and the core class
 * registry that reduction uses to rebuild a core by name (kernel/core.ts).
 */
import { runSync, setBlockingSleep, sleep, type WaitLoop } from '../primitives/kernel/wait.js';
import { coreClassNamed } from '../primitives/kernel/core.js';
import { coreData, openCore } from '../primitives/transport/reduction.js';
import { LockCore, LockCoreShape, type LockCoreApi } from '../primitives/sync/lock-core.js';
import { SerializationError } from '../lib/base/errors.js';

/** A loop that sleeps once on `arr[0] === 0` (at most `ms`) and returns how often it was resumed. */
function sleepOnce(arr: Int32Array, ms: number): WaitLoop<number> {
  return (function* () {
    yield sleep(null, arr, 0, 0, ms);
    return 1;
  })();
}

describe('kernel/wait.ts blocking sleep hook', () => {
  afterEach(() => setBlockingSleep(null));

  test('a blocking wait goes through the installed sleep, with the wait it must do', () => {
    const arr = new Int32Array(new SharedArrayBuffer(4));
    const calls: unknown[][] = [];
    setBlockingSleep((a, index, value, ms) => {
      calls.push([a === arr, index, value, ms]);
      return true; // it did the sleeping itself (here: none, the loop just resumes)
    });
    expect(runSync(sleepOnce(arr, 5))).toBe(1);
    expect(calls).toEqual([[true, 0, 0, 5]]);
  });

  test('a sleep that has nothing to serve (returns false) falls back to the plain wait, which times out', () => {
    const arr = new Int32Array(new SharedArrayBuffer(4));
    let asked = 0;
    setBlockingSleep(() => {
      asked++;
      return false;
    });
    const started = performance.now();
    expect(runSync(sleepOnce(arr, 20))).toBe(1);
    expect(asked).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15); // Atomics.wait really slept
  });

  test('the transport installs one when it loads; with no lanes open it leaves the plain wait', async () => {
    await import('../primitives/transport/lane-socket.js');
    const arr = new Int32Array(new SharedArrayBuffer(4));
    const started = performance.now();
    expect(runSync(sleepOnce(arr, 20))).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});

describe('kernel/core.ts core class registry', () => {
  test('a core module registers its class with its own URL', () => {
    const entry = coreClassNamed('LockCore');
    expect(entry?.Core).toBe(LockCore);
    expect(entry?.module).toMatch(/\/primitives\/sync\/lock-core\.(ts|js)$/);
  });

  test('a thread rebuilds a core by class name over the same shared memory', () => {
    const lock = new LockCore();
    const data = coreData(lock, LockCoreShape, 'thread');
    expect(data).toEqual({ core: 'LockCore', memory: lock.memory });
    const twin = openCore<LockCoreApi>(data, LockCoreShape) as LockCoreApi;
    expect(twin).toBeInstanceOf(LockCore);
    expect(lock.acquireSync(true, undefined, '1:1')).toBe(true);
    expect(twin.locked()).toBe(true);
  });

  test('an unknown core name is refused with its name', () => {
    expect(() => openCore({ core: 'NoSuchCore', memory: null }, LockCoreShape)).toThrow(/unknown core NoSuchCore/);
    expect(() => openCore({ core: 'constructor', memory: null }, LockCoreShape)).toThrow(/unknown core constructor/);
  });

  test('a core class nobody registered cannot be sent to a process worker (SerializationError, no broker started)', () => {
    class StrayCore {
      readonly memory = new SharedArrayBuffer(4);
    }
    expect(() => coreData(new StrayCore(), { kind: 'Stray', waiting: [], immediate: [] }, 'process')).toThrow(SerializationError);
    expect(() => coreData(new StrayCore(), { kind: 'Stray', waiting: [], immediate: [] }, 'process')).toThrow(/StrayCore is not a registered core class/);
  });
});
