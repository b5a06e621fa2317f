import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertGolden } from '../../test/support/golden.ts';
import { AppError } from '../core/index.ts';
import { buildCatalog, defaultCatalogDir, loadCatalogDir } from './catalog.ts';
import { PriceEntry } from './catalog-schema.ts';
import {
  BILLING_MODEL_MAP,
  formatProposals,
  type ImportResult,
  type PriceListRow,
  parsePriceList,
  proposeEntries,
  type SkippedRow,
} from './price-list.ts';

const DIR = join(import.meta.dirname, 'testdata', 'price-list');
const OFFER = 'amazonbedrock-offer.json';
const SERVICE = 'bedrockservice-getproducts.json';
const FM = 'foundationmodels-getproducts.json';
const TODAY = '2026-11-23';
const CATALOG = loadCatalogDir(defaultCatalogDir());
const SHIPPED = CATALOG.entries.map((r) => r.entry);

const parseFile = (file: string) => parsePriceList(readFileSync(join(DIR, file), 'utf8'), file);

/** usage type | Region | billing name | token class | tier | scope | lc | USD per 1M | effective date */
const line = (r: PriceListRow): string =>
  [
    r.usageType,
    String(r.regionCode),
    r.billingModel,
    String(r.tokenClass),
    r.tier,
    r.scope,
    r.longContext ? 'lc' : '-',
    r.usdPerMillion,
    r.effectiveDate,
  ].join(' | ');
const skipLine = (s: SkippedRow): string => `${s.usageType}: ${s.reason}`;

function allFixtures(): { rows: PriceListRow[]; skipped: SkippedRow[] } {
  const parsed = [OFFER, SERVICE, FM].map(parseFile);
  return { rows: parsed.flatMap((p) => p.rows), skipped: parsed.flatMap((p) => p.skipped) };
}

/** A one-product-per-row bulk offer file, for the cases the fixtures do not cover. */
function offer(
  products: {
    usagetype: string;
    usd: string;
    unit?: string;
    description?: string;
    regionCode?: string;
    servicename?: string;
    effectiveDate?: string;
    beginRange?: string;
  }[],
): string {
  const doc = {
    formatVersion: 'v1.0',
    offerCode: 'AmazonBedrock',
    products: {},
    terms: { OnDemand: {} },
  };
  products.forEach((p, i) => {
    const sku = `SKU${i}`;
    const attributes: Record<string, string> = {
      servicecode: 'AmazonBedrock',
      usagetype: p.usagetype,
    };
    if (p.regionCode !== undefined) attributes.regionCode = p.regionCode;
    if (p.servicename !== undefined) attributes.servicename = p.servicename;
    Object.assign(doc.products, { [sku]: { sku, productFamily: 'Amazon Bedrock', attributes } });
    const dimension = {
      unit: p.unit ?? '1K tokens',
      description: p.description ?? '',
      beginRange: p.beginRange ?? '0',
      endRange: 'Inf',
      pricePerUnit: { USD: p.usd },
    };
    const term = {
      sku,
      effectiveDate: p.effectiveDate ?? '2026-10-01T00:00:00Z',
      priceDimensions: { d: dimension },
    };
    Object.assign(doc.terms.OnDemand, { [sku]: { [`${sku}.T`]: term } });
  });
  return JSON.stringify(doc);
}

/** A normalised row, for proposal cases built without a document. */
function row(over: Partial<PriceListRow>): PriceListRow {
  return {
    sku: 'SKU',
    serviceCode: 'AmazonBedrock',
    usageType: 'USE1-NovaLite-input-tokens',
    regionCode: 'us-east-1',
    billingModel: 'NovaLite',
    tokenClass: 'input',
    tier: 'standard',
    scope: 'in-region',
    longContext: false,
    usdPerMillion: '0.06',
    effectiveDate: '2026-10-01',
    source: 'inline#SKU',
    ...over,
  };
}

