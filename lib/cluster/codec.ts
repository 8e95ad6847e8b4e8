/**
 * What a job and its result carry across hosts, before sealing (signing.ts) and after opening.
 *
 * Values cross by v8 serialization, as they do to a local process worker (Map, Set, Date, BigInt,
 * typed arrays, nested objects); one that cannot is named by its path (`args[1].cb: function`).
 *
 * Module names are made portable, since the hosts do not share the client's file system: a module of the
 * client's project travels as a path relative to its working directory (`multiproc-cwd:demos/x.ts`), which
 * a host resolves against its own; a module of this package (a Manager proxy's reviver) travels as a path
 * inside the package (`multiproc-pkg:primitives/manager/revive`), which a host finds in its own copy.
 * Package names and other URLs travel as they are.
 */
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import { builtin } from '../base/builtin.js';
import { v8Codec } from '../base/codec/message.js';
import type { WireError } from '../base/codec/error-wire.js';
import { findUnserializable } from '../base/codec/unserializable.js';
import { SerializationError } from '../base/errors.js';
import type { TaskSpec } from '../base/task.js';
import { ownBuffer, unsendablePath } from '../engine/batch-parts.js';
import { HANDLES, PACKED } from '../engine/engine.js';

const CWD_SCHEME = 'multiproc-cwd:';
const PKG_SCHEME = 'multiproc-pkg:';
const nodePath = () => builtin<typeof Path>('node:path');
const nodeUrl = () => builtin<typeof Url>('node:url');

/** The key under which lib/base/codec/handles.ts puts a handle descriptor (not exported there). */
const HANDLE_KEY = '__multiproc_handle__';

/** This copy of the package: the repository (running from sources) or `dist/` (built). */
const packageRoot = nodeUrl().fileURLToPath(new URL('../../', import.meta.url));
const moduleExt = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** A module URL or specifier as a host can resolve it. */
export function portableModule(url: string): string {
  if (!url.startsWith('file:')) return url;
  const path = nodeUrl().fileURLToPath(url);
  const inPackage = nodePath().relative(packageRoot, path).split(nodePath().sep).join('/');
  if (/^(lib|primitives)\/.*\.(ts|js)$/.test(inPackage)) return PKG_SCHEME + inPackage.replace(/\.(ts|js)$/, '');
  return CWD_SCHEME + nodePath().relative(process.cwd(), path).split(nodePath().sep).join('/');
}

/** The module a portable name stands for on this host. */
export function localModule(name: string): string {
  if (name.startsWith(PKG_SCHEME)) return nodeUrl().pathToFileURL(nodePath().resolve(packageRoot, name.slice(PKG_SCHEME.length) + moduleExt)).href;
  if (name.startsWith(CWD_SCHEME)) return nodeUrl().pathToFileURL(nodePath().resolve(process.cwd(), name.slice(CWD_SCHEME.length))).href;
  return name;
}

function mapSpec(spec: TaskSpec, map: (url: string) => string): TaskSpec {
  return spec.kind === 'mod' ? { kind: 'mod', url: map(spec.url), name: spec.name } : spec;
}

/** Rewrites the module of every handle descriptor inside `value` (copies along the way, never in place). */
function mapHandleModules(value: unknown, map: (url: string) => string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => mapHandleModules(item, map));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const desc = (value as Record<string, any>)[HANDLE_KEY];
  if (desc && typeof desc.module === 'string') return { [HANDLE_KEY]: { ...desc, module: map(desc.module) } };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = mapHandleModules((value as Record<string, unknown>)[key], map);
  return out;
}

/** One call of a job: a task's call, or a map chunk (flags & CHUNK), numbered by its client. */
export interface CallPayload {
  seq: number;
  spec: TaskSpec;
  args: unknown;
  flags: number;
  base?: number;
}

/** A job as a host runs it: calls submitted together, sent together. */
export interface JobPayload {
  calls: CallPayload[];
  /** Re-runs allowed after the host running it died. */
  retries: number;
  /** When the job stops being valid (ms since the epoch): a host refuses it after that, so a copy cannot be replayed forever. */
  expires: number;
}

/** On the wire: specs once, then `[spec index, args, flags, base, seq]` per call. */
interface WireJob {
  r: number;
  e: number;
  s: TaskSpec[];
  c: [number, unknown, number, number | undefined, number][];
}

function cannotSend(call: CallPayload, cause: unknown): SerializationError {
  const where = unsendablePath(call, 'process');
  if (where) return new SerializationError(`cannot send ${where} to another host`, where.split(':')[0]);
  return new SerializationError(`cannot send the task to another host: ${(cause as Error)?.message ?? String(cause)}`);
}

