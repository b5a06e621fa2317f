/**
 * Money is exact. Inside the program an amount is a `bigint` count of pico-USD (1e-12 USD); at the edges it is a
 * decimal string. Why pico and not nano: the smallest published Bedrock rate, Nova Micro cache read, is $0.00875
 * per 1M tokens = 0.00875 nano-USD per token, so a single token's nano-USD cost is not an integer. Every published
 * rate has at most 6 decimals per 1M tokens, i.e. it is a whole number of pico-USD per token, so
 * `tokens × rate` is exact per record and sums of records equal the cost computed once.
 */

export type Picos = bigint;

export const PICOS_PER_USD = 1_000_000_000_000n;

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses a decimal USD string ('3.75', '0.00875') into pico-USD. Throws when it has more than 12 decimals. */
export function parseUsd(text: string): Picos {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const [, sign, whole = '0', frac = ''] = m;
  if (frac.length > 12) throw new RangeError(`more than 12 decimals: ${text}`);
  const picos = BigInt(whole) * PICOS_PER_USD + BigInt(frac.padEnd(12, '0'));
  return sign === '-' ? -picos : picos;
}

/**
 * A rate in USD per 1M tokens ('3.30') becomes pico-USD per token. Exact only when the rate has ≤ 6 decimals;
 * anything finer is refused rather than rounded.
 */
export function parseUsdPerMillion(text: string): Picos {
  const picosPerMillion = parseUsd(text);
  if (picosPerMillion % 1_000_000n !== 0n) {
    throw new RangeError(
      `rate ${text} per 1M tokens has more than 6 decimals; cannot price exactly`,
    );
  }
  return picosPerMillion / 1_000_000n;
}

/** Multiplies an amount by a decimal factor ('1.10', '2', '0.5'); throws if the result is not a whole pico. */
export function scaleExact(amount: Picos, factor: string): Picos {
  const m = DECIMAL.exec(factor.trim());
  if (!m || m[1] === '-') throw new RangeError(`not a non-negative factor: ${factor}`);
  const frac = m[3] ?? '';
  const den = 10n ** BigInt(frac.length);
  const num = BigInt((m[2] ?? '0') + frac);
  const product = amount * num;
  if (product % den !== 0n) throw new RangeError(`${amount} × ${factor} is not a whole pico-USD`);
  return product / den;
}

/** Exact decimal string, trailing zeros trimmed to at least two decimals: 1_500_000_000_000n → '1.50'. */
export function formatUsd(picos: Picos): string {
  const negative = picos < 0n;
  const abs = negative ? -picos : picos;
  const whole = abs / PICOS_PER_USD;
  let frac = (abs % PICOS_PER_USD).toString().padStart(12, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Rounded for people ("$1,234.57"); amounts under a cent show micro-dollars ("$0.000119") so they do not read as $0. */
export function formatUsdHuman(picos: Picos): string {
  const negative = picos < 0n;
  const abs = negative ? -picos : picos;
  let text: string;
  if (abs !== 0n && abs < 10_000_000_000n) {
    const micro = (abs + 500_000n) / 1_000_000n; // round half up to micro-USD
    text = `0.${micro.toString().padStart(6, '0')}`;
  } else {
    const cents = (abs + 5_000_000_000n) / 10_000_000_000n; // round half up to cents
    const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    text = `${whole}.${(cents % 100n).toString().padStart(2, '0')}`;
  }
  return `${negative ? '-' : ''}$${text}`;
}