describe('parsePriceList: the bulk offer file (AmazonBedrock, per 1K tokens)', () => {
  const { rows, skipped } = parseFile(OFFER);

  test('reads every price dimension into exactly these rows', () => {
    assert.deepEqual(rows.map(line), [
      'USE1-NovaMicro-input-tokens | us-east-1 | NovaMicro | input | standard | in-region | - | 0.035 | 2026-10-01',
      'USE1-NovaMicro-output-tokens | us-east-1 | NovaMicro | output | standard | in-region | - | 0.14 | 2026-10-01',
      'USE1-NovaMicro-cache-read-input-token-count | us-east-1 | NovaMicro | cacheRead | standard | in-region | - | 0.00875 | 2026-10-01',
      'USE1-NovaMicro-cache-write-input-token-count | us-east-1 | NovaMicro | cacheWrite5m | standard | in-region | - | 0 | 2026-10-01',
      // Prefix not in the Region table: the product's regionCode is used.
      'MXC1-NovaMicro-input-tokens | mx-central-1 | NovaMicro | input | standard | in-region | - | 0.035 | 2026-10-01',
      // Prefix not in the table and no regionCode: kept as data, Region unknown.
      'APS9-NovaMicro-output-tokens | null | NovaMicro | output | standard | in-region | - | 0.14 | 2026-10-01',
      'USE1-NovaLite-input-tokens | us-east-1 | NovaLite | input | standard | in-region | - | 0.06 | 2026-10-01',
      'USE1-NovaLite-output-tokens | us-east-1 | NovaLite | output | standard | in-region | - | 0.25 | 2026-10-01',
      'USE1-NovaLite-cache-read-input-token-count | us-east-1 | NovaLite | cacheRead | standard | in-region | - | 0.015 | 2026-10-01',
      'USE1-NovaLite-cache-write-input-token-count | us-east-1 | NovaLite | cacheWrite5m | standard | in-region | - | 0 | 2026-10-01',
      'USE1-NovaPro-input-tokens | us-east-1 | NovaPro | input | standard | in-region | - | 0.8 | 2026-10-01',
      'USE1-NovaPro-output-tokens | us-east-1 | NovaPro | output | standard | in-region | - | 3.2 | 2026-10-01',
      'USE1-NovaPro-cache-read-input-token-count | us-east-1 | NovaPro | cacheRead | standard | in-region | - | 0.2 | 2026-10-01',
      'USE1-NovaPro-cache-write-input-token-count | us-east-1 | NovaPro | cacheWrite5m | standard | in-region | - | 0 | 2026-10-01',
      'USE1-NovaPro-input-tokens-priority | us-east-1 | NovaPro | input | priority | in-region | - | 1.4 | 2026-10-01',
      'USE1-NovaPro-output-tokens-priority | us-east-1 | NovaPro | output | priority | in-region | - | 5.6 | 2026-10-01',
      'USE1-NovaPro-input-tokens-flex | us-east-1 | NovaPro | input | flex | in-region | - | 0.4 | 2026-10-01',
      'USE1-NovaPro-output-tokens-flex | us-east-1 | NovaPro | output | flex | in-region | - | 1.6 | 2026-10-01',
      'USE1-NovaPro-input-tokens-batch | us-east-1 | NovaPro | input | batch | in-region | - | 0.4 | 2026-10-01',
      'USE1-NovaPro-output-tokens-batch | us-east-1 | NovaPro | output | batch | in-region | - | 1.6 | 2026-10-01',
      // LatencyOptimized before or after the meter; the first has no regionCode, so USE2 comes from the table.
      'USE2-NovaPro-LatencyOptimized-input-tokens | us-east-2 | NovaPro | input | latency-optimized | in-region | - | 1 | 2026-10-01',
      'USE2-NovaPro-output-tokens-LatencyOptimized | us-east-2 | NovaPro | output | latency-optimized | in-region | - | 4 | 2026-10-01',
      'USE1-Nova2.0Lite-input-tokens | us-east-1 | Nova2.0Lite | input | standard | in-region | - | 0.33 | 2026-10-01',
      'USE1-Nova2.0Lite-input-tokens-cross-region-global | us-east-1 | Nova2.0Lite | input | standard | global | - | 0.3 | 2026-10-01',
      // The same two suffixes in both orders.
      'USE1-Nova2.0Lite-input-tokens-cross-region-global-batch | us-east-1 | Nova2.0Lite | input | batch | global | - | 0.15 | 2026-10-01',
      'USE1-Nova2.0Lite-output-tokens-batch-cross-region-global | us-east-1 | Nova2.0Lite | output | batch | global | - | 1.25 | 2026-10-01',
      'USE1-deepseek.v3.2-input-tokens | us-east-1 | deepseek.v3.2 | input | standard | in-region | - | 0.62 | 2026-10-01',
      'USE1-deepseek.v3.2-output-tokens | us-east-1 | deepseek.v3.2 | output | standard | in-region | - | 1.85 | 2026-10-01',
      // Grammar B (mantle): provider.model and a tier word.
      'USE1-openai.gpt-oss-20b-mantle-input-tokens-standard | us-east-1 | openai.gpt-oss-20b | input | standard | in-region | - | 0.07 | 2026-10-01',
      'USE1-openai.gpt-oss-20b-mantle-output-tokens-standard | us-east-1 | openai.gpt-oss-20b | output | standard | in-region | - | 0.3 | 2026-10-01',
      'USE1-openai.gpt-oss-20b-mantle-input-tokens-flex | us-east-1 | openai.gpt-oss-20b | input | flex | in-region | - | 0.035 | 2026-10-01',
      'APS2-openai.gpt-oss-20b-mantle-input-tokens-standard | ap-southeast-2 | openai.gpt-oss-20b | input | standard | in-region | - | 0.0721 | 2026-10-01',
      'APS2-openai.gpt-oss-20b-mantle-output-tokens-standard | ap-southeast-2 | openai.gpt-oss-20b | output | standard | in-region | - | 0.309 | 2026-10-01',
      'USE1-mistral.voxtral-small-24b-2507-mantle-input-tokens-standard | us-east-1 | mistral.voxtral-small-24b-2507 | input | standard | in-region | - | 0.1 | 2026-10-01',
    ]);
  });

  test('keeps the SKU, service code and a findable source on each row', () => {
    const first = rows[0];
    assert.ok(first);
    assert.equal(first.sku, 'QKTJE79TN54NHLLY');
    assert.equal(first.serviceCode, 'AmazonBedrock');
    assert.equal(first.source, `${OFFER}#QKTJE79TN54NHLLY`);
  });

  test('custom-model and Provisioned Throughput rows are skipped with their reasons', () => {
    assert.deepEqual(skipped.map(skipLine), [
      'USE1-NovaMicro-input-tokens-custom-model: custom-model usage: priced per custom model, not by the foundation-model catalog',
      'USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits: Provisioned Throughput: an hourly model-unit price, not a per-token price',
    ]);
    assert.deepEqual(
      skipped.map((s) => s.source),
      [`${OFFER}#3KZ8AG6JMHPM5YGR`, `${OFFER}#B3BHWPK5ELN8HQ4P`],
    );
  });
});

