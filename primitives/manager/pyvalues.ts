/**
 * Python value semantics the server-side containers need: `==` (structural, as Python compares
 * lists and dicts), `<` for sort (refusing mixed types as Python does), `repr` for messages,
 * index normalisation, and the fixed set of atomic read-modify-write operators.
 */
import type * as Util from 'node:util';
import { builtin } from '../../lib/base/builtin.js';

/** Python `==`: primitives by value (1 == 1n too), containers structurally. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === 'number' && tb === 'bigint') || (ta === 'bigint' && tb === 'number')) return Number(a) === Number(b) && Number.isInteger(Number(a));
  if (ta !== 'object' || tb !== 'object' || a === null || b === null) return false;
  return builtin<typeof Util>('node:util').isDeepStrictEqual(a, b);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  return typeof v === 'object' ? (Object.getPrototypeOf(v)?.constructor?.name ?? 'object') : typeof v;
}

/** Python's ordering: numbers with numbers, strings with strings, arrays lexicographically; else TypeError. */
export function pyCompare(a: unknown, b: unknown): number {
  const na = typeName(a);
  const nb = typeName(b);
  if (na !== nb) throw new TypeError(`'<' not supported between instances of '${na}' and '${nb}'`);
  if (na === 'number') return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (na === 'string' || na === 'boolean') return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (na === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = pyCompare(x[i], y[i]);
      if (c !== 0) return c;
    }
    return x.length - y.length;
  }
  throw new TypeError(`'<' not supported between instances of '${na}' and '${nb}'`);
}

/** A short Python-like repr, for error messages (`KeyError: 'x'`). */
export function repr(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (typeof v === 'bigint') return String(v);
  if (typeof v !== 'object' || v === null) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeName(v);
  }
}

/** An integer index argument, or TypeError naming what was wrong. */
export function toIndex(i: unknown, what = 'list indices'): number {
  if (typeof i === 'bigint') i = Number(i);
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`${what} must be integers, not ${typeName(i)}`);
  return i;
}

/** The fixed operators of `modify(key, op, operand)`: no closures cross to the server. */
export const OPS = ['+', '-', '*', '/', '//', '%', '**', 'min', 'max', '&', '|', '^', '<<', '>>', 'set'] as const;
export type Op = (typeof OPS)[number];

function isNum(v: unknown): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Applies `current op operand`; numbers with numbers, bigints with bigints, '+' also joins strings. */
export function applyOp(current: unknown, op: unknown, operand: unknown): unknown {
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    throw new TypeError(`unknown operator ${repr(op)}: expected one of ${OPS.join(' ')}`);
  }
  if (op === 'set') return operand;
  if (op === '+' && typeof current === 'string' && typeof operand === 'string') return current + operand;
  if (!isNum(current) || !isNum(operand) || typeof current !== typeof operand) {
    throw new TypeError(`unsupported operand type(s) for ${op}: '${typeName(current)}' and '${typeName(operand)}'${typeof current !== typeof operand && isNum(current) && isNum(operand) ? ' (mix of number and bigint)' : ''}`);
  }
  const a = current as any;
  const b = operand as any;
  const big = typeof a === 'bigint';
  switch (op as Op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/':
      if (b == 0) throw new RangeError('division by zero');
      return big ? a / b : a / b;
    case '//':
      if (b == 0) throw new RangeError('integer division or modulo by zero');
      if (big) return a / b - ((a % b !== 0n && (a < 0n) !== (b < 0n)) ? 1n : 0n);
      return Math.floor(a / b);
    case '%': {
      if (b == 0) throw new RangeError('integer division or modulo by zero');
      const r = a % b;
      return r != 0 && (r < 0) !== (b < 0) ? r + b : r; // Python's sign follows the divisor
    }
    case '**': return a ** b;
    case 'min': return a <= b ? a : b;
    case 'max': return a >= b ? a : b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '<<': return a << b;
    case '>>': return a >> b;
  }
  throw new TypeError(`unknown operator ${repr(op)}`);
}