function wireJob(calls: CallPayload[], retries: number, expires: number): WireJob {
  const specs: TaskSpec[] = [];
  const index = new Map<string, number>();
  const wire: WireJob = { r: retries, e: expires, s: specs, c: [] };
  for (const call of calls) {
    // keyed by text: an inline lambda is a new function (and spec) on every call
    const key = call.spec.kind === 'src' ? call.spec.src : `\0${call.spec.url}#${call.spec.name}`;
    let i = index.get(key);
    if (i === undefined) {
      index.set(key, (i = specs.length));
      specs.push(mapSpec(call.spec, portableModule));
    }
    const args = call.flags & HANDLES ? mapHandleModules(call.args, portableModule) : call.args;
    wire.c.push([i, args, call.flags, call.base, call.seq]);
  }
  return wire;
}

/**
 * Serializes a job. Calls holding a value that cannot cross are left out and returned with their
 * SerializationError (naming the value's path): they fail alone, the others go.
 */
export function encodeJob(job: JobPayload): { bytes: Buffer | null; refused: [CallPayload, SerializationError][] } {
  try {
    return { bytes: v8Codec().serialize(wireJob(job.calls, job.retries, job.expires)), refused: [] };
  } catch (cause) {
    const refused: [CallPayload, SerializationError][] = [];
    const good: CallPayload[] = [];
    for (const call of job.calls) {
      try {
        v8Codec().serialize(wireJob([call], job.retries, job.expires));
        good.push(call);
      } catch (err) {
        refused.push([call, cannotSend(call, err ?? cause)]);
      }
    }
    return { bytes: good.length > 0 ? v8Codec().serialize(wireJob(good, job.retries, job.expires)) : null, refused };
  }
}

/** The job a host runs, with module names resolved on this host. */
export function decodeJob(bytes: Uint8Array): JobPayload {
  const wire = v8Codec().deserialize(bytes) as WireJob;
  const specs = wire.s.map((spec) => mapSpec(spec, localModule));
  const calls = wire.c.map(([i, args, flags, base, seq]) => ({
    seq, spec: specs[i], flags, base, args: flags & HANDLES ? mapHandleModules(args, localModule) : flags & PACKED ? new Float64Array(ownBuffer(args as Float64Array)) : args,
  }));
  return { calls, retries: wire.r, expires: wire.e };
}

/** The outcome of one call. */
export interface CallResult {
  seq: number;
  ok: boolean;
  /** The result (ok), with handle descriptors when `handles`. */
  value?: unknown;
  error?: WireError;
  handles?: boolean;
  /** Milliseconds from reaching the host's local pool to its result (waiting there included). */
  run: number;
}

/** A job answered as a whole, when its calls cannot be (its payload is gone or did not open). */
export interface JobFailure {
  /** The job's number (its id's). */
  job: number;
  error: WireError;
}

/** Results a host sends a client at once, with who ran them. */
export interface ResultBatch {
  /** Jobs that failed as a whole. */
  jobs?: JobFailure[];
  host: string;
  /** The worker command's pid. */
  pid: number;
  /** Mean run time of one item in the host's workers, as they measure it (what clients group jobs by). */
  itemMs: number;
  results: CallResult[];
  /** Jobs (their numbers) the host holds now, with `beat`: what tells the client they still run. */
  running?: number[];
  /** [random id of the host's run, beat number]: a beat whose number is not above the last one seen is a copy. */
  beat?: [string, number];
}

function wireResult(result: CallResult): CallResult {
  return result.handles ? { ...result, value: mapHandleModules(result.value, portableModule) } : result;
}

/**
 * Serializes results. One whose value cannot cross becomes the SerializationError its caller gets
 * (naming the value's path); the others go as they are.
 */
export function encodeResults(batch: ResultBatch, errorToWire: (err: unknown) => WireError): Buffer {
  const results = batch.results.map(wireResult);
  try {
    return v8Codec().serialize({ ...batch, results });
  } catch {
    const checked = results.map((result) => {
      try {
        v8Codec().serialize(result);
        return result;
      } catch (err) {
        const where = findUnserializable(result.value, 'result', 'process');
        const error = new SerializationError(
          where ? `cannot send the task's result back from another host: ${where}` : `cannot send the task's result back: ${(err as Error)?.message ?? String(err)}`,
          where ? where.split(':')[0] : '',
        );
        return { seq: result.seq, ok: false, error: errorToWire(error), run: result.run };
      }
    });
    return v8Codec().serialize({ ...batch, results: checked });
  }
}

export function decodeResults(bytes: Uint8Array): ResultBatch {
  const batch = v8Codec().deserialize(bytes) as ResultBatch;
  for (const result of batch.results) if (result.handles) result.value = mapHandleModules(result.value, localModule);
  return batch;
}

// ---- frames on a client's result stream ---------------------------------------------------------------

