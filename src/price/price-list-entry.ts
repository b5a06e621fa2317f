/**
 * Builds the catalog entry a Price List group proposes (catalog/README.md: append-only; base = the global rate,
 * with `regionalPremium` for geo and in-Region): what kind of proposal it is and which entry it supersedes, the
 * rates it stores, and its id, source and notes. The entry is schema-valid or the group is skipped with the reason.
 */
import type { Picos, Tier } from '../core/index.ts';
import { addOne, type Catalog, type ResolvedEntry } from './catalog.ts';
import { PriceEntry } from './catalog-schema.ts';
import type { PriceListRow, Proposal } from './price-list.ts';
import { fail, type Outcome, ok } from './price-list-outcome.ts';
import {
  baseRates,
  detectPremium,
  ENTRY_RATE_ORDER,
  formatRate,
  type ScopeRates,
  timesExact,
} from './price-list-rates.ts';
import type { TokenClass } from './price-record.ts';

/** Rows of one model (or models billed as one), Region, tier, long-context flag and effective date. */
export interface Group {
  readonly models: readonly string[];
  readonly region: string;
  readonly tier: Tier;
  readonly longContext: boolean;
  readonly date: string;
  readonly rows: PriceListRow[];
}

/** The catalog compared against, and the entry ids and model|Region|tier|date keys already taken (grows). */
export interface Context {
  readonly catalog: Catalog;
  readonly today: string;
  readonly ids: Set<string>;
  readonly keys: Set<string>;
}

/** The key that must be unique across entries: one model in one Region and tier from one date. */
export const priceKey = (model: string, region: string, tier: Tier, date: string): string =>
  `${model}|${region}|${tier}|${date}`;

/** The catalog's `*` entries carry the us-east-1 published price (catalog/README.md, Scope). */
const REFERENCE_REGION = 'us-east-1';

interface Basis {
  kind: Proposal['kind'];
  replaced: ResolvedEntry | null;
  family: string;
  premium: string | undefined;
  premiumNote: string;
}

function basisOf(
  g: Group,
  resolved: ResolvedEntry | null,
  rates: ScopeRates,
  ctx: Context,
): Outcome<Basis> {
  if (resolved !== null) {
    const own = resolved.entry.regions.includes(g.region) || g.region === REFERENCE_REGION;
    return ok({
      kind: own ? 'price-change' : 'new-region',
      replaced: resolved,
      family: familyOf(resolved.entry.id),
      premium: resolved.entry.regionalPremium,
      premiumNote: '',
    });
  }
  const known = ctx.catalog.entries.find((r) => g.models.some((m) => r.entry.models.includes(m)));
  if (known !== undefined) {
    // A premium belongs to the model (catalog/README.md: batch of a 4.5+ Claude is global base + premium).
    const at = Date.parse(`${g.date}T00:00:00Z`);
    const standard = ctx.catalog.find(g.models[0] ?? '', g.region, 'standard', at)?.resolved;
    const premium = standard?.entry.regionalPremium;
    return ok({
      kind: 'new-tier',
      replaced: null,
      family: familyOf(known.entry.id),
      premium,
      premiumNote:
        premium && standard ? ` regionalPremium ${premium} as in ${standard.entry.id}.` : '',
    });
  }
  const premium = detectPremium(rates);
  if (!premium.ok) return premium;
  return ok({
    kind: 'new-model',
    replaced: null,
    family: familyOfModel(g.models[0] ?? ''),
    premium: premium.value,
    premiumNote: premium.value
      ? ` regionalPremium ${premium.value}: regional rows are global × ${addOne(premium.value)}.`
      : '',
  });
}

/** `amazon.nova-lite/*\/standard/2024-12-03` → `amazon.nova-lite`. */
const familyOf = (id: string): string => id.split('/')[0] ?? id;

/** `anthropic.claude-3-opus-20240229-v1:0` → `anthropic.claude-3-opus` (the catalog's id convention). */
function familyOfModel(model: string): string {
  return model
    .replace(/:\d+$/, '')
    .replace(/-v\d+$/, '')
    .replace(/-\d{8}$/, '');
}

/**
 * A proposal for a group whose rates differ from the catalog's. Fails when the entry cannot be appended as is:
 * not after the one it supersedes, rates that do not fit one base, a missing input or output rate, no change, or
 * an id or key already taken. Records the new id and keys in `ctx`.
 */
