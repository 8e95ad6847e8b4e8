/**
 * Python's `multiprocessing.get_logger()` and `log_to_stderr(level)`: the 'multiprocessing' logger,
 * for the messages a ported program logs itself (`logger.info('...')`), printed to stderr as Python
 * formats them, `[INFO/Process-1] message`. multiproc does not log its own internal events through it.
 * As Python's spawned children do, workers started after `log_to_stderr()` log at the same level (it
 * travels in the environment they are started with).
 */
import { currentProcess } from '../index.js';

/** Python's logging levels, for `log_to_stderr(logging.DEBUG)` (no `logging` module to import here). */
export const logging = { CRITICAL: 50, ERROR: 40, WARNING: 30, INFO: 20, DEBUG: 10, NOTSET: 0 } as const;
/** multiprocessing's own levels (multiprocessing.util). */
export const SUBDEBUG = 5;
export const SUBWARNING = 25;

const LEVEL_NAMES: Record<number, string> = {
  50: 'CRITICAL', 40: 'ERROR', 30: 'WARNING', 25: 'SUBWARNING', 20: 'INFO', 10: 'DEBUG', 5: 'SUBDEBUG', 0: 'NOTSET',
};
/** Where a program's log level travels to the workers it starts afterwards. */
const ENV_LEVEL = 'MULTIPROC_PYTHON_LOG_LEVEL';

function levelOf(level: number | string): number {
  if (typeof level === 'number' && Number.isInteger(level) && level >= 0) return level;
  if (typeof level === 'string') {
    const found = Object.entries(LEVEL_NAMES).find(([, name]) => name === level.toUpperCase());
    if (found) return Number(found[0]);
  }
  throw new TypeError(`Unknown level: ${typeof level === 'string' ? `'${level}'` : String(level)}`);
}

/** Python's `msg % args` for the common conversions (%s %r %d %i %f %%). */
function format(msg: unknown, args: unknown[]): string {
  let text = String(msg);
  if (args.length === 0) return text;
  let i = 0;
  text = text.replace(/%([srdif%])/g, (whole, conv: string) => {
    if (conv === '%') return '%';
    if (i >= args.length) throw new TypeError('not enough arguments for format string');
    const arg = args[i++];
    if (conv === 'r') return typeof arg === 'string' ? `'${arg}'` : String(arg);
    if (conv === 'd' || conv === 'i') return String(Math.trunc(Number(arg)));
    if (conv === 'f') return Number(arg).toFixed(6);
    return String(arg);
  });
  return text;
}

/** The 'multiprocessing' logger (a small subset of Python's `logging.Logger`). */
export class MultiprocessingLogger {
  readonly name = 'multiprocessing';
  #level = 0;
  #toStderr = false;

  /** `logger.setLevel(logging.INFO)` (or a level name). */
  setLevel(level: number | string): void {
    this.#level = levelOf(level);
    if (this.#toStderr) process.env[ENV_LEVEL] = String(this.getEffectiveLevel());
  }

  /** The level set, or WARNING (the root logger's) when none was. */
  getEffectiveLevel(): number {
    return this.#level || logging.WARNING;
  }

  isEnabledFor(level: number): boolean {
    return level >= this.getEffectiveLevel();
  }

  /** @internal log_to_stderr's handler. */
  toStderr(): void {
    this.#toStderr = true;
    process.env[ENV_LEVEL] = String(this.getEffectiveLevel());
  }

  log(level: number, msg: unknown, ...args: unknown[]): void {
    if (!this.isEnabledFor(level)) return;
    const text = format(msg, args);
    // Without log_to_stderr, Python's last-resort handler prints WARNING and above, bare.
    if (this.#toStderr) process.stderr.write(`[${LEVEL_NAMES[level] ?? `Level ${level}`}/${currentProcess().name}] ${text}\n`);
    else if (level >= logging.WARNING) process.stderr.write(`${text}\n`);
  }

  debug(msg: unknown, ...args: unknown[]): void { this.log(logging.DEBUG, msg, ...args); }
  info(msg: unknown, ...args: unknown[]): void { this.log(logging.INFO, msg, ...args); }
  warning(msg: unknown, ...args: unknown[]): void { this.log(logging.WARNING, msg, ...args); }
  error(msg: unknown, ...args: unknown[]): void { this.log(logging.ERROR, msg, ...args); }
  critical(msg: unknown, ...args: unknown[]): void { this.log(logging.CRITICAL, msg, ...args); }
}

let logger: MultiprocessingLogger | undefined;

/** Python's `multiprocessing.get_logger()`: the one 'multiprocessing' logger of this thread or process. */
export function get_logger(): MultiprocessingLogger {
  if (!logger) {
    logger = new MultiprocessingLogger();
    // a worker started by a program that called log_to_stderr logs as it does (Python's children too)
    const inherited = process.env[ENV_LEVEL];
    if (inherited !== undefined && !currentProcess().isMainThread) {
      logger.setLevel(Number(inherited));
      logger.toStderr();
    }
  }
  return logger;
}

/**
 * Python's `multiprocessing.log_to_stderr(level=None)`: logs to stderr as
 * `[LEVEL/process name] message`, at `level` if given; returns the logger.
 */
export function log_to_stderr(level?: number | string | null): MultiprocessingLogger {
  const l = get_logger();
  if (level !== undefined && level !== null) l.setLevel(level);
  l.toStderr();
  return l;
}
