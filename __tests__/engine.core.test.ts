// The half both engines share (lib/engine/core.ts): each job settles once and is counted once, the
// counts add up, a signal drops its queued jobs and hands its sent ones to the dispatcher, the program
// is kept alive exactly while a job is unsettled, and close() stops only once all is done.
import { AbortError, TimeoutError } from '../lib/base/errors.js';
import { EngineCore, type CoreJob, type Dispatcher } from '../lib/engine/core.js';
import { CHUNK, type Job } from '../lib/engine/engine.js';

/** A dispatcher that sends nothing by itself: the test takes jobs and settles them, and sees each hook. */
function harness(options?: ConstructorParameters<typeof EngineCore>[1]) {
  const log: string[] = [];
  const out = new Set<CoreJob>();
  const dispatcher: Dispatcher<CoreJob> = {
    pump: () => log.push('pump'),
    abortSent: (_signal, sent) => log.push(`abortSent:${sent.length}`),
    drained: () => out.size === 0,
    stop: () => log.push('stop'),
    settling: (job) => out.delete(job),
    idle: () => log.push('idle'),
  };
  const core = new EngineCore<CoreJob>(dispatcher, options);
  const settled: { value: unknown; ok: boolean }[] = [];
  const job = (extra: Partial<Job> = {}): Job => ({
    spec: { kind: 'src', src: '() => 0' } as Job['spec'],
    args: [],
    flags: 0,
    settle: (ok, value) => settled.push({ ok, value }),
    ...extra,
  });
  const take = () => {
    const taken = core.take();
    out.add(taken);
    return taken;
  };
  return { core, log, settled, job, take, out };
}

/** Timers ref'd now (the KeepAlive holds one while a job is unsettled). */
function refTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

test('a job settles once and counts once; completed + failed + aborted = submitted', async () => {
  const { core, settled, job, take } = harness();
  core.submit(job());
  core.submit(job({ flags: CHUNK, args: [1, 2, 3] })); // a chunk counts its items
  core.submit(job());
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ queued: 5, submitted: 5 });
  const [a, b, c] = [take(), take(), take()];
  expect(core.peek()).toBeUndefined();
  core.finish(a, true, 'a');
  core.finish(a, false, new Error('again')); // ignored: already settled
  core.finish(b, false, new Error('boom'));
  core.finish(c, false, new AbortError());
  expect(settled).toEqual([{ ok: true, value: 'a' }, { ok: false, value: new Error('boom') }, { ok: false, value: expect.any(AbortError) }]);
  const stats = core.stats({ workers: 0, busy: 0, batches: 0 });
  expect(stats).toMatchObject({ queued: 0, submitted: 5, completed: 1, failed: 3, aborted: 1 });
  expect(stats.completed + stats.failed + stats.aborted).toBe(stats.submitted);
});

test('an abort settles the queued jobs of its signal, hands the sent ones to the dispatcher, and leaves others alone', async () => {
  const { core, log, settled, job, take } = harness({ abortReason: (s) => s.reason });
  const ac = new AbortController();
  core.submit(job({ signal: ac.signal }));
  core.submit(job({ signal: ac.signal }));
  core.submit(job());
  const sent = take(); // the first is on its way to a worker
  ac.abort(new TimeoutError('late'));
  expect(log).toContain('abortSent:1');
  expect(settled).toEqual([{ ok: false, value: expect.any(TimeoutError) }]); // the queued one, with the reason given
  expect(core.queuedJobs).toBe(1);
  expect(core.peek()!.signal).toBeUndefined(); // the settled job is skipped in the queue
  core.finish(sent, false, new AbortError()); // the dispatcher stopped it
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ submitted: 3, aborted: 2, failed: 0, completed: 0 });
  // a job submitted with a fired signal settles at once and is never queued
  expect(core.submit(job({ signal: ac.signal }))).toBe(false);
  expect(core.queuedJobs).toBe(1);
  expect(settled).toHaveLength(3);
  core.failQueued(new Error('end'));
});

test('dropQueued settles only the queued jobs of the signal, as aborted; requeued jobs are queued again', async () => {
  const { core, settled, job, take } = harness();
  const ac = new AbortController();
  core.submit(job({ signal: ac.signal }));
  core.submit(job({ signal: ac.signal }));
  const first = take();
  const reason = new Error('left early');
  core.dropQueued(ac.signal, reason);
  expect(settled).toEqual([{ ok: false, value: reason }]);
  core.requeue([first]); // handed back by its worker: queued again, droppable again
  expect(core.queuedJobs).toBe(1);
  core.dropQueued(ac.signal, reason);
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ queued: 0, submitted: 2, aborted: 2 });
});

