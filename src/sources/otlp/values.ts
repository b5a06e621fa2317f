/**
 * Reading attribute values by name, whatever type they arrived as. Claude Code's value types drift by version and
 * by event (`"3"` in 2.1.88, `3` later; `status_code: "undefined"`), so every reader coerces: strings that hold a
 * number are numbers, `"true"`/`"false"` are booleans, and `""`, `"undefined"`, `"null"` and a missing key are
 * absent. A value that cannot be read is absent too, and `Attrs.issues` says why.
 */
import { canonicalDecimal, doubleToDecimal } from './decimal.ts';
import type { AnyValue, KeyValue } from './shape.ts';

/** An attribute value as plain data: bytes become base64, a kvlist an object (key order kept). */
export type PlainValue =
  | string
  | boolean
  | bigint
  | number
  | null
  | readonly PlainValue[]
  | { readonly [key: string]: PlainValue };

export function plainValue(v: AnyValue): PlainValue {
  switch (v.type) {
    case 'string':
    case 'bool':
    case 'int':
    case 'double':
      return v.value;
    case 'bytes':
      return Buffer.from(v.value).toString('base64');
    case 'array':
      return v.values.map(plainValue);
    case 'kvlist':
      return Object.fromEntries(v.values.map((kv) => [kv.key, plainValue(kv.value)]));
    case 'empty':
      return null;
  }
}

/** Sets an own property whatever the key (`__proto__` included). */
export function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const ABSENT = new Set(['', 'undefined', 'null']);
const INTEGER = /^[+-]?\d+$/;

/** The attributes of one record, point or span, read by name. Later duplicates of a key win. */
export class Attrs {
  private readonly map = new Map<string, AnyValue>();
  /** Keys read so far (by any reader): what `rest()` leaves out. */
  private readonly used = new Set<string>();
  /** Values that were present but unreadable as the type their name calls for. */
  readonly issues: string[] = [];

  constructor(attrs: readonly KeyValue[]) {
    for (const kv of attrs) this.map.set(kv.key, kv.value);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  raw(key: string): AnyValue | undefined {
    return this.get(key);
  }

  /** Marks keys as accounted for without reading them. */
  consume(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  /** The attributes no reader has asked for, as plain values. */
  rest(): Record<string, PlainValue> {
    const out: Record<string, PlainValue> = {};
    for (const [key, value] of this.map) {
      if (this.used.has(key)) continue;
      define(out, key, plainValue(value));
    }
    return out;
  }

  private get(key: string): AnyValue | undefined {
    this.used.add(key);
    return this.map.get(key);
  }

  private problem(key: string, expected: string, v: AnyValue): null {
    const shown = v.type === 'string' ? JSON.stringify(v.value) : v.type;
    this.issues.push(`${key}: expected ${expected}, got ${shown}`);
    return null;
  }

  /** A string; numbers and booleans are written out; arrays of scalars are joined with ','. */
  str(key: string): string | null {
    const v = this.get(key);
    if (v === undefined) return null;
    const s = scalarText(v);
    if (s === undefined) return this.problem(key, 'a string', v);
    return s === '' ? null : s;
  }

  /** A whole number (milliseconds, status codes, sequence numbers) as a JS number: exact, so within ±2^53. */
  int(key: string): number | null {
    const v = this.get(key);
    if (v === undefined) return null;
    let n: number | undefined;
    if (v.type === 'int') n = Number(v.value);
    else if (v.type === 'double' && Number.isInteger(v.value)) n = v.value;
    else if (v.type === 'string') {
      const t = v.value.trim();
      if (ABSENT.has(t)) return null;
      const x = Number(t);
      if (INTEGER.test(t) || Number.isInteger(x)) n = x;
    } else if (v.type === 'empty') return null;
    if (n === undefined || !Number.isSafeInteger(n)) return this.problem(key, 'an integer', v);
    return n;
  }

  /** A count (tokens, bytes, attempts): a whole number ≥ 0; anything else is an issue, not a number to add up. */
  countOrNull(key: string): number | null {
    const n = this.int(key);
    if (n === null || n >= 0) return n;
    this.issues.push(`${key}: expected a count (≥ 0), got ${n}`);
    return null;
  }

  /** A count that should be there: 0 and an issue when it is absent or unreadable. */
  count(key: string): number {
    const before = this.issues.length;
    const n = this.countOrNull(key);
    if (n === null && this.issues.length === before) this.issues.push(`${key}: missing`);
    return n ?? 0;
  }

  /** Any number. */
  num(key: string): number | null {
    const v = this.get(key);
    if (v === undefined) return null;
    if (v.type === 'int') return Number(v.value);
    if (v.type === 'double') return v.value;
    if (v.type === 'string') {
      const t = v.value.trim();
      if (ABSENT.has(t)) return null;
      const n = Number(t);
      if (Number.isFinite(n)) return n;
    }
    if (v.type === 'empty') return null;
    return this.problem(key, 'a number', v);
  }

  /** An exact decimal string (money): a double is written as its shortest round-tripping decimal. */
  decimal(key: string): string | null {
    const v = this.get(key);
    if (v === undefined) return null;
    if (v.type === 'int') return v.value.toString();
    if (v.type === 'double')
      return doubleToDecimal(v.value) ?? this.problem(key, 'a finite number', v);
    if (v.type === 'string') {
      if (ABSENT.has(v.value.trim())) return null;
      return canonicalDecimal(v.value) ?? this.problem(key, 'a decimal number', v);
    }
    if (v.type === 'empty') return null;
    return this.problem(key, 'a decimal number', v);
  }

  bool(key: string): boolean | null {
    const v = this.get(key);
    if (v === undefined) return null;
    if (v.type === 'bool') return v.value;
    if (v.type === 'string') {
      const t = v.value.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      if (ABSENT.has(t)) return null;
    }
    if (v.type === 'int') return v.value !== 0n;
    if (v.type === 'empty') return null;
    return this.problem(key, 'a boolean', v);
  }
}

/** A scalar (or array of scalars) as text; undefined for kvlists, bytes and nested arrays. */
export function scalarText(v: AnyValue): string | undefined {
  switch (v.type) {
    case 'string':
      return ABSENT.has(v.value.trim()) ? '' : v.value;
    case 'bool':
    case 'int':
      return String(v.value);
    case 'double':
      return doubleToDecimal(v.value) ?? String(v.value);
    case 'empty':
      return '';
    case 'array': {
      const parts = v.values.map((e) => (e.type === 'array' ? undefined : scalarText(e)));
      return parts.every((p) => p !== undefined) ? parts.join(',') : undefined;
    }
    default:
      return undefined;
  }
}

/** Epoch milliseconds of a unix-nanos timestamp (floored). */
export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}
