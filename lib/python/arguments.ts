/**
 * Python's call binding for the facade: positional parameters as CPython's signatures name them,
 * then an optional keywords object (Python's keyword arguments), checked as Python checks them
 * ("unexpected keyword argument", "got multiple values for argument").
 */
import * as mp from '../index.js';

/** Python's `f(**kwargs)` has no JavaScript twin: a non-empty `kwds`/`kwargs` is refused, not dropped. */
export function checkNoKeywordArguments(kwds: unknown, what: string): void {
  if (kwds === undefined || kwds === null) return;
  if (typeof kwds !== 'object' || globalThis.Array.isArray(kwds) || Object.keys(kwds).length > 0) {
    throw new TypeError(
      `${what}: JavaScript functions take no keyword arguments, so kwds/kwargs must be empty; ` +
        'pass the values in args (an options object as the last argument, if the function reads one)',
    );
  }
}

/** A plain options object (Python's keyword arguments), as opposed to a positional value. */
export function isKeywords(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !globalThis.Array.isArray(value) && typeof (value as any)[Symbol.iterator] !== 'function' && !mp.isTaskRef(value);
}

/** Checks a keywords object against the names the call accepts (Python's "unexpected keyword argument"). */
export function keywords<K extends string>(value: unknown, allowed: readonly K[], what: string): Partial<Record<K, any>> {
  if (value === undefined || value === null) return {};
  if (!isKeywords(value)) throw new TypeError(`${what}: expected an options object, got ${typeof value}`);
  for (const key of Object.keys(value)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw new TypeError(`${what} got an unexpected keyword argument '${key}' (accepted: ${allowed.join(', ')})`);
    }
  }
  return value as Partial<Record<K, any>>;
}

/** One parameter given both positionally and by keyword is Python's "got multiple values". */
export function either<T>(positional: T | undefined, keyword: T | undefined, name: string, what: string): T | undefined {
  if (positional !== undefined && keyword !== undefined) throw new TypeError(`${what} got multiple values for argument '${name}'`);
  return positional !== undefined ? positional : keyword;
}

/**
 * Splits `(p1, p2, ..., keywords?)`: positionals up to the first options object (which must be
 * the last argument given), by Python's parameter names.
 */
export function splitPositional(values: unknown[], names: string[], what: string): [Record<string, unknown>, unknown] {
  const positional: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // a plain object is the keywords; a task() reference is a positional initializer
    if (i === names.length || isKeywords(v)) {
      if (values.slice(i + 1).some((rest) => rest !== undefined)) {
        throw new TypeError(`${what}: positional arguments cannot follow the keywords object`);
      }
      return [positional, v];
    }
    positional[names[i]] = v;
  }
  return [positional, undefined];
}
