/**
 * Exact decimal strings for values that arrive as doubles (Claude Code's `cost_usd`, every `asDouble` point):
 * a double becomes the shortest decimal that reads back as the same double ("0.0027651900000000003", never
 * "2.7e-3"), and cumulative differences are taken on those decimals, so no binary-float error is added.
 */

const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

interface Scaled {
  readonly units: bigint;
  readonly scale: number;
}

/** The shortest round-tripping decimal of a finite double, without exponent; null for NaN and ±Infinity. */
export function doubleToDecimal(x: number): string | null {
  if (!Number.isFinite(x)) return null;
  const s = String(x);
  const e = s.indexOf('e');
  if (e < 0) return s; // String(-0) is '0'
  const exponent = Number(s.slice(e + 1));
  const mantissa = s.slice(0, e);
  const negative = mantissa.startsWith('-');
  const [int = '', frac = ''] = mantissa.replace('-', '').split('.');
  const digits = int + frac;
  const point = int.length + exponent;
  const body =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + body;
}

/**
 * A decimal string in canonical form (no exponent, no leading '+' or zeros, no trailing fractional zeros), or null
 * when `text` is not a decimal number. Exponent forms ("2.7e-3") are read through their double.
 */
export function canonicalDecimal(text: string): string | null {
  const t = text.trim();
  const m = PLAIN_DECIMAL.exec(t);
  if (m === null) {
    const n = t === '' ? Number.NaN : Number(t);
    return Number.isFinite(n) ? doubleToDecimal(n) : null;
  }
  if ((m[2] ?? '') === '' && (m[3] ?? '') === '') return null;
  const scaled = toScaled(t);
  return scaled === null ? null : fromScaled(scaled);
}

function toScaled(text: string): Scaled | null {
  const m = PLAIN_DECIMAL.exec(text.trim());
  if (m === null) return null;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return null;
  const units = BigInt(`${int}${frac}` || '0');
  return { units: m[1] === '-' ? -units : units, scale: frac.length };
}

function fromScaled({ units, scale }: Scaled): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  let s = scale;
  while (s > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    s--;
  }
  const body = s === 0 ? digits : `${digits.slice(0, digits.length - s)}.${digits.slice(-s)}`;
  return negative && body !== '0' ? `-${body}` : body;
}

function align(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [
    a.units * 10n ** BigInt(scale - a.scale),
    b.units * 10n ** BigInt(scale - b.scale),
    scale,
  ];
}

function scaledOrThrow(text: string): Scaled {
  const s = toScaled(text);
  if (s === null) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  return s;
}

/** a − b, exactly, on canonical decimal strings. */
export function subtractDecimal(a: string, b: string): string {
  const [x, y, scale] = align(scaledOrThrow(a), scaledOrThrow(b));
  return fromScaled({ units: x - y, scale });
}

/** a + b, exactly. */
export function addDecimal(a: string, b: string): string {
  const [x, y, scale] = align(scaledOrThrow(a), scaledOrThrow(b));
  return fromScaled({ units: x + y, scale });
}

/** −1, 0 or 1 as a <, =, > b. */
export function compareDecimal(a: string, b: string): number {
  const [x, y] = align(scaledOrThrow(a), scaledOrThrow(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The integer a canonical decimal denotes, or null when it has a fractional part. */
export function decimalToBigInt(text: string): bigint | null {
  const s = toScaled(text);
  if (s === null) return null;
  const unit = 10n ** BigInt(s.scale);
  return s.units % unit === 0n ? s.units / unit : null;
}
