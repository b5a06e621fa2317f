/**
 * Field reading for the OTLP walk (`normalise.ts`), by dialect: `json` is what JSON.parse gives for an OTLP/JSON
 * body (lowerCamelCase keys — the proto field names are accepted too, as proto3 JSON parsers do —, hex ids, base64
 * bytes, 64-bit integers as decimal strings or numbers, enums as integers or names, doubles as numbers or
 * "NaN"/"Infinity"/"-Infinity", null meaning absent); `protobuf` is protobufjs `toObject(…, { longs: BigInt,
 * enums: Number })` of a decoded message. A value of the wrong type throws a `ShapeError` naming its path.
 */

export class ShapeError extends Error {}

export type Obj = Readonly<Record<string, unknown>>;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DECIMAL_INT = /^-?\d+$/;
const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b];
  return out;
}

const SNAKE = new Map<string, string>();

/** `timeUnixNano` → `time_unix_nano`: the proto field name, which proto3 JSON parsers also accept. */
function snakeCase(field: string): string {
  let snake = SNAKE.get(field);
  if (snake === undefined) {
    snake = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    SNAKE.set(field, snake);
  }
  return snake;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** The path-tracking, dialect-aware readers one walk uses; the walk itself is `Normaliser`. */
export abstract class FieldReader {
  private readonly path: string[] = [];

  constructor(private readonly dialect: 'json' | 'protobuf') {}

  /** Where the walk is: `resourceLogs[0].scopeLogs[1].logRecords[2].timeUnixNano`. */
  where(): string {
    return this.path.join('').replace(/^\./, '') || '(top level)';
  }

  /** Runs `fn` with `segment` on the path; on a throw the path is left pointing at the culprit. */
  protected in<T>(segment: string, fn: () => T): T {
    this.path.push(segment);
    const out = fn();
    this.path.pop();
    return out;
  }

  protected get(o: Obj, field: string): unknown {
    const v = o[field];
    if (v !== undefined && v !== null) return v;
    if (this.dialect === 'protobuf') return undefined;
    const snake = snakeCase(field);
    const s = snake === field ? undefined : o[snake];
    return s === null ? undefined : s;
  }

  protected has(o: Obj, field: string): boolean {
    return this.get(o, field) !== undefined;
  }

  protected fail(field: string, expected: string, got: unknown, gotText = describe(got)): never {
    this.path.push(`.${field}`);
    throw new ShapeError(`${this.where()}: expected ${expected}, got ${gotText}`);
  }

  protected msg(o: Obj, field: string): Obj | null {
    const v = this.get(o, field);
    if (v === undefined) return null;
    if (!isObj(v)) this.fail(field, 'an object', v);
    return v;
  }

  protected list<T>(o: Obj, field: string, each: (e: Obj) => T): T[] {
    const v = this.get(o, field);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(field, 'an array', v);
    const out: T[] = [];
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i];
      if (!isObj(e)) this.fail(`${field}[${i}]`, 'an object', e);
      this.path.push(`.${field}[${i}]`);
      out.push(each(e));
      this.path.pop();
    }
    return out;
  }

  protected scalars<T>(o: Obj, field: string, each: (v: unknown) => T | undefined): T[] {
    const v = this.get(o, field);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(field, 'an array', v);
    return v.map((e: unknown, i) => {
      const out = each(e);
      if (out === undefined) this.fail(`${field}[${i}]`, 'a number', e);
      return out;
    });
  }

  protected str(o: Obj, field: string): string {
    const v = this.get(o, field);
    if (v === undefined) return '';
    if (typeof v !== 'string') this.fail(field, 'a string', v);
    return v;
  }

  protected strings(o: Obj, field: string): string[] {
    return this.scalars(o, field, (v) => (typeof v === 'string' ? v : undefined));
  }

  protected bool(o: Obj, field: string): boolean {
    const v = this.get(o, field);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') this.fail(field, 'a boolean', v);
    return v;
  }

  protected u64Value(v: unknown): bigint | undefined {
    const n = this.i64Value(v);
    return n === undefined || n < 0n || n >= 1n << 64n ? undefined : n;
  }

  protected i64Value(v: unknown): bigint | undefined {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
    if (typeof v === 'string' && this.dialect === 'json' && DECIMAL_INT.test(v)) return BigInt(v);
    return undefined;
  }

  protected u64(o: Obj, field: string): bigint {
    const v = this.get(o, field);
    if (v === undefined) return 0n;
    const n = this.u64Value(v);
    if (n === undefined)
      this.fail(field, 'an unsigned 64-bit integer (number or decimal string)', v);
    return n;
  }

  protected i64(o: Obj, field: string): bigint {
    const v = this.get(o, field);
    if (v === undefined) return 0n;
    const n = this.i64Value(v);
    if (n === undefined || n < -(1n << 63n) || n >= 1n << 63n) {
      this.fail(field, 'a signed 64-bit integer (number or decimal string)', v);
    }
    return n;
  }

  protected u32(o: Obj, field: string): number {
    const v = this.get(o, field);
    if (v === undefined) return 0;
    const n = this.i64Value(v);
    if (n === undefined || n < 0n || n > 0xffffffffn)
      this.fail(field, 'an unsigned 32-bit integer', v);
    return Number(n);
  }

  protected i32(o: Obj, field: string): number {
    const v = this.get(o, field);
    if (v === undefined) return 0;
    const n = this.i64Value(v);
    if (n === undefined || n < -0x80000000n || n > 0x7fffffffn) {
      this.fail(field, 'a signed 32-bit integer', v);
    }
    return Number(n);
  }

  protected doubleValue(v: unknown): number | undefined {
    if (typeof v === 'number') return v;
    if (typeof v !== 'string' || this.dialect !== 'json') return undefined;
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = v.trim() === '' ? Number.NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  }

  protected double(o: Obj, field: string): number {
    const v = this.get(o, field);
    const n = this.doubleValue(v);
    if (n === undefined) this.fail(field, 'a number', v);
    return n;
  }

  protected optionalDouble(o: Obj, field: string): number | null {
    return this.has(o, field) ? this.double(o, field) : null;
  }

  protected enumOf(o: Obj, field: string, names: readonly string[]): number {
    const v = this.get(o, field);
    if (v === undefined) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && this.dialect === 'json') {
      const i = names.indexOf(v);
      if (i >= 0) return i;
    }
    return this.fail(field, `an enum integer or one of ${names[0]}…`, v);
  }

  protected bytes(o: Obj, field: string): Uint8Array {
    const v = this.get(o, field);
    if (v instanceof Uint8Array) return new Uint8Array(v);
    if (typeof v === 'string' && this.dialect === 'json' && BASE64.test(v)) {
      return new Uint8Array(Buffer.from(v, 'base64'));
    }
    return this.fail(field, 'base64 bytes', v);
  }

  /** A trace id (16 bytes) or span id (8): hex in JSON, raw bytes in protobuf; '' when absent or empty. */
  protected id(o: Obj, field: string, size: number): string {
    const v = this.get(o, field);
    if (v === undefined) return '';
    if (this.dialect === 'protobuf') {
      if (!(v instanceof Uint8Array)) this.fail(field, 'bytes', v);
      if (v.length !== 0 && v.length !== size)
        this.fail(field, `${size} bytes`, v, `${v.length} bytes`);
      return toHex(v);
    }
    if (typeof v !== 'string' || !HEX.test(v) || (v.length !== 0 && v.length !== size * 2)) {
      this.fail(field, `${size * 2} hex digits`, v);
    }
    return v.toLowerCase();
  }
}
