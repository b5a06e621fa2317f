/**
 * Turns Price List rows into proposals for a person to review: billing names mapped to catalog model ids (never
 * guessed), rows grouped by model, Region, tier, long context and date, each group compared with the catalog in
 * force at that date; a group that differs becomes a Proposal (built in price-list-entry.ts) or a skipped row.
 */
import { AppError, type Picos, type Scope } from '../core/index.ts';
import type { Catalog, ResolvedEntry } from './catalog.ts';
import type { PriceEntry } from './catalog-schema.ts';
import type { ImportResult, PriceListRow, Proposal, SkippedRow } from './price-list.ts';
import { buildProposal, type Context, type Group, priceKey } from './price-list-entry.ts';
import { listRates, type ScopeRates, sameRates, scopeRates } from './price-list-rates.ts';
import type { TokenClass } from './price-record.ts';

/**
 * Billing name → canonical model ids. Keys are the three spellings the Price List uses: the model token of native
 * usage types (`USE1-NovaMicro-input-tokens`), the Marketplace `servicename` without " (Amazon Bedrock Edition)",
 * and the `provider.model` of mantle usage types. A name that is not here is reported as unmapped, never guessed.
 */
export const BILLING_MODEL_MAP: Readonly<Record<string, readonly string[]>> = {
  // Native usage-type tokens seen in bills and Price List rows (bedrock.md §2.5, §4.5; Titan names as the public
  // Price List generators key them).
  NovaMicro: ['amazon.nova-micro-v1:0'],
  NovaLite: ['amazon.nova-lite-v1:0'],
  NovaPro: ['amazon.nova-pro-v1:0'],
  NovaPremier: ['amazon.nova-premier-v1:0'],
  'Nova2.0Lite': ['amazon.nova-2-lite-v1:0'],
  'TitanEmbeddingV2-Text': ['amazon.titan-embed-text-v2:0'],
  'TitanEmbeddingsG1-Text': ['amazon.titan-embed-text-v1'],
  'TitanTextG1-Express': ['amazon.titan-text-express-v1'],
  'TitanTextG1-Lite': ['amazon.titan-text-lite-v1'],
  'Claude4.6Sonnet': ['anthropic.claude-sonnet-4-6'],
  'Claude4.6Opus': ['anthropic.claude-opus-4-6-v1'],
  // Same `Claude<version><family>` spelling for the other 4.x models (an unseen spelling simply stays unmapped).
  'Claude4.5Haiku': ['anthropic.claude-haiku-4-5-20251001-v1:0'],
  'Claude4.5Sonnet': ['anthropic.claude-sonnet-4-5-20250929-v1:0'],
  'Claude4.5Opus': ['anthropic.claude-opus-4-5-20251101-v1:0'],
  'Claude4.7Opus': ['anthropic.claude-opus-4-7'],
  'Claude4.8Opus': ['anthropic.claude-opus-4-8'],
  'Llama3-1-8B': ['meta.llama3-1-8b-instruct-v1:0'],
  'Llama3-1-70B': ['meta.llama3-1-70b-instruct-v1:0'],
  'Llama3-1-405B': ['meta.llama3-1-405b-instruct-v1:0'],
  'Llama3-2-1B': ['meta.llama3-2-1b-instruct-v1:0'],
  'Llama3-2-3B': ['meta.llama3-2-3b-instruct-v1:0'],
  'Llama3-2-11B': ['meta.llama3-2-11b-instruct-v1:0'],
  'Llama3-2-90B': ['meta.llama3-2-90b-instruct-v1:0'],
  'Llama3-3-70B': ['meta.llama3-3-70b-instruct-v1:0'],
  'Llama4-Maverick-17B': ['meta.llama4-maverick-17b-instruct-v1:0'],
  'Llama4-Scout-17B': ['meta.llama4-scout-17b-instruct-v1:0'],
  'Qwen3-32B': ['qwen.qwen3-32b-v1:0'],
  // Native usage-type tokens quoted from public Price List and bill rows (`USE1-MistralLarge-input-tokens` is Mistral
  // Large 2402, `USE1-gpt-oss-120b-input-tokens`, `USE1-DeepSeek-R1-input-tokens`); the demo bill uses them too.
  MistralLarge: ['mistral.mistral-large-2402-v1:0'],
  'gpt-oss-120b': ['openai.gpt-oss-120b-1:0'],
  'DeepSeek-R1': ['deepseek.r1-v1:0'],
  // Native token and mantle name at once.
  'deepseek.v3.2': ['deepseek.v3.2'],
  // Mantle `provider.model` names.
  'openai.gpt-oss-20b': ['openai.gpt-oss-20b-1:0'],
  'openai.gpt-oss-120b': ['openai.gpt-oss-120b-1:0'],
  'qwen.qwen3-32b': ['qwen.qwen3-32b-v1:0'],
  'qwen.qwen3-coder-30b-a3b': ['qwen.qwen3-coder-30b-a3b-v1:0'],
  'mistral.mistral-large-3-675b-instruct': ['mistral.mistral-large-3-675b-instruct'],
  'anthropic.claude-opus-4-8': ['anthropic.claude-opus-4-8'],
  // Marketplace (AmazonBedrockFoundationModels) service names.
  'Claude 3 Haiku': ['anthropic.claude-3-haiku-20240307-v1:0'],
  'Claude 3 Opus': ['anthropic.claude-3-opus-20240229-v1:0'],
  'Claude 3.5 Haiku': ['anthropic.claude-3-5-haiku-20241022-v1:0'],
  'Claude 3.5 Sonnet': ['anthropic.claude-3-5-sonnet-20240620-v1:0'],
  'Claude 3.5 Sonnet v2': ['anthropic.claude-3-5-sonnet-20241022-v2:0'],
  'Claude 3.7 Sonnet': ['anthropic.claude-3-7-sonnet-20250219-v1:0'],
  'Claude Sonnet 4': ['anthropic.claude-sonnet-4-20250514-v1:0'],
  'Claude Opus 4': ['anthropic.claude-opus-4-20250514-v1:0'],
  'Claude Opus 4.1': ['anthropic.claude-opus-4-1-20250805-v1:0'],
  'Claude Sonnet 4.5': ['anthropic.claude-sonnet-4-5-20250929-v1:0'],
  'Claude Haiku 4.5': ['anthropic.claude-haiku-4-5-20251001-v1:0'],
  'Claude Opus 4.5': ['anthropic.claude-opus-4-5-20251101-v1:0'],
  'Claude Opus 4.6': ['anthropic.claude-opus-4-6-v1'],
  'Claude Sonnet 4.6': ['anthropic.claude-sonnet-4-6'],
  'Claude Opus 4.7': ['anthropic.claude-opus-4-7'],
  'Claude Opus 4.8': ['anthropic.claude-opus-4-8'],
  'Claude Opus 5': ['anthropic.claude-opus-5'],
  'Claude Sonnet 5': ['anthropic.claude-sonnet-5'],
  'Claude Fable 5': ['anthropic.claude-fable-5'],
  'Cohere Command R': ['cohere.command-r-v1:0'],
  'Cohere Command R+': ['cohere.command-r-plus-v1:0'],
  'Cohere Embed 3 Model - English': ['cohere.embed-english-v3'],
  'Cohere Embed Model 3 - Multilingual': ['cohere.embed-multilingual-v3'],
  'Cohere Embed 4 Model': ['cohere.embed-v4:0'],
  // Writer on Bedrock, as the demo bill names it; the catalog does not price it (its records stay unpriced).
  'Palmyra X5': ['writer.palmyra-x5-v1:0'],
};

