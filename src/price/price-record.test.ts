/**
 * The whole price path, table-driven: RawUsage → createNormaliser → priceRecord against the shipped catalog.
 * Every expected cost is written as `tokens × published USD per 1M` and computed here with bigint from those decimal
 * strings (never floats, never the code under test), so the table reads like the price sheet it checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Flag, RawUsage, Tier, Tokens } from '../core/index.ts';
import { type ApplicationProfile, createNormaliser } from '../normalise/index.ts';
import { defaultCatalogDir, loadCatalogDir } from './catalog.ts';
import {
  cardCost,
  priceRecord,
  quote,
  quoteLines,
  rateCard,
  type TokenClass,
} from './price-record.ts';

const catalog = loadCatalogDir(defaultCatalogDir());

const ACCOUNT = '111122223333';
const AIP_FROM_GLOBAL = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/g10ba1000001`;
const AIP_FROM_US = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/a1b2c3d4e5f6`;
const AIP_FROM_BARE = `arn:aws:bedrock:eu-west-1:${ACCOUNT}:application-inference-profile/nova00000001`;
const AIP_UNKNOWN = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/zzzzzzzzzzzz`;
const PROFILES: Record<string, ApplicationProfile> = {
  [AIP_FROM_GLOBAL]: { model: 'global.anthropic.claude-sonnet-4-6', tags: { team: 'search' } },
  [AIP_FROM_US]: { model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', tags: {} },
  [AIP_FROM_BARE]: { model: 'amazon.nova-pro-v1:0', tags: {} },
};
const normaliser = createNormaliser((arn) => PROFILES[arn]);

const S45 = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const S4 = 'anthropic.claude-sonnet-4-20250514-v1:0';
const H45 = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const O45 = 'anthropic.claude-opus-4-5-20251101-v1:0';
const H3 = 'anthropic.claude-3-haiku-20240307-v1:0';

/** `tokens × USD per 1M tokens` for each token class that has tokens. */
type Bill = Partial<Record<TokenClass, readonly [tokens: number, usdPerMillion: string]>>;

interface Case {
  readonly name: string;
  readonly model: string;
  readonly region?: string;
  readonly inferenceRegion?: string;
  readonly at?: string;
  /** Omitted: 'standard'. `null`: unknown. */
  readonly tier?: Tier | null;
  readonly cacheTtlKnown?: boolean;
  /** Priced cases: tokens and rates. Unpriced cases: tokens only. */
  readonly bill?: Bill;
  readonly tokens?: Partial<Tokens>;
  readonly priceId: string | null;
  readonly flags?: readonly Flag[];
}

