/**
 * The pricing rule of bedrock.md §5.5: normalised model + source Region + scope + tier + record time → catalog
 * entry → rates; long-context when total input exceeds the entry's threshold; the regional premium for geo and
 * in-Region scopes; cache writes split 5m/1h. Pure: the same record and catalog always give the same cost.
 */
import type {
  Cost,
  Flag,
  ModelRef,
  Picos,
  PricedRecord,
  Tier,
  Tokens,
  UsageRecord,
} from '../core/index.ts';
import {
  applyDiscount,
  type Catalog,
  type Discounting,
  type RateSet,
  type ResolvedEntry,
} from './catalog.ts';

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
  /** The cost after discounts (the sum of the lines when there are none). */
  readonly picos: Picos | null;
  /** The cost at the rates, before discounts. */
  readonly undiscounted: Picos | null;
  readonly discount: Discounting | null;
}

/**
 * Everything about a record's price that does not depend on its token counts: the entry in force for its model,
 * source Region, scope, tier and day, with normal and long-context rates for its scope. The ingest's bulk path
 * computes one card per distinct key and applies it in SQL; `quote` applies it to one record.
 */
export interface RateCard {
  readonly tier: Tier;
  readonly tierUnknown: boolean;
  readonly resolved: ResolvedEntry | null;
  readonly early: boolean;
  readonly regional: boolean;
  readonly rates: RateSet | null;
  readonly longContextRates: RateSet | null;
  readonly longContextThreshold: number | null;
  /** The user's discounts for this account, model, Region, tier and day. */
  readonly discount: Discounting | null;
}

export function rateCard(
  model: ModelRef,
  region: string,
  tier: Tier | null,
  atMs: number,
  catalog: Catalog,
  account: string,
): RateCard {
  const effective = tier ?? 'standard';
  const found = catalog.find(model.base, region, effective, atMs);
  if (found === null) {
    return {
      tier: effective,
      tierUnknown: tier === null,
      resolved: null,
      early: false,
      regional: false,
      rates: null,
      longContextRates: null,
      longContextThreshold: null,
      discount: null,
    };
  }
  const entry = found.resolved.entry;
  return {
    tier: effective,
    tierUnknown: tier === null,
    resolved: found.resolved,
    early: found.early,
    regional: model.scope !== 'global' && entry.regionalPremium !== undefined,
    rates: catalog.rates(found.resolved, model.scope, false),
    longContextRates: entry.longContext ? catalog.rates(found.resolved, model.scope, true) : null,
    longContextThreshold: entry.longContext?.thresholdTokens ?? null,
    discount: catalog.discount(account, model.base, region, effective, atMs),
  };
}

/** The rate card of a record: its model, source Region, tier, time and account. */
export function rateCardOf(record: UsageRecord, catalog: Catalog): RateCard {
  return rateCard(
    record.model,
    record.region,
    record.tier,
    record.occurredAt,
    catalog,
    record.accountId,
  );
}

/** Finds the entry and rates for a record and computes its cost; `lines` says how, for `explain`. */
export function quote(record: UsageRecord, catalog: Catalog): Quote {
  return quoteAtCard(rateCardOf(record, catalog), record.tokens);
}

/** `quote` with the card already found (a caller that caches cards per model, Region, tier, account and day). */
export function quoteAtCard(card: RateCard, tokens: Tokens): Quote {
  const flags: Flag[] = [];
  if (card.tierUnknown) flags.push('tier_unknown');
  if (card.resolved === null || card.rates === null) {
    flags.push('unpriced');
    return {
      tier: card.tier,
      resolved: null,
      rates: null,
      longContext: false,
      flags,
      picos: null,
      undiscounted: null,
      discount: null,
    };
  }
  if (card.early) flags.push('price_before_effective');
  const at = costAtCard(card, tokens, card.rates);
  if (at.longContext) flags.push('long_context');
  if (card.regional) flags.push('regional_premium');
  if (at.rateMissing) flags.push('rate_missing');
  if (card.resolved.override) flags.push('price_override');
  if (card.discount !== null) flags.push('discounted');
  return {
    tier: card.tier,
    resolved: card.resolved,
    rates: at.rates,
    longContext: at.longContext,
    flags,
    picos: at.picos,
    undiscounted: at.undiscounted,
    discount: card.discount,
  };
}

