/**
 * The one record shape that flows through the pipeline: source → RawUsage → normalise → UsageRecord → price →
 * PricedRecord → attribute → AttributedRecord → store. Each stage adds what it knows; nothing is recomputed later.
 */
import type { Picos } from './money.ts';

/** Billable token classes. `input` is uncached input only (Bedrock's `inputTokenCount`). */
export interface Tokens {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
}

/**
 * The most tokens of one class one call can have (no model's context comes near 2^31): a larger count is a corrupt
 * record, and its cost would not fit the ledger's pico-USD column (BIGINT, ~$9.2M a row).
 */
export const MAX_TOKEN_COUNT = 2_147_483_647;

/** Where a request was served from, for pricing: a `global.` profile, a geo profile (`us.`, `eu.`…), or in-Region. */
export type Scope = 'global' | 'geo' | 'in-region';

/** Service tier. Invocation logs rarely show it; `null` in RawUsage means unknown (priced as standard, flagged). */
export type Tier = 'standard' | 'priority' | 'flex' | 'batch' | 'latency-optimized';

/**
 * The tier Bedrock says served a call: `serviceTier` (`{type}`) of a Converse answer or `metadata` event, or the
 * `X-Amzn-Bedrock-Service-Tier` answer header of InvokeModel. Null when it does not say, or names a tier not priced
 * per token (reserved: a monthly per-TPM commitment).
 */
export function servedTier(value: unknown): Tier | null {
  const type =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null
        ? (value as { type?: unknown }).type
        : undefined;
  if (type === 'priority' || type === 'flex') return type;
  return type === 'default' || type === 'standard' ? 'standard' : null;
}

/**
 * The tier a call is priced at: the one Bedrock says served it (a priority call it served at the default tier
 * costs the default price), else the one asked for. Latency-optimized is a performance setting beside the tier: a
 * default-tier answer keeps it.
 */
export function pricedTier(asked: Tier, served: Tier | null | undefined): Tier {
  if (served === null || served === undefined) return asked;
  return served === 'standard' && asked === 'latency-optimized' ? asked : served;
}
export const TIERS: readonly Tier[] = [
  'standard',
  'priority',
  'flex',
  'batch',
  'latency-optimized',
];

/** Where a record came from: a file or object URI and its 1-based line, for rejects and `explain`. */
export interface SourceRef {
  readonly uri: string;
  readonly line: number;
}

/** What a source produces: the facts of one invocation, with the model id exactly as the caller passed it. */
export interface RawUsage {
  readonly requestId: string;
  /** Epoch milliseconds, UTC. */
  readonly occurredAt: number;
  readonly accountId: string;
  /** The Region that received the call; prices follow it. */
  readonly region: string;
  /** The Region that served a cross-Region call, when known. */
  readonly inferenceRegion: string | null;
  readonly operation: string;
  readonly modelId: string;
  readonly identityArn: string | null;
  readonly requestMetadata: Readonly<Record<string, string>>;
  readonly tokens: Tokens;
  /** False when cache writes were seen but their 5m/1h split was not (body absent or offloaded). */
  readonly cacheTtlKnown: boolean;
  readonly tier: Tier | null;
  readonly latencyMs: number | null;
  readonly firstByteMs: number | null;
  /** Null on success; the exception name (e.g. ThrottlingException) on failure. */
  readonly errorCode: string | null;
  readonly source: SourceRef;
}

/** How a raw model id was read. */
export type ModelIdForm =
  | 'bare'
  | 'profile-id'
  | 'foundation-model-arn'
  | 'inference-profile-arn'
  | 'application-profile-arn';

export interface ModelRef {
  /** The caller's string, unchanged. */
  readonly raw: string;
  /** Canonical foundation-model id, the price key (e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0`). */
  readonly base: string;
  /** The inference profile the call went through (system profile id or application-profile ARN), if any. */
  readonly profile: string | null;
  readonly scope: Scope;
  /** Geo prefix of a system profile (`us`, `eu`, `apac`…), or null. */
  readonly geo: string | null;
  readonly form: ModelIdForm;
  /** Attribution tags of an application inference profile, from configuration. */
  readonly profileTags: Readonly<Record<string, string>>;
}

/** Known assumptions and gaps, stored on the record so that every number can be explained. */
export type Flag =
  | 'tier_unknown'
  | 'cache_ttl_unknown'
  | 'unpriced'
  | 'rate_missing'
  | 'long_context'
  | 'regional_premium'
  | 'profile_unresolved'
  | 'price_before_effective'
  /** Priced by an entry of the user's overrides file (a private price), not the shipped catalog. */
  | 'price_override'
  /** One or more negotiated discounts of the overrides file were applied. */
  | 'discounted';

export interface UsageRecord extends RawUsage {
  readonly model: ModelRef;
  readonly flags: readonly Flag[];
}

export interface Cost {
  /** Total list-price cost; null when no catalog entry covers the record (flag `unpriced`). */
  readonly picos: Picos | null;
  readonly priceId: string | null;
  readonly catalogHash: string;
}

export interface PricedRecord extends UsageRecord {
  readonly cost: Cost;
}

/** The attribution dimensions that have their own column; any other request-metadata key is queryable too. */
export const DIMENSIONS = [
  'team',
  'user',
  'feature',
  'project',
  'environment',
  'cost_center',
  'application',
  'session',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const UNALLOCATED = 'unallocated';

export interface Attribution {
  /** Every dimension has a value; `unallocated` when no rule matched. */
  readonly values: Readonly<Record<Dimension, string>>;
  /** Which rule won for each matched dimension, e.g. `requestMetadata.team`, `identity.session-name`, `rule:3`. */
  readonly rules: Readonly<Partial<Record<Dimension, string>>>;
}

export interface AttributedRecord extends PricedRecord {
  readonly attribution: Attribution;
}

/** A line or object that could not become a record; kept with its place and reason, never dropped silently. */
export interface Reject {
  readonly source: SourceRef;
  readonly reason: string;
  readonly excerpt: string;
}