describe('parsePriceList: GetProducts responses (per 1M tokens)', () => {
  test('AmazonBedrockService: new-style Claude usage types, global / geo / in-Region, 5m and 1h cache writes', () => {
    const { rows, skipped } = parseFile(SERVICE);
    assert.deepEqual(skipped, []);
    assert.deepEqual(rows.map(line), [
      'USE1-Claude4.6Sonnet-input-tokens-cross-region-global | us-east-1 | Claude4.6Sonnet | input | standard | global | - | 3 | 2026-10-01',
      'USE1-Claude4.6Sonnet-output-tokens-cross-region-global | us-east-1 | Claude4.6Sonnet | output | standard | global | - | 15 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-read-input-token-count-cross-region-global | us-east-1 | Claude4.6Sonnet | cacheRead | standard | global | - | 0.3 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-write-input-token-count-cross-region-global | us-east-1 | Claude4.6Sonnet | cacheWrite5m | standard | global | - | 3.75 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-write-1h-input-token-count-cross-region-global | us-east-1 | Claude4.6Sonnet | cacheWrite1h | standard | global | - | 6 | 2026-10-01',
      'USE1-Claude4.6Sonnet-input-tokens | us-east-1 | Claude4.6Sonnet | input | standard | in-region | - | 3.3 | 2026-10-01',
      'USE1-Claude4.6Sonnet-output-tokens | us-east-1 | Claude4.6Sonnet | output | standard | in-region | - | 16.5 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-read-input-token-count | us-east-1 | Claude4.6Sonnet | cacheRead | standard | in-region | - | 0.33 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-write-input-token-count | us-east-1 | Claude4.6Sonnet | cacheWrite5m | standard | in-region | - | 4.125 | 2026-10-01',
      'USE1-Claude4.6Sonnet-cache-write-input-token-count-1h | us-east-1 | Claude4.6Sonnet | cacheWrite1h | standard | in-region | - | 6.6 | 2026-10-01',
      'USE1-Claude4.6Sonnet-input-tokens-cross-region-geo | us-east-1 | Claude4.6Sonnet | input | standard | geo | - | 3.3 | 2026-10-01',
      'USE1-Claude4.6Sonnet-input-tokens-long-context-cross-region-global | us-east-1 | Claude4.6Sonnet | input | standard | global | lc | 6 | 2026-10-01',
    ]);
    assert.equal(rows[0]?.serviceCode, 'AmazonBedrockService');
  });

  test('AmazonBedrockFoundationModels: Marketplace usage types named by servicename, CamelCase and snake_case', () => {
    const { rows, skipped } = parseFile(FM);
    assert.deepEqual(rows.map(line), [
      'USE1-MP:USE1_InputTokenCount-Units | us-east-1 | Claude Haiku 4.5 | input | standard | in-region | - | 1.1 | 2026-10-01',
      'USE1-MP:USE1_OutputTokenCount-Units | us-east-1 | Claude Haiku 4.5 | output | standard | in-region | - | 5.5 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount_Global-Units | us-east-1 | Claude Haiku 4.5 | input | standard | global | - | 1 | 2026-10-01',
      'USE1-MP:USE1_OutputTokenCount_Global-Units | us-east-1 | Claude Haiku 4.5 | output | standard | global | - | 5 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount_Global_Batch-Units | us-east-1 | Claude Haiku 4.5 | input | batch | global | - | 0.5 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount_LCtx-Units | us-east-1 | Claude Sonnet 4.5 | input | standard | in-region | lc | 6.6 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount_Global_LCtx-Units | us-east-1 | Claude Sonnet 4.5 | input | standard | global | lc | 6 | 2026-10-01',
      // "Units" with "Million …" in the description is per 1M tokens.
      'USE1-MP:USE1_input_tokens_global_standard-Units | us-east-1 | Claude Opus 4.7 | input | standard | global | - | 5 | 2026-10-01',
      'USE1-MP:USE1_output_tokens_standard-Units | us-east-1 | Claude Opus 4.7 | output | standard | in-region | - | 27.5 | 2026-10-01',
      'USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units | us-east-1 | Claude Opus 4.7 | cacheWrite1h | standard | global | - | 10 | 2026-10-01',
      'APS2-MP:APS2_InputTokenCount_Global-Units | ap-southeast-2 | Claude Opus 4.6 | input | standard | global | - | 5.25 | 2026-10-01',
      'APS2-MP:APS2_OutputTokenCount_Global-Units | ap-southeast-2 | Claude Opus 4.6 | output | standard | global | - | 26.25 | 2026-10-01',
      'APS2-MP:APS2_InputTokenCount-Units | ap-southeast-2 | Claude Opus 4.6 | input | standard | in-region | - | 5.775 | 2026-10-01',
      'APS2-MP:APS2_OutputTokenCount-Units | ap-southeast-2 | Claude Opus 4.6 | output | standard | in-region | - | 28.875 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount-Units | us-east-1 | Claude 3 Opus | input | standard | in-region | - | 15 | 2026-10-01',
      'USE1-MP:USE1_OutputTokenCount-Units | us-east-1 | Claude 3 Opus | output | standard | in-region | - | 75 | 2026-10-01',
      'USE1-MP:USE1_InputTokenCount-Units | us-east-1 | Jamba 1.5 Large | input | standard | in-region | - | 0.6 | 2026-10-01',
      'USE1-MP:USE1_OutputTokenCount-Units | us-east-1 | Jamba 1.5 Large | output | standard | in-region | - | 6 | 2026-10-01',
    ]);
    assert.deepEqual(skipped.map(skipLine), [
      'USE1-MP:USE1_CacheReadInputTokenCount-Units: unit "Units" with no scale in the description ("Cache Read Input Tokens" names neither million nor thousand tokens)',
      'USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units: Reserved tier: a monthly per-TPM commitment, not a per-token price (catalog/README.md, Tiers)',
    ]);
  });
});