/**
 * Token counts at a card's rates: long-context rates past the threshold, the input rate for a class the entry has no
 * rate for, then the card's discount. The one cost formula (`quote` uses it; so does the gateway's worst case).
 */
export function costAtCard(
  card: RateCard,
  t: Tokens,
  rates: RateSet,
): {
  readonly picos: Picos;
  readonly undiscounted: Picos;
  readonly rates: RateSet;
  readonly longContext: boolean;
  readonly rateMissing: boolean;
} {
  const totalInput = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  const longContext = card.longContextThreshold !== null && totalInput > card.longContextThreshold;
  const applied = longContext && card.longContextRates ? card.longContextRates : rates;
  let picos = 0n;
  let rateMissing = false;
  for (const c of TOKEN_CLASSES) {
    const n = t[c];
    if (n === 0) continue;
    const rate = applied[c];
    if (rate === null) rateMissing = true;
    picos += BigInt(n) * (rate ?? fallbackRate(applied, c));
  }
  return {
    picos: card.discount === null ? picos : applyDiscount(picos, card.discount),
    undiscounted: picos,
    rates: applied,
    longContext,
    rateMissing,
  };
}

/**
 * The rate of a token class the entry has no rate for (flagged `rate_missing`): the input rate, except a 1-hour
 * cache write, which costs more than a 5-minute one wherever both exist (Anthropic: 2× and 1.25× input, §4.5), so
 * it takes the 5-minute rate when there is one. The bulk SQL (`pricedCtes`) applies the same rule.
 */
export function fallbackRate(rates: RateSet, c: TokenClass): bigint {
  return c === 'cacheWrite1h' ? (rates.cacheWrite5m ?? rates.input) : rates.input;
}

/** Pico-USD of token counts at a card's rates (after discounts), null when the card has no price. */
export function cardCost(card: RateCard, t: Tokens): Picos | null {
  return card.rates === null ? null : costAtCard(card, t, card.rates).picos;
}

export function quoteLines(record: UsageRecord, q: Quote): readonly QuoteLine[] {
  const rates = q.rates;
  if (rates === null) return [];
  return TOKEN_CLASSES.map((c) => {
    const tokens = record.tokens[c];
    const own = rates[c];
    const rate = own ?? fallbackRate(rates, c);
    return {
      tokenClass: c,
      tokens,
      rate,
      rateMissing: own === null && tokens > 0,
      picos: BigInt(tokens) * rate,
    };
  });
}

/** The cost and the full flag list of a record, without copying it (the ingest hot path builds one object). */
export function priceOf(
  record: UsageRecord,
  catalog: Catalog,
): { flags: readonly Flag[]; cost: Cost } {
  return priceAtCard(record, rateCardOf(record, catalog), catalog.hash);
}

/** `priceOf` with the record's card already found (`rateCardOf`) in the catalog whose hash is `catalogHash`. */
export function priceAtCard(
  record: Pick<UsageRecord, 'tokens' | 'flags'>,
  card: RateCard,
  catalogHash: string,
): { flags: readonly Flag[]; cost: Cost } {
  const q = quoteAtCard(card, record.tokens);
  return {
    flags: q.flags.length === 0 ? record.flags : [...record.flags, ...q.flags],
    cost: { picos: q.picos, priceId: q.resolved?.entry.id ?? null, catalogHash },
  };
}

/** The pipeline's price stage. */
export function priceRecord(record: UsageRecord, catalog: Catalog): PricedRecord {
  return { ...record, ...priceOf(record, catalog) };
}
