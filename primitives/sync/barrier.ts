/**
 * Barrier: Python's multiprocessing.Barrier (threading.Barrier semantics) for threads and processes.
 * The action travels like a task (by source text or as a task() reference) so that whichever party
 * arrives last — in any worker — can run it before anyone is released.
 */
import { toHandle, type HandleDescriptor, type HandleSource, type HandleTarget } from '../../lib/base/codec/handles.js';
import { normalizeTimeout } from '../../lib/base/timeout.js';
import { isTaskRef, toTaskSpec, type Task, type TaskSpec } from '../../lib/base/task.js';
import { loadTask } from '../../lib/base/load-task.js';
import { BarrierCore, BarrierCoreShape, type BarrierCoreApi } from './barrier-core.js';
import { coreData, openCore, rebuild, rebuilt, whenAll, type CoreData } from '../transport/reduction.js';
import { LOCAL_OWNER } from '../kernel/owner.js';

const MODULE = import.meta.url;

type Action = () => unknown;

type Parts = { core: BarrierCoreApi; action: Action | null; spec: TaskSpec | null; timeout: number | undefined };

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Barrier.wait for `owner`, written once for this thread's Barrier and the Manager's: arrive, and
 * if last, run the action before anyone is released (its failure breaks the barrier).
 */
export async function barrierWait(
  core: BarrierCoreApi, parties: number, owner: string, ms: number | undefined, action: (() => unknown) | null,
): Promise<number> {
  const index = await core.arrive(ms, owner);
  if (index === parties - 1) {
    try {
      if (action) await action();
    } catch (err) {
      core.commit(false);
      throw err;
    }
    core.commit(true);
  }
  return index;
}

/** Python's keyword arguments of `Barrier(parties, action=None, timeout=None)`. */
export interface BarrierOptions {
  action?: Task<[], unknown> | null;
  timeout?: number | null;
}

function isOptions(value: unknown): value is BarrierOptions {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isTaskRef(value);
}

/** Python's multiprocessing.Barrier. */
export class Barrier implements HandleSource {
  readonly #core: BarrierCoreApi;
  readonly #parties: number;
  readonly #action: Task<[], unknown> | null;
  /** The action as a callable, once loaded (a task() reference is imported on first use). */
  #run: Action | Promise<Action> | null = null;
  readonly #timeout: number | undefined;
  /** The action's wire form as received (a revived Barrier passes it on unchanged). */
  #spec: TaskSpec | null = null;

