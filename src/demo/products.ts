/**
 * How the bill names each demo model (bedrock.md §2.3–2.5): who sells it (AWS under `AmazonBedrock`, AWS under
 * `AmazonBedrockService` for new-style Claude, or an AWS Marketplace listing with an opaque product code), the
 * usage-type spelling (grammar A `USE1-NovaPro-input-tokens-priority` or grammar C
 * `USE1-MP:USE1_InputTokenCount_Global-Units`) and the `product` map values. Every billing name here is a key of
 * the price module's BILLING_MODEL_MAP, so `prices import` and a bill reader map it back to the same model id.
 */
import { createHash } from 'node:crypto';
import type { Scope, Tier } from '../core/index.ts';
import type { TokenClass } from '../price/index.ts';
import type { ModelKey } from './organisation.ts';

export type Seller =
  /** Sold by AWS; the usage type's model token is `name` (grammar A). */
  | { readonly kind: 'aws'; readonly productCode: 'AmazonBedrock' | 'AmazonBedrockService' }
  /** An AWS Marketplace listing "<name> (Amazon Bedrock Edition)" (grammar C). */
  | { readonly kind: 'marketplace'; readonly legalEntity: string };

export interface BillingSpec {
  /** The billing name: the usage-type token (grammar A) or the Marketplace service name without the suffix. */
  readonly name: string;
  readonly provider: string;
  /** `product['model']`, as Cost Explorer shows it. */
  readonly model: string;
  readonly seller: Seller;
}

const AWS_NATIVE: Seller = { kind: 'aws', productCode: 'AmazonBedrock' };
/** New-style Claude: hyphenated usage types sold by AWS as "Amazon Bedrock Service" (bedrock.md §2.4, [C]). */
const AWS_SERVICE: Seller = { kind: 'aws', productCode: 'AmazonBedrockService' };
const marketplace = (legalEntity: string): Seller => ({ kind: 'marketplace', legalEntity });

export const BILLING: Readonly<Record<ModelKey, BillingSpec>> = {
  'sonnet-4.5': {
    name: 'Claude4.5Sonnet',
    provider: 'Anthropic',
    model: 'Claude Sonnet 4.5',
    seller: AWS_SERVICE,
  },
  'sonnet-4.6': {
    name: 'Claude4.6Sonnet',
    provider: 'Anthropic',
    model: 'Claude Sonnet 4.6',
    seller: AWS_SERVICE,
  },
  'haiku-4.5': {
    name: 'Claude4.5Haiku',
    provider: 'Anthropic',
    model: 'Claude Haiku 4.5',
    seller: AWS_SERVICE,
  },
  'opus-4.6': {
    name: 'Claude4.6Opus',
    provider: 'Anthropic',
    model: 'Claude Opus 4.6',
    seller: AWS_SERVICE,
  },
  'opus-4.7': {
    name: 'Claude4.7Opus',
    provider: 'Anthropic',
    model: 'Claude Opus 4.7',
    seller: AWS_SERVICE,
  },
  'sonnet-4': {
    name: 'Claude Sonnet 4',
    provider: 'Anthropic',
    model: 'Claude Sonnet 4',
    seller: marketplace('Anthropic, PBC'),
  },
  'haiku-3.5': {
    name: 'Claude 3.5 Haiku',
    provider: 'Anthropic',
    model: 'Claude 3.5 Haiku',
    seller: marketplace('Anthropic, PBC'),
  },
  'nova-micro': { name: 'NovaMicro', provider: 'Amazon', model: 'Nova Micro', seller: AWS_NATIVE },
  'nova-lite': { name: 'NovaLite', provider: 'Amazon', model: 'Nova Lite', seller: AWS_NATIVE },
  'nova-pro': { name: 'NovaPro', provider: 'Amazon', model: 'Nova Pro', seller: AWS_NATIVE },
  'llama-3.3-70b': {
    name: 'Llama3-3-70B',
    provider: 'Meta',
    model: 'Llama 3.3 70B Instruct',
    seller: AWS_NATIVE,
  },
  'mistral-large': {
    name: 'MistralLarge',
    provider: 'Mistral AI',
    model: 'Mistral Large (24.02)',
    seller: AWS_NATIVE,
  },
  'gpt-oss-120b': {
    name: 'gpt-oss-120b',
    provider: 'OpenAI',
    model: 'gpt-oss-120b',
    seller: AWS_NATIVE,
  },
  'deepseek-r1': {
    name: 'DeepSeek-R1',
    provider: 'DeepSeek',
    model: 'DeepSeek-R1',
    seller: AWS_NATIVE,
  },
  'titan-embed-v2': {
    name: 'TitanEmbeddingV2-Text',
    provider: 'Amazon',
    model: 'Titan Text Embeddings V2',
    seller: AWS_NATIVE,
  },
  'cohere-embed': {
    name: 'Cohere Embed 3 Model - English',
    provider: 'Cohere',
    model: 'Embed English',
    seller: marketplace('Cohere Inc.'),
  },
  'palmyra-x5': {
    name: 'Palmyra X5',
    provider: 'Writer',
    model: 'Palmyra X5',
    seller: marketplace('Writer, Inc.'),
  },
};

