// Shared test helpers: the two runtimes every Pool/Process behaviour is checked in.
import type { Runtime } from '../../lib/index.js';

export const runtimes: Runtime[] = ['thread', 'process'];

/** URL of a fixture module, for task(url, name). */
export function fixture(name: string): string {
  return new URL(`../fixtures/${name}`, import.meta.url).href;
}

/** Settles with 'pending' if `p` has not settled after `ms`. */
export function settledOrPending<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`; only for letting time pass in timeout tests, never for ordering. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
