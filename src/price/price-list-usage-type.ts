/**
 * Reads a Price List usage type (bedrock.md §2.5) into billing model, token class, tier, scope and long context, and
 * its billing-Region prefix into a Region code. Grammars: A `USE1-NovaPro-input-tokens-priority`, B
 * `USE1-openai.gpt-oss-20b-mantle-input-tokens-standard`, C `USE1-MP:USE1_InputTokenCount_Global-Units`. Suffixes
 * are read as a set: order is not fixed.
 */
import type { Scope, Tier } from '../core/index.ts';
import { fail, type Outcome, ok } from './price-list-outcome.ts';
import type { TokenClass } from './price-record.ts';

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

/** The row's Region: `attributes.regionCode` when set (it must agree with the prefix table), else the table's. */
export function regionOf(
  prefix: string | null,
  attribute: string | undefined,
): Outcome<string | null> {
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

/** What a usage type says. `prefix` is its billing-Region code (`USE1`), null when it has none. */
export interface Usage {
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

/**
 * Grammar A, B or C → Usage. Fails with the reason for what is not a per-token foundation-model price (Provisioned
 * Throughput, Reserved, custom models), a usage type with no token meter, and an unknown or contradictory suffix.
 */
export function parseUsageType(
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
