// Future, wait() and asCompleted() on their own (no workers): Python's test_future / test_wait / test_as_completed semantics.
import { jest } from '@jest/globals';
import { CancelledError, TimeoutError } from '../lib/base/errors.js';
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Future, InvalidStateError, asCompleted, wait } from '../lib/futures.js';

function pending<T = unknown>(): Future<T> {
  return new Future<T>();
}
function running(): Future {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  return f;
}
function succeeded<T>(value: T): Future<T> {
  const f = new Future<T>();
  f.setResult(value);
  return f;
}
function failedWith(err: unknown): Future {
  const f = new Future();
  f.setException(err);
  return f;
}
function cancelled(): Future {
  const f = new Future();
  f.cancel();
  return f;
}
function cancelledAndNotified(): Future {
  const f = cancelled();
  f.setRunningOrNotifyCancel();
  return f;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('Future states', () => {
  test('done / running / cancelled in every state', () => {
    const table: [Future, boolean, boolean, boolean][] = [
      [pending(), false, false, false],
      [running(), false, true, false],
      [cancelled(), true, false, true],
      [cancelledAndNotified(), true, false, true],
      [succeeded(1), true, false, false],
      [failedWith(new Error('x')), true, false, false],
    ];
    for (const [f, done, run, canc] of table) {
      expect([f.done(), f.running(), f.cancelled()]).toEqual([done, run, canc]);
    }
  });

  test('cancel() is true while pending (and again once cancelled), false once running or finished', () => {
    const f = pending();
    expect(f.cancel()).toBe(true);
    expect(f.cancel()).toBe(true);
    expect(running().cancel()).toBe(false);
    expect(succeeded(1).cancel()).toBe(false);
    expect(failedWith(new Error('x')).cancel()).toBe(false);
  });

  test('result() and exception() of a cancelled future reject with CancelledError', async () => {
    await expect(cancelled().result()).rejects.toBeInstanceOf(CancelledError);
    await expect(cancelledAndNotified().exception()).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  });

  test('result() resolves with the value; exception() is null on success and the error on failure', async () => {
    const err = new RangeError('bad');
    expect(await succeeded(42).result()).toBe(42);
    expect(await succeeded(42).exception()).toBeNull();
    await expect(failedWith(err).result()).rejects.toBe(err);
    expect(await failedWith(err).exception()).toBe(err);
  });

  test('result(timeout) and exception(timeout) reject with TimeoutError on a pending future, which stays usable', async () => {
    const f = pending<number>();
    await expect(f.result(10)).rejects.toBeInstanceOf(TimeoutError);
    await expect(f.exception(0)).rejects.toBeInstanceOf(TimeoutError);
    await expect(f.result(-5)).rejects.toBeInstanceOf(TimeoutError);
    const later = f.result();
    f.setResult(7);
    expect(await later).toBe(7);
    expect(await f.result(0)).toBe(7);
  });

  test('a waiting result() wakes when the future is cancelled', async () => {
    const f = pending();
    const r = f.result();
    f.cancel();
    await expect(r).rejects.toBeInstanceOf(CancelledError);
  });

  test('setResult / setException on a done future throw InvalidStateError naming the state', async () => {
    const f = pending<number>();
    f.setResult(1);
    expect(() => f.setResult(2)).toThrow(InvalidStateError);
    expect(() => f.setResult(2)).toThrow(/^FINISHED: <Future at 0x[0-9a-f]+ state=finished returned number>$/);
    expect(() => f.setException(new Error('late'))).toThrow(InvalidStateError);
    expect(await f.result()).toBe(1);
    const c = cancelled();
    expect(() => c.setResult(1)).toThrow(/^CANCELLED: /);
  });

  test('setRunningOrNotifyCancel: true from pending, false from cancelled, throws otherwise', () => {
    const f = pending();
    expect(f.setRunningOrNotifyCancel()).toBe(true);
    expect(f.running()).toBe(true);
    expect(() => f.setRunningOrNotifyCancel()).toThrow(InvalidStateError);
    expect(cancelled().setRunningOrNotifyCancel()).toBe(false);
    expect(() => succeeded(1).setRunningOrNotifyCancel()).toThrow(InvalidStateError);
  });

  test('toString() reads like Python repr', () => {
    expect(String(pending())).toMatch(/^<Future at 0x[0-9a-f]+ state=pending>$/);
    expect(String(running())).toMatch(/state=running>$/);
    expect(String(cancelled())).toMatch(/state=cancelled>$/);
    expect(String(succeeded('s'))).toMatch(/state=finished returned string>$/);
    expect(String(failedWith(new TypeError('t')))).toMatch(/state=finished raised TypeError>$/);
  });
});

describe('Future.addDoneCallback', () => {
  test('callbacks run with the future, in registration order, when it finishes', () => {
    const f = pending<number>();
    const seen: string[] = [];
    f.addDoneCallback((g) => seen.push(`a:${g === f}`));
    f.addDoneCallback(() => seen.push('b'));
    expect(seen).toEqual([]);
    f.setResult(5);
    expect(seen).toEqual(['a:true', 'b']);
  });

  test('a callback added to a done future runs at once', () => {
    let got: Future | null = null;
    const f = succeeded(1);
    f.addDoneCallback((g) => (got = g));
    expect(got).toBe(f);
  });

  test('callbacks run on cancel too, and each runs once', () => {
    const f = pending();
    const cb = jest.fn();
    f.addDoneCallback(cb);
    f.cancel();
    f.cancel();
    expect(cb).toHaveBeenCalledTimes(1);
    expect((cb.mock.calls[0][0] as Future).cancelled()).toBe(true);
  });

  test('a callback that throws is reported on stderr and the next one still runs', () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const f = pending();
      const after = jest.fn();
      f.addDoneCallback(() => {
        throw new Error('callback boom');
      });
      f.addDoneCallback(after);
      f.setResult(1);
      expect(after).toHaveBeenCalledTimes(1);
      succeeded(2).addDoneCallback(() => {
        throw new Error('immediate boom');
      });
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toMatch(/callback boom/);
    expect(writes.join('')).toMatch(/immediate boom/);
  });

  test('a non-function callback is a TypeError', () => {
    expect(() => pending().addDoneCallback(1 as any)).toThrow(TypeError);
  });
});

