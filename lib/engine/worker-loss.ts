/**
 * What a lost worker costs, decided in one place. When a run fails, which of its batch's tasks died with
 * the worker (only the one it was running), which run elsewhere (those it had not started), and which
 * fail for another reason (aborted, cancelled, unsendable). And start-up failures: workers that die
 * before they start, in a row, fail the queued tasks instead of being replaced forever.
 */
import { errorFromWire } from '../base/codec/error-wire.js';
import { abortedBy, WorkerLostError } from '../base/errors.js';
import type { CoreJob, EngineCore } from './core.js';
import type { Flight, Flights } from './flights.js';
import type { ProgressSlots } from './progress-slots.js';
import { runFailure } from './tinypool-adapter.js';
import type { WatchedWorker } from './worker-watch.js';

/** Workers that die before starting, in a row, before queued tasks are failed instead of retried. */
const MAX_STARTUP_FAILURES = 3;

/** The error the tasks of a worker that died get: one format for threads and processes. */
/** `worker PoolWorker-2 (thread 5) exited with code 1 while running the task: <why>`. */
function lostWorkerError(worker: WatchedWorker, code: number | null, signal: string | null): WorkerLostError {
  const cause = worker.dying?.error ? errorFromWire(worker.dying.error) : worker.lastError;
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  // duck-typed: a thread's error event carries an Error of the main realm, not of a vm context's
  const message = (cause as { message?: unknown } | undefined)?.message;
  const why = typeof message === 'string' ? `: ${message}` : '';
  const who = worker.name ? `${worker.name} (${worker.runtime} ${worker.id})` : `${worker.runtime} ${worker.id}`;
  const when = worker.started ? 'while running the task' : 'before it could start';
  return new WorkerLostError(`worker ${who} ${how} ${when}${why}`, { exitCode: code, signal, cause });
}

/** The worker each of our WorkerLostErrors came from, so a failed run can tell what it lost. */
const lostWorkers = new WeakMap<WorkerLostError, WatchedWorker>();

export class WorkerLoss {
  readonly #core: EngineCore<CoreJob>;
  readonly #flights: Flights;
  readonly #progress: ProgressSlots | undefined;
  #startupFailures = 0;
  #startupError: WorkerLostError | null = null;

  constructor(core: EngineCore<CoreJob>, flights: Flights, progress: ProgressSlots | undefined) {
    this.#core = core;
    this.#flights = flights;
    this.#progress = progress;
  }

  /** The last worker lost died before it started (an initializer that ends its worker, a broken boot). */
  get failingToStart(): boolean {
    return this.#startupFailures > 0;
  }

  /** New work came: after start-up failures, workers get one more try. */
  moreWork(): void {
    if (this.#startupFailures >= MAX_STARTUP_FAILURES) this.#startupFailures = MAX_STARTUP_FAILURES - 1; // one more try
  }

  /** A worker answered a batch: workers do start. */
  workerAnswered(): void {
    this.#startupFailures = 0;
    this.#startupError = null;
  }

  /**
   * A worker tinypool still served exited: the error its runs fail with (tinypool rejects them with it,
   * and runFailed() then finds the worker from it).
   */
  lost(worker: WatchedWorker, code: number | null, signal: string | null): WorkerLostError {
    if (!worker.started && !worker.exitExpected) this.#startupFailures++;
    const err = lostWorkerError(worker, code, signal);
    lostWorkers.set(err, worker);
    return err;
  }

  /** After a loss: when workers keep dying before they start, the error the queued tasks fail with; else null. */
  startupFailed(err: WorkerLostError, code: number | null, signal: string | null): WorkerLostError | null {
    if (this.#startupFailures < MAX_STARTUP_FAILURES) return null;
    const failed = new WorkerLostError(`workers of this pool fail to start: ${err.message}`, { exitCode: code, signal, cause: err.cause });
    this.#startupError = failed;
    return failed;
  }

  /**
   * A flight's run failed (the flight has landed): settle or hand back its jobs by what befell it. Returns
   * 'unsendable' when tinypool could not post the run (a value structured clone refused).
   */
  runFailed(flight: Flight, err: unknown): 'unsendable' | undefined {
    const lost = err instanceof WorkerLostError ? lostWorkers.get(err) : undefined;
    const kind = runFailure(err);
    if (flight.signal?.aborted && kind === 'aborted') {
      this.#flights.fail(flight, abortedBy(flight.signal));
    } else if (kind === 'stopped' && this.#core.state !== 'terminated') {
      this.#afterStoppedWorker(flight);
    } else if (kind === 'cancelled') {
      // tinypool's queue cancelled: its workers fail to start (the jobs fail), or the engine took its runs
      // back to send them again (see TinypoolEngine's unstick)
      if (this.#startupError) this.#flights.fail(flight, this.#startupError);
      else this.#flights.requeueUnposted(flight);
    } else if (lost) {
      this.#afterWorkerLoss(flight, err as WorkerLostError, lost);
    } else {
      // Our worker answers every batch, so a run fails otherwise only when tinypool could not post it to
      // its MessagePort (for a child process too, before the relay): structured clone refused an argument
      // (DataCloneError, or what a getter threw while being read).
      this.#flights.refuseUnsendable(flight, err);
      return 'unsendable';
    }
    return undefined;
  }

  /** Which of a dead worker's jobs died with it: only the one it was running; the others run elsewhere. */
  #afterWorkerLoss(flight: Flight, err: WorkerLostError, worker: WatchedWorker): void {
    const dying = worker.dying;
    let running: number | undefined;
    if (dying && dying.b === flight.id) running = (dying as { running: number }).running;
    else if (dying || worker.exitExpected || !worker.started) {
      // this batch never started on that worker
      if (!worker.started && this.#startupFailures >= MAX_STARTUP_FAILURES) this.#flights.fail(flight, err);
      else this.#flights.handBack(flight, 0);
      return;
    } else running = flight.running ?? this.#startedTask(flight);
    // A worker runs its batches one at a time, in the order sent, and answers each before starting the
    // next; tinypool fails a dead worker's runs in that same order. So only the first of them can have
    // started: the others waited behind it.
    const first = worker.lostRuns++ === 0;
    if (running === -1 || (running === undefined && !first)) {
      this.#flights.handBack(flight, 0); // killed outright before this batch started: it runs elsewhere
      return;
    }
    if (running === undefined) {
      // A child process killed outright (SIGKILL, out of memory) says nothing: the tasks of the batch it
      // was running may have run, so none is run again; all fail with it.
      this.#flights.fail(flight, err);
      return;
    }
    this.#flights.handBack(flight, running + 1);
    this.#flights.fail(flight, err);
  }

  /**
   * tinypool stopped the worker this batch went to: the worker was running a run that was aborted, and
   * tinypool, seeing that run answered late, gave the worker this batch as it went. A child process then
   * never got it (tinypool sends nothing to a worker it terminates); a thread may have started it, and its
   * progress slot says where it was.
   */
  #afterStoppedWorker(flight: Flight): void {
    const running = flight.running ?? this.#startedTask(flight) ?? -1;
    this.#flights.handBack(flight, running + 1);
    if (running >= 0) {
      this.#flights.fail(flight, new WorkerLostError('the task was stopped with its worker, which was running a task that was aborted'));
    }
  }

  /** Threads: the task a worker killed outright was running, from its progress slot (-1: none had started). */
  #startedTask(flight: Flight): number | undefined {
    return this.#progress?.startedTask(flight.id);
  }
}
