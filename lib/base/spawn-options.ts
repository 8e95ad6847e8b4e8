/**
 * How a worker (thread or child process) is started: which Node flags it gets, its environment, and
 * checks of the sizes users give. Shared by the pool engine, Process and the Manager's server.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

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

const acceptedByThreads = new Map<string, string[]>();

/**
 * Node flags for a worker thread: the parent's (minus those of its own start, as for a child process,
 * since a thread would otherwise inherit `-e` and `--input-type` too) or the user's. Flags a thread
 * refuses — process-wide ones such as `--max-old-space-size` or `--expose-gc`, which make `new Worker`
 * throw ERR_WORKER_INVALID_EXEC_ARGV — are left out: they already apply to the whole process. Only the
 * user's own are warned about. Checked once per set of flags.
 */
export function threadExecArgv(userFlags: string[] | undefined): string[] {
  const flags = userFlags ?? inheritedExecArgv();
  if (flags.length === 0) return flags;
  const key = flags.join('\0');
  let accepted = acceptedByThreads.get(key);
  if (!accepted) {
    accepted = [...flags];
    const refused: string[] = [];
    for (let attempt = 0; attempt < 4 && accepted.length > 0; attempt++) {
      try {
        new Worker('', { eval: true, execArgv: accepted }).unref();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
        const listed = String((err as Error).message).split(':').slice(1).join(':').split(',').map((s) => s.trim());
        const before = accepted.length;
        accepted = accepted.filter((flag) => !listed.includes(flag));
        refused.push(...listed);
        if (accepted.length === before) accepted = [];
      }
    }
    if (userFlags && refused.length > 0) {
      process.emitWarning(`execArgv flags a worker thread cannot take were left out (they apply to the whole process): ${refused.join(', ')}`, 'MultiprocWarning');
    }
    acceptedByThreads.set(key, accepted);
  }
  return accepted;
}

/** A child process's environment: the parent's, plus the user's additions (tinypool would pass an empty one). */
export function childEnv(userEnv: Record<string, string | undefined> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...userEnv })) if (v !== undefined) env[k] = v;
  return env;
}

/** A worker thread's environment: Node's default (a copy of process.env) unless the user adds to it. */
export function threadEnv(userEnv: Record<string, string | undefined> | undefined): Record<string, string> | undefined {
  return userEnv ? childEnv(userEnv) : undefined;
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

/**
 * Node flags for a child process: inherited ones, the user's, the old-generation heap limit (the only
 * resource limit a process takes as a flag), and tsx when running from sources.
 */
export function processExecArgv(userFlags: string[] | undefined, limits: ResourceLimits | undefined, tsxLoader: () => string): string[] {
  const argv = [...inheritedExecArgv(), ...(userFlags ?? [])];
  if (limits?.maxOldGenerationSizeMb) argv.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
  if (fromSource) argv.push('--import', tsxLoader());
  return argv;
}
