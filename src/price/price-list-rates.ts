/**
 * The exact rate arithmetic of a Price List import, in pico-USD per token (bigint): one rate per scope and token
 * class from a group's rows, comparison with a catalog rate set, a new model's regional premium, prices brought
 * back to the base (global) scope, and rates written as the catalog writes them.
 */
import {
  formatUsd,
  type Picos,
  parseUsdPerMillion,
  type Scope,
  scaleExact,
} from '../core/index.ts';
import { addOne, type RateSet } from './catalog.ts';
import type { PriceListRow } from './price-list.ts';
import { fail, type Outcome, ok } from './price-list-outcome.ts';
import type { TokenClass } from './price-record.ts';

/** Token classes in the order a catalog entry lists its rates; proposals and their review follow it. */
export const ENTRY_RATE_ORDER: readonly TokenClass[] = [
  'input',
  'output',
  'cacheRead',
  'cacheWrite5m',
  'cacheWrite1h',
];

/** A group's published rates: scope → token class → pico-USD per token. */
export type ScopeRates = Map<Scope, Map<TokenClass, Picos>>;

/** One rate per scope and token class; two different prices for the same one fail. Rows without a class are ignored. */
export function scopeRates(rows: readonly PriceListRow[]): Outcome<ScopeRates> {
  const out: ScopeRates = new Map();
  const seen = new Map<string, PriceListRow>();
  for (const row of rows) {
    const cls = row.tokenClass;
    if (cls === null) continue;
    let picos: Picos;
    try {
      picos = parseUsdPerMillion(row.usdPerMillion);
    } catch (e: unknown) {
      return fail(`${row.source}: ${String(e)}`);
    }
    const byClass = out.get(row.scope) ?? new Map<TokenClass, Picos>();
    const before = byClass.get(cls);
    const other = seen.get(`${row.scope}|${cls}`);
    if (before !== undefined && before !== picos && other) {
      return fail(
        `two ${row.scope} ${cls} prices: ${other.usdPerMillion} (${other.source}) and ${row.usdPerMillion} (${row.source})`,
      );
    }
    seen.set(`${row.scope}|${cls}`, row);
    out.set(row.scope, byClass.set(cls, picos));
  }
  return ok(out);
}

/** Whether every published rate equals the catalog's for its class. */
export function sameRates(byClass: Map<TokenClass, Picos>, catalog: RateSet): boolean {
  for (const [cls, picos] of byClass) if (catalog[cls] !== picos) return false;
  return true;
}

/** USD per 1M tokens as the catalog writes it: '3.00', '0.00875', and '0' for free. */
export function formatRate(picosPerToken: Picos): string {
  return picosPerToken === 0n ? '0' : formatUsd(picosPerToken * 1_000_000n);
}

/** `input 3.00, output 15.00`, for reasons a person reads. */
export function listRates(byClass: Map<TokenClass, Picos>): string {
  return [...byClass].map(([cls, p]) => `${cls} ${formatRate(p)}`).join(', ');
}

/** `amount / factor` when it is a whole pico-USD, else null. */
function divideExact(amount: Picos, factor: string): Picos | null {
  const [whole = '0', frac = ''] = factor.split('.');
  const num = BigInt(whole + frac);
  const scaled = amount * 10n ** BigInt(frac.length);
  return scaled % num === 0n ? scaled / num : null;
}

/** `amount × factor` when it is a whole pico-USD, else null. */
export function timesExact(amount: Picos, factor: string): Picos | null {
  try {
    return scaleExact(amount, factor);
  } catch {
    return null;
  }
}

/** A new model's premium from its own rows: '0.10' when every regional rate is global × 1.10, none when equal. */
export function detectPremium(rates: ScopeRates): Outcome<string | undefined> {
  const global = rates.get('global');
  const regional = [...rates].filter(([scope]) => scope !== 'global');
  if (global === undefined || regional.length === 0) return ok(undefined);
  let premium: string | undefined | null = null;
  for (const [, byClass] of regional) {
    for (const [cls, p] of byClass) {
      const g = global.get(cls);
      if (g === undefined) continue;
      const found = p === g ? undefined : p === timesExact(g, '1.10') ? '0.10' : 'other';
      if (found === 'other' || (premium !== null && premium !== found)) {
        return fail('regional prices are neither equal to the global ones nor global × 1.10');
      }
      premium = found;
    }
  }
  return ok(premium ?? undefined);
}

/** Each scope's prices brought back to the base (global) scope; they must agree. */
export function baseRates(
  rates: ScopeRates,
  premium: string | undefined,
): Outcome<Map<TokenClass, Picos>> {
  const merged = new Map<TokenClass, { picos: Picos; scope: Scope }>();
  for (const [scope, byClass] of rates) {
    for (const [cls, p] of byClass) {
      const base =
        scope === 'global' || premium === undefined ? p : divideExact(p, addOne(premium));
      if (base === null)
        return fail(
          `${scope} ${cls} ${formatRate(p)} is not a whole pico-USD once divided by ${addOne(premium ?? '0')}`,
        );
      const other = merged.get(cls);
      if (other !== undefined && other.picos !== base) {
        const rule =
          premium === undefined
            ? 'the catalog has no regionalPremium for it'
            : `regionalPremium is ${premium}`;
        return fail(
          `${other.scope} and ${scope} ${cls} prices do not fit one entry (${rule}): base ${formatRate(other.picos)} vs ${formatRate(base)}`,
        );
      }
      merged.set(cls, { picos: base, scope });
    }
  }
  return ok(new Map([...merged].map(([cls, v]) => [cls, v.picos])));
}