/**
 * Compares rows with the catalog and proposes entries where they differ. Rows are grouped by (model, Region, tier,
 * scope, long context, effective date); a group the catalog prices identically counts as unchanged. Scopes of one
 * model, Region, tier and date become a single entry that stores the base (global) rates. Pass the shipped catalog
 * without user overrides. `modelMap` adds to (and overrides) BILLING_MODEL_MAP.
 */
export function proposeEntries(
  rows: readonly PriceListRow[],
  catalog: Catalog,
  opts: { today: string; modelMap?: Record<string, string[]> },
): ImportResult {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.today)) {
    throw new AppError(
      'price.import_invalid',
      `today must be a date YYYY-MM-DD, not ${JSON.stringify(opts.today)}`,
    );
  }
  const map: Readonly<Record<string, readonly string[]>> = {
    ...BILLING_MODEL_MAP,
    ...opts.modelMap,
  };
  const skipped: SkippedRow[] = [];
  const unmapped = new Map<string, Set<string>>();
  const groups = new Map<string, Group>();
  const skip = (row: PriceListRow, reason: string): void => {
    skipped.push({ sku: row.sku, usageType: row.usageType, reason, source: row.source });
  };
  for (const row of rows) {
    const models = Object.hasOwn(map, row.billingModel) ? map[row.billingModel] : undefined;
    if (models === undefined || models.length === 0) {
      const list = unmapped.get(row.billingModel) ?? new Set<string>();
      unmapped.set(row.billingModel, list.add(row.usageType));
      continue;
    }
    if (row.tokenClass === null) {
      skip(row, 'not an input, output or cache token price the catalog stores');
      continue;
    }
    if (row.regionCode === null) {
      skip(
        row,
        'no Region: the usage-type prefix is not in the Region table and the product has no regionCode',
      );
      continue;
    }
    const key = [
      models.join(','),
      row.regionCode,
      row.tier,
      row.longContext,
      row.effectiveDate,
    ].join('|');
    const group = groups.get(key) ?? {
      models,
      region: row.regionCode,
      tier: row.tier,
      longContext: row.longContext,
      date: row.effectiveDate,
      rows: [],
    };
    group.rows.push(row);
    groups.set(key, group);
  }

  const ctx: Context = {
    catalog,
    today: opts.today,
    ids: new Set(catalog.entries.map((r) => r.entry.id)),
    keys: new Set(catalog.entries.flatMap((r) => entryKeys(r.entry))),
  };
  const proposals: Proposal[] = [];
  let unchanged = 0;
  for (const group of groups.values()) {
    const result = proposeGroup(group, ctx);
    unchanged += result.unchanged;
    if (result.proposal) proposals.push(result.proposal);
    if (result.skip) for (const row of group.rows) skip(row, result.skip);
  }
  proposals.sort((a, b) => (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0));
  return {
    proposals,
    unchanged,
    unmapped: [...unmapped]
      .map(([billingModel, types]) => ({ billingModel, usageTypes: [...types].sort() }))
      .sort((a, b) => (a.billingModel < b.billingModel ? -1 : 1)),
    skipped,
  };
}

