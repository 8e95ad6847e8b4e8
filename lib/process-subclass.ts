/**
 * Python's other way to give a Process its work: subclass it and override `run()`. Python's spawn
 * pickles the Process object and calls `run()` on the copy in the child; here the subclass's methods
 * travel by their source text (as a function target does) and the instance's own properties travel
 * as copies (primitives — a Value, a Queue, an Event — cross as primitives do, so the parent sees
 * what the child did to them, as in Python). Methods keep `super` calls between the subclass's own
 * levels: each level becomes an object literal whose prototype is the level below.
 */

/** What a start() sends for a subclass that overrides run(): a function of its state, and that state. */
export interface SubclassRun {
  src: string;
  state: Record<string, unknown>;
}

/**
 * The levels between an instance and the library's Process prototype, the subclass's own first
 * (multiproc/python's Process is one of them: it holds only its constructor, so it adds nothing).
 */
function ownLevels(instance: object, base: object): object[] {
  const levels: object[] = [];
  for (let proto = Object.getPrototypeOf(instance); proto !== null && proto !== base; proto = Object.getPrototypeOf(proto)) {
    levels.push(proto);
  }
  return levels;
}

/** True when `instance`'s class (not the library's) defines `run`. */
export function overridesRun(instance: object, base: object): boolean {
  return ownLevels(instance, base).some((level) => Object.prototype.hasOwnProperty.call(level, 'run'));
}

/**
 * `run = () => { ... }` in a subclass is a class field: it is set on the instance after the
 * constructor of Process has run, is no method of the class, and its arrow's `this` cannot travel
 * to the worker. Python's `run` is a method, and the port should say so.
 */
export function runFieldError(cls: { name?: string } | undefined): TypeError {
  const name = cls?.name || 'the Process subclass';
  return new TypeError(
    `${name}.run is a class field (run = () => ...), not a method: a subclass overrides Process.run() ` +
      `with a method, as in Python: write \`run() { ... }\` in the class body`,
  );
}

/**
 * A class field `run = ...` in a class's source, also as a compiler lowers it (`this.run = ...`,
 * `__publicField(this, "run", ...)`). Only consulted where the Process would be refused anyway (no
 * target, no run method), so a false match changes nothing but the message.
 */
const RUN_FIELD = /(?<![\w$])run\s*=(?![=>])|["']run["']/;

/** Throws {@link runFieldError} when a class up to `base` declares `run` as a field (seen from its source). */
export function refuseRunField(cls: object, base: object): void {
  for (let c: any = cls; typeof c === 'function' && c !== base; c = Object.getPrototypeOf(c)) {
    if (RUN_FIELD.test(Function.prototype.toString.call(c))) throw runFieldError(cls);
  }
}

/** A member's source as an object-literal member: method shorthand as it prints, other functions as `key: expr`. */
function memberSource(key: string, desc: PropertyDescriptor, className: string): string | undefined {
  if (desc.get || desc.set) {
    return [desc.get, desc.set].filter(Boolean).map((f) => Function.prototype.toString.call(f)).join(',\n');
  }
  if (typeof desc.value !== 'function') return undefined; // data on a prototype: rare, and not the user's state
  const src = Function.prototype.toString.call(desc.value);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new TypeError(`${className}.prototype.${key} is a native or bound function and cannot be sent to the worker by source`);
  }
  // `function f() {}`, `async function`, arrows and classes are expressions; anything else printed as a method
  const isExpression = /^(?:async\s+)?(?:function\b|\(|[A-Za-z_$][\w$]*\s*=>)|^class\b/.test(src);
  return isExpression ? `${JSON.stringify(key)}: ${src}` : src;
}

/** The worker-side function: rebuilds the levels, puts the state on a fresh object, and calls its run(). */
export function subclassRun(instance: object, base: object, name: string, daemon: boolean): SubclassRun {
  const className = instance.constructor?.name || 'the Process subclass';
  const literals: string[] = [];
  for (const level of ownLevels(instance, base).reverse()) {
    const members: string[] = [];
    for (const key of Object.getOwnPropertyNames(level)) {
      if (key === 'constructor') continue;
      const src = memberSource(key, Object.getOwnPropertyDescriptor(level, key)!, className);
      if (src !== undefined) members.push(src);
    }
    literals.push(`proto = Object.setPrototypeOf({\n${members.join(',\n')}\n}, proto);`);
  }
  // The level below the user's: what `this` has of the Process itself inside the worker.
  const src = `(state) => {
let proto = {
  get pid() { const wt = process.getBuiltinModule('node:worker_threads'); return wt.isMainThread ? process.pid : wt.threadId; },
  run() { throw new TypeError('the base Process.run() has no target inside the worker of a subclass: do the work in run() itself'); },
};
${literals.join('\n')}
return Object.assign(Object.create(proto), state).run();
}`;
  try {
    // Parsed here, not run: a member the worker could not compile fails start() in the caller, named.
    new Function(`return (${src})`);
  } catch (err) {
    throw new TypeError(
      `${className}'s methods cannot be sent to the worker (${(err as Error).message}): ` +
        'private members (#name) stay in this thread; use ordinary properties and methods',
      { cause: err },
    );
  }
  const state: Record<string, unknown> = { name, daemon };
  for (const key of Object.keys(instance)) state[key] = (instance as Record<string, unknown>)[key];
  return { src, state };
}
