/**
 * The types of Python's keyword forms (`q.get({ timeout: 1000 })`, `lock.acquire({ block: false })`,
 * `q.put(x, { block: false })`), made from the list that binds them at run time
 * ({@link KEYWORD_SIGNATURES}), so a method bound there is typed here and nowhere else.
 *
 * A class's own method cannot gain an overload by declaration merging (TypeScript refuses an
 * interface overload beside a class's implementation), so the Python face exports each of these
 * classes again, as the same runtime class under a type that adds the keyword forms
 * (python/primitives.ts).
 */
import type { KEYWORD_SIGNATURES, Signature } from './keywords.js';
import type { PYTHON_NAMES } from './name-list.js';

type Signatures = typeof KEYWORD_SIGNATURES;
type PythonNames = typeof PYTHON_NAMES;

type Flatten<T> = { [K in keyof T]: T[K] };

/** `{ name?: type }` for Python's parameter names `N`, typed by the positional parameters `P` they stand for. */
type KeywordObject<P extends readonly unknown[], N extends readonly string[]> =
  N extends readonly [infer H extends string, ...infer NR extends readonly string[]]
    ? P extends readonly [(infer PH)?, ...infer PR]
      ? { [K in H]?: PH } & KeywordObject<PR, NR>
      : Record<never, never>
    : Record<never, never>;

/**
 * The argument lists of a keyword form: some leading positionals (at least the `R` required ones),
 * then one options object holding the remaining parameters by Python's names.
 */
type KeywordArgs<P extends readonly unknown[], N extends readonly string[], R extends unknown[], Pre extends unknown[] = []> =
  N extends readonly [string, ...infer NR extends readonly string[]]
    ? P extends readonly [(infer PH)?, ...infer PR]
      ? (R extends [] ? [...Pre, Flatten<KeywordObject<P, N>>] : never)
        | KeywordArgs<PR, NR, R extends [unknown, ...infer RR] ? RR : [], [...Pre, PH]>
      : never
    : never;

type RequiredCount<S extends Signature> = S['required'] extends 1 ? [unknown] : [];

/** Method `F` called with Python's keywords as signature `S` names them (its return type unchanged). */
export type KeywordForm<F, S> = S extends { params: readonly ['predicate', 'timeout'] }
  ? WaitForForm<F>
  : S extends Signature
    ? F extends (...args: infer P) => infer Ret ? (...args: KeywordArgs<P, S['params'], RequiredCount<S>>) => Ret : never
    : never;

/**
 * `wait_for(predicate, { timeout })`, generic as the positional form is (inferring from a generic method
 * would fix its type parameter at `unknown`): resolves, or for the Sync twin returns, the predicate's value.
 */
type WaitForForm<F> = F extends (...args: any[]) => infer Ret
  ? Ret extends Promise<any>
    ? <R>(predicate: () => R | PromiseLike<R>, keywords: { timeout?: number | null }) => Promise<R>
    : <R>(predicate: () => R, keywords: { timeout?: number | null }) => R
  : never;

type ValuesOf<T> = T[keyof T];
type Aliases<K extends keyof PythonNames> = PythonNames[K]['methods'];
/** The camelCase member a snake_case alias forwards to, by any class of PYTHON_NAMES (`acquire_sync` → `acquireSync`), within `M`. */
type CamelOf<S, M> = ValuesOf<{ [K in keyof PythonNames]: S extends keyof Aliases<K> ? Aliases<K>[S] : never }> & M;
/** The snake_case aliases of the camelCase members `M`. */
type SnakeOf<M> = ValuesOf<{ [K in keyof PythonNames]: ValuesOf<{ [S in keyof Aliases<K>]: Aliases<K>[S] extends M ? S : never }> }>;

/**
 * Instance type `C` (of class `K` in KEYWORD_SIGNATURES) with the keyword forms of its listed
 * methods added as overloads, under their camelCase and snake_case names.
 */
export type WithKeywords<C, K extends keyof Signatures> = C
  & { [M in keyof Signatures[K] & keyof C]: KeywordForm<C[M], Signatures[K][M]> }
  & {
    [S in SnakeOf<keyof Signatures[K]> & keyof C]: KeywordForm<
      C[CamelOf<S, keyof Signatures[K] & keyof C>],
      Signatures[K][CamelOf<S, keyof Signatures[K] & keyof C>]
    >;
  };

/** A class re-typed so that `new` makes `I` (its instance type with the keyword forms); statics kept. */
export type KeywordClass<Ctor extends abstract new (...args: any) => any, I> =
  { new (...args: ConstructorParameters<Ctor>): I; prototype: I } & Omit<Ctor, 'prototype'>;
