/**
 * Duration summaries cheap enough to leave on: a log-scale histogram (8 buckets per doubling, so
 * percentiles are within ~9%), recorded once per batch with a weight (the batch's task count), never
 * per task. Mean is exact.
 */
import type { TimeSummary } from './engine.js';

const PER_DOUBLING = 8;
const MIN_MS = 1e-4; // 0.1 µs: the first bucket holds everything below
const BUCKETS = 40 * PER_DOUBLING; // up to ~1e-4 * 2^40 ms, i.e. ~3 years

export class DurationHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;
  #sum = 0;

  /** Records `weight` observations of `ms` each. */
  record(ms: number, weight = 1): void {
    if (!(weight > 0) || !(ms >= 0)) return;
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(ms / MIN_MS) * PER_DOUBLING));
    this.#counts[i] += weight;
    this.#total += weight;
    this.#sum += ms * weight;
  }

  #percentile(p: number): number {
    const target = this.#total * p;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= target && this.#counts[i] > 0) return MIN_MS * 2 ** ((i + 0.5) / PER_DOUBLING); // bucket middle
    }
    return 0;
  }

  summary(): TimeSummary {
    if (this.#total === 0) return { mean: 0, p50: 0, p99: 0 };
    return { mean: this.#sum / this.#total, p50: this.#percentile(0.5), p99: this.#percentile(0.99) };
  }
}

/** Tasks by outcome, each counted once (a chunk counts its items): completed + failed + aborted = submitted once all settled. */
export class TaskCounts {
  submitted = 0;
  completed = 0;
  failed = 0;
  aborted = 0;

  /** A task settled: with a result, cancelled through its signal, or failed any other way. */
  settled(items: number, outcome: 'completed' | 'failed' | 'aborted'): void {
    this[outcome] += items;
  }
}
