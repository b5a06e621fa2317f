/**
 * Reads the AWS Price List for Amazon Bedrock and proposes catalog entries for a person to review. Pure: text in,
 * rows and proposals out; no I/O, no clock, no floats (prices stay decimal strings, comparisons are bigint pico-USD).
 *
 * Two documents: a bulk offer file (`/offers/v1.0/aws/<service>/current[/<region>]/index.json`) and a `GetProducts`
 * response (`PriceList` holds each product as a JSON string). Usage-type grammars, scopes and tiers follow
 * shared/formats/bedrock.md §2.4-2.5 and §4.3-4.6; entry rules (append-only, base = global rate with
 * `regionalPremium`) follow catalog/README.md.
 */
import {
  AppError,
  formatUsd,
  type Picos,
  parseUsdPerMillion,
  type Scope,
  scaleExact,
  type Tier,
} from '../core/index.ts';
import type { Catalog, RateSet, ResolvedEntry } from './catalog.ts';
import { PriceEntry } from './catalog-schema.ts';

/** One SKU × price dimension of the Price List, normalised. */
export interface PriceListRow {
  readonly sku: string;
  readonly serviceCode: string;
  readonly usageType: string;
  /** From `attributes.regionCode`, else from the usage-type prefix table, else null. */
  readonly regionCode: string | null;
  /** The model as the bill names it: `NovaMicro`, `Claude4.6Sonnet`, `openai.gpt-oss-20b`, `Claude Haiku 4.5`. */
  readonly billingModel: string;
  readonly tokenClass: 'input' | 'output' | 'cacheRead' | 'cacheWrite5m' | 'cacheWrite1h' | null;
  readonly tier: 'standard' | 'priority' | 'flex' | 'batch' | 'latency-optimized';
  readonly scope: 'global' | 'geo' | 'in-region';
  readonly longContext: boolean;
  /** USD per 1M tokens, exact, trailing zeros stripped ("0.035", "3", "0"). */
  readonly usdPerMillion: string;
  /** The OnDemand term's effectiveDate, YYYY-MM-DD. */
  readonly effectiveDate: string;
  /** `<file>#<sku>`, so a person can find the row. */
  readonly source: string;
}

export interface SkippedRow {
  readonly sku: string;
  readonly usageType: string;
  readonly reason: string;
  readonly source: string;
}

export interface Proposal {
  readonly kind: 'new-model' | 'price-change' | 'new-region' | 'new-tier';
  /** A complete, schema-valid entry to append: new id, effectiveFrom = the Price List's effective date. */
  readonly entry: PriceEntry;
  /** Id of the catalog entry in force for this model, Region and tier that the entry would supersede. */
  readonly replaces: string | null;
  /** Stored (base-scope) rates that differ from the superseded entry; `from` is null for a rate it lacks. */
  readonly changes: readonly { field: string; from: string | null; to: string }[];
}

export interface ImportResult {
  readonly proposals: Proposal[];
  /** Groups (model, Region, tier, scope, long context, date) the catalog already prices identically. */
  readonly unchanged: number;
  /** Billing names with no known catalog model id: listed for a person, never guessed. */
  readonly unmapped: { billingModel: string; usageTypes: string[] }[];
  /** Rows `proposeEntries` could not use. Rows `parsePriceList` skipped are in its own result: show both. */
  readonly skipped: SkippedRow[];
}

const TOKEN_CLASSES = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'] as const;
type TokenClass = (typeof TOKEN_CLASSES)[number];
type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = (reason: string): { readonly ok: false; readonly reason: string } => ({
  ok: false,
  reason,
});

/**
 * Billing Region codes. The first group is seen in Bedrock usage types (bedrock.md §2.5); the rest are AWS's usual
 * billing codes. A prefix not listed here is data, not an error: the row keeps `attributes.regionCode` or gets null.
 */
