/**
 * Python's names for multiproc's classes and functions. Methods get snake_case aliases on the shared
 * prototypes (so an object revived in a worker has them too, and `instanceof` holds across both
 * faces); the aliases and their types both come from one list, {@link PYTHON_NAMES}, and the build
 * fails if they drift apart.
 */
import * as mp from '../index.js';
import type { Typecode } from '../index.js';
import type { WithKeywords } from './keyword-types.js';
import type { ArrayInit, RawArray, SharedArray, SharedOptions } from '../../primitives/sharedctypes.js';
// Python's keyword arguments on the primitives' methods, loaded wherever the aliases are (workers too).
import './keywords.js';
import { keywords } from './arguments.js';

export { PYTHON_NAMES } from './name-list.js';
import { PYTHON_NAMES } from './name-list.js';

type PythonNames = typeof PYTHON_NAMES;

/** @internal The classes {@link PYTHON_NAMES} names, whose prototypes get the aliases. */
export const ALIASED_CLASSES = {
  Process: mp.Process, Queue: mp.Queue, JoinableQueue: mp.JoinableQueue, SimpleQueue: mp.SimpleQueue,
  Connection: mp.Connection, Lock: mp.Lock, RLock: mp.RLock, Semaphore: mp.Semaphore, Event: mp.Event,
  Condition: mp.Condition, Barrier: mp.Barrier, RawSharedValue: mp.RawSharedValue, SharedValue: mp.SharedValue,
  Future: mp.Future, SemaphoreProxy: mp.SemaphoreProxy, EventProxy: mp.EventProxy, ConditionProxy: mp.ConditionProxy,
  BarrierProxy: mp.BarrierProxy, QueueProxy: mp.QueueProxy, JoinableQueueProxy: mp.JoinableQueueProxy,
  DictProxy: mp.DictProxy, ListProxy: mp.ListProxy, ValueProxy: mp.ValueProxy, ArrayProxy: mp.ArrayProxy,
} satisfies { [K in keyof PythonNames]: { prototype: object } };

/** Defines `snake` on `proto` as a call of (or a getter for) `camel`, unless it already exists. */
function alias(proto: object, methods: Record<string, string>, getters: Record<string, string>): void {
  for (const [snake, camel] of Object.entries(methods)) {
    if (Object.prototype.hasOwnProperty.call(proto, snake)) continue;
    Object.defineProperty(proto, snake, {
      value: function (this: any, ...args: unknown[]) {
        return this[camel](...args);
      },
      writable: true, configurable: true,
    });
  }
  for (const [snake, camel] of Object.entries(getters)) {
    if (Object.prototype.hasOwnProperty.call(proto, snake)) continue;
    Object.defineProperty(proto, snake, { get(this: any) { return this[camel]; }, configurable: true });
  }
}

for (const [name, { methods, getters }] of Object.entries(PYTHON_NAMES)) {
  alias(ALIASED_CLASSES[name as keyof PythonNames].prototype, methods, getters);
}

/**
 * @internal This module's URL, left where the worker engines can find it without importing it: a
 * program that uses Python's names wants them on the objects its tasks receive too, so a worker
 * started while this is set imports this URL before its first task.
 */
(globalThis as any)[Symbol.for('multiproc.pythonNames')] = import.meta.url;

/**
 * A method's type with a returned Lock/RLock typed as this face's (with Python's keyword forms), so
 * `value.get_lock()` passes where a `Lock` of multiproc/python is expected; other methods as they are.
 */
type WithFaceLocks<F> = F extends (...args: infer A) => infer R
  ? [R] extends [mp.Lock | mp.RLock] ? (...args: A) => FaceLock<R> : F
  : F;
type FaceLock<R> = R extends mp.RLock ? WithKeywords<mp.RLock, 'RLock'> : R extends mp.Lock ? WithKeywords<mp.Lock, 'Lock'> : R;
/** The alias members of class `K`, typed from the camelCase members of `C` they forward to. */
type Snake<C, M> = { [P in keyof M]: M[P] extends keyof C ? WithFaceLocks<C[M[P]]> : never };
type SnakeGetters<C, G> = { readonly [P in keyof G]: G[P] extends keyof C ? C[G[P]] : never };
/** @internal Python's names for class `K`, as members of `C` (its instance type). */
export type PythonAliases<C, K extends keyof PythonNames> =
  Snake<C, PythonNames[K]['methods']> & SnakeGetters<C, PythonNames[K]['getters']>;

/** Every camelCase member PYTHON_NAMES points to, that its class does not have (never, or a compile error below). */
type ValuesOf<T> = T[keyof T];
type MissingTargets = ValuesOf<{
  [K in keyof PythonNames]: Exclude<
    ValuesOf<PythonNames[K]['methods']> | ValuesOf<PythonNames[K]['getters']>,
    keyof (typeof ALIASED_CLASSES)[K]['prototype']
  >;
}>;
/** @internal the instance type of each class PYTHON_NAMES names. */
export type PythonAliasedInstances = { [K in keyof PythonNames]: (typeof ALIASED_CLASSES)[K]['prototype'] };
/** Every alias PYTHON_NAMES lists that its class's type lacks (its `declare module` entry is missing). */
type UntypedAliases = ValuesOf<{
  [K in keyof PythonNames]: Exclude<keyof PythonNames[K]['methods'] | keyof PythonNames[K]['getters'], keyof PythonAliasedInstances[K]>;
}>;
// Drift fails the build here, naming the culprit: a target its class lacks, or an alias with no type.
const everyAliasHasATarget: [MissingTargets] extends [never] ? true : MissingTargets = true;
const everyAliasIsTyped: [UntypedAliases] extends [never] ? true : UntypedAliases = true;
void everyAliasHasATarget;
void everyAliasIsTyped;