/** Billing-Region codes of the demo's Regions (the usage-type prefix). */
export const REGION_CODES: Readonly<Record<string, { code: string; name: string }>> = {
  'us-east-1': { code: 'USE1', name: 'US East (N. Virginia)' },
  'us-west-2': { code: 'USW2', name: 'US West (Oregon)' },
  'eu-west-1': { code: 'EUW1', name: 'EU (Ireland)' },
  'eu-central-1': { code: 'EUC1', name: 'EU (Frankfurt)' },
  'ap-northeast-1': { code: 'APN1', name: 'Asia Pacific (Tokyo)' },
};

export function regionCode(region: string): { code: string; name: string } {
  const found = REGION_CODES[region];
  if (found === undefined) throw new RangeError(`no billing-Region code for ${region}`);
  return found;
}

/** Marketplace listings have opaque product codes; these are made up, stable per listing. */
export function marketplaceProductCode(servicename: string): string {
  const digest = createHash('sha256').update(servicename).digest();
  let code = '';
  for (let i = 0; i < 25; i++) code += ((digest[i] ?? 0) % 36).toString(36);
  return code;
}

export const marketplaceServicename = (spec: BillingSpec): string =>
  `${spec.name} (Amazon Bedrock Edition)`;

/** Meter words per token class: grammar A (hyphenated) and grammar C (CamelCase). */
const METER_A: Readonly<Record<TokenClass, string>> = {
  input: 'input-tokens',
  output: 'output-tokens',
  cacheRead: 'cache-read-input-token-count',
  cacheWrite5m: 'cache-write-input-token-count',
  cacheWrite1h: 'cache-write-1h-input-token-count',
};
const METER_C: Readonly<Record<TokenClass, string>> = {
  input: 'InputTokenCount',
  output: 'OutputTokenCount',
  cacheRead: 'CacheReadInputTokenCount',
  cacheWrite5m: 'CacheWriteInputTokenCount',
  cacheWrite1h: 'CacheWrite1hInputTokenCount',
};
/** `product['inference_type']`. */
export const INFERENCE_TYPE: Readonly<Record<TokenClass, string>> = {
  input: 'Input tokens',
  output: 'Output tokens',
  cacheRead: 'Cache read input tokens',
  cacheWrite5m: 'Cache write input tokens',
  cacheWrite1h: 'Cache write 1h input tokens',
};

export interface UsageTypeParts {
  readonly region: string;
  readonly tokenClass: TokenClass;
  readonly scope: Scope;
  readonly tier: Tier;
  readonly longContext: boolean;
}

/**
 * The usage type of one token class. Grammar A: `USE1-Claude4.5Sonnet-cache-write-1h-input-token-count-cross-region-
 * global`, suffixes scope, then tier, then long context. Grammar C: `USE1-MP:USE1_InputTokenCount_Global_Batch-Units`.
 */
export function usageType(spec: BillingSpec, m: UsageTypeParts): string {
  const { code } = regionCode(m.region);
  if (spec.seller.kind === 'aws') {
    const scope = m.scope === 'in-region' ? '' : `-cross-region-${m.scope}`;
    const tier = m.tier === 'standard' ? '' : `-${m.tier}`;
    const lc = m.longContext ? '-long-context' : '';
    return `${code}-${spec.name}-${METER_A[m.tokenClass]}${scope}${tier}${lc}`;
  }
  const scope = m.scope === 'global' ? '_Global' : m.scope === 'geo' ? '_Geo' : '';
  const tier = m.tier === 'standard' ? '' : `_${m.tier[0]?.toUpperCase()}${m.tier.slice(1)}`;
  const lc = m.longContext ? '_LCtx' : '';
  return `${code}-MP:${code}_${METER_C[m.tokenClass]}${scope}${tier}${lc}-Units`;
}

/** `product['feature']`: observed only as "On-demand Inference"; the others are our reading ([I]). */
export function featureOf(tier: Tier): string {
  switch (tier) {
    case 'batch':
      return 'Batch Inference';
    case 'priority':
      return 'Priority Inference';
    case 'flex':
      return 'Flex Inference';
    case 'latency-optimized':
      return 'Latency Optimized Inference';
    default:
      return 'On-demand Inference';
  }
}
