/**
 * The pricing rule of bedrock.md §5.5: normalised model + source Region + scope + tier + record time → catalog
 * entry → rates; long-context when total input exceeds the entry's threshold; the regional premium for geo and
 * in-Region scopes; cache writes split 5m/1h. Pure: the same record and catalog always give the same cost.
 */
import type { Flag, Picos, PricedRecord, Tier, Tokens, UsageRecord } from '../core/index.ts';
import type { Catalog, RateSet, ResolvedEntry } from './catalog.ts';

export type TokenClass = keyof Tokens;
export const TOKEN_CLASSES: readonly TokenClass[] = [
  'input',
  'cacheRead',
  'cacheWrite5m',
  'cacheWrite1h',
  'output',
];

export interface QuoteLine {
  readonly tokenClass: TokenClass;
  readonly tokens: number;
  /** Pico-USD per token actually applied (the input rate when the entry has none for this class). */
  readonly rate: Picos;
  readonly rateMissing: boolean;
  readonly picos: Picos;
}

export interface Quote {
  readonly tier: Tier;
  readonly resolved: ResolvedEntry | null;
  readonly rates: RateSet | null;
  readonly longContext: boolean;
  readonly flags: readonly Flag[];
  readonly picos: Picos | null;
}

/** Finds the entry and rates for a record and computes its cost; `lines` says how, for `explain`. */
export function quote(record: UsageRecord, catalog: Catalog): Quote {
  const flags: Flag[] = [];
  const tier = record.tier ?? 'standard';
  if (record.tier === null) flags.push('tier_unknown');
  const found = catalog.find(record.model.base, record.region, tier, record.occurredAt);
  if (found === null) {
    flags.push('unpriced');
    return { tier, resolved: null, rates: null, longContext: false, flags, picos: null };
  }
  const resolved = found.resolved;
  if (found.early) flags.push('price_before_effective');
  const t = record.tokens;
  const totalInput = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  const lc = resolved.entry.longContext;
  const longContext = lc !== undefined && totalInput > lc.thresholdTokens;
  if (longContext) flags.push('long_context');
  if (record.model.scope !== 'global' && resolved.entry.regionalPremium !== undefined) {
    flags.push('regional_premium');
  }
  const rates = catalog.rates(resolved, record.model.scope, longContext);
  let picos = 0n;
  let missing = false;
  for (const c of TOKEN_CLASSES) {
    const n = t[c];
    if (n === 0) continue;
    const rate = rates[c];
    if (rate === null) missing = true;
    picos += BigInt(n) * (rate ?? rates.input);
  }
  if (missing) flags.push('rate_missing');
  return { tier, resolved, rates, longContext, flags, picos };
}

export function quoteLines(record: UsageRecord, q: Quote): readonly QuoteLine[] {
  const rates = q.rates;
  if (rates === null) return [];
  return TOKEN_CLASSES.map((c) => {
    const tokens = record.tokens[c];
    const own = rates[c];
    const rate = own ?? rates.input;
    return {
      tokenClass: c,
      tokens,
      rate,
      rateMissing: own === null && tokens > 0,
      picos: BigInt(tokens) * rate,
    };
  });
}

/** The pipeline's price stage. */
export function priceRecord(record: UsageRecord, catalog: Catalog): PricedRecord {
  const q = quote(record, catalog);
  return {
    ...record,
    flags: q.flags.length === 0 ? record.flags : [...record.flags, ...q.flags],
    cost: { picos: q.picos, priceId: q.resolved?.entry.id ?? null, catalogHash: catalog.hash },
  };
}