  /**
   * @param parties how many parties must call wait() before all are released (>= 1)
   * @param action run once per pass by the last arriving party, before anyone is released; a
   *   self-contained function or a task(module, name) reference, so any worker can run it
   * @param timeout default timeout (ms) of wait()
   */
  constructor(parties: number, action?: Task<[], unknown> | null | BarrierOptions, timeout?: number | null | BarrierOptions) {
    // Python's keywords, `Barrier(5, timeout=0.5)` / `Barrier(5, action=f)`, as a trailing options object
    const kw = isOptions(timeout) ? timeout : timeout === undefined && isOptions(action) ? action : null;
    if (kw) {
      for (const key of Object.keys(kw)) {
        if (key !== 'action' && key !== 'timeout') throw new TypeError(`Barrier() got an unexpected keyword argument '${key}'`);
      }
      if (kw === action) action = undefined;
      if (action != null && kw.action != null) throw new TypeError("Barrier() got multiple values for argument 'action'");
      action = action ?? kw.action;
      timeout = kw.timeout;
    }
    const parts = rebuilt<Parts>();
    if (parts) {
      this.#core = parts.core;
      this.#parties = parts.core.parties();
      this.#action = parts.action;
      this.#run = parts.action;
      this.#timeout = parts.timeout;
      this.#spec = parts.spec;
      return;
    }
    if (typeof parties !== 'number' || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer, got ${typeof parties === 'number' ? parties : typeof parties}`);
    }
    if (parties < 1 || parties > 0x7fffffff) throw new RangeError(`Barrier parties must be > 0, got ${parties}`);
    if (action !== undefined && action !== null) toTaskSpec(action as Task<[], unknown>, 'Barrier action'); // TypeError now, not at the first pass
    this.#timeout = normalizeTimeout(timeout as number | null | undefined, 'Barrier timeout');
    this.#parties = parties;
    this.#action = (action as Task<[], unknown> | null | undefined) ?? null;
    this.#core = new BarrierCore(parties);
  }

  #action$(): Action | Promise<Action> | null {
    if (this.#run === null && this.#action !== null) {
      this.#run = isTaskRef(this.#action) ? (loadTask(toTaskSpec(this.#action)) as Action | Promise<Action>) : (this.#action as Action);
    }
    return this.#run;
  }

  /**
   * Waits until `parties` parties have called wait(); resolves this party's arrival index
   * (0 .. parties - 1). Rejects BrokenBarrierError if the barrier is aborted, reset or broken, or
   * if `timeout` (default: the constructor's) passes — which breaks it for everyone. If the action
   * throws, the barrier breaks and the last party gets the action's error.
   */
  async wait(timeout?: number | null): Promise<number> {
    const ms = timeout === undefined || timeout === null ? this.#timeout : normalizeTimeout(timeout);
    return barrierWait(this.#core, this.#parties, LOCAL_OWNER, ms, async () => {
      const action = await this.#action$();
      if (action) await action();
    });
  }

  /** Like {@link wait}, but blocks the calling thread; an action returning a Promise is not awaited. */
  waitSync(timeout?: number | null): number {
    const ms = timeout === undefined || timeout === null ? this.#timeout : normalizeTimeout(timeout);
    const index = this.#core.arriveSync(ms, LOCAL_OWNER);
    if (index === this.#parties - 1) {
      try {
        const action = this.#action$();
        if (isThenable(action)) throw new TypeError('waitSync: the Barrier action is a module task that is not loaded yet; use wait()');
        if (action) action();
      } catch (err) {
        this.#core.commit(false);
        throw err;
      }
      this.#core.commit(true);
    }
    return index;
  }

  /** Breaks the barrier: current and future waiters get BrokenBarrierError until reset(). */
  abort(): void {
    this.#core.abort();
  }

  /** Returns the barrier to its empty state; current waiters get BrokenBarrierError. */
  reset(): void {
    this.#core.reset();
  }

  /** How many parties the barrier needs. */
  get parties(): number {
    return this.#parties;
  }

  /** How many parties are waiting now. */
  get nWaiting(): number {
    return this.#core.nWaiting();
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return this.#core.broken();
  }

  [toHandle](target: HandleTarget): HandleDescriptor {
    const action: TaskSpec | null = this.#spec ?? (this.#action === null ? null : toTaskSpec(this.#action, 'Barrier action'));
    return {
      module: MODULE,
      type: 'Barrier',
      data: { core: coreData(this.#core, BarrierCoreShape, target), action, timeout: this.#timeout },
    };
  }

  toString(): string {
    return `<Barrier(parties=${this.#parties}, waiting=${this.nWaiting}, broken=${this.broken})>`;
  }
}

/** Revives a Barrier sent to this worker, with its action. */
export function reviveHandle(type: string, data: unknown): unknown {
  if (type !== 'Barrier') throw new TypeError(`unknown barrier type '${type}'`);
  const { core, action, timeout } = data as { core: CoreData; action: TaskSpec | null; timeout: number | undefined };
  const parts = [
    openCore<BarrierCoreApi>(core, BarrierCoreShape),
    action === null ? null : (loadTask(action) as Action | Promise<Action>),
  ] as const;
  return whenAll([...parts], (c, a) =>
    rebuild<Parts, Barrier>({ core: c, action: a as Action | null, spec: action, timeout }, () => new Barrier(0)),
  );
}