describe('parsePriceList: usage types, Regions and units', () => {
  const parseOne = (product: Parameters<typeof offer>[0][number]) =>
    parsePriceList(offer([product]), 'inline.json');
  const parsedLine = (usagetype: string, servicename?: string): string => {
    const { rows, skipped } = parseOne({
      usagetype,
      usd: '0.001',
      ...(servicename ? { servicename } : {}),
    });
    return rows[0]
      ? line(rows[0]).replace(`${usagetype} | `, '')
      : `skipped: ${skipped[0]?.reason}`;
  };

  test('suffixes are a set: every order gives the same row', () => {
    const groups = [
      [
        'USE1-Nova2.0Lite-input-tokens-cross-region-global-batch',
        'USE1-Nova2.0Lite-input-tokens-batch-cross-region-global',
        'USE1-Nova2.0Lite-batch-input-tokens-cross-region-global',
        'USE1-Nova2.0Lite-cross-region-global-batch-input-tokens',
      ],
      [
        'USE1-Claude4.6Opus-cache-write-1h-input-token-count-cross-region-global',
        'USE1-Claude4.6Opus-cache-write-input-token-count-cross-region-global-1h',
        'USE1-Claude4.6Opus-cache-write-input-token-count-1h-cross-region-global',
      ],
      [
        'USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-1h-global-standard',
        'USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-global-1h-standard',
        'USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-standard-global-1h',
      ],
      [
        'USE1-MP:USE1_InputTokenCount_Global_Batch-Units',
        'USE1-MP:USE1_InputTokenCount_Batch_Global-Units',
      ],
      [
        'USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units',
        'USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units',
        'USE1-MP:USE1_cache_write_tokens_global_1h-Units',
      ],
    ];
    const expected = [
      'us-east-1 | Nova2.0Lite | input | batch | global | - | 1 | 2026-10-01',
      'us-east-1 | Claude4.6Opus | cacheWrite1h | standard | global | - | 1 | 2026-10-01',
      'us-west-2 | anthropic.claude-opus-4-8 | cacheWrite1h | standard | global | - | 1 | 2026-10-01',
      'us-east-1 | Claude Opus 4.8 | input | batch | global | - | 1 | 2026-10-01',
      'us-east-1 | Claude Opus 4.8 | cacheWrite1h | standard | global | - | 1 | 2026-10-01',
    ];
    groups.forEach((types, i) => {
      for (const t of types) {
        assert.equal(parsedLine(t, 'Claude Opus 4.8 (Amazon Bedrock Edition)'), expected[i], t);
      }
    });
  });

  test('every grammar: native (A), mantle (B), Marketplace (C); model tokens may contain "-" and "."', () => {
    const cases: [string, string][] = [
      [
        'USE1-Llama4-Maverick-17B-input-tokens-batch',
        'us-east-1 | Llama4-Maverick-17B | input | batch | in-region | - | 1 | 2026-10-01',
      ],
      [
        'EUC1-Claude4.6Opus-output-tokens-cross-region-geo',
        'eu-central-1 | Claude4.6Opus | output | standard | geo | - | 1 | 2026-10-01',
      ],
      [
        'USE1-Claude2.0-input-tokens',
        'us-east-1 | Claude2.0 | input | standard | in-region | - | 1 | 2026-10-01',
      ],
      [
        'UGW1-NovaPro-input-tokens',
        'us-gov-west-1 | NovaPro | input | standard | in-region | - | 1 | 2026-10-01',
      ],
      [
        'APN1-Claude4.5Sonnet-input-tokens-long-context',
        'ap-northeast-1 | Claude4.5Sonnet | input | standard | in-region | lc | 1 | 2026-10-01',
      ],
      [
        'USE1-qwen.qwen3-32b-mantle-output-tokens-priority',
        'us-east-1 | qwen.qwen3-32b | output | priority | in-region | - | 1 | 2026-10-01',
      ],
      [
        'USE1-openai.gpt-oss-120b-mantle-input-tokens-global-batch',
        'us-east-1 | openai.gpt-oss-120b | input | batch | global | - | 1 | 2026-10-01',
      ],
      [
        'USE1-MP:USE1_OutputTokenCount_LatencyOptimized-Units',
        'us-east-1 | Claude Opus 4.8 | output | latency-optimized | in-region | - | 1 | 2026-10-01',
      ],
      [
        'USE1-MP:USE1_InputTokenCount_Global_LCtx-Units',
        'us-east-1 | Claude Opus 4.8 | input | standard | global | lc | 1 | 2026-10-01',
      ],
      [
        'USE1-MP:USE1_CacheWriteInputTokenCount-Units',
        'us-east-1 | Claude Opus 4.8 | cacheWrite5m | standard | in-region | - | 1 | 2026-10-01',
      ],
      [
        'APN1-MP:APN1_MillionBatchInputTokens-Units',
        'ap-northeast-1 | Claude Opus 4.8 | input | batch | in-region | - | 1 | 2026-10-01',
      ],
    ];
    for (const [usagetype, expected] of cases) {
      assert.equal(
        parsedLine(usagetype, 'Claude Opus 4.8 (Amazon Bedrock Edition)'),
        expected,
        usagetype,
      );
    }
  });

  test('what cannot be read exactly is skipped with a reason, never guessed', () => {
    const cases: [string, string][] = [
      ['USE1-NovaPro-input-tokens-turbo', 'skipped: unknown usage-type suffix "turbo"'],
      [
        'USE1-NovaPro-input-tokens-flex-priority',
        'skipped: two tiers in one usage type (flex, priority)',
      ],
      ['USE1-NovaPro-output-tokens-1h', 'skipped: "1h" on a meter that is not a cache write'],
      [
        'USE1-NovaReel-T2V-Medfps-HDRes',
        'skipped: no token meter (input-tokens, output-tokens, cache-read-…, cache-write-…) in the usage type',
      ],
      [
        'USE1-MP:USE1_InputImageCount-Units',
        'skipped: Marketplace usage type without a token meter',
      ],
      [
        'USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units',
        'skipped: Reserved tier: a monthly per-TPM commitment, not a per-token price (catalog/README.md, Tiers)',
      ],
      [
        'USE1-NovaMicro-cache-read-input-token-count-custom-model',
        'skipped: custom-model usage: priced per custom model, not by the foundation-model catalog',
      ],
    ];
    for (const [usagetype, expected] of cases)
      assert.equal(parsedLine(usagetype), expected, usagetype);
    assert.equal(
      parsedLine('USE1-MP:USE1_InputTokenCount-Units'),
      'skipped: Marketplace usage type and no servicename or model attribute to name the model',
    );
  });

  test('Region: regionCode, else the prefix table, else null; a disagreement is skipped', () => {
    const region = (usagetype: string, regionCode?: string) => {
      const { rows, skipped } = parseOne({
        usagetype,
        usd: '1',
        ...(regionCode ? { regionCode } : {}),
      });
      return rows[0] ? rows[0].regionCode : `skipped: ${skipped[0]?.reason}`;
    };
    assert.equal(region('APS1-NovaPro-input-tokens'), 'ap-southeast-1');
    assert.equal(region('EUW1-NovaPro-input-tokens'), 'eu-west-1');
    assert.equal(region('APS2-NovaPro-input-tokens', 'ap-southeast-2'), 'ap-southeast-2');
    assert.equal(region('XYZ7-NovaPro-input-tokens', 'xy-new-7'), 'xy-new-7');
    assert.equal(region('XYZ7-NovaPro-input-tokens'), null);
    assert.equal(
      region('USW2-NovaPro-input-tokens', 'us-east-1'),
      'skipped: regionCode us-east-1 disagrees with the usage-type prefix USW2 (us-west-2)',
    );
  });

  test('units convert exactly: 1K ×1000, 1M ×1, per token ×1e6; more than 6 decimals per 1M is skipped, not rounded', () => {
    const price = (usd: string, unit: string, description = '') => {
      const { rows, skipped } = parseOne({
        usagetype: 'USE1-NovaMicro-input-tokens',
        usd,
        unit,
        description,
      });
      return rows[0]?.usdPerMillion ?? `skipped: ${skipped[0]?.reason}`;
    };
    assert.equal(price('0.0000350000', '1K tokens'), '0.035');
    assert.equal(price('0.00000875', '1K tokens'), '0.00875');
    assert.equal(price('0.000126175', '1K tokens'), '0.126175');
    assert.equal(price('0.0000000000', '1K tokens'), '0');
    assert.equal(price('12.0000000000', '1K tokens'), '12000');
    assert.equal(price('3.0000000000', '1M tokens'), '3');
    assert.equal(price('4.1250000000', '1M tokens'), '4.125');
    assert.equal(price('0.0000033', 'tokens'), '3.3');
    assert.equal(price('5.25', 'Units', 'Million Input Tokens Global'), '5.25');
    assert.equal(price('0.0008', 'Units', '$0.0008 per 1K input tokens'), '0.8');
    assert.equal(
      price('0.0000000001', '1K tokens'),
      'skipped: 0.0000000001 per 1K tokens is 0.0000001 per 1M tokens: more than 6 decimals, which the catalog cannot hold exactly (not rounded)',
    );
    assert.equal(
      price('1', 'Hrs'),
      'skipped: unit "Hrs" is not a token count this importer knows (1K tokens, 1M tokens, tokens)',
    );
    assert.equal(price('-1', '1K tokens'), 'skipped: price "-1" is not a non-negative decimal');
    assert.equal(price('1e-6', '1K tokens'), 'skipped: price "1e-6" is not a non-negative decimal');
  });

  test('tiered ranges and terms without an effective date are skipped', () => {
    const ranged = parseOne({
      usagetype: 'USE1-NovaPro-input-tokens',
      usd: '1',
      beginRange: '1000',
    });
    assert.deepEqual(
      ranged.skipped.map((s) => s.reason),
      ['a tiered price (range 1000 to Inf)'],
    );
    const undated = parseOne({
      usagetype: 'USE1-NovaPro-input-tokens',
      usd: '1',
      effectiveDate: 'soon',
    });
    assert.deepEqual(
      undated.skipped.map((s) => s.reason),
      ['no effectiveDate on the OnDemand term'],
    );
  });

  test('a bad PriceList element is a skipped row, not an exception', () => {
    const text = JSON.stringify({
      FormatVersion: 'aws_v1',
      PriceList: ['{not json', '{"terms":{}}'],
      NextToken: null,
    });
    const { rows, skipped } = parsePriceList(text, 'page.json');
    assert.deepEqual(rows, []);
    assert.deepEqual(skipped, [
      {
        sku: '',
        usageType: '',
        reason: 'PriceList[0] is not valid JSON',
        source: 'page.json#PriceList[0]',
      },
      {
        sku: '',
        usageType: '',
        reason: 'PriceList[1] has no product',
        source: 'page.json#PriceList[1]',
      },
    ]);
  });

  test('a document that is neither an offer file nor a GetProducts response throws AppError naming the file', () => {
    const cases: [string, string][] = [
      ['{"products":', 'bad.json: not valid JSON'],
      [
        '[]',
        'bad.json: neither a Price List offer file (offerCode, products, terms) nor a GetProducts response (PriceList)',
      ],
      [
        '{"Services":[]}',
        'bad.json: neither a Price List offer file (offerCode, products, terms) nor a GetProducts response (PriceList)',
      ],
      ['{"PriceList":{}}', 'bad.json: PriceList is not an array'],
      [
        '{"offerCode":"AmazonBedrock","products":[],"terms":{}}',
        'bad.json: products is not an object',
      ],
      ['{"offerCode":"AmazonBedrock","products":{}}', 'bad.json: terms is not an object'],
      [
        '{"offerCode":"AmazonBedrock","products":{},"terms":{"OnDemand":[]}}',
        'bad.json: terms.OnDemand is not an object',
      ],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parsePriceList(text, 'bad.json'),
        (e: unknown) =>
          e instanceof AppError && e.code === 'price.import_invalid' && e.message === message,
        text,
      );
    }
  });
});

