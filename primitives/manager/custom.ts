/**
 * Types a program registers with its Manager (Python's customized managers:
 * `BaseManager.register(typeid, callable, exposed=...)`). A function cannot be sent to the server
 * process, so the callable is a `task(module, exportName)` reference the server imports at start.
 * Each registered type goes through the same declaration as the Manager's own: the server hosts it
 * behind an adapter of its exposed methods, and a client builds its proxy class from the exposed
 * names the server reports (so `connect`ed clients and workers need no registration of their own).
 */
import { isTaskRef, type TaskRef } from '../../lib/base/task.js';
import { ensureTypeScriptLoader } from '../../lib/base/ts-loader.js';
import { BaseProxy, call, hasProxyKind, setKindResolver } from './proxy-base.js';
import { declareType, isDeclared, ROOT_ID, type Exposure } from './declare.js';
import type { Link } from './link.js';

/** What the server needs to host a registered type (sent to it over the IPC channel at start). */
export interface Registration {
  typeid: string;
  module: string;
  exportName: string;
  /** The methods clients may call; default: a class's public methods (names not starting with `_`). */
  exposed?: string[];
}

/** Options of `Manager.register`. */
export interface RegisterOptions {
  /** The methods clients may call (Python's `exposed`); default, for a class, its public methods. */
  exposed?: readonly string[];
}

/** The root object of a manager, as a proxy (only the root methods are callable). */
export class RootProxy extends BaseProxy {
  static override readonly kind = ROOT_ID;
}

/**
 * Names a proxy cannot forward: `then` would make every proxy a thenable (`await` would call it),
 * `constructor` names the class, `abandon` is the server's own call when a client goes.
 */
const RESERVED = new Set(['then', 'constructor', 'abandon']);

/** Checks `Manager.register`'s arguments (they fail here, in the caller, not at start). */
export function registration(typeid: unknown, callable: unknown, opts: RegisterOptions = {}): Registration {
  if (typeof typeid !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(typeid)) {
    throw new TypeError(`Manager.register(typeid): typeid must be an identifier, got ${JSON.stringify(typeid)}`);
  }
  if (isDeclared(typeid) || typeid === ROOT_ID) throw new TypeError(`Manager.register: "${typeid}" is one of the Manager's own types`);
  if (!isTaskRef(callable)) {
    throw new TypeError(`Manager.register(${typeid}, callable): callable must be a task(module, exportName) reference: a function cannot be sent to the manager process`);
  }
  const exposed = opts.exposed;
  if (exposed !== undefined && (!Array.isArray(exposed) || !exposed.every((n) => typeof n === 'string' && n !== ''))) {
    throw new TypeError(`Manager.register(${typeid}): exposed must be an array of method names`);
  }
  const reserved = exposed?.find((n) => RESERVED.has(n));
  if (reserved !== undefined) throw new TypeError(`Manager.register(${typeid}): "${reserved}" cannot be exposed`);
  return { typeid, module: (callable as TaskRef).module, exportName: (callable as TaskRef).exportName, exposed: exposed && [...exposed] };
}

type Callable = (...args: unknown[]) => unknown;

function isClass(fn: Callable): boolean {
  return /^class\b/.test(Function.prototype.toString.call(fn));
}

/** A class's public methods, along its prototype chain (Python's `public_methods`). */
function publicMethods(cls: Callable): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (!RESERVED.has(name) && !name.startsWith('_') && typeof d?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** Server side: imports a registered type's callable and declares it. Errors name the registration. */
export async function hostRegistration(reg: Registration): Promise<void> {
  const what = `Manager.register(${reg.typeid}, task(${reg.module}, ${reg.exportName}))`;
  if (/\.[cm]?tsx?$/.test(new URL(reg.module, 'file:///').pathname)) await ensureTypeScriptLoader();
  const callable = (await import(reg.module))[reg.exportName];
  if (typeof callable !== 'function') throw new TypeError(`${what}: the export ${reg.exportName} is not a function or class`);
  const cls = isClass(callable);
  const names = reg.exposed ?? (cls ? publicMethods(callable) : undefined);
  if (names === undefined) throw new TypeError(`${what}: a factory function needs { exposed: [...] } (only a class's methods can be listed for it)`);
  declareType({
    typeid: reg.typeid,
    create: (args) => (cls ? new callable(...args) : callable(...args)),
    registered: true,
    exposed: exposureOf(names) as never,
  });
}

function exposureOf(names: readonly string[]): Record<string, Exposure> {
  return Object.fromEntries(names.map((n) => [n, 'call']));
}

/** Client side: makes sure this thread has the proxy class of `typeid`, asking the server for its exposed names. */
export async function ensureProxyType(link: Link, typeid: string): Promise<void> {
  if (hasProxyKind(typeid)) return;
  const names = await call<string[]>(new RootProxy(link, ROOT_ID as unknown as number), 'exposedOf', [typeid]);
  if (!hasProxyKind(typeid)) declareType({ typeid, create: () => { throw new TypeError(`${typeid} is hosted by its manager`); }, registered: true, exposed: exposureOf(names) as never });
}

setKindResolver(ensureProxyType);
