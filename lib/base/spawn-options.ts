/**
 * What every way of starting a worker shares (the runtime adapters in lib/runtime/, the Manager's
 * server): the parent's flags a worker inherits, the environment it gets, and checks of the sizes users give.
 */
import type { ResourceLimits } from 'node:worker_threads';

/** True when this library runs from its TypeScript sources (tests, tsx): workers must load tsx too. */
export const fromSource = import.meta.url.endsWith('.ts');

/**
 * Flags of the parent's own start that a child must not repeat: module loaders (`--import tsx`: a
 * child loads tsx only when a `.ts` module needs it; re-running it cost ~150 ms per worker), `-e`/`-p`
 * scripts, the inspector (its port is taken), watch and test modes.
 */
const PARENT_ONLY_WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '-e', '--eval', '-p', '--print', '--input-type']);
const PARENT_ONLY = /^(--inspect|--debug|--watch|--test|-i$|--interactive|-c$|--check)/;

/** The parent's Node flags that a child process should inherit. */
export function inheritedExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i];
    const flag = arg.split('=')[0];
    if (PARENT_ONLY_WITH_VALUE.has(flag)) {
      if (!arg.includes('=')) i++; // skip the value too
    } else if (!PARENT_ONLY.test(arg)) out.push(arg);
  }
  return out;
}

/** The parent's environment plus the user's additions (an entry set to undefined removes a variable). */
export function mergedEnv(userEnv: Record<string, string | undefined> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...userEnv })) if (v !== undefined) env[k] = v;
  return env;
}

/** Most workers one pool may ask for: beyond this a constructor would block for minutes, then run out of memory. */
export const MAX_WORKERS = 1024;

const LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/** Checks `resourceLimits` at once: TypeError for unknown keys or non-numbers, RangeError for non-positive or absurd values. */
export function checkResourceLimits(limits: unknown): ResourceLimits | undefined {
  if (limits === undefined || limits === null) return undefined;
  if (typeof limits !== 'object') throw new TypeError(`resourceLimits must be an object, got ${typeof limits}`);
  for (const [key, value] of Object.entries(limits)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) {
      throw new TypeError(`resourceLimits.${key} is not a resource limit (expected one of ${LIMIT_KEYS.join(', ')})`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`resourceLimits.${key} must be a number, got ${typeof value}`);
    if (!(value > 0) || value > 2 ** 20) throw new RangeError(`resourceLimits.${key} must be a number of megabytes > 0 and <= ${2 ** 20}, got ${value}`);
  }
  return limits as ResourceLimits;
}