describe('proposeEntries', () => {
  const fixtures = allFixtures();
  const result = proposeEntries(fixtures.rows, CATALOG, { today: TODAY });

  test('the fixtures give exactly these proposals', () => {
    const summary = result.proposals.map((p) => ({
      kind: p.kind,
      id: p.entry.id,
      replaces: p.replaces,
      changes: p.changes.map((c) => `${c.field} ${c.from ?? '-'} → ${c.to}`),
      rates: p.entry.usdPerMillionTokens,
      regionalPremium: p.entry.regionalPremium ?? null,
    }));
    assert.deepEqual(summary, [
      {
        // No batch entry for Nova 2 Lite: a new tier, global base, the model's premium kept.
        kind: 'new-tier',
        id: 'amazon.nova-2-lite/us-east-1/batch/2026-10-01',
        replaces: null,
        changes: ['input - → 0.15', 'output - → 1.25'],
        rates: { input: '0.15', output: '1.25' },
        regionalPremium: '0.10',
      },
      {
        kind: 'price-change',
        id: 'amazon.nova-lite/us-east-1/standard/2026-10-01',
        replaces: 'amazon.nova-lite/*/standard/2024-12-03',
        changes: ['output 0.24 → 0.25'],
        rates: {
          input: '0.06',
          output: '0.25',
          cacheRead: '0.015',
          cacheWrite5m: '0',
          cacheWrite1h: '0',
        },
        regionalPremium: null,
      },
      {
        kind: 'new-model',
        id: 'anthropic.claude-3-opus/us-east-1/standard/2026-10-01',
        replaces: null,
        changes: ['input - → 15.00', 'output - → 75.00'],
        rates: { input: '15.00', output: '75.00' },
        regionalPremium: null,
      },
      {
        // Global 5.25 / 26.25 and in-Region 5.775 / 28.875 (= × 1.10) become one entry storing the global base.
        kind: 'new-region',
        id: 'anthropic.claude-opus-4-6/ap-southeast-2/standard/2026-10-01',
        replaces: 'anthropic.claude-opus-4-6/*/standard/2026-02-05',
        changes: ['input 5.00 → 5.25', 'output 25.00 → 26.25'],
        rates: {
          input: '5.25',
          output: '26.25',
          cacheRead: '0.50',
          cacheWrite5m: '6.25',
          cacheWrite1h: '10.00',
        },
        regionalPremium: '0.10',
      },
      {
        kind: 'new-region',
        id: 'openai.gpt-oss-20b/ap-southeast-2/standard/2026-10-01',
        replaces: 'openai.gpt-oss-20b/*/standard/2025-08-05',
        changes: ['input 0.07 → 0.0721', 'output 0.30 → 0.309'],
        rates: { input: '0.0721', output: '0.309' },
        regionalPremium: null,
      },
    ]);
  });

  test('a proposed entry in full: Region of its own, effective date from the Price List, source and notes', () => {
    const p = result.proposals.find((x) => x.kind === 'price-change');
    assert.deepEqual(p?.entry, {
      id: 'amazon.nova-lite/us-east-1/standard/2026-10-01',
      models: ['amazon.nova-lite-v1:0'],
      regions: ['us-east-1'],
      tier: 'standard',
      effectiveFrom: '2026-10-01',
      usdPerMillionTokens: {
        input: '0.06',
        output: '0.25',
        cacheRead: '0.015',
        cacheWrite5m: '0',
        cacheWrite1h: '0',
      },
      kind: 'text',
      source:
        'https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonBedrock/current/us-east-1/index.json',
      verifiedOn: TODAY,
      notes:
        'Proposed from the AWS Price List (AmazonBedrock), effective 2026-10-01: amazonbedrock-offer.json#52T8CAJJKUZDWXLM, ' +
        'amazonbedrock-offer.json#6WQG93WBUT5PJK4E, amazonbedrock-offer.json#F6APBYVARN8LFTR6, amazonbedrock-offer.json#T5LDX3T7J8HLAKUQ. ' +
        'Supersedes amazon.nova-lite/*/standard/2024-12-03 in us-east-1. ' +
        'Not in the Price List, kept from amazon.nova-lite/*/standard/2024-12-03: cacheWrite1h.',
    });
  });

  test('proposals are schema-valid and append to the shipped catalog; appended, the same Price List proposes nothing', () => {
    const proposed = result.proposals.map((p) => p.entry);
    for (const e of proposed) assert.deepEqual(PriceEntry.parse(e), e);
    const extended = buildCatalog([...SHIPPED, ...proposed]);
    assert.equal(extended.entries.length, SHIPPED.length + proposed.length);
    const again = proposeEntries(fixtures.rows, extended, { today: TODAY });
    assert.deepEqual(again.proposals, []);
    // The groups behind the five proposals now match: Nova Lite, Nova 2 Lite batch, Claude 3 Opus, gpt-oss-20b in
    // ap-southeast-2, and Opus 4.6 in ap-southeast-2 (global and in-Region: two groups).
    assert.equal(again.unchanged, result.unchanged + 6);
  });

  test('groups the catalog prices identically count as unchanged, across scopes and the +10 % premium', () => {
    assert.equal(result.unchanged, 22);
    const novaMicro = fixtures.rows.filter((r) => r.usageType.startsWith('USE1-NovaMicro-'));
    assert.deepEqual(proposeEntries(novaMicro, CATALOG, { today: TODAY }), {
      proposals: [],
      unchanged: 1,
      unmapped: [],
      skipped: [],
    });
    // Sonnet 4.6: global 3.00 = base, in-Region 3.30 and geo 3.30 = base × 1.10.
    const sonnet = parseFile(SERVICE).rows.filter((r) => !r.longContext);
    assert.deepEqual(proposeEntries(sonnet, CATALOG, { today: TODAY }), {
      proposals: [],
      unchanged: 3,
      unmapped: [],
      skipped: [],
    });
    // One rate off by a hundredth of a cent is a change.
    const changed = sonnet.map((r) =>
      r.usageType === 'USE1-Claude4.6Sonnet-cache-read-input-token-count'
        ? { ...r, usdPerMillion: '0.3301' }
        : r,
    );
    assert.equal(proposeEntries(changed, CATALOG, { today: TODAY }).unchanged, 2);
  });

  test('unmapped billing names are listed, never guessed; modelMap can map them', () => {
    assert.deepEqual(result.unmapped, [
      {
        billingModel: 'Jamba 1.5 Large',
        usageTypes: ['USE1-MP:USE1_InputTokenCount-Units', 'USE1-MP:USE1_OutputTokenCount-Units'],
      },
      {
        billingModel: 'mistral.voxtral-small-24b-2507',
        usageTypes: ['USE1-mistral.voxtral-small-24b-2507-mantle-input-tokens-standard'],
      },
    ]);
    const jamba = fixtures.rows.filter((r) => r.billingModel === 'Jamba 1.5 Large');
    const mapped = proposeEntries(jamba, CATALOG, {
      today: TODAY,
      modelMap: { 'Jamba 1.5 Large': ['ai21.jamba-1-5-large-v1:0'] },
    });
    assert.deepEqual(mapped.unmapped, []);
    assert.deepEqual(
      mapped.proposals.map((p) => [p.kind, p.entry.id, p.entry.usdPerMillionTokens]),
      [
        [
          'new-model',
          'ai21.jamba-1-5-large/us-east-1/standard/2026-10-01',
          { input: '0.60', output: '6.00' },
        ],
      ],
    );
  });

  test('rows it cannot use are skipped with reasons: unknown Region, long context without a catalog tier', () => {
    assert.deepEqual(result.skipped.map(skipLine), [
      'APS9-NovaMicro-output-tokens: no Region: the usage-type prefix is not in the Region table and the product has no regionCode',
      'USE1-Claude4.6Sonnet-input-tokens-long-context-cross-region-global: anthropic.claude-sonnet-4-6/*/standard/2026-02-17 has no long-context tier (catalog/README.md: none for Claude 4.6+) but the Price List publishes one (global input 6.00); a person must decide',
    ]);
  });

  test('long context is compared with the catalog multipliers (Sonnet 4.5: 6.00 global, 6.60 regional)', () => {
    const lc = parseFile(FM).rows.filter((r) => r.longContext);
    assert.deepEqual(proposeEntries(lc, CATALOG, { today: TODAY }).unchanged, 2);
    const off = lc.map((r) => ({ ...r, usdPerMillion: r.scope === 'global' ? '7.2' : '7.92' }));
    const res = proposeEntries(off, CATALOG, { today: TODAY });
    assert.deepEqual(res.proposals, []);
    assert.deepEqual(
      [...new Set(res.skipped.map((s) => s.reason))],
      [
        'long-context prices (in-region input 7.92; global input 7.20) differ from anthropic.claude-sonnet-4-5/*/standard/2025-09-29 × its longContext multipliers; the catalog stores multipliers, so a person must decide',
      ],
    );
  });

  test('a premium model whose regional price is not global × 1.10 is skipped, not split', () => {
    const rows = [
      row({ billingModel: 'Claude4.6Sonnet', scope: 'global', usdPerMillion: '3.15' }),
      row({ billingModel: 'Claude4.6Sonnet', scope: 'in-region', usdPerMillion: '3.30' }),
    ];
    const res = proposeEntries(rows, CATALOG, { today: TODAY });
    assert.deepEqual(res.proposals, []);
    assert.equal(res.unchanged, 1);
    assert.deepEqual(
      [...new Set(res.skipped.map((s) => s.reason))],
      [
        'global and in-region input prices do not fit one entry (regionalPremium is 0.10): base 3.15 vs 3.00',
      ],
    );
    // In-Region rows alone are brought back to the global base: 3.465 / 1.10 = 3.15.
    const regionalOnly = proposeEntries(
      [row({ billingModel: 'Claude4.6Sonnet', usdPerMillion: '3.465' })],
      CATALOG,
      {
        today: TODAY,
      },
    );
    assert.deepEqual(
      regionalOnly.proposals.map((p) => [
        p.kind,
        p.entry.usdPerMillionTokens.input,
        p.entry.regionalPremium,
        p.changes,
      ]),
      [['price-change', '3.15', '0.10', [{ field: 'input', from: '3.00', to: '3.15' }]]],
    );
  });

  test('a new model with global and regional rows gets regionalPremium only when regional = global × 1.10', () => {
    const map = { modelMap: { NewModel: ['example.new-model-v1:0'] } };
    const make = (regional: string) => [
      row({ billingModel: 'NewModel', scope: 'global', usdPerMillion: '2' }),
      row({ billingModel: 'NewModel', scope: 'global', tokenClass: 'output', usdPerMillion: '8' }),
      row({ billingModel: 'NewModel', scope: 'geo', usdPerMillion: regional }),
    ];
    const premium = proposeEntries(make('2.2'), CATALOG, { today: TODAY, ...map });
    assert.deepEqual(
      premium.proposals.map((p) => [
        p.entry.id,
        p.entry.usdPerMillionTokens,
        p.entry.regionalPremium,
      ]),
      [
        [
          'example.new-model/us-east-1/standard/2026-10-01',
          { input: '2.00', output: '8.00' },
          '0.10',
        ],
      ],
    );
    const flat = proposeEntries(make('2'), CATALOG, { today: TODAY, ...map });
    assert.equal(flat.proposals[0]?.entry.regionalPremium, undefined);
    const odd = proposeEntries(make('2.5'), CATALOG, { today: TODAY, ...map });
    assert.deepEqual(odd.proposals, []);
    assert.deepEqual(
      [...new Set(odd.skipped.map((s) => s.reason))],
      ['regional prices are neither equal to the global ones nor global × 1.10'],
    );
  });

  test('an effective date not after the entry in force, clashing prices, null token classes are skipped', () => {
    const old = proposeEntries(
      [row({ usdPerMillion: '0.07', effectiveDate: '2024-12-03' })],
      CATALOG,
      {
        today: TODAY,
      },
    );
    assert.deepEqual(
      old.skipped.map((s) => s.reason),
      [
        "the Price List's effective date 2024-12-03 is not after amazon.nova-lite/*/standard/2024-12-03's effectiveFrom 2024-12-03; an appended entry cannot express it, so a person must decide",
      ],
    );
    const clash = proposeEntries(
      [
        row({ usdPerMillion: '0.07', source: 'a#1' }),
        row({ usdPerMillion: '0.08', source: 'b#2' }),
      ],
      CATALOG,
      { today: TODAY },
    );
    assert.deepEqual(
      [...new Set(clash.skipped.map((s) => s.reason))],
      ['two in-region input prices: 0.07 (a#1) and 0.08 (b#2)'],
    );
    const nullClass = proposeEntries([row({ tokenClass: null })], CATALOG, { today: TODAY });
    assert.deepEqual(
      nullClass.skipped.map((s) => s.reason),
      ['not an input, output or cache token price the catalog stores'],
    );
  });

  test('two billing names for one model (native and Marketplace) form one group', () => {
    const rows = [
      row({ billingModel: 'Claude4.6Sonnet', scope: 'global', usdPerMillion: '3.15' }),
      row({
        billingModel: 'Claude Sonnet 4.6',
        scope: 'global',
        tokenClass: 'output',
        usdPerMillion: '15',
      }),
    ];
    const res = proposeEntries(rows, CATALOG, { today: TODAY });
    assert.deepEqual(
      res.proposals.map((p) => [p.entry.id, p.changes.length]),
      [['anthropic.claude-sonnet-4-6/us-east-1/standard/2026-10-01', 1]],
    );
  });

  test('today must be a date', () => {
    assert.throws(
      () => proposeEntries([], CATALOG, { today: '23/11/2026' }),
      (e: unknown) => e instanceof AppError && e.code === 'price.import_invalid',
    );
  });
});