test('dropQueued(group) settles the queued jobs of that group only, admitted or waiting behind maxSent; sent ones go on', async () => {
  const { core, settled, job, take } = harness({ maxSent: 2 });
  const loop = {};
  const mine = (n: number) => job({ group: loop, settle: (ok, value) => settled.push({ ok, value: `${n}:${ok ? value : (value as Error).message}` }) });
  core.submit(mine(1));
  core.submit(job({ settle: (ok) => settled.push({ ok, value: 'other' }) }));
  core.submit(mine(2)); // waits behind the bound
  core.submit(mine(3)); // waits too
  const first = take(); // mine(1) is sent: it goes on
  core.dropQueued(loop, new Error('left early'));
  expect(settled).toEqual([{ ok: false, value: '2:left early' }, { ok: false, value: '3:left early' }]);
  expect(core.queuedJobs).toBe(1); // the other job
  core.finish(first, true, 'one');
  const other = take();
  core.finish(other, true, 'two');
  expect(settled.slice(2)).toEqual([{ ok: true, value: '1:one' }, { ok: true, value: 'other' }]);
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ queued: 0, submitted: 4, completed: 2, aborted: 2 });
  expect(core.unsettled).toBe(0);
});

test('the KeepAlive is held while a job is unsettled, and released with the last; then idle()', async () => {
  const before = refTimers();
  const { core, log, job, take } = harness();
  core.submit(job());
  core.submit(job());
  expect(refTimers()).toBe(before + 1);
  const a = take();
  core.finish(a, true, 1);
  expect(refTimers()).toBe(before + 1);
  core.failQueued(new Error('gone'));
  expect(refTimers()).toBe(before);
  expect(log.filter((l) => l === 'idle')).toHaveLength(1);
  expect(core.unsettled).toBe(0);
});

test('a settle callback that throws still releases the job', async () => {
  const before = refTimers();
  const { core, job, take } = harness();
  core.submit(job({ settle: () => { throw new Error('callback'); } }));
  const a = take();
  expect(() => core.finish(a, true, 1)).toThrow('callback');
  expect(core.unsettled).toBe(0);
  expect(refTimers()).toBe(before);
});

test('jobs submitted in one turn share one pump', async () => {
  const { core, log, job } = harness();
  core.submit(job());
  core.submit(job());
  expect(log).toEqual([]);
  await Promise.resolve();
  expect(log).toEqual(['pump']);
  core.failQueued(new Error('end'));
});

test('close() stops once nothing is queued or out; terminate() settles the queue, once', async () => {
  const { core, log, settled, job, take } = harness();
  core.submit(job());
  core.submit(job());
  const a = take();
  core.close();
  expect(core.state).toBe('closing');
  core.finish(a, true, 1);
  core.maybeStop();
  expect(log).not.toContain('stop'); // one still queued
  const b = take();
  core.maybeStop();
  expect(log).not.toContain('stop'); // one still out
  core.finish(b, true, 2);
  core.maybeStop();
  expect(log).toContain('stop');
  expect(core.state).toBe('stopping');

  const t = harness();
  t.core.submit(t.job());
  expect(t.core.terminate(new Error('terminated'))).toBe(true);
  expect(t.core.terminate(new Error('again'))).toBe(false);
  expect(t.settled).toEqual([{ ok: false, value: new Error('terminated') }]);
  t.core.exit();
  await t.core.exited;
  expect(settled).toHaveLength(2);
});

test('maxSent bounds the jobs admitted at once; onAdmit is told in order; a waiting job can be withdrawn without settling', async () => {
  const { core, settled, job, take } = harness({ maxSent: 1 });
  const admitted: number[] = [];
  core.submit(job({ onAdmit: () => admitted.push(1) }));
  const second = job({ onAdmit: () => admitted.push(2) });
  core.submit(second);
  core.submit(job({ onAdmit: () => admitted.push(3) }));
  expect(admitted).toEqual([1]); // at once: there was room
  // the dispatcher sizes its batches by what it may send: the waiting jobs are not in it (counting them
  // made a busy worker get, and hand back, the admitted job over and over), but the stats count them
  expect(core.queuedJobs).toBe(1);
  expect(core.stats({ workers: 0, busy: 0, batches: 0 }).queued).toBe(3);
  const first = take();
  expect(core.peek()).toBeUndefined(); // the others wait behind the bound
  expect(core.withdraw(second as CoreJob)).toBe(true); // a cancelled future: gone, not settled
  expect(core.withdraw(first)).toBe(false); // sent: too late
  expect(settled).toEqual([]);
  core.finish(first, true, 1);
  expect(admitted).toEqual([1, 3]); // the withdrawn one is skipped
  const third = take();
  core.requeue([third]); // handed back by its worker: still admitted, first in line
  expect(core.peek()).toBe(third);
  core.finish(take(), true, 3);
  expect(admitted).toEqual([1, 3]);
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ submitted: 3, completed: 2, aborted: 1, queued: 0 });
  expect(core.unsettled).toBe(0);
});

test('with maxSent, an abort or terminate reaches the jobs waiting behind the bound', async () => {
  const { core, settled, job } = harness({ maxSent: 1 });
  const ac = new AbortController();
  core.submit(job());
  core.submit(job({ signal: ac.signal }));
  core.submit(job());
  ac.abort();
  expect(settled).toEqual([{ ok: false, value: expect.any(AbortError) }]);
  core.terminate(new Error('end'));
  expect(settled).toHaveLength(3);
  expect(core.unsettled).toBe(0);
  expect(core.stats({ workers: 0, busy: 0, batches: 0 })).toMatchObject({ queued: 0, submitted: 3, aborted: 1, failed: 2 });
});