describe('wait()', () => {
  test('ALL_COMPLETED resolves at once when everything is done; a cancelled future counts once notified', async () => {
    const s = succeeded(1);
    const e = failedWith(new Error('x'));
    const c = cancelledAndNotified();
    const { done, notDone } = await wait([s, e, c]);
    expect(done).toEqual(new Set([s, e, c]));
    expect(notDone.size).toBe(0);
  });

  test('FIRST_COMPLETED returns the already-done ones at once', async () => {
    const p = pending();
    const s = succeeded(1);
    const c = cancelledAndNotified();
    const { done, notDone } = await wait([p, s, c], { returnWhen: FIRST_COMPLETED });
    expect(done).toEqual(new Set([s, c]));
    expect(notDone).toEqual(new Set([p]));
  });

  test('FIRST_COMPLETED waits for the first to finish', async () => {
    const a = pending();
    const b = pending();
    const w = wait([a, b], { returnWhen: FIRST_COMPLETED });
    b.setResult(2);
    a.setResult(1); // too late: wait() settled on b's completion
    const { done, notDone } = await w;
    expect(done).toEqual(new Set([b]));
    expect(notDone).toEqual(new Set([a]));
  });

  test('FIRST_EXCEPTION returns on the first failure, and with everything when nothing fails', async () => {
    const a = pending();
    const b = pending();
    const c = pending();
    const w = wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
    a.setResult(1);
    b.setException(new Error('b failed'));
    const r = await w;
    expect(r.done).toEqual(new Set([a, b]));
    expect(r.notDone).toEqual(new Set([c]));

    const already = await wait([failedWith(new Error('x')), pending()], { returnWhen: FIRST_EXCEPTION });
    expect(already.done.size).toBe(1);

    const x = pending();
    const y = pending();
    const w2 = wait([x, y], { returnWhen: FIRST_EXCEPTION });
    x.setResult(1);
    y.cancel();
    y.setRunningOrNotifyCancel();
    expect((await w2).done).toEqual(new Set([x, y]));
  });

  test('ALL_COMPLETED waits for every future', async () => {
    const a = pending();
    const b = pending();
    const w = wait([a, b], { returnWhen: ALL_COMPLETED });
    a.setException(new Error('a'));
    let settled = false;
    void w.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    b.setResult(2);
    expect((await w).done).toEqual(new Set([a, b]));
  });

  test('a timeout returns what is done so far; never rejects', async () => {
    const a = succeeded(1);
    const b = pending();
    const { done, notDone } = await wait([a, b], { timeout: 20 });
    expect(done).toEqual(new Set([a]));
    expect(notDone).toEqual(new Set([b]));
    expect((await wait([b], 0)).notDone).toEqual(new Set([b]));
  });

  test('a cancelled future that is not yet notified does not count as done (as in Python)', async () => {
    const c = cancelled();
    expect((await wait([c], { timeout: 0 })).notDone).toEqual(new Set([c]));
    const w = wait([c]);
    c.setRunningOrNotifyCancel();
    expect((await w).done).toEqual(new Set([c]));
  });

  test('duplicates count once; bad arguments throw TypeError', async () => {
    const s = succeeded(1);
    expect((await wait([s, s])).done.size).toBe(1);
    expect(() => wait([s], { returnWhen: 'SOMETIMES' as any })).toThrow(TypeError);
    expect(() => wait([1 as any])).toThrow(TypeError);
    expect(() => wait(null as any)).toThrow(TypeError);
  });
});

describe('asCompleted()', () => {
  test('yields done futures first, then the others in completion order, each once', async () => {
    const s = succeeded(1);
    const a = pending();
    const b = pending();
    const it = asCompleted([s, a, b, a]);
    const first = await it.next();
    expect(first.value).toBe(s);
    const next = it.next();
    b.setResult(2);
    a.setResult(1);
    expect((await next).value).toBe(b);
    expect((await it.next()).value).toBe(a);
    expect((await it.next()).done).toBe(true);
  });

  test('a cancelled future is yielded once notified', async () => {
    const c = pending();
    const it = asCompleted([c]);
    const next = it.next();
    c.cancel();
    c.setRunningOrNotifyCancel();
    expect((await next).value).toBe(c);
  });

  test('timeout: yields what finished, then throws TimeoutError "n (of m) futures unfinished"', async () => {
    const s = succeeded(1);
    const e = failedWith(new Error('x'));
    const p = pending();
    const got: Future[] = [];
    let error: unknown;
    try {
      for await (const f of asCompleted([s, e, p], 0)) got.push(f);
    } catch (err) {
      error = err;
    }
    expect(new Set(got)).toEqual(new Set([s, e]));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('1 (of 3) futures unfinished');
    await expect(collect(asCompleted([p], { timeout: 20 }))).rejects.toBeInstanceOf(TimeoutError);
  });

  test('without a timeout it waits as long as it takes', async () => {
    const a = pending<number>();
    const all = collect(asCompleted([a]));
    setTimeout(() => a.setResult(1), 30); // time passes with no timeout set: the wait must not give up
    expect(await all).toEqual([a]);
  });
});