/** Python's names on a shared Array: `get_obj()`, and `get_lock()` unless raw (typed as this face's locks). */
type PyArrayNames<T extends Typecode> = { get_obj(): ReturnType<mp.SharedArray<T>['getObj']> };
type PyLockedArrayNames = { get_lock(): FaceLock<mp.Lock | mp.RLock> };
/** The type of this face's Array: the root's, with Python's names on what it makes. */
interface PyArrayFactory {
  <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options: { lock: false }): RawArray<T> & PyArrayNames<T>;
  <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options?: SharedOptions): SharedArray<T> & PyArrayNames<T> & PyLockedArrayNames;
  new <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options: { lock: false }): RawArray<T> & PyArrayNames<T>;
  new <T extends Typecode>(typecode: T, sizeOrInit: ArrayInit<T>, options?: SharedOptions): SharedArray<T> & PyArrayNames<T> & PyLockedArrayNames;
  from: ArrayConstructor['from'];
  of: ArrayConstructor['of'];
  isArray: ArrayConstructor['isArray'];
}

/** Python's `Array(typecode, size_or_initializer, *, lock=True)`: the typed array also answers get_lock/get_obj. */
export const Array: PyArrayFactory = function Array(...args: Parameters<typeof mp.Array>) {
  const arr: any = (mp.Array as any)(...args);
  if (typeof arr.getLock === 'function') Object.defineProperty(arr, 'get_lock', { value: () => arr.getLock(), configurable: true });
  if (typeof arr.getObj === 'function') Object.defineProperty(arr, 'get_obj', { value: () => arr.getObj(), configurable: true });
  return arr;
} as any;
// the global Array's statics, as the root's Array has them (a module importing this Array shadows the global)
Object.assign(Array, {
  from: globalThis.Array.from.bind(globalThis.Array),
  of: globalThis.Array.of.bind(globalThis.Array),
  isArray: globalThis.Array.isArray,
});

/** Python's `Pipe(duplex=True)`: also `Pipe({ duplex: false })`, the keyword form. */
export function Pipe<T = any>(duplex?: boolean | { duplex?: boolean }): [mp.Connection<T>, mp.Connection<T>] {
  if (typeof duplex === 'object' && duplex !== null) duplex = keywords(duplex, ['duplex'] as const, 'Pipe()').duplex ?? true;
  return mp.Pipe<T>(duplex as boolean | undefined);
}

/** Python's `as_completed(fs, timeout=None)`. */
export const as_completed = mp.asCompleted;
export const cpu_count = mp.cpuCount;
export const current_process = mp.currentProcess;
export const parent_process = mp.parentProcess;
export const active_children = mp.activeChildren;

/** Python's names for the broken-executor errors. */
export const BrokenProcessPool = mp.BrokenPoolError;
export const BrokenThreadPool = mp.BrokenPoolError;
export const BrokenExecutor = mp.BrokenPoolError;

// Declaration merging: the aliases of PYTHON_NAMES, for TypeScript (each class names its own entry).
declare module '../index.js' {
  interface Process extends PythonAliases<Process, 'Process'> {}
  interface Queue<T> extends PythonAliases<Queue<T>, 'Queue'> {}
  interface JoinableQueue<T> extends PythonAliases<JoinableQueue<T>, 'JoinableQueue'> {}
  interface SimpleQueue<T> extends PythonAliases<SimpleQueue<T>, 'SimpleQueue'> {}
  interface Connection<T> extends PythonAliases<Connection<T>, 'Connection'> {}
  interface Lock extends PythonAliases<Lock, 'Lock'> {}
  interface RLock extends PythonAliases<RLock, 'RLock'> {}
  interface Semaphore extends PythonAliases<Semaphore, 'Semaphore'> {}
  interface Event extends PythonAliases<Event, 'Event'> {}
  interface Condition extends PythonAliases<Condition, 'Condition'> {}
  interface Barrier extends PythonAliases<Barrier, 'Barrier'> {}
  interface RawSharedValue<T extends Typecode = Typecode> extends PythonAliases<RawSharedValue<T>, 'RawSharedValue'> {}
  interface SharedValue<T extends Typecode = Typecode> extends PythonAliases<SharedValue<T>, 'SharedValue'> {}
  interface Future<T> extends PythonAliases<Future<T>, 'Future'> {}
  interface SemaphoreProxy extends PythonAliases<SemaphoreProxy, 'SemaphoreProxy'> {}
  interface EventProxy extends PythonAliases<EventProxy, 'EventProxy'> {}
  interface ConditionProxy extends PythonAliases<ConditionProxy, 'ConditionProxy'> {}
  interface BarrierProxy extends PythonAliases<BarrierProxy, 'BarrierProxy'> {}
  interface QueueProxy<T> extends PythonAliases<QueueProxy<T>, 'QueueProxy'> {}
  interface JoinableQueueProxy<T> extends PythonAliases<JoinableQueueProxy<T>, 'JoinableQueueProxy'> {}
  interface DictProxy<V> extends PythonAliases<DictProxy<V>, 'DictProxy'> {}
  interface ListProxy<T> extends PythonAliases<ListProxy<T>, 'ListProxy'> {}
  interface ValueProxy<T extends number | bigint = number> extends PythonAliases<ValueProxy<T>, 'ValueProxy'> {}
  interface ArrayProxy<T extends number | bigint = number> extends PythonAliases<ArrayProxy<T>, 'ArrayProxy'> {}
}
