/** Python's `multiprocessing.Process(group, target, name, args, kwargs, *, daemon)`. */
import * as mp from '../index.js';
import type { Task, ProcessOptions } from '../index.js';
import { checkNoKeywordArguments, isKeywords, keywords } from './arguments.js';

/** Keywords of Python's `Process(...)`: its keyword-only `daemon`, and our runtime settings. */
export type PyProcessKeywords = Omit<ProcessOptions, 'target' | 'args' | 'name'> & { daemon?: boolean | null };

/** The keyword form: `new Process({ target, args, name, daemon })`. */
export type PyProcessOptions = Omit<ProcessOptions, 'daemon'> & { group?: null; kwargs?: Record<string, never> | null; daemon?: boolean | null };

/**
 * Python's `Process(group=None, target=None, name=None, args=(), kwargs={}, *, daemon=None)` —
 * positional (`new Process(null, fn, 'name', [1])`, keywords last: `{ daemon: true }`), or one
 * options object (`new Process({ target: fn, args: [1] })`). `kwargs` must be empty.
 */
export class Process extends mp.Process {
  constructor(
    group?: null | PyProcessOptions, target?: Task | null, name?: string | null, args?: unknown[] | null,
    kwargs?: Record<string, never> | null, options?: PyProcessKeywords | null,
  ) {
    if (isKeywords(group)) {
      if (target != null || name != null || args != null || kwargs != null || options != null) {
        throw new TypeError('Process() takes positional arguments or one options object, not both');
      }
      const { group: g, kwargs: kw, daemon, ...rest } = group as PyProcessOptions;
      if (g != null) throw new TypeError('group argument must be None for now');
      checkNoKeywordArguments(kw, 'Process()');
      super({ ...rest, daemon: daemon ?? undefined });
      return;
    }
    if (group != null) throw new TypeError('group argument must be None for now');
    checkNoKeywordArguments(kwargs, 'Process()');
    const kw = keywords(options, ['daemon', 'runtime', 'env', 'execArgv', 'resourceLimits'] as const, 'Process()');
    super({ ...kw, target: target ?? undefined, name: name ?? undefined, args: args ?? undefined, daemon: kw.daemon ?? undefined });
  }
}