describe('formatProposals', () => {
  test('golden review of the fixtures (UPDATE_GOLDEN=1 to accept a change)', () => {
    const { rows, skipped } = allFixtures();
    const result = proposeEntries(rows, CATALOG, { today: TODAY });
    const review: ImportResult = { ...result, skipped: [...skipped, ...result.skipped] };
    assertGolden(join(DIR, 'proposals.golden.txt'), formatProposals(review));
  });

  test('an empty import says so', () => {
    assert.equal(
      formatProposals({ proposals: [], unchanged: 0, unmapped: [], skipped: [] }),
      'AWS Price List import: 0 proposals, 0 unchanged, 0 unmapped, 0 skipped\n\n= 0 groups already priced identically by the catalog\n',
    );
  });
});

describe('BILLING_MODEL_MAP', () => {
  test('maps only to canonical ids the shipped catalog prices, plus known gaps', () => {
    const priced = new Set(SHIPPED.flatMap((e) => e.models));
    // Billed models the catalog does not price yet (the demo's Palmyra X5 stays unpriced on purpose).
    const gaps = new Set(['anthropic.claude-3-opus-20240229-v1:0', 'writer.palmyra-x5-v1:0']);
    const unknown = Object.entries(BILLING_MODEL_MAP).flatMap(([name, ids]) =>
      ids.filter((id) => !priced.has(id) && !gaps.has(id)).map((id) => `${name} → ${id}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('names the models of the shipped catalog it can with confidence', () => {
    const named = new Set(Object.values(BILLING_MODEL_MAP).flat());
    const priced = [...new Set(SHIPPED.flatMap((e) => e.models))];
    // No Price List spelling seen for these: they come out unmapped until someone adds one.
    const unnamed = priced.filter((m) => !named.has(m)).sort();
    assert.deepEqual(unnamed, [
      'deepseek.v3-v1:0',
      'meta.llama3-70b-instruct-v1:0',
      'meta.llama3-8b-instruct-v1:0',
      'mistral.mistral-7b-instruct-v0:2',
      'mistral.mistral-small-2402-v1:0',
      'mistral.mixtral-8x7b-instruct-v0:1',
      'mistral.pixtral-large-2502-v1:0',
      'qwen.qwen3-coder-480b-a35b-v1:0',
    ]);
  });
});
