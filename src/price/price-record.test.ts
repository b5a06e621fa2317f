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
import { priceRecord, quote, quoteLines, type TokenClass } from './price-record.ts';

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
  test('the table has at least 40 cases', () => assert.ok(CASES.length >= 40, `${CASES.length}`));

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