/** Sealed results (a ResultBatch); the number is unused. */
export const RESULT = 1;
/**
 * A host holding another authkey could not open a job, and handed it back: the body is that host's key
 * id only (8 bytes). Unauthenticated (the keys differ), so it only ever draws a warning, never fails a call.
 */
export const REFUSED = 2;
const FRAME_HEAD = 7;

export function frame(type: typeof RESULT | typeof REFUSED, seq: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEAD + body.length);
  out[0] = type;
  out.writeUIntBE(seq, 1, 6);
  out.set(body, FRAME_HEAD);
  return out;
}

export function readFrame(bytes: Buffer): { type: number; seq: number; body: Buffer } | null {
  if (bytes.length < FRAME_HEAD) return null;
  return { type: bytes[0], seq: bytes.readUIntBE(1, 6), body: bytes.subarray(FRAME_HEAD) };
}

// ---- names --------------------------------------------------------------------------------------------

/** BullMQ's key prefix for multiproc queues; our own keys live beside the queue's. */
export const PREFIX = 'multiproc';

/** A job id: the client's id and the job's number with it, so the host knows where to answer. */
export function jobId(clientId: string, seq: number): string {
  return `${clientId}.${seq}`;
}

export function parseJobId(id: string): { clientId: string; seq: number } | null {
  const m = /^([0-9a-f]{16})\.(\d{1,15})$/.exec(id);
  return m ? { clientId: m[1], seq: Number(m[2]) } : null;
}

/** BullMQ's hash of a job (its data, options and state). */
export function jobKey(queue: string, id: string): string {
  return `${PREFIX}:${queue}:${id}`;
}

/** The stream a client reads its results from. */
export function resultKey(queue: string, clientId: string): string {
  return `${PREFIX}:${queue}:results:${clientId}`;
}

/**
 * Where a large job's sealed payload waits, beside the job: BullMQ keeps job data as JSON, and a
 * megabyte of base64 costs ~15 ms to encode, stringify and parse, where a binary key costs one GET.
 */
export function payloadKey(queue: string, id: string): string {
  return `${PREFIX}:${queue}:payload:${id}`;
}

/** Job data: the sealed payload inline (base64), or `x` when it waits at payloadKey(). */
export interface JobData {
  p?: string;
  x?: 1;
}

/** Where clients tell hosts to stop jobs (aborted or terminated): sealed messages, see sealCancel(). */
export function cancelChannel(queue: string): string {
  return `${PREFIX}:${queue}:cancel`;
}

/**
 * A client's run record, part one: how many times a host started each of its jobs still in flight (a hash
 * by job number; a job's field goes once it is answered).
 */
export function startsKey(queue: string, clientId: string): string {
  return `${PREFIX}:${queue}:starts:${clientId}`;
}

/**
 * A client's run record, part two: one bit per job number, set once the job was answered, so a copy added
 * again is refused. A bitmap, since job numbers are sequential: a million jobs cost 125 KB.
 */
export function doneKey(queue: string, clientId: string): string {
  return `${PREFIX}:${queue}:done:${clientId}`;
}

/** Present (with a short expiry the client keeps renewing) while a client lives: hosts drop the jobs of a dead one. */
export function clientKey(queue: string, clientId: string): string {
  return `${PREFIX}:${queue}:client:${clientId}`;
}

/** Live hosts of a queue: a sorted set of `host:pid` by when each last said so (Redis's clock, in ms). */
export function hostsKey(queue: string): string {
  return `${PREFIX}:${queue}:hosts`;
}

/** Host heartbeat (KEYS[1] the hosts key, ARGV[1] the host, ARGV[2] forget after ms), on Redis's clock: hosts' clocks may differ. */
export const HOST_BEAT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return now`;

/** Hosts that said they live within ARGV[1] ms (KEYS[1] the hosts key), on Redis's clock. */
export const LIVE_HOSTS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')`;

/** A cancel notice in clear: `<client id> <sealed base64>`, the seal holding the job ids and when it was sent. */
export function cancelMessage(clientId: string, sealed: Buffer): string {
  return `${clientId} ${sealed.toString('base64')}`;
}

export function parseCancelMessage(message: string): { clientId: string; sealed: Buffer } | null {
  const m = /^([0-9a-f]{16}) ([A-Za-z0-9+/=]+)$/.exec(message);
  return m ? { clientId: m[1], sealed: Buffer.from(m[2], 'base64') } : null;
}

/**
 * What a seal is bound to: a job's payload to its job id (it cannot be replayed as another job), results
 * to the client they are for (the calls they answer are named inside).
 */
export function sealContext(what: 'job' | 'results' | 'cancel', queue: string, id: string): string {
  return `${what}\0${queue}\0${id}`;
}