function entryKeys(e: PriceEntry): string[] {
  return e.models.flatMap((m) => e.regions.map((r) => priceKey(m, r, e.tier, e.effectiveFrom)));
}

interface GroupResult {
  unchanged: number;
  proposal?: Proposal;
  skip?: string;
}

function proposeGroup(g: Group, ctx: Context): GroupResult {
  const rates = scopeRates(g.rows);
  if (!rates.ok) return { unchanged: 0, skip: rates.reason };
  const at = Date.parse(`${g.date}T00:00:00Z`);
  const found = g.models.map((m) => ctx.catalog.find(m, g.region, g.tier, at)?.resolved ?? null);
  const resolved = found[0] ?? null;
  if (found.some((r) => r !== resolved)) {
    return {
      unchanged: 0,
      skip: `the models ${g.models.join(', ')} resolve to different catalog entries`,
    };
  }
  const scopes = [...rates.value];
  const same = (scope: Scope, byClass: Map<TokenClass, Picos>): boolean =>
    resolved !== null && sameRates(byClass, ctx.catalog.rates(resolved, scope, g.longContext));
  const unchanged = scopes.filter(([scope, byClass]) => same(scope, byClass)).length;
  if (unchanged === scopes.length) return { unchanged };
  if (g.longContext) return { unchanged, skip: longContextReason(resolved, rates.value) };
  const built = buildProposal(g, resolved, rates.value, ctx);
  return built.ok ? { unchanged, proposal: built.value } : { unchanged, skip: built.reason };
}

/** Why a long-context group that differs is left to a person: the catalog stores multipliers, not rates. */
function longContextReason(resolved: ResolvedEntry | null, rates: ScopeRates): string {
  const published = [...rates]
    .map(([scope, byClass]) => `${scope} ${listRates(byClass)}`)
    .join('; ');
  if (resolved === null)
    return `long-context prices for a model or tier the catalog does not price (${published})`;
  if (resolved.entry.longContext === undefined) {
    return `${resolved.entry.id} has no long-context tier (catalog/README.md: none for Claude 4.6+) but the Price List publishes one (${published}); a person must decide`;
  }
  return `long-context prices (${published}) differ from ${resolved.entry.id} × its longContext multipliers; the catalog stores multipliers, so a person must decide`;
}