const REGION_BY_PREFIX: Readonly<Record<string, string>> = {
  USE1: 'us-east-1',
  USE2: 'us-east-2',
  USW2: 'us-west-2',
  EUC1: 'eu-central-1',
  EUW1: 'eu-west-1',
  APN1: 'ap-northeast-1',
  APS1: 'ap-southeast-1',
  APS2: 'ap-southeast-2',
  UGW1: 'us-gov-west-1',
  USW1: 'us-west-1',
  UGE1: 'us-gov-east-1',
  CAN1: 'ca-central-1',
  SAE1: 'sa-east-1',
  EUW2: 'eu-west-2',
  EUW3: 'eu-west-3',
  EUN1: 'eu-north-1',
  EUS1: 'eu-south-1',
  APN2: 'ap-northeast-2',
  APN3: 'ap-northeast-3',
  APS3: 'ap-south-1',
  APE1: 'ap-east-1',
  MES1: 'me-south-1',
  AFS1: 'af-south-1',
};

/** The catalog's `*` entries carry the us-east-1 published price (catalog/README.md, Scope). */
const REFERENCE_REGION = 'us-east-1';

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
};

// ---------------------------------------------------------------------------------------------------------------
// Reading the document

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface Product {
  readonly sku: string;
  readonly serviceCode: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** This SKU's OnDemand terms, `{ termKey: term }`. */
  readonly terms: unknown;
}

function invalid(file: string, what: string): AppError {
  return new AppError('price.import_invalid', `${file}: ${what}`);
}

/**
 * Reads a bulk offer file or a GetProducts response into rows. Throws AppError('price.import_invalid') only when the
 * document is neither; a product it cannot use becomes a skipped row with the reason.
 */
export function parsePriceList(
  text: string,
  sourceName: string,
): { rows: PriceListRow[]; skipped: SkippedRow[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e: unknown) {
    throw new AppError('price.import_invalid', `${sourceName}: not valid JSON`, { cause: e });
  }
  const skipped: SkippedRow[] = [];
  let products: Product[];
  if (isRecord(doc) && 'PriceList' in doc) products = readGetProducts(doc, sourceName, skipped);
  else if (isRecord(doc) && ('products' in doc || 'offerCode' in doc)) {
    products = readOfferFile(doc, sourceName, skipped);
  } else {
    throw invalid(
      sourceName,
      'neither a Price List offer file (offerCode, products, terms) nor a GetProducts response (PriceList)',
    );
  }
  const rows: PriceListRow[] = [];
  for (const p of products) readProduct(p, sourceName, rows, skipped);
  return { rows, skipped };
}