export function buildProposal(
  g: Group,
  resolved: ResolvedEntry | null,
  rates: ScopeRates,
  ctx: Context,
): Outcome<Proposal> {
  const basis = basisOf(g, resolved, rates, ctx);
  if (!basis.ok) return basis;
  const { kind, replaced, family, premium, premiumNote } = basis.value;
  if (replaced !== null && g.date <= replaced.entry.effectiveFrom) {
    return fail(
      `the Price List's effective date ${g.date} is not after ${replaced.entry.id}'s effectiveFrom ${replaced.entry.effectiveFrom}; an appended entry cannot express it, so a person must decide`,
    );
  }
  const base = baseRates(rates, premium);
  if (!base.ok) return base;
  const stored = storedRates(base.value, replaced, premium);
  if (!stored.ok) return stored;
  const { finalRates, kept, changes } = stored.value;

  const id = `${family}/${g.region}/${g.tier}/${g.date}`;
  const keys = g.models.map((m) => priceKey(m, g.region, g.tier, g.date));
  if (ctx.ids.has(id)) return fail(`entry id ${id} already exists`);
  const clash = keys.find((k) => ctx.keys.has(k));
  if (clash !== undefined) return fail(`an entry already prices ${clash.replaceAll('|', ' ')}`);

  const replacedId = replaced?.entry.id;
  const { source, notes } = provenance(g, replaced, kept, premiumNote);
  const usdPerMillionTokens = Object.fromEntries(
    [...finalRates].map(([cls, p]) => [cls, formatRate(p)]),
  );
  const entry = PriceEntry.parse({
    id,
    models: [...g.models],
    regions: [g.region],
    tier: g.tier,
    effectiveFrom: g.date,
    usdPerMillionTokens,
    ...(premium === undefined ? {} : { regionalPremium: premium }),
    ...(replaced?.entry.longContext ? { longContext: replaced.entry.longContext } : {}),
    kind: replaced?.entry.kind ?? 'text',
    source,
    verifiedOn: ctx.today,
    notes,
  });
  ctx.ids.add(id);
  for (const k of keys) ctx.keys.add(k);
  return ok({ kind, entry, replaces: replacedId ?? null, changes });
}

/**
 * The base rates the entry stores: the published ones, plus the superseded entry's for classes the Price List
 * lacks (`kept`); and the published rates that differ from the superseded entry (`changes`).
 */
function storedRates(
  base: Map<TokenClass, Picos>,
  replaced: ResolvedEntry | null,
  premium: string | undefined,
): Outcome<{
  finalRates: Map<TokenClass, Picos>;
  kept: TokenClass[];
  changes: Proposal['changes'];
}> {
  const old = replaced?.base ?? null;
  const finalRates = new Map<TokenClass, Picos>();
  const kept: TokenClass[] = [];
  for (const cls of ENTRY_RATE_ORDER) {
    const fresh = base.get(cls);
    const before = old?.[cls] ?? null;
    if (fresh !== undefined) finalRates.set(cls, fresh);
    else if (before !== null) {
      finalRates.set(cls, before);
      kept.push(cls);
    }
  }
  const input = finalRates.get('input');
  if (input === undefined) return fail('no input price for an entry the catalog does not have');
  if (!finalRates.has('output') && (replaced?.entry.kind ?? 'text') === 'text') {
    return fail(
      'no output price: a new text entry needs one (an embedding model needs a person to set kind)',
    );
  }
  if (premium !== undefined) {
    for (const [cls, p] of finalRates) {
      if (timesExact(p, addOne(premium)) === null) {
        return fail(`${cls} ${formatRate(p)} × ${addOne(premium)} is not a whole pico-USD`);
      }
    }
  }
  const changes = ENTRY_RATE_ORDER.flatMap((cls) => {
    const fresh = base.get(cls);
    if (fresh === undefined) return [];
    const before = old?.[cls] ?? null;
    const from = before === null ? null : formatRate(before);
    const to = formatRate(fresh);
    return from === to ? [] : [{ field: cls, from, to }];
  });
  if (changes.length === 0) return fail('the Price List rates equal the stored base rates');
  return ok({ finalRates, kept, changes });
}

/** The entry's `source` (the Price List file, or its public URL) and `notes` (rows used, what was kept and why). */
function provenance(
  g: Group,
  replaced: ResolvedEntry | null,
  kept: readonly TokenClass[],
  premiumNote: string,
): { source: string; notes: string } {
  const sources = [...new Set(g.rows.map((r) => r.source))].sort();
  const first = g.rows[0];
  const file = first ? first.source.slice(0, first.source.lastIndexOf('#')) : '';
  const serviceCode = first?.serviceCode || 'AmazonBedrock';
  const source = /^https?:\/\//.test(file)
    ? file
    : `https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/${serviceCode}/current/${g.region}/index.json`;
  const replacedId = replaced?.entry.id;
  const notes = [
    `Proposed from the AWS Price List (${serviceCode}), effective ${g.date}: ${sources.join(', ')}.`,
    replacedId ? ` Supersedes ${replacedId} in ${g.region}.` : '',
    kept.length > 0 && replacedId
      ? ` Not in the Price List, kept from ${replacedId}: ${kept.join(', ')}.`
      : '',
    replaced?.entry.longContext ? ` longContext kept from ${replacedId}.` : '',
    premiumNote,
  ].join('');
  return { source, notes };
}
