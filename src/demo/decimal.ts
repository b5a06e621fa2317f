/** Exact decimal strings for the bill: amounts and rates are bigints scaled by a power of ten, never floats. */
import type { Picos } from '../core/index.ts';

/** `value / 10^scale` as a plain decimal, trailing zeros trimmed: (12345n, 3) → '12.345', (12000n, 3) → '12'. */
export function decimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** A rate of pico-USD per unit as USD per unit: 3300n → '0.0000000033'. */
export const usdRate = (picos: Picos): string => decimal(picos, 12);

/** `amount × percent / 100`, rounded half up to a whole pico (amount ≥ 0). */
export function percentOf(amount: Picos, percent: bigint): Picos {
  return (amount * percent + 50n) / 100n;
}

/** `amount × percent / 100`, rounded half up to the cent (amount ≥ 0). */
export function percentToCent(amount: Picos, percent: bigint): Picos {
  const cent = 10_000_000_000n;
  return ((amount * percent + 50n * cent) / (100n * cent)) * cent;
}