function stringAttributes(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function readOfferFile(doc: Json, file: string, skipped: SkippedRow[]): Product[] {
  const { products, terms } = doc;
  if (!isRecord(products)) throw invalid(file, 'products is not an object');
  if (!isRecord(terms)) throw invalid(file, 'terms is not an object');
  const onDemand = terms.OnDemand ?? {};
  if (!isRecord(onDemand)) throw invalid(file, 'terms.OnDemand is not an object');
  const offerCode = str(doc.offerCode) ?? '';
  const out: Product[] = [];
  for (const [key, p] of Object.entries(products)) {
    if (!isRecord(p)) {
      skipped.push({
        sku: key,
        usageType: '',
        reason: 'product is not an object',
        source: `${file}#${key}`,
      });
      continue;
    }
    const sku = str(p.sku) ?? key;
    const attributes = stringAttributes(p.attributes);
    out.push({
      sku,
      serviceCode: attributes.servicecode ?? offerCode,
      attributes,
      terms: onDemand[sku],
    });
  }
  return out;
}

function readGetProducts(doc: Json, file: string, skipped: SkippedRow[]): Product[] {
  const list = doc.PriceList;
  if (!Array.isArray(list)) throw invalid(file, 'PriceList is not an array');
  const out: Product[] = [];
  list.forEach((element: unknown, i: number) => {
    const key = `PriceList[${i}]`;
    let item: unknown = element;
    if (typeof element === 'string') {
      try {
        item = JSON.parse(element);
      } catch {
        skipped.push({
          sku: '',
          usageType: '',
          reason: `${key} is not valid JSON`,
          source: `${file}#${key}`,
        });
        return;
      }
    }
    const product = isRecord(item) ? item.product : undefined;
    if (!isRecord(item) || !isRecord(product)) {
      skipped.push({
        sku: '',
        usageType: '',
        reason: `${key} has no product`,
        source: `${file}#${key}`,
      });
      return;
    }
    const attributes = stringAttributes(product.attributes);
    const sku = str(product.sku) ?? key;
    out.push({
      sku,
      serviceCode: str(item.serviceCode) ?? attributes.servicecode ?? '',
      attributes,
      terms: isRecord(item.terms) ? item.terms.OnDemand : undefined,
    });
  });
  return out;
}

function readProduct(p: Product, file: string, rows: PriceListRow[], skipped: SkippedRow[]): void {
  const source = `${file}#${p.sku}`;
  const usageType = p.attributes.usagetype ?? '';
  const skip = (reason: string): void => {
    skipped.push({ sku: p.sku, usageType, reason, source });
  };
  const head = productHead(p, usageType);
  if (!head.ok) {
    skip(head.reason);
    return;
  }
  const { usage, regionCode, dimensions } = head.value;
  for (const d of dimensions) {
    const price = readPrice(d.effectiveDate, d.dimension);
    if (price.ok) {
      const { prefix: _, ...fields } = usage;
      rows.push({
        sku: p.sku,
        serviceCode: p.serviceCode,
        usageType,
        regionCode,
        ...fields,
        ...price.value,
        source,
      });
    } else skip(price.reason);
  }
}

/** What every price dimension of a product shares: its usage type, Region and OnDemand dimensions. */
function productHead(
  p: Product,
  usageType: string,
): Outcome<{
  usage: Usage;
  regionCode: string | null;
  dimensions: { effectiveDate: unknown; dimension: Json }[];
}> {
  if (usageType === '') return fail('no usagetype attribute');
  const usage = parseUsageType(usageType, p.attributes);
  if (!usage.ok) return usage;
  const region = regionOf(usage.value.prefix, p.attributes.regionCode);
  if (!region.ok) return region;
  const dimensions = priceDimensions(p.terms);
  if (dimensions.length === 0) return fail('no OnDemand price (no terms.OnDemand for this SKU)');
  return ok({ usage: usage.value, regionCode: region.value, dimensions });
}

function regionOf(prefix: string | null, attribute: string | undefined): Outcome<string | null> {
  const fromTable = prefix === null ? undefined : REGION_BY_PREFIX[prefix];
  if (attribute !== undefined && attribute !== '') {
    if (fromTable !== undefined && fromTable !== attribute) {
      return fail(
        `regionCode ${attribute} disagrees with the usage-type prefix ${prefix} (${fromTable})`,
      );
    }
    return ok(attribute);
  }
  return ok(fromTable ?? null);
}

function priceDimensions(terms: unknown): { effectiveDate: unknown; dimension: Json }[] {
  const out: { effectiveDate: unknown; dimension: Json }[] = [];
  if (!isRecord(terms)) return out;
  for (const term of Object.values(terms)) {
    if (!isRecord(term) || !isRecord(term.priceDimensions)) continue;
    for (const d of Object.values(term.priceDimensions)) {
      if (isRecord(d)) out.push({ effectiveDate: term.effectiveDate, dimension: d });
    }
  }
  return out;
}

function readPrice(
  effectiveDate: unknown,
  d: Json,
): Outcome<{ usdPerMillion: string; effectiveDate: string }> {
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(str(effectiveDate) ?? '')?.[1];
  if (date === undefined) return fail('no effectiveDate on the OnDemand term');
  const begin = str(d.beginRange) ?? '0';
  const end = str(d.endRange) ?? 'Inf';
  if (begin !== '0' || end !== 'Inf') return fail(`a tiered price (range ${begin} to ${end})`);
  const usd = isRecord(d.pricePerUnit) ? str(d.pricePerUnit.USD) : undefined;
  if (usd === undefined) return fail('no USD price');
  const unit = str(d.unit) ?? '';
  const description = str(d.description) ?? '';
  const shift = unitShift(unit, description);
  if (shift === null) {
    return fail(
      unit.trim().toLowerCase() === 'units'
        ? `unit "Units" with no scale in the description ("${description}" names neither million nor thousand tokens)`
        : `unit "${unit}" is not a token count this importer knows (1K tokens, 1M tokens, tokens)`,
    );
  }
  const perMillion = shiftDecimal(usd, shift);
  if (perMillion === null) return fail(`price "${usd}" is not a non-negative decimal`);
  if ((perMillion.split('.')[1] ?? '').length > 6) {
    return fail(
      `${usd} per ${unit} is ${perMillion} per 1M tokens: more than 6 decimals, which the catalog cannot hold exactly (not rounded)`,
    );
  }
  return ok({ usdPerMillion: perMillion, effectiveDate: date });
}

/**
 * Decimal places a price moves to become USD per 1M tokens: 1K tokens ×1000, 1M tokens ×1, one token ×1e6.
 * Marketplace rows may say only "Units"; their scale is then read from the description ("Million Input Tokens").
 */
function unitShift(unit: string, description: string): number | null {
  const u = unit.trim().toLowerCase();
  if (u === '1k tokens' || u === '1k token') return 3;
  if (u === '1m tokens' || u === '1m token') return 0;
  if (u === 'tokens' || u === 'token') return 6;
  if (u === 'units') {
    if (/\bmillion\b|\b1m\b/i.test(description)) return 0;
    if (/\bthousand\b|\b1k\b/i.test(description)) return 3;
  }
  return null;
}

/** '0.0000350000' shifted by 3 → '0.035'; exact, trailing zeros stripped. Null when not a non-negative decimal. */
function shiftDecimal(text: string, places: number): string | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const frac = (m[2] ?? '').padEnd(places, '0');
  const whole = `${m[1]}${frac.slice(0, places)}`.replace(/^0+(?=\d)/, '');
  const rest = frac.slice(places).replace(/0+$/, '');
  return rest === '' ? whole : `${whole}.${rest}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Usage types (bedrock.md §2.5): A `USE1-NovaPro-input-tokens-priority`, B `USE1-openai.gpt-oss-20b-mantle-input-
// tokens-standard`, C `USE1-MP:USE1_InputTokenCount_Global-Units`. Suffixes are read as a set: order is not fixed.

interface Usage {
  readonly prefix: string | null;
  readonly billingModel: string;
  readonly tokenClass: TokenClass;
  readonly tier: Tier;
  readonly scope: Scope;
  readonly longContext: boolean;
}

const words = (phrase: string): readonly string[] => phrase.split('-');

/** Meters, longest first, matched on lower-cased words (`-` in grammars A and B, `_` in C). */
const METERS: readonly (readonly [readonly string[], TokenClass])[] = (
  [
    ['cache-read-input-token-count', 'cacheRead'],
    ['cache-write-1h-input-token-count', 'cacheWrite1h'],
    ['cache-write-input-token-count', 'cacheWrite5m'],
    ['cache-read-input-tokens', 'cacheRead'],
    ['cache-write-1h-input-tokens', 'cacheWrite1h'],
    ['cache-write-input-tokens', 'cacheWrite5m'],
    ['cache-write-1h-tokens', 'cacheWrite1h'],
    ['cache-read-tokens', 'cacheRead'],
    ['cache-write-tokens', 'cacheWrite5m'],
    ['input-token-count', 'input'],
    ['output-token-count', 'output'],
    ['input-tokens', 'input'],
    ['output-tokens', 'output'],
  ] as const
).map(([phrase, cls]) => [words(phrase), cls] as const);

/** Marketplace CamelCase meters (`USE1_CacheWrite1hInputTokenCount_Global`). */
const CAMEL_METERS: Readonly<Record<string, { cls: TokenClass; tier?: Tier }>> = {
  InputTokenCount: { cls: 'input' },
  OutputTokenCount: { cls: 'output' },
  CacheReadInputTokenCount: { cls: 'cacheRead' },
  CacheWriteInputTokenCount: { cls: 'cacheWrite5m' },
  CacheWrite1hInputTokenCount: { cls: 'cacheWrite1h' },
  MillionBatchInputTokens: { cls: 'input', tier: 'batch' },
  MillionBatchOutputTokens: { cls: 'output', tier: 'batch' },
};

type Effect = { tier: Tier } | { scope: Scope } | { longContext: true } | { oneHour: true };

/** Suffix vocabulary, longest phrases first. Anything else is an unknown suffix and the row is skipped. */
const MODIFIERS: readonly (readonly [readonly string[], Effect])[] = (
  [
    ['cross-region-global', { scope: 'global' }],
    ['cross-region-geo', { scope: 'geo' }],
    ['long-context', { longContext: true }],
    ['latency-optimized', { tier: 'latency-optimized' }],
    ['latencyoptimized', { tier: 'latency-optimized' }],
    ['lctx', { longContext: true }],
    ['global', { scope: 'global' }],
    ['geo', { scope: 'geo' }],
    ['standard', { tier: 'standard' }],
    ['batch', { tier: 'batch' }],
    ['flex', { tier: 'flex' }],
    ['priority', { tier: 'priority' }],
    ['1h', { oneHour: true }],
  ] as const satisfies readonly (readonly [string, Effect])[]
).map(([phrase, effect]) => [words(phrase), effect] as const);

const matchesAt = (tokens: readonly string[], at: number, phrase: readonly string[]): boolean =>
  phrase.every((w, j) => tokens[at + j]?.toLowerCase() === w);

function meterAt(
  tokens: readonly string[],
  at: number,
): { cls: TokenClass; length: number } | null {
  const hit = METERS.find(([phrase]) => matchesAt(tokens, at, phrase));
  return hit ? { cls: hit[1], length: hit[0].length } : null;
}

interface Modifiers {
  tier: Tier | null;
  scope: Scope | null;
  longContext: boolean;
  oneHour: boolean;
}

function parseModifiers(
  tokens: readonly string[],
  base: Partial<Modifiers> = {},
): Outcome<Modifiers> {
  const m: Modifiers = { tier: null, scope: null, longContext: false, oneHour: false, ...base };
  let i = 0;
  while (i < tokens.length) {
    const hit = MODIFIERS.find(([phrase]) => matchesAt(tokens, i, phrase));
    if (hit === undefined) return fail(`unknown usage-type suffix "${tokens[i]}"`);
    const [phrase, effect] = hit;
    if ('tier' in effect) {
      if (m.tier !== null && m.tier !== effect.tier)
        return fail(`two tiers in one usage type (${m.tier}, ${effect.tier})`);
      m.tier = effect.tier;
    } else if ('scope' in effect) {
      if (m.scope !== null && m.scope !== effect.scope)
        return fail(`two scopes in one usage type (${m.scope}, ${effect.scope})`);
      m.scope = effect.scope;
    } else if ('longContext' in effect) m.longContext = true;
    else m.oneHour = true;
    i += phrase.length;
  }
  return ok(m);
}

function parseUsageType(
  usageType: string,
  attributes: Readonly<Record<string, string>>,
): Outcome<Usage> {
  if (/ProvisionedThroughput/i.test(usageType)) {
    return fail('Provisioned Throughput: an hourly model-unit price, not a per-token price');
  }
  if (/Reserved|TPM/.test(usageType)) {
    return fail(
      'Reserved tier: a monthly per-TPM commitment, not a per-token price (catalog/README.md, Tiers)',
    );
  }
  if (/custom-model/i.test(usageType)) {
    return fail('custom-model usage: priced per custom model, not by the foundation-model catalog');
  }
  const m = /^([A-Z]{2,4}\d{0,2})-(.+)$/.exec(usageType);
  const prefix = m?.[1] ?? null;
  const rest = m?.[2] ?? usageType;
  if (rest.startsWith('MP:')) return parseMarketplace(prefix, rest.slice(3), attributes);
  const mantle = rest.indexOf('-mantle-');
  if (mantle > 0) {
    const tokens = rest.slice(mantle + '-mantle-'.length).split('-');
    const meter = meterAt(tokens, 0);
    if (meter === null) return fail('mantle usage type without a token meter');
    return finish(
      prefix,
      rest.slice(0, mantle),
      meter.cls,
      parseModifiers(tokens.slice(meter.length)),
    );
  }
  return parseNative(prefix, rest);
}

function parseNative(prefix: string | null, rest: string): Outcome<Usage> {
  const tokens = rest.split('-');
  for (let i = 1; i < tokens.length; i++) {
    const meter = meterAt(tokens, i);
    if (meter === null) continue;
    // Suffixes may also sit before the meter (`NovaPro-LatencyOptimized-input-tokens`): the model is the shortest
    // head whose remaining words are all suffixes.
    const before = tokens.slice(0, i);
    let k = 1;
    while (k < before.length && !parseModifiers(before.slice(k)).ok) k++;
    const mods = parseModifiers([...before.slice(k), ...tokens.slice(i + meter.length)]);
    return finish(prefix, before.slice(0, k).join('-'), meter.cls, mods);
  }
  return fail(
    'no token meter (input-tokens, output-tokens, cache-read-…, cache-write-…) in the usage type',
  );
}

function parseMarketplace(
  prefix: string | null,
  body: string,
  attributes: Readonly<Record<string, string>>,
): Outcome<Usage> {
  const tokens = body.replace(/-Units$/, '').split('_');
  if (/^[A-Z]{2,4}\d{0,2}$/.test(tokens[0] ?? '')) tokens.shift();
  const camel = CAMEL_METERS[tokens[0] ?? ''];
  const meter = camel === undefined ? meterAt(tokens, 0) : { cls: camel.cls, length: 1 };
  if (meter === null) return fail('Marketplace usage type without a token meter');
  const mods = parseModifiers(tokens.slice(meter.length), camel?.tier ? { tier: camel.tier } : {});
  const model =
    attributes.servicename?.replace(/\s*\(Amazon Bedrock Edition\)\s*$/, '').trim() ||
    attributes.model?.trim();
  if (!model)
    return fail('Marketplace usage type and no servicename or model attribute to name the model');
  return finish(prefix, model, meter.cls, mods);
}

function finish(
  prefix: string | null,
  billingModel: string,
  cls: TokenClass,
  mods: Outcome<Modifiers>,
): Outcome<Usage> {
  if (!mods.ok) return mods;
  const { tier, scope, longContext, oneHour } = mods.value;
  let tokenClass = cls;
  if (oneHour) {
    if (cls !== 'cacheWrite5m' && cls !== 'cacheWrite1h')
      return fail('"1h" on a meter that is not a cache write');
    tokenClass = 'cacheWrite1h';
  }
  if (billingModel === '') return fail('no model name in the usage type');
  return ok({
    prefix,
    billingModel,
    tokenClass,
    tier: tier ?? 'standard',
    scope: scope ?? 'in-region',
    longContext,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Proposals

interface Group {
  readonly models: readonly string[];
  readonly region: string;
  readonly tier: Tier;
  readonly longContext: boolean;
  readonly date: string;
  readonly rows: PriceListRow[];
}

type ScopeRates = Map<Scope, Map<TokenClass, Picos>>;

interface Context {
  readonly catalog: Catalog;
  readonly today: string;
  readonly ids: Set<string>;
  readonly keys: Set<string>;
}

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
  return e.models.flatMap((m) => e.regions.map((r) => `${m}|${r}|${e.tier}|${e.effectiveFrom}`));
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

function scopeRates(rows: readonly PriceListRow[]): Outcome<ScopeRates> {
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

function sameRates(byClass: Map<TokenClass, Picos>, catalog: RateSet): boolean {
  for (const [cls, picos] of byClass) if (catalog[cls] !== picos) return false;
  return true;
}

/** USD per 1M tokens as the catalog writes it: '3.00', '0.00875', and '0' for free. */
function formatRate(picosPerToken: Picos): string {
  return picosPerToken === 0n ? '0' : formatUsd(picosPerToken * 1_000_000n);
}

function listRates(byClass: Map<TokenClass, Picos>): string {
  return [...byClass].map(([cls, p]) => `${cls} ${formatRate(p)}`).join(', ');
}

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

/** '0.10' → '1.10', exactly. */
function addOne(premium: string): string {
  const [whole = '0', frac = ''] = premium.split('.');
  return `${BigInt(whole) + 1n}${frac ? `.${frac}` : ''}`;
}

/** `amount / factor` when it is a whole pico-USD, else null. */
function divideExact(amount: Picos, factor: string): Picos | null {
  const [whole = '0', frac = ''] = factor.split('.');
  const num = BigInt(whole + frac);
  const scaled = amount * 10n ** BigInt(frac.length);
  return scaled % num === 0n ? scaled / num : null;
}

function timesExact(amount: Picos, factor: string): Picos | null {
  try {
    return scaleExact(amount, factor);
  } catch {
    return null;
  }
}

/** A new model's premium from its own rows: '0.10' when every regional rate is global × 1.10, none when equal. */
function detectPremium(rates: ScopeRates): Outcome<string | undefined> {
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

/** Each scope's prices brought back to the base (global) scope; they must agree. */
function baseRates(
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

function buildProposal(
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
  const old = replaced?.base ?? null;
  const finalRates = new Map<TokenClass, Picos>();
  const kept: TokenClass[] = [];
  for (const cls of TOKEN_CLASSES) {
    const fresh = base.value.get(cls);
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
  const changes = TOKEN_CLASSES.flatMap((cls) => {
    const fresh = base.value.get(cls);
    if (fresh === undefined) return [];
    const before = old?.[cls] ?? null;
    const from = before === null ? null : formatRate(before);
    const to = formatRate(fresh);
    return from === to ? [] : [{ field: cls, from, to }];
  });
  if (changes.length === 0) return fail('the Price List rates equal the stored base rates');

  const id = `${family}/${g.region}/${g.tier}/${g.date}`;
  const keys = g.models.map((m) => `${m}|${g.region}|${g.tier}|${g.date}`);
  if (ctx.ids.has(id)) return fail(`entry id ${id} already exists`);
  const clash = keys.find((k) => ctx.keys.has(k));
  if (clash !== undefined) return fail(`an entry already prices ${clash.replaceAll('|', ' ')}`);

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

// ---------------------------------------------------------------------------------------------------------------
// Review text

/** A human-readable review of an import: one block per proposal, then unchanged, unmapped and skipped rows. */
export function formatProposals(result: ImportResult): string {
  const lines: string[] = [
    `AWS Price List import: ${result.proposals.length} proposals, ${result.unchanged} unchanged, ${result.unmapped.length} unmapped, ${result.skipped.length} skipped`,
  ];
  for (const p of result.proposals) {
    const e = p.entry;
    const changes = p.changes
      .map((c) => (c.from === null ? `${c.field} ${c.to}` : `${c.field} ${c.from} → ${c.to}`))
      .join(', ');
    const rates = TOKEN_CLASSES.flatMap((cls) => {
      const v = e.usdPerMillionTokens[cls];
      return v === undefined ? [] : [`${cls} ${v}`];
    }).join(' · ');
    const premium = e.regionalPremium
      ? ` (global base; regionalPremium ${e.regionalPremium} for geo and in-Region)`
      : '';
    lines.push(
      '',
      `${p.kind === 'price-change' ? '~' : '+'} ${e.models.join(',')} ${e.regions.join(',')} ${e.tier}: ${changes}`,
      `    ${p.kind}: new entry ${e.id} from ${e.effectiveFrom}${p.replaces ? `, supersedes ${p.replaces}` : ''}`,
      `    rates per 1M tokens${premium}: ${rates}`,
      `    notes: ${e.notes ?? ''}`,
    );
  }
  lines.push('', `= ${result.unchanged} groups already priced identically by the catalog`);
  if (result.unmapped.length > 0) {
    lines.push(
      '',
      'unmapped billing names (no catalog model id; add to BILLING_MODEL_MAP once checked):',
    );
    for (const u of result.unmapped)
      lines.push(`  ? ${u.billingModel}: ${u.usageTypes.join(', ')}`);
  }
  if (result.skipped.length > 0) {
    lines.push('', 'skipped rows:');
    for (const s of result.skipped)
      lines.push(`  - ${s.usageType || '(no usage type)'} [${s.source}]: ${s.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
