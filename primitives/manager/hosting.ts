/**
 * The Manager's server side of each declared type: how the server builds the Manager's own types from
 * a client's arguments, and the adapter through which clients reach only the exposed methods. Only the
 * server process loads this (registry.ts): a program using proxies does not load the hosted containers.
 */
import { currentClient } from '../transport/server.js';
import { hostingOf, type Lookup } from './declare.js';
import { ArrayHolder, DictHolder, ListHolder, NamespaceHolder, ValueHolder } from './containers.js';
import { HostedBarrier, HostedCondition, HostedEvent, HostedLock, HostedQueue, HostedSemaphore } from './hosted.js';

type Create = (args: any[], lookup: Lookup) => object;

/** The Manager's own types, by type id (arguments come from a client: each maker checks them). */
const ownTypes = new Map<string, Create>([
  ['dict', ([init]) => new DictHolder(init)],
  ['list', ([init]) => new ListHolder(init)],
  ['Namespace', ([init]) => new NamespaceHolder(init)],
  ['Value', ([typecode, init]) => new ValueHolder(typecode, init)],
  ['Array', ([typecode, init]) => new ArrayHolder(typecode, init)],
  ['Lock', () => new HostedLock('Lock')],
  ['RLock', () => new HostedLock('RLock')],
  ['Semaphore', ([value]) => new HostedSemaphore('Semaphore', value ?? 1)],
  ['BoundedSemaphore', ([value]) => new HostedSemaphore('BoundedSemaphore', value ?? 1)],
  ['Event', () => new HostedEvent()],
  ['Condition', ([lock], lookup) => {
    if (lock === undefined || lock === null) return new HostedCondition();
    const hosted = targetOf(lookup(lock));
    if (!(hosted instanceof HostedLock)) throw new TypeError('Condition(lock): lock must be a Lock or RLock of the same manager');
    return new HostedCondition(hosted);
  }],
  ['Barrier', ([parties, action, timeout]) => {
    if (action !== undefined && action !== null) throw new TypeError('a Manager Barrier cannot run an action: functions cannot be sent to the manager process');
    return new HostedBarrier(parties, timeout);
  }],
  ['Queue', ([maxsize]) => new HostedQueue('Queue', maxsize ?? 0)],
  ['JoinableQueue', ([maxsize]) => new HostedQueue('JoinableQueue', maxsize ?? 0)],
]);

const TARGET: unique symbol = Symbol('multiproc.manager.target');

/** The object behind a server adapter (a Condition built over a hosted Lock needs the Lock itself). */
export function targetOf(adapter: object | undefined): object | undefined {
  return adapter === undefined ? undefined : (adapter as { [TARGET]?: object })[TARGET];
}

/**
 * The server adapter class: one method per exposed name, forwarding to the target, so a client can
 * call nothing else. `abandon` (a client gone: free its locks, end its waits) is the server's own
 * call, refused from the wire.
 */
function adapterClass(typeid: string, names: string[], abandons: boolean): new (target: object) => object {
  const Adapter = { [typeid]: class { [TARGET]: any; constructor(target: object) { this[TARGET] = target; } } }[typeid];
  const define = (name: string, value: (this: { [TARGET]: any }, ...args: any[]) => unknown) =>
    Object.defineProperty(Adapter.prototype, name, { value });
  for (const name of names) define(name, function (...args) { return this[TARGET][name](...args); });
  if (abandons) {
    define('abandon', function (owner: string, died?: boolean) {
      if (currentClient() !== undefined) throw new TypeError(`${typeid} has no method "abandon"`);
      this[TARGET].abandon(owner, died);
    });
  }
  return Adapter;
}

/** Creates an object of `typeid` and returns its adapter, or undefined if nothing declared it. */
export function createHosted(typeid: string, args: unknown[], lookup: Lookup): object | undefined {
  const hosting = hostingOf(typeid);
  const create = hosting?.registered ? hosting.create : ownTypes.get(typeid);
  if (hosting === undefined || create === undefined) return undefined;
  const target = create(args, lookup);
  hosting.Adapter ??= adapterClass(typeid, hosting.names, typeof (target as { abandon?: unknown }).abandon === 'function');
  return new hosting.Adapter(target);
}