const CASES: readonly Case[] = [
  // Claude Sonnet 4.5: global = base; geo and bare = base × 1.10 (3.00 → 3.30, 15.00 → 16.50, …).
  {
    name: 'Sonnet 4.5 global.',
    model: `global.${S45}`,
    bill: { input: [1000, '3.00'], output: [500, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 us.',
    model: `us.${S45}`,
    bill: { input: [1000, '3.30'], output: [500, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 bare id (in-Region pays the premium too)',
    model: S45,
    bill: { input: [1000, '3.30'], output: [500, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 eu. from eu-west-1',
    model: `eu.${S45}`,
    region: 'eu-west-1',
    bill: { input: [777, '3.30'], output: [333, '16.50'], cacheRead: [9000, '0.33'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 apac. from ap-southeast-1',
    model: `apac.${S45}`,
    region: 'ap-southeast-1',
    bill: { input: [12, '3.30'], output: [34, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 jp. from ap-northeast-1',
    model: `jp.${S45}`,
    region: 'ap-northeast-1',
    bill: { input: [5000, '3.30'], cacheWrite5m: [2000, '4.125'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 au. from ap-southeast-2',
    model: `au.${S45}`,
    region: 'ap-southeast-2',
    bill: { input: [1, '3.30'], output: [1, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 foundation-model ARN (in-Region)',
    model: `arn:aws:bedrock:us-west-2::foundation-model/${S45}`,
    region: 'us-west-2',
    bill: { input: [2000, '3.30'], output: [100, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 inference-profile ARN of the global. profile',
    model: `arn:aws:bedrock:us-east-1:${ACCOUNT}:inference-profile/global.${S45}`,
    bill: { input: [2000, '3.00'], output: [100, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 inference-profile ARN of the us. profile',
    model: `arn:aws:bedrock:us-east-1:${ACCOUNT}:inference-profile/us.${S45}`,
    bill: { input: [2000, '3.30'], output: [100, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 us. from us-west-2, served in us-east-2 (source Region prices it)',
    model: `us.${S45}`,
    region: 'us-west-2',
    inferenceRegion: 'us-east-2',
    bill: { input: [1000, '3.30'], output: [500, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 global. with cache read and 5m write',
    model: `global.${S45}`,
    bill: {
      input: [2000, '3.00'],
      cacheRead: [10_000, '0.30'],
      cacheWrite5m: [3000, '3.75'],
      output: [800, '15.00'],
    },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 us. with a 1h + 5m cache-write split',
    model: `us.${S45}`,
    bill: {
      input: [300, '3.30'],
      cacheWrite5m: [4000, '4.125'],
      cacheWrite1h: [6000, '6.60'],
      output: [250, '16.50'],
    },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 global. with a 1h + 5m cache-write split',
    model: `global.${S45}`,
    bill: { cacheWrite5m: [4000, '3.75'], cacheWrite1h: [6000, '6.00'], output: [1, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 global. long context: 150,000 + 40,000 read + 10,001 write = 200,001',
    model: `global.${S45}`,
    bill: {
      input: [150_000, '6.00'], // 3.00 × 2
      cacheRead: [40_000, '0.60'], // 0.30 × 2
      cacheWrite5m: [10_001, '7.50'], // 3.75 × 2
      output: [2000, '22.50'], // 15.00 × 1.5
    },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['long_context'],
  },
  {
    name: 'Sonnet 4.5 us. long context: premium and multiplier both apply',
    model: `us.${S45}`,
    bill: {
      input: [200_001, '6.60'], // 3.00 × 1.10 × 2
      cacheWrite1h: [1000, '13.20'], // 6.00 × 1.10 × 2
      output: [4000, '24.75'], // 15.00 × 1.10 × 1.5
    },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['long_context', 'regional_premium'],
  },
  {
    name: 'Sonnet 4.5 global. at exactly 200,000 input is not long context',
    model: `global.${S45}`,
    bill: { input: [100_000, '3.00'], cacheRead: [100_000, '0.30'], output: [10, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 global. long context with a 1h + 5m split: 120,000 + 50,000 + 20,000 + 15,000',
    model: `global.${S45}`,
    bill: {
      input: [120_000, '6.00'], // 3.00 × 2
      cacheRead: [50_000, '0.60'], // 0.30 × 2
      cacheWrite5m: [20_000, '7.50'], // 3.75 × 2
      cacheWrite1h: [15_000, '12.00'], // 6.00 × 2
      output: [3000, '22.50'], // 15.00 × 1.5
    },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['long_context'],
  },
  {
    name: 'Sonnet 4.5 inference-profile ARN of the eu. profile, from eu-west-1',
    model: `arn:aws:bedrock:eu-west-1:${ACCOUNT}:inference-profile/eu.${S45}`,
    region: 'eu-west-1',
    bill: { input: [1500, '3.30'], cacheRead: [20_000, '0.33'], output: [700, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.5 us. before its first entry: earliest entry, flagged',
    model: `us.${S45}`,
    at: '2025-09-01T00:00:00Z',
    bill: { input: [1000, '3.30'], output: [100, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['price_before_effective', 'regional_premium'],
  },
  {
    name: 'Sonnet 4.5 global. on its effectiveFrom day is in force, not early',
    model: `global.${S45}`,
    at: '2025-09-29T00:00:00Z',
    bill: { input: [1000, '3.00'], output: [100, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
  },
  // Claude Sonnet 4: one price for every scope; long context above 200,000 total input tokens.
  {
    name: 'Sonnet 4 us. at 199,999 input',
    model: `us.${S4}`,
    bill: { input: [199_999, '3.00'], output: [1000, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
  },
  {
    name: 'Sonnet 4 us. at 200,001 input',
    model: `us.${S4}`,
    bill: { input: [200_001, '6.00'], output: [1000, '22.50'] },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
    flags: ['long_context'],
  },
  {
    name: 'Sonnet 4 at 199,999 total input, mostly cached',
    model: S4,
    bill: {
      input: [1, '3.00'],
      cacheRead: [149_998, '0.30'],
      cacheWrite5m: [50_000, '3.75'],
      output: [10, '15.00'],
    },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
  },
  {
    name: 'Sonnet 4 at 200,001 total input, mostly cached',
    model: S4,
    bill: {
      input: [1, '6.00'],
      cacheRead: [150_000, '0.60'],
      cacheWrite5m: [50_000, '7.50'],
      output: [10, '22.50'],
    },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
    flags: ['long_context'],
  },
  {
    name: 'Sonnet 4 global. has no premium to remove',
    model: `global.${S4}`,
    bill: { input: [1000, '3.00'], output: [1000, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
  },
  // Claude Sonnet 4.6: no date suffix, premium, no long-context tier.
  {
    name: 'Sonnet 4.6 global.',
    model: 'global.anthropic.claude-sonnet-4-6',
    bill: { input: [1000, '3.00'], output: [1000, '15.00'], cacheWrite1h: [500, '6.00'] },
    priceId: 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17',
  },
  {
    name: 'Sonnet 4.6 bare',
    model: 'anthropic.claude-sonnet-4-6',
    bill: { input: [1000, '3.30'], output: [1000, '16.50'], cacheWrite1h: [500, '6.60'] },
    priceId: 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.6 global. at 300,000 input: flat price',
    model: 'global.anthropic.claude-sonnet-4-6',
    bill: { input: [300_000, '3.00'], output: [1000, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17',
  },
  {
    name: 'Sonnet 4.6 us. with a 1h + 5m split',
    model: 'us.anthropic.claude-sonnet-4-6',
    bill: {
      input: [2000, '3.30'],
      cacheRead: [30_000, '0.33'],
      cacheWrite5m: [5000, '4.125'],
      cacheWrite1h: [5000, '6.60'],
      output: [900, '16.50'],
    },
    priceId: 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 4.6 us. batch (premium on the batch price)',
    model: 'us.anthropic.claude-sonnet-4-6',
    tier: 'batch',
    bill: { input: [10_000, '1.65'], output: [2000, '8.25'] },
    priceId: 'anthropic.claude-sonnet-4-6/*/batch/2026-02-17',
    flags: ['regional_premium'],
  },
  // Claude Haiku 4.5.
  {
    name: 'Haiku 4.5 global. with cache',
    model: `global.${H45}`,
    bill: {
      input: [4000, '1.00'],
      cacheRead: [20_000, '0.10'],
      cacheWrite5m: [3000, '1.25'],
      cacheWrite1h: [1000, '2.00'],
      output: [600, '5.00'],
    },
    priceId: 'anthropic.claude-haiku-4-5/*/standard/2025-10-01',
  },
  {
    name: 'Haiku 4.5 us. with cache',
    model: `us.${H45}`,
    bill: {
      input: [4000, '1.10'],
      cacheRead: [20_000, '0.11'],
      cacheWrite5m: [3000, '1.375'],
      cacheWrite1h: [1000, '2.20'],
      output: [600, '5.50'],
    },
    priceId: 'anthropic.claude-haiku-4-5/*/standard/2025-10-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Haiku 4.5 bare (in-Region) with cache: same as us.',
    model: H45,
    bill: {
      input: [4000, '1.10'],
      cacheRead: [20_000, '0.11'],
      cacheWrite5m: [3000, '1.375'],
      cacheWrite1h: [1000, '2.20'],
      output: [600, '5.50'],
    },
    priceId: 'anthropic.claude-haiku-4-5/*/standard/2025-10-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Haiku 4.5 global. batch',
    model: `global.${H45}`,
    tier: 'batch',
    bill: { input: [10_000, '0.50'], output: [2000, '2.50'] },
    priceId: 'anthropic.claude-haiku-4-5/*/batch/2025-10-01',
  },
  {
    name: 'Haiku 4.5 us. batch',
    model: `us.${H45}`,
    tier: 'batch',
    bill: { input: [10_000, '0.55'], output: [2000, '2.75'] },
    priceId: 'anthropic.claude-haiku-4-5/*/batch/2025-10-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Haiku 4.5 bare batch',
    model: H45,
    tier: 'batch',
    bill: { input: [10_000, '0.55'], output: [2000, '2.75'] },
    priceId: 'anthropic.claude-haiku-4-5/*/batch/2025-10-01',
    flags: ['regional_premium'],
  },
  // Claude Opus 4.5 and later.
  {
    name: 'Opus 4.5 global.',
    model: `global.${O45}`,
    bill: { input: [1000, '5.00'], output: [1000, '25.00'], cacheRead: [1000, '0.50'] },
    priceId: 'anthropic.claude-opus-4-5/*/standard/2025-11-01',
  },
  {
    name: 'Opus 4.5 us. with a 1h write',
    model: `us.${O45}`,
    bill: {
      input: [1000, '5.50'],
      output: [1000, '27.50'],
      cacheWrite5m: [700, '6.875'],
      cacheWrite1h: [300, '11.00'],
    },
    priceId: 'anthropic.claude-opus-4-5/*/standard/2025-11-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.6 bare (-v1 suffix, no date)',
    model: 'anthropic.claude-opus-4-6-v1',
    bill: { input: [2500, '5.50'], output: [900, '27.50'] },
    priceId: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.7 global.',
    model: 'global.anthropic.claude-opus-4-7',
    bill: { input: [2500, '5.00'], output: [900, '25.00'] },
    priceId: 'anthropic.claude-opus-4-7/*/standard/2026-04-16',
  },
  {
    name: 'Opus 4.8 eu.',
    model: 'eu.anthropic.claude-opus-4-8',
    region: 'eu-central-1',
    bill: { input: [2500, '5.50'], output: [900, '27.50'], cacheRead: [100_000, '0.55'] },
    priceId: 'anthropic.claude-opus-4-8/*/standard/2026-05-28',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 5 global. during the promotion',
    model: 'global.anthropic.claude-sonnet-5',
    at: '2026-08-15T12:00:00Z',
    bill: { input: [1000, '2.00'], output: [1000, '10.00'] },
    priceId: 'anthropic.claude-sonnet-5/*/standard/2026-06-30',
  },
  {
    name: 'Sonnet 5 us. after the promotion',
    model: 'us.anthropic.claude-sonnet-5',
    at: '2026-09-01T00:00:00Z',
    bill: { input: [1000, '3.30'], output: [1000, '16.50'] },
    priceId: 'anthropic.claude-sonnet-5/*/standard/2026-09-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.6 before its first entry: earliest entry, flagged',
    model: 'global.anthropic.claude-opus-4-6-v1',
    at: '2026-01-15T00:00:00Z',
    bill: { input: [1000, '5.00'], output: [1000, '25.00'] },
    priceId: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
    flags: ['price_before_effective'],
  },
  {
    name: 'Opus 4.5 bare (in-Region)',
    model: O45,
    bill: { input: [1000, '5.50'], output: [1000, '27.50'], cacheRead: [1000, '0.55'] },
    priceId: 'anthropic.claude-opus-4-5/*/standard/2025-11-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.5 eu. inference-profile ARN from eu-central-1 (LiteLLM lacks the premium here; we do not)',
    model: `arn:aws:bedrock:eu-central-1:${ACCOUNT}:inference-profile/eu.${O45}`,
    region: 'eu-central-1',
    bill: { input: [3000, '5.50'], cacheWrite5m: [1000, '6.875'], output: [500, '27.50'] },
    priceId: 'anthropic.claude-opus-4-5/*/standard/2025-11-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.5 global. batch',
    model: `global.${O45}`,
    tier: 'batch',
    bill: { input: [10_000, '2.50'], output: [2000, '12.50'] },
    priceId: 'anthropic.claude-opus-4-5/*/batch/2025-11-01',
  },
  {
    name: 'Opus 4.5 bare batch (premium on the batch price)',
    model: O45,
    tier: 'batch',
    bill: { input: [10_000, '2.75'], output: [2000, '13.75'] },
    priceId: 'anthropic.claude-opus-4-5/*/batch/2025-11-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.5 us. flex: Claude has no flex tier, unpriced',
    model: `us.${O45}`,
    tier: 'flex',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'Opus 4.6 global. with a 1h + 5m split',
    model: 'global.anthropic.claude-opus-4-6-v1',
    bill: {
      input: [1000, '5.00'],
      cacheWrite5m: [2000, '6.25'],
      cacheWrite1h: [3000, '10.00'],
      output: [400, '25.00'],
    },
    priceId: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
  },
  {
    name: 'Opus 4.6 us. with a 1h + 5m split',
    model: 'us.anthropic.claude-opus-4-6-v1',
    bill: {
      input: [1000, '5.50'],
      cacheWrite5m: [2000, '6.875'],
      cacheWrite1h: [3000, '11.00'],
      output: [400, '27.50'],
    },
    priceId: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.6 global. at 300,001 input: flat price (no long-context tier for 4.6+)',
    model: 'global.anthropic.claude-opus-4-6-v1',
    bill: { input: [250_000, '5.00'], cacheRead: [50_001, '0.50'], output: [1000, '25.00'] },
    priceId: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
  },
  {
    name: 'Opus 4.6 us. batch',
    model: 'us.anthropic.claude-opus-4-6-v1',
    tier: 'batch',
    bill: { input: [10_000, '2.75'], output: [2000, '13.75'] },
    priceId: 'anthropic.claude-opus-4-6/*/batch/2026-02-05',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 4.7 jp. from ap-northeast-1',
    model: 'jp.anthropic.claude-opus-4-7',
    region: 'ap-northeast-1',
    bill: { input: [1000, '5.50'], output: [1000, '27.50'] },
    priceId: 'anthropic.claude-opus-4-7/*/standard/2026-04-16',
    flags: ['regional_premium'],
  },
  {
    name: 'Opus 5 global. with cache',
    model: 'global.anthropic.claude-opus-5',
    bill: {
      input: [1000, '5.00'],
      cacheRead: [10_000, '0.50'],
      cacheWrite1h: [1000, '10.00'],
      output: [1000, '25.00'],
    },
    priceId: 'anthropic.claude-opus-5/*/standard/2024-01-01',
  },
  {
    name: 'Opus 5 au. from ap-southeast-2',
    model: 'au.anthropic.claude-opus-5',
    region: 'ap-southeast-2',
    bill: { input: [1000, '5.50'], output: [1000, '27.50'] },
    priceId: 'anthropic.claude-opus-5/*/standard/2024-01-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Fable 5 global. with cache',
    model: 'global.anthropic.claude-fable-5',
    bill: {
      input: [1000, '10.00'],
      cacheRead: [5000, '1.00'],
      cacheWrite5m: [1000, '12.50'],
      cacheWrite1h: [1000, '20.00'],
      output: [1000, '50.00'],
    },
    priceId: 'anthropic.claude-fable-5/*/standard/2026-06-09',
  },
  {
    name: 'Fable 5 us. with cache (+10 %)',
    model: 'us.anthropic.claude-fable-5',
    bill: {
      input: [1000, '11.00'],
      cacheRead: [5000, '1.10'],
      cacheWrite5m: [1000, '13.75'],
      cacheWrite1h: [1000, '22.00'],
      output: [1000, '55.00'],
    },
    priceId: 'anthropic.claude-fable-5/*/standard/2026-06-09',
    flags: ['regional_premium'],
  },
  {
    name: 'Fable 5 bare batch',
    model: 'anthropic.claude-fable-5',
    tier: 'batch',
    bill: { input: [10_000, '5.50'], output: [2000, '27.50'] },
    priceId: 'anthropic.claude-fable-5/*/batch/2026-06-09',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 5 bare during the promotion',
    model: 'anthropic.claude-sonnet-5',
    at: '2026-07-15T00:00:00Z',
    bill: { input: [1000, '2.20'], output: [1000, '11.00'], cacheWrite1h: [500, '4.40'] },
    priceId: 'anthropic.claude-sonnet-5/*/standard/2026-06-30',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 5 global. on the last promotional millisecond',
    model: 'global.anthropic.claude-sonnet-5',
    at: '2026-08-31T23:59:59.999Z',
    bill: { input: [1000, '2.00'], output: [1000, '10.00'] },
    priceId: 'anthropic.claude-sonnet-5/*/standard/2026-06-30',
  },
  {
    name: 'Sonnet 5 global. batch during the promotion',
    model: 'global.anthropic.claude-sonnet-5',
    at: '2026-08-01T00:00:00Z',
    tier: 'batch',
    bill: { input: [10_000, '1.00'], output: [2000, '5.00'] },
    priceId: 'anthropic.claude-sonnet-5/*/batch/2026-06-30',
  },
  {
    name: 'Sonnet 5 us. batch after the promotion',
    model: 'us.anthropic.claude-sonnet-5',
    tier: 'batch',
    bill: { input: [10_000, '1.65'], output: [2000, '8.25'] },
    priceId: 'anthropic.claude-sonnet-5/*/batch/2026-09-01',
    flags: ['regional_premium'],
  },
  {
    name: 'Sonnet 5 global. before its launch: the promotional entry, flagged',
    model: 'global.anthropic.claude-sonnet-5',
    at: '2026-06-01T00:00:00Z',
    bill: { input: [1000, '2.00'], output: [1000, '10.00'] },
    priceId: 'anthropic.claude-sonnet-5/*/standard/2026-06-30',
    flags: ['price_before_effective'],
  },
  // Older Claude.
  {
    name: 'Claude 3 Haiku cache read: no published rate, charged at input and flagged',
    model: H3,
    bill: { input: [1000, '0.25'], cacheRead: [4000, '0.25'], output: [200, '1.25'] },
    priceId: 'anthropic.claude-3-haiku/*/standard/2024-03-07',
    flags: ['rate_missing'],
  },
  {
    name: 'Claude 3 Haiku without cache tokens is not flagged',
    model: H3,
    bill: { input: [1000, '0.25'], output: [200, '1.25'] },
    priceId: 'anthropic.claude-3-haiku/*/standard/2024-03-07',
  },
  {
    name: 'Claude 3 Haiku us-gov. inference-profile ARN (aws-us-gov partition)',
    model: `arn:aws-us-gov:bedrock:us-gov-west-1:${ACCOUNT}:inference-profile/us-gov.${H3}`,
    region: 'us-gov-west-1',
    bill: { input: [1000, '0.25'], output: [200, '1.25'] },
    priceId: 'anthropic.claude-3-haiku/*/standard/2024-03-07',
  },
  {
    name: 'Claude 3.5 Haiku eu. (LiteLLM has Claude 3 Haiku numbers here; we do not)',
    model: 'eu.anthropic.claude-3-5-haiku-20241022-v1:0',
    region: 'eu-west-1',
    bill: { input: [1000, '0.80'], output: [1000, '4.00'], cacheRead: [1000, '0.08'] },
    priceId: 'anthropic.claude-3-5-haiku/*/standard/2024-10-22',
  },
  {
    name: 'Sonnet 4 us. long context with a 1h + 5m split: no 1h rate, charged at the long-context 5m rate',
    model: `us.${S4}`,
    bill: {
      input: [150_000, '6.00'], // 3.00 × 2
      cacheWrite5m: [30_000, '7.50'], // 3.75 × 2
      cacheWrite1h: [20_001, '7.50'], // no 1h rate: the 5m write rate (never less), 3.75 × 2
      output: [1000, '22.50'], // 15.00 × 1.5
    },
    priceId: 'anthropic.claude-sonnet-4/*/standard/2025-05-14',
    flags: ['long_context', 'rate_missing'],
  },
  {
    name: 'Sonnet 4 batch: the AWS page lists N/A, unpriced',
    model: S4,
    tier: 'batch',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'Opus 4.1 us.: one price for every scope',
    model: 'us.anthropic.claude-opus-4-1-20250805-v1:0',
    bill: {
      input: [1000, '15.00'],
      cacheRead: [1000, '1.50'],
      cacheWrite5m: [1000, '18.75'],
      output: [1000, '75.00'],
    },
    priceId: 'anthropic.claude-opus-4-1/*/standard/2025-08-05',
  },
  {
    name: 'Opus 4 at 250,000 input: no long-context tier',
    model: 'us.anthropic.claude-opus-4-20250514-v1:0',
    bill: { input: [250_000, '15.00'], output: [1000, '75.00'] },
    priceId: 'anthropic.claude-opus-4/*/standard/2025-05-14',
  },
  {
    name: 'Claude 3.7 Sonnet us. with cache',
    model: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
    bill: {
      input: [1000, '3.00'],
      cacheRead: [2000, '0.30'],
      cacheWrite5m: [3000, '3.75'],
      output: [400, '15.00'],
    },
    priceId: 'anthropic.claude-3-7-sonnet/*/standard/2025-02-19',
  },
  {
    name: 'Claude 3.5 Sonnet v2 with cache',
    model: 'anthropic.claude-3-5-sonnet-20241022-v2:0',
    bill: {
      input: [1000, '3.00'],
      cacheRead: [2000, '0.30'],
      cacheWrite5m: [3000, '3.75'],
      output: [400, '15.00'],
    },
    priceId: 'anthropic.claude-3-5-sonnet-v2/*/standard/2024-10-22',
  },
  {
    name: 'Claude 3.5 Sonnet v1 cache write: no published rate, charged at input and flagged',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    bill: { input: [1000, '3.00'], cacheWrite5m: [2000, '3.00'], output: [100, '15.00'] },
    priceId: 'anthropic.claude-3-5-sonnet-v1/*/standard/2024-06-20',
    flags: ['rate_missing'],
  },
  {
    name: 'Claude 3.5 Sonnet v1 batch',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '1.50'], output: [2000, '7.50'] },
    priceId: 'anthropic.claude-3-5-sonnet-v1/*/batch/2024-06-20',
  },
  {
    name: 'Claude 3.5 Sonnet v2 us. batch',
    model: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
    tier: 'batch',
    bill: { input: [10_000, '1.50'], output: [2000, '7.50'] },
    priceId: 'anthropic.claude-3-5-sonnet-v2/*/batch/2024-10-22',
  },
  {
    name: 'Claude 3.5 Haiku us. with a cache write',
    model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    bill: {
      input: [1000, '0.80'],
      cacheRead: [1000, '0.08'],
      cacheWrite5m: [1000, '1.00'],
      output: [1000, '4.00'],
    },
    priceId: 'anthropic.claude-3-5-haiku/*/standard/2024-10-22',
  },
  {
    name: 'Claude 3.5 Haiku batch: the AWS page lists N/A, unpriced',
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    tier: 'batch',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  // Amazon Nova.
  {
    name: 'Nova Micro: cache read $0.00875/1M, cache write free',
    model: 'amazon.nova-micro-v1:0',
    bill: {
      input: [1000, '0.035'],
      cacheRead: [123_457, '0.00875'],
      cacheWrite5m: [5000, '0'],
      output: [300, '0.14'],
    },
    priceId: 'amazon.nova-micro/*/standard/2024-12-03',
  },
  {
    name: 'Nova Micro us. profile: in-Region price, no premium',
    model: 'us.amazon.nova-micro-v1:0',
    bill: { input: [1, '0.035'], cacheRead: [1, '0.00875'] },
    priceId: 'amazon.nova-micro/*/standard/2024-12-03',
  },
  {
    name: 'Nova Premier us. profile',
    model: 'us.amazon.nova-premier-v1:0',
    bill: { input: [1000, '2.50'], output: [1000, '12.50'], cacheRead: [1000, '0.625'] },
    priceId: 'amazon.nova-premier/*/standard/2025-04-30',
  },
  {
    name: 'Nova Pro flex tier',
    model: 'amazon.nova-pro-v1:0',
    tier: 'flex',
    bill: { input: [1000, '0.40'], output: [1000, '1.60'] },
    priceId: 'amazon.nova-pro/*/flex/2025-11-18',
  },
  {
    name: 'Nova Pro priority tier',
    model: 'amazon.nova-pro-v1:0',
    tier: 'priority',
    bill: { input: [1000, '1.40'], output: [1000, '5.60'] },
    priceId: 'amazon.nova-pro/*/priority/2025-11-18',
  },
  {
    name: 'Nova Pro batch tier',
    model: 'amazon.nova-pro-v1:0',
    tier: 'batch',
    bill: { input: [1000, '0.40'], output: [1000, '1.60'] },
    priceId: 'amazon.nova-pro/*/batch/2024-12-03',
  },
  {
    name: 'Nova Pro latency-optimized tier',
    model: 'amazon.nova-pro-v1:0',
    tier: 'latency-optimized',
    bill: { input: [1000, '1.00'], output: [1000, '4.00'] },
    priceId: 'amazon.nova-pro/*/latency-optimized/2024-12-03',
  },
  {
    name: 'Nova 2 Lite global.',
    model: 'global.amazon.nova-2-lite-v1:0',
    bill: { input: [1000, '0.30'], output: [1000, '2.50'], cacheRead: [1000, '0.075'] },
    priceId: 'amazon.nova-2-lite/*/standard/2025-12-02',
  },
  {
    name: 'Nova 2 Lite us. (premium: 0.33 / 2.75)',
    model: 'us.amazon.nova-2-lite-v1:0',
    bill: { input: [1000, '0.33'], output: [1000, '2.75'], cacheRead: [1000, '0.0825'] },
    priceId: 'amazon.nova-2-lite/*/standard/2025-12-02',
    flags: ['regional_premium'],
  },
  {
    name: 'Nova 2 Lite jp. from ap-northeast-1',
    model: 'jp.amazon.nova-2-lite-v1:0',
    region: 'ap-northeast-1',
    bill: { input: [1000, '0.33'], output: [1000, '2.75'] },
    priceId: 'amazon.nova-2-lite/*/standard/2025-12-02',
    flags: ['regional_premium'],
  },
  {
    name: 'Nova 2 Lite batch: none published, unpriced',
    model: 'global.amazon.nova-2-lite-v1:0',
    tier: 'batch',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'Nova Micro batch',
    model: 'amazon.nova-micro-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.0175'], output: [2000, '0.07'] },
    priceId: 'amazon.nova-micro/*/batch/2024-12-03',
  },
  {
    name: 'Nova Lite batch',
    model: 'amazon.nova-lite-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.03'], output: [2000, '0.12'] },
    priceId: 'amazon.nova-lite/*/batch/2024-12-03',
  },
  {
    name: 'Nova Lite with cache read and free 5m and 1h writes',
    model: 'us.amazon.nova-lite-v1:0',
    bill: {
      input: [1000, '0.06'],
      cacheRead: [8000, '0.015'],
      cacheWrite5m: [3000, '0'],
      cacheWrite1h: [2000, '0'],
      output: [500, '0.24'],
    },
    priceId: 'amazon.nova-lite/*/standard/2024-12-03',
  },
  {
    name: 'Nova Pro eu. with cache, from eu-west-1',
    model: 'eu.amazon.nova-pro-v1:0',
    region: 'eu-west-1',
    bill: {
      input: [1000, '0.80'],
      cacheRead: [4000, '0.20'],
      cacheWrite5m: [1000, '0'],
      output: [1000, '3.20'],
    },
    priceId: 'amazon.nova-pro/*/standard/2024-12-03',
  },
  {
    name: 'Nova Pro flex before the tier launch: earliest flex entry, flagged',
    model: 'amazon.nova-pro-v1:0',
    at: '2025-11-17T23:59:59.999Z',
    tier: 'flex',
    bill: { input: [1000, '0.40'], output: [1000, '1.60'] },
    priceId: 'amazon.nova-pro/*/flex/2025-11-18',
    flags: ['price_before_effective'],
  },
  {
    name: 'Nova Premier us. batch',
    model: 'us.amazon.nova-premier-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '1.25'], output: [2000, '6.25'] },
    priceId: 'amazon.nova-premier/*/batch/2025-04-30',
  },
  {
    name: 'Nova Premier us. flex',
    model: 'us.amazon.nova-premier-v1:0',
    tier: 'flex',
    bill: { input: [10_000, '1.25'], output: [2000, '6.25'] },
    priceId: 'amazon.nova-premier/*/flex/2025-11-18',
  },
  {
    name: 'Nova Premier us. priority (+75 %: 4.375 / 21.875)',
    model: 'us.amazon.nova-premier-v1:0',
    tier: 'priority',
    bill: { input: [10_000, '4.375'], output: [2000, '21.875'] },
    priceId: 'amazon.nova-premier/*/priority/2025-11-18',
  },
  {
    name: 'Nova Premier before its launch: earliest entry, flagged',
    model: 'us.amazon.nova-premier-v1:0',
    at: '2025-04-01T00:00:00Z',
    bill: { input: [1000, '2.50'], output: [1000, '12.50'] },
    priceId: 'amazon.nova-premier/*/standard/2025-04-30',
    flags: ['price_before_effective'],
  },
  {
    name: "Titan Text Express (AWS 0.20 / 0.60, not LiteLLM's 1.30 / 1.70)",
    model: 'amazon.titan-text-express-v1',
    bill: { input: [1000, '0.20'], output: [1000, '0.60'] },
    priceId: 'amazon.titan-text-express/*/standard/2024-01-01',
  },
  {
    name: 'Titan Text Lite',
    model: 'amazon.titan-text-lite-v1',
    bill: { input: [1000, '0.15'], output: [1000, '0.20'] },
    priceId: 'amazon.titan-text-lite/*/standard/2024-01-01',
  },
  // Batch Claude.
  {
    name: 'Sonnet 4.5 global. batch',
    model: `global.${S45}`,
    tier: 'batch',
    bill: { input: [10_000, '1.50'], output: [2000, '7.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/batch/2025-09-29',
  },
  {
    name: 'Sonnet 4.5 us. batch (premium on the batch price)',
    model: `us.${S45}`,
    tier: 'batch',
    bill: { input: [10_000, '1.65'], output: [2000, '8.25'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/batch/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'Claude 3 Haiku batch',
    model: H3,
    tier: 'batch',
    bill: { input: [10_000, '0.125'], output: [2000, '0.625'] },
    priceId: 'anthropic.claude-3-haiku/*/batch/2024-03-07',
  },
  // Other vendors and tiers.
  {
    name: 'DeepSeek V3.2 (dotted id) flex',
    model: 'deepseek.v3.2',
    tier: 'flex',
    bill: { input: [1000, '0.31'], output: [1000, '0.925'] },
    priceId: 'deepseek.v3-2/*/flex/2025-11-18',
  },
  {
    name: 'DeepSeek V3.2 us. priority',
    model: 'us.deepseek.v3.2',
    tier: 'priority',
    bill: { input: [1000, '1.085'], output: [1000, '3.2375'] },
    priceId: 'deepseek.v3-2/*/priority/2025-11-18',
  },
  {
    name: 'gpt-oss-20b priority',
    model: 'openai.gpt-oss-20b-1:0',
    tier: 'priority',
    bill: { input: [4321, '0.1225'], output: [1234, '0.525'] },
    priceId: 'openai.gpt-oss-20b/*/priority/2025-11-18',
  },
  {
    name: 'Llama 3.1 70B latency-optimized',
    model: 'us.meta.llama3-1-70b-instruct-v1:0',
    tier: 'latency-optimized',
    bill: { input: [1000, '0.90'], output: [1000, '0.90'] },
    priceId: 'meta.llama3-1-70b/*/latency-optimized/2024-12-02',
  },
  {
    name: 'Llama 3.1 405B latency-optimized',
    model: 'us.meta.llama3-1-405b-instruct-v1:0',
    tier: 'latency-optimized',
    bill: { input: [1000, '3.00'], output: [1000, '3.00'] },
    priceId: 'meta.llama3-1-405b/*/latency-optimized/2024-12-02',
  },
  {
    name: "Llama 3.1 70B standard (AWS 0.72, not LiteLLM's 0.99)",
    model: 'meta.llama3-1-70b-instruct-v1:0',
    bill: { input: [1000, '0.72'], output: [1000, '0.72'] },
    priceId: 'meta.llama3-1-70b/*/standard/2024-07-23',
  },
  {
    name: 'Llama 3.1 8B batch',
    model: 'meta.llama3-1-8b-instruct-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.11'], output: [2000, '0.11'] },
    priceId: 'meta.llama3-1-8b/*/batch/2024-07-23',
  },
  {
    name: 'Llama 3.3 70B us. batch',
    model: 'us.meta.llama3-3-70b-instruct-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.36'], output: [2000, '0.36'] },
    priceId: 'meta.llama3-3-70b/*/batch/2024-12-06',
  },
  {
    name: 'Llama 4 Maverick us.',
    model: 'us.meta.llama4-maverick-17b-instruct-v1:0',
    bill: { input: [1000, '0.24'], output: [1000, '0.97'] },
    priceId: 'meta.llama4-maverick-17b/*/standard/2025-04-05',
  },
  {
    name: 'Llama 4 Maverick batch',
    model: 'meta.llama4-maverick-17b-instruct-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.12'], output: [2000, '0.485'] },
    priceId: 'meta.llama4-maverick-17b/*/batch/2025-04-05',
  },
  {
    name: 'Llama 4 Scout us. batch',
    model: 'us.meta.llama4-scout-17b-instruct-v1:0',
    tier: 'batch',
    bill: { input: [10_000, '0.085'], output: [2000, '0.33'] },
    priceId: 'meta.llama4-scout-17b/*/batch/2025-04-05',
  },
  {
    name: 'Llama 3.2 90B us.',
    model: 'us.meta.llama3-2-90b-instruct-v1:0',
    bill: { input: [1000, '0.72'], output: [1000, '0.72'] },
    priceId: 'meta.llama3-2-90b/*/standard/2024-09-25',
  },
  {
    name: 'Llama 3.2 1B batch: the AWS page lists N/A, unpriced',
    model: 'us.meta.llama3-2-1b-instruct-v1:0',
    tier: 'batch',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'Llama 3 70B',
    model: 'meta.llama3-70b-instruct-v1:0',
    bill: { input: [1000, '2.65'], output: [1000, '3.50'] },
    priceId: 'meta.llama3-70b/*/standard/2024-04-18',
  },
  {
    name: "Mistral Large 2402 (AWS 4 / 12, not LiteLLM's 8 / 24)",
    model: 'mistral.mistral-large-2402-v1:0',
    bill: { input: [1000, '4.00'], output: [1000, '12.00'] },
    priceId: 'mistral.mistral-large-2402/*/standard/2024-01-01',
  },
  {
    name: 'Mixtral 8x7B',
    model: 'mistral.mixtral-8x7b-instruct-v0:1',
    bill: { input: [1000, '0.45'], output: [1000, '0.70'] },
    priceId: 'mistral.mixtral-8x7b/*/standard/2024-01-01',
  },
  {
    name: 'Pixtral Large 2502 us.',
    model: 'us.mistral.pixtral-large-2502-v1:0',
    bill: { input: [1000, '2.00'], output: [1000, '6.00'] },
    priceId: 'mistral.pixtral-large-2502/*/standard/2025-02-01',
  },
  {
    name: 'Mistral Large 3',
    model: 'mistral.mistral-large-3-675b-instruct',
    bill: { input: [1000, '0.50'], output: [1000, '1.50'] },
    priceId: 'mistral.mistral-large-3-675b/*/standard/2024-01-01',
  },
  {
    name: 'DeepSeek R1 us. profile',
    model: 'us.deepseek.r1-v1:0',
    bill: { input: [1000, '1.35'], output: [1000, '5.40'] },
    priceId: 'deepseek.r1/*/standard/2025-03-10',
  },
  {
    name: 'DeepSeek V3.1 flex',
    model: 'deepseek.v3-v1:0',
    tier: 'flex',
    bill: { input: [1000, '0.29'], output: [1000, '0.84'] },
    priceId: 'deepseek.v3/*/flex/2025-11-18',
  },
  {
    name: 'DeepSeek V3.1 priority',
    model: 'deepseek.v3-v1:0',
    tier: 'priority',
    bill: { input: [1000, '1.015'], output: [1000, '2.94'] },
    priceId: 'deepseek.v3/*/priority/2025-11-18',
  },
  {
    name: 'DeepSeek V3.2 standard',
    model: 'deepseek.v3.2',
    bill: { input: [1000, '0.62'], output: [1000, '1.85'] },
    priceId: 'deepseek.v3-2/*/standard/2024-01-01',
  },
  {
    name: 'gpt-oss-120b flex',
    model: 'openai.gpt-oss-120b-1:0',
    tier: 'flex',
    bill: { input: [4321, '0.075'], output: [1234, '0.30'] },
    priceId: 'openai.gpt-oss-120b/*/flex/2025-11-18',
  },
  {
    name: 'gpt-oss-20b flex',
    model: 'openai.gpt-oss-20b-1:0',
    tier: 'flex',
    bill: { input: [4321, '0.035'], output: [1234, '0.15'] },
    priceId: 'openai.gpt-oss-20b/*/flex/2025-11-18',
  },
  {
    name: 'gpt-oss-120b priority',
    model: 'openai.gpt-oss-120b-1:0',
    tier: 'priority',
    bill: { input: [1000, '0.2625'], output: [1000, '1.05'] },
    priceId: 'openai.gpt-oss-120b/*/priority/2025-11-18',
  },
  {
    name: 'gpt-oss-20b batch: not encoded, unpriced',
    model: 'openai.gpt-oss-20b-1:0',
    tier: 'batch',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'Qwen3 32B priority',
    model: 'qwen.qwen3-32b-v1:0',
    tier: 'priority',
    bill: { input: [1000, '0.2625'], output: [1000, '1.05'] },
    priceId: 'qwen.qwen3-32b/*/priority/2025-11-18',
  },
  {
    name: 'Qwen3 Coder 30B flex',
    model: 'qwen.qwen3-coder-30b-a3b-v1:0',
    tier: 'flex',
    bill: { input: [1000, '0.075'], output: [1000, '0.30'] },
    priceId: 'qwen.qwen3-coder-30b-a3b/*/flex/2025-11-18',
  },
  {
    name: "Qwen3 Coder 480B standard (genai-prices 0.45, not LiteLLM's 0.22)",
    model: 'qwen.qwen3-coder-480b-a35b-v1:0',
    bill: { input: [1000, '0.45'], output: [1000, '1.80'] },
    priceId: 'qwen.qwen3-coder-480b-a35b/*/standard/2025-09-18',
  },
  {
    name: 'Qwen3 Coder 480B priority',
    model: 'qwen.qwen3-coder-480b-a35b-v1:0',
    tier: 'priority',
    bill: { input: [1000, '0.7875'], output: [1000, '3.15'] },
    priceId: 'qwen.qwen3-coder-480b-a35b/*/priority/2025-11-18',
  },
  {
    name: 'Cohere Command R+',
    model: 'cohere.command-r-plus-v1:0',
    bill: { input: [1000, '3.00'], output: [1000, '15.00'] },
    priceId: 'cohere.command-r-plus/*/standard/2024-04-30',
  },
  {
    name: 'Cohere Command R',
    model: 'cohere.command-r-v1:0',
    bill: { input: [1000, '0.50'], output: [1000, '1.50'] },
    priceId: 'cohere.command-r/*/standard/2024-04-30',
  },
  // Embeddings.
  {
    name: 'Titan Text Embeddings V2',
    model: 'amazon.titan-embed-text-v2:0',
    bill: { input: [5000, '0.02'] },
    priceId: 'amazon.titan-embed-text-v2/*/standard/2024-04-30',
  },
  {
    name: 'Cohere Embed v4 foundation-model ARN',
    model: 'arn:aws:bedrock:us-east-1::foundation-model/cohere.embed-v4:0',
    bill: { input: [1234, '0.12'] },
    priceId: 'cohere.embed-v4/*/standard/2024-01-01',
  },
  {
    name: 'Titan Embeddings G1 (v1)',
    model: 'amazon.titan-embed-text-v1',
    bill: { input: [5000, '0.10'] },
    priceId: 'amazon.titan-embed-text-v1/*/standard/2024-01-01',
  },
  {
    name: 'Cohere Embed English v3',
    model: 'cohere.embed-english-v3',
    bill: { input: [1234, '0.10'] },
    priceId: 'cohere.embed-english-v3/*/standard/2024-01-01',
  },
  {
    name: 'Cohere Embed Multilingual v3',
    model: 'cohere.embed-multilingual-v3',
    bill: { input: [1234, '0.10'] },
    priceId: 'cohere.embed-multilingual-v3/*/standard/2024-01-01',
  },
  // Application inference profiles.
  {
    name: 'application profile copied from global. Sonnet 4.6: global price',
    model: AIP_FROM_GLOBAL,
    bill: { input: [1000, '3.00'], output: [1000, '15.00'] },
    priceId: 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17',
  },
  {
    name: 'application profile copied from us. Sonnet 4.5: regional price',
    model: AIP_FROM_US,
    bill: { input: [1000, '3.30'], output: [1000, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'application profile of a bare Nova Pro',
    model: AIP_FROM_BARE,
    region: 'eu-west-1',
    bill: { input: [1000, '0.80'], output: [1000, '3.20'] },
    priceId: 'amazon.nova-pro/*/standard/2024-12-03',
  },
  // Unknowns.
  {
    name: 'tier unknown: priced as standard and flagged',
    model: `us.${S45}`,
    tier: null,
    bill: { input: [1000, '3.30'], output: [500, '16.50'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['tier_unknown', 'regional_premium'],
  },
  {
    name: 'cache TTL unknown: writes priced as 5m and flagged',
    model: `global.${S45}`,
    cacheTtlKnown: false,
    bill: { input: [100, '3.00'], cacheWrite5m: [10_000, '3.75'] },
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['cache_ttl_unknown'],
  },
  {
    name: 'zero tokens cost zero',
    model: `us.${S45}`,
    bill: {},
    priceId: 'anthropic.claude-sonnet-4-5/*/standard/2025-09-29',
    flags: ['regional_premium'],
  },
  {
    name: 'unknown model: unpriced, no cost',
    model: 'anthropic.claude-3-opus-20240229-v1:0',
    tokens: { input: 1000, output: 100 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'unknown model and unknown tier',
    model: 'us.anthropic.claude-3-opus-20240229-v1:0',
    tier: null,
    tokens: { input: 1000 },
    priceId: null,
    flags: ['tier_unknown', 'unpriced'],
  },
  {
    name: 'a tier the model does not offer: unpriced',
    model: 'global.anthropic.claude-sonnet-4-6',
    tier: 'flex',
    tokens: { input: 1000 },
    priceId: null,
    flags: ['unpriced'],
  },
  {
    name: 'unconfigured application profile: unresolved and unpriced',
    model: AIP_UNKNOWN,
    tokens: { input: 1000, output: 100 },
    priceId: null,
    flags: ['profile_unresolved', 'unpriced'],
  },
  {
    name: 'provisioned-model ARN: unresolved and unpriced',
    model: `arn:aws:bedrock:us-east-1:${ACCOUNT}:provisioned-model/abcdef123456`,
    tokens: { input: 1000, output: 100 },
    priceId: null,
    flags: ['profile_unresolved', 'unpriced'],
  },
];

const TOKEN_CLASSES: readonly TokenClass[] = [
  'input',
  'cacheRead',
  'cacheWrite5m',
  'cacheWrite1h',
  'output',
];

/** USD decimal string → pico-USD, written out here so the expectation does not depend on the code under test. */
function picosFromDecimal(usd: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,12}))?$/.exec(usd);
  assert.ok(m !== null, `not a rate: ${usd}`);
  return BigInt(m[1] ?? '0') * 10n ** 12n + BigInt((m[2] ?? '').padEnd(12, '0'));
}

/** Σ tokens × USD per 1M, in pico-USD; exact (the remainder must be 0). */
function expectedPicos(bill: Bill): bigint {
  let perMillion = 0n;
  for (const [tokens, usd] of Object.values(bill))
    perMillion += BigInt(tokens) * picosFromDecimal(usd);
  assert.equal(perMillion % 1_000_000n, 0n, 'hand arithmetic is not a whole pico');
  return perMillion / 1_000_000n;
}

function tokensOf(c: Case): Tokens {
  const t: Record<TokenClass, number> = {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite5m: 0,
    cacheWrite1h: 0,
  };
  for (const k of TOKEN_CLASSES) t[k] = c.bill?.[k]?.[0] ?? c.tokens?.[k] ?? 0;
  return t;
}

function rawUsage(c: Case): RawUsage {
  return {
    requestId: `req-${c.name}`,
    occurredAt: Date.parse(c.at ?? '2026-10-15T12:00:00Z'),
    accountId: ACCOUNT,
    region: c.region ?? 'us-east-1',
    inferenceRegion: c.inferenceRegion ?? null,
    operation: 'Converse',
    modelId: c.model,
    identityArn: null,
    requestMetadata: {},
    tokens: tokensOf(c),
    cacheTtlKnown: c.cacheTtlKnown ?? true,
    tier: c.tier === undefined ? 'standard' : c.tier,
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'price-record.test.ts', line: 1 },
  };
}

describe('priceRecord (normalise → price, shipped catalog)', () => {
  test('the table has at least 60 cases', () => assert.ok(CASES.length >= 60, `${CASES.length}`));

  for (const c of CASES) {
    test(c.name, () => {
      const record = normaliser.normalise(rawUsage(c));
      const priced = priceRecord(record, catalog);
      assert.equal(priced.cost.priceId, c.priceId, 'priceId');
      assert.deepEqual(priced.flags, c.flags ?? [], 'flags');
      assert.equal(priced.cost.catalogHash, catalog.hash);
      assert.equal(priced.cost.picos, c.bill === undefined ? null : expectedPicos(c.bill), 'cost');
      assert.equal(priced.requestId, record.requestId);
      assert.deepEqual(priced.tokens, record.tokens);
      // The rate card alone (what the gateway prices its worst case with) gives the same cost.
      const card = rateCard(
        record.model,
        record.region,
        record.tier,
        record.occurredAt,
        catalog,
        record.accountId,
      );
      assert.equal(cardCost(card, record.tokens), priced.cost.picos, 'rate card cost');

      // The explanation adds up to the same cost, line by line.
      const q = quote(record, catalog);
      const lines = quoteLines(record, q);
      if (c.bill === undefined) {
        assert.deepEqual(lines, []);
      } else {
        assert.equal(
          lines.reduce((sum, l) => sum + l.picos, 0n),
          priced.cost.picos,
        );
        for (const l of lines) {
          const hand: Bill[TokenClass] = c.bill[l.tokenClass];
          if (hand !== undefined) {
            assert.equal(
              l.picos * 1_000_000n,
              BigInt(hand[0]) * picosFromDecimal(hand[1]),
              l.tokenClass,
            );
          }
        }
      }
    });
  }
});

describe('pricing is pure', () => {
  test('the same record and catalog always give the same cost', () => {
    const c = CASES[12];
    assert.ok(c !== undefined);
    const a = priceRecord(normaliser.normalise(rawUsage(c)), catalog);
    const b = priceRecord(normaliser.normalise(rawUsage(c)), catalog);
    assert.deepEqual(a.cost, b.cost);
  });

  test('quoteLines marks the line whose rate is missing', () => {
    const c = CASES.find((x) => x.flags?.includes('rate_missing'));
    assert.ok(c !== undefined);
    const record = normaliser.normalise(rawUsage(c));
    const missing = quoteLines(record, quote(record, catalog))
      .filter((l) => l.rateMissing)
      .map((l) => l.tokenClass);
    assert.deepEqual(missing, ['cacheRead']);
  });
});
