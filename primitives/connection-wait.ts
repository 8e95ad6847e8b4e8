/** Python's `multiprocessing.connection.wait()`: which of some Connections and Process sentinels are ready. */
import type * as Net from 'node:net';
import type { Socket } from 'node:net';
import { builtin } from '../lib/base/builtin.js';
import { KeepAlive } from '../lib/base/keep-alive.js';
import { normalizeTimeout, setLongTimeout, type LongTimer, type Timeout } from '../lib/base/timeout.js';
import { isWaitable, READY, type Readiness, type ReadyWatch } from './channel/ready.js';

const pending = new KeepAlive();

/**
 * Python's `multiprocessing.connection.wait(object_list, timeout=None)`: resolves with the objects of
 * `objectList` that are ready, in their order — a {@link Connection} with a message to read or whose
 * other end is closed (recv() would not wait: it returns or throws EOFError), a {@link Process}'s
 * `sentinel` (or the Process itself) once the process has ended, a `net.Socket` read with `read()` once
 * data is buffered or the peer ended it. Waits until at least one is ready,
 * at most `timeout` ms (undefined/null: forever); resolves `[]` when the time is up. Consumes nothing,
 * and keeps the program alive while it waits, never after.
 * @throws TypeError for an object it cannot wait on; ConnectionClosedError for a closed Connection.
 */
export async function wait<T>(objectList: Iterable<T>, timeout?: Timeout): Promise<T[]> {
  if (objectList === null || typeof (objectList as any)?.[Symbol.iterator] !== 'function') {
    throw new TypeError('wait() takes an iterable of Connections and Process sentinels');
  }
  const objects = [...objectList];
  const ms = normalizeTimeout(timeout);
  const readiness: Readiness[] = objects.map((obj, i) => {
    if (isWaitable(obj)) return obj[READY]();
    if (isSocket(obj)) return socketReadiness(obj);
    throw new TypeError(`wait(): object_list[${i}] is not a Connection, a socket or a Process sentinel (got ${obj === null ? 'null' : typeof obj})`);
  });
  const readyNow = async (): Promise<T[]> => {
    const flags = await Promise.all(readiness.map((r) => r.now()));
    return objects.filter((_, i) => flags[i]);
  };
  let ready = await readyNow();
  if (ready.length > 0 || ms === 0) return ready;
  const watches: ReadyWatch[] = [];
  let timer: LongTimer | undefined;
  pending.hold();
  try {
    const deadline = ms === undefined ? Infinity : performance.now() + ms;
    while (ready.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) return [];
      await new Promise<void>((resolve) => {
        for (const r of readiness) {
          const w = r.watch();
          watches.push(w);
          w.ready.then(() => resolve(), () => resolve());
        }
        if (deadline !== Infinity) timer = setLongTimeout(resolve, left, false);
      });
      await callOff(watches.splice(0));
      timer?.clear();
      ready = await readyNow();
    }
    return ready;
  } finally {
    timer?.clear();
    await callOff(watches);
    pending.release();
  }
}

function isSocket(obj: unknown): obj is Socket {
  return typeof obj === 'object' && obj !== null && obj instanceof builtin<typeof Net>('node:net').Socket;
}

/**
 * A net.Socket read with `read()` (paused mode), as Python's wait() takes a socket: ready when data is
 * buffered or the peer has ended it. Watching attaches a 'readable' listener (which reads from the
 * kernel into the socket's buffer, consuming nothing of it), removed again when the wait ends.
 */
function socketReadiness(s: Socket): Readiness {
  const now = () => s.readableLength > 0 || s.destroyed || s.readableEnded || (s as any)._readableState?.ended === true;
  return {
    now,
    watch: () => {
      let wake!: () => void;
      const ready = new Promise<void>((resolve) => (wake = resolve));
      const events = ['readable', 'end', 'close', 'error'] as const;
      for (const e of events) s.on(e, wake);
      const off = () => {
        for (const e of events) s.off(e, wake);
        wake();
      };
      ready.then(off, off);
      if (now()) wake();
      return { ready, cancel: off };
    },
  };
}

/** Cancels the watches, and waits for those that need a moment to end (so none outlives the wait()). */
async function callOff(watches: ReadyWatch[]): Promise<void> {
  const ending = watches.map((w) => w.cancel()).filter((p): p is Promise<unknown> => p instanceof Promise);
  if (ending.length > 0) await Promise.all(ending.map((p) => p.catch(() => {})));
}
