/** Constructor-argument checks shared by Pool, Process and the executors: RangeError / TypeError, thrown at once. */
import type { Runtime } from './base/codec/handles.js';
import { isTaskRef } from './base/task.js';

export function checkCount(value: unknown, name: string, { optional = true, max = Infinity } = {}): number | undefined {
  if (value === undefined || value === null) {
    if (optional) return undefined;
    throw new TypeError(`${name} is required`);
  }
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name} must be a number, got ${typeof value === 'number' ? 'NaN' : typeof value}`);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  if (value > max) throw new RangeError(`${name} must be at most ${max}, got ${value}`);
  return value;
}

export function checkEnv(value: unknown): Record<string, string | undefined> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw new TypeError(`env must be an object of strings, got ${typeof value}`);
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined && typeof v !== 'string') throw new TypeError(`env.${k} must be a string, got ${typeof v}`);
  }
  return value as Record<string, string | undefined>;
}

export function checkExecArgv(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError('execArgv must be an array of strings');
  return value;
}

export function checkRuntime(value: unknown): Runtime {
  if (value === undefined || value === null) return 'thread';
  if (value !== 'thread' && value !== 'process') {
    throw new TypeError(`runtime must be 'thread' or 'process', got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkOptionalTask(value: unknown, name: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'function' && !isTaskRef(value)) {
    throw new TypeError(`${name} must be a function or a task() reference, got ${typeof value}`);
  }
}

export function checkArgs(value: unknown, name = 'args'): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of arguments, got ${typeof value}`);
  return value;
}
