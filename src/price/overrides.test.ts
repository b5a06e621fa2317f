/**
 * The user's overrides: private prices that beat the shipped catalog where both are in force, and discounts that
 * compound, match by account / model / provider / Region / tier and date, and are applied once per record.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import { AppError, type RawUsage } from '../core/index.ts';
import { createNormaliser } from '../normalise/index.ts';
import {
  catalogFilesIn,
  defaultCatalogDir,
  loadCatalogDir,
  loadOverrides,
  type Overrides,
} from './catalog.ts';
import type { Discount, PriceEntry } from './catalog-schema.ts';
import { priceRecord } from './price-record.ts';

const tmp = tempDir();
after(() => tmp.remove());
const shipped = loadCatalogDir(defaultCatalogDir());
const normaliser = createNormaliser(() => undefined);

const A = '111122223333';
const B = '444455556666';
const SONNET_46 = 'anthropic.claude-sonnet-4-6';

function usage(over: Partial<RawUsage> & { modelId: string }): RawUsage {
  return {
    requestId: 'r',
    occurredAt: Date.parse('2026-10-15T12:00:00Z'),
    accountId: A,
    region: 'us-east-1',
    inferenceRegion: null,
    operation: 'Converse',
    identityArn: null,
    requestMetadata: {},
    tokens: { input: 1_000_000, output: 100_000, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    cacheTtlKnown: true,
    tier: 'standard',
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'overrides.test.ts', line: 1 },
    ...over,
  };
}

const price = (overrides: Overrides, u: RawUsage) =>
  priceRecord(normaliser.normalise(u), loadCatalogDir(defaultCatalogDir(), overrides));

const entry = (over: Partial<PriceEntry>): PriceEntry => ({
  id: 'private/sonnet-4-6/2026-07-01',
  models: [SONNET_46],
  regions: ['*'],
  tier: 'standard',
  effectiveFrom: '2026-07-01',
  usdPerMillionTokens: { input: '2.50', output: '12.50' },
  kind: 'text',
  source: 'contract PPA-2026-014',
  verifiedOn: '2026-07-01',
  ...over,
});

const discount = (over: Partial<Discount>): Discount => ({
  id: 'edp',
  percent: '10',
  match: {},
  effectiveFrom: '2026-01-01',
  ...over,
});

describe('override entries', () => {
  test('beat the shipped entry while in force, flagged price_override', () => {
    const o = { entries: [entry({})], discounts: [] };
    const p = price(o, usage({ modelId: `global.${SONNET_46}` }));
    // 1M × 2.50 + 0.1M × 12.50 = 3.75 USD
    assert.equal(p.cost.picos, 3_750_000_000_000n);
    assert.equal(p.cost.priceId, 'private/sonnet-4-6/2026-07-01');
    assert.deepEqual(p.flags, ['price_override']);
  });

  test('before their effectiveFrom the shipped catalog prices the record', () => {
    const o = { entries: [entry({})], discounts: [] };
    const p = price(
      o,
      usage({ modelId: `global.${SONNET_46}`, occurredAt: Date.parse('2026-06-30T23:59:59Z') }),
    );
    // 1M × 3.00 + 0.1M × 15.00 = 4.50 USD
    assert.equal(p.cost.picos, 4_500_000_000_000n);
    assert.deepEqual(p.flags, []);
  });

  test('price a model the catalog does not know (no longer unpriced)', () => {
    const model = 'writer.palmyra-x5-v1:0';
    assert.equal(
      price({ entries: [], discounts: [] }, usage({ modelId: `us.${model}` })).cost.picos,
      null,
    );
    const o = {
      entries: [
        entry({
          id: 'private/palmyra',
          models: [model],
          usdPerMillionTokens: { input: '0.60', output: '6' },
        }),
      ],
      discounts: [],
    };
    const p = price(o, usage({ modelId: `us.${model}` }));
    assert.equal(p.cost.picos, 1_200_000_000_000n); // 0.60 + 0.60
  });

  test('keep the regional premium rule of their entry', () => {
    const o = { entries: [entry({ regionalPremium: '0.10' })], discounts: [] };
    const p = price(o, usage({ modelId: `us.${SONNET_46}` }));
    // (2.50 + 1.25) × 1.10
    assert.equal(p.cost.picos, 4_125_000_000_000n);
    assert.deepEqual(p.flags, ['regional_premium', 'price_override']);
  });
});

describe('discounts', () => {
  test('percent off the record, flagged discounted; other accounts untouched', () => {
    const o = { entries: [], discounts: [discount({ match: { account: A } })] };
    const a = price(o, usage({ modelId: `global.${SONNET_46}` }));
    assert.equal(a.cost.picos, 4_050_000_000_000n); // 4.50 × 0.90
    assert.deepEqual(a.flags, ['discounted']);
    assert.equal(a.cost.priceId, 'anthropic.claude-sonnet-4-6/*/standard/2026-02-17');
    const b = price(o, usage({ modelId: `global.${SONNET_46}`, accountId: B }));
    assert.equal(b.cost.picos, 4_500_000_000_000n);
    assert.deepEqual(b.flags, []);
  });

  test('by provider and by model', () => {
    const o = {
      entries: [],
      discounts: [
        discount({ id: 'anthropic-ppa', percent: '20', match: { provider: 'anthropic' } }),
        discount({ id: 'nova', percent: '50', match: { model: 'amazon.nova-pro-v1:0' } }),
      ],
    };
    assert.equal(
      price(o, usage({ modelId: `global.${SONNET_46}` })).cost.picos,
      3_600_000_000_000n,
    );
    // Nova Pro: 1M × 0.80 + 0.1M × 3.20 = 1.12 → 0.56
    assert.equal(price(o, usage({ modelId: 'amazon.nova-pro-v1:0' })).cost.picos, 560_000_000_000n);
    // Llama: no discount.
    const llama = price(o, usage({ modelId: 'meta.llama3-1-8b-instruct-v1:0' }));
    assert.deepEqual(llama.flags, []);
  });

  test('several matching discounts compound', () => {
    const o = {
      entries: [],
      discounts: [
        discount({ id: 'edp', percent: '10' }),
        discount({ id: 'ppa', percent: '20', match: { provider: 'anthropic' } }),
      ],
    };
    // 4.50 × 0.9 × 0.8 = 3.24
    assert.equal(
      price(o, usage({ modelId: `global.${SONNET_46}` })).cost.picos,
      3_240_000_000_000n,
    );
  });

  test('apply only between effectiveFrom and effectiveTo, and only to their Region and tier', () => {
    const o = {
      entries: [],
      discounts: [
        discount({
          effectiveFrom: '2026-10-01',
          effectiveTo: '2026-11-01',
          match: { region: 'us-east-1', tier: 'standard' },
        }),
      ],
    };
    const at = (iso: string, over: Partial<RawUsage> = {}) =>
      price(o, usage({ modelId: `global.${SONNET_46}`, occurredAt: Date.parse(iso), ...over })).cost
        .picos;
    assert.equal(at('2026-09-30T23:59:59Z'), 4_500_000_000_000n);
    assert.equal(at('2026-10-01T00:00:00Z'), 4_050_000_000_000n);
    assert.equal(at('2026-10-31T23:59:59Z'), 4_050_000_000_000n);
    assert.equal(at('2026-11-01T00:00:00Z'), 4_500_000_000_000n);
    assert.equal(at('2026-10-15T00:00:00Z', { region: 'us-west-2' }), 4_500_000_000_000n);
  });

  test('round once per record, half up, to a whole pico-USD', () => {
    // Nova Micro cache read: 3 tokens × 8,750 picos = 26,250 picos; 12.5 % off = 22,968.75 → 22,969.
    const o = { entries: [], discounts: [discount({ percent: '12.5' })] };
    const p = price(
      o,
      usage({
        modelId: 'amazon.nova-micro-v1:0',
        tokens: { input: 0, output: 0, cacheRead: 3, cacheWrite5m: 0, cacheWrite1h: 0 },
      }),
    );
    assert.equal(p.cost.picos, 22_969n);
  });

  test('change the catalog hash; no overrides keep the shipped hash', () => {
    const none = loadCatalogDir(defaultCatalogDir(), { entries: [], discounts: [] });
    const some = loadCatalogDir(defaultCatalogDir(), { entries: [], discounts: [discount({})] });
    assert.equal(none.hash, shipped.hash);
    assert.notEqual(some.hash, shipped.hash);
  });
});

describe('the overrides file is validated at start', () => {
  const write = (name: string, json: unknown) => {
    const path = join(tmp.path, name);
    writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
    return path;
  };
  const fails = (path: string, pattern: RegExp) =>
    assert.throws(
      () => loadCatalogDir(defaultCatalogDir(), loadOverrides(path)),
      (e: unknown) => e instanceof AppError && pattern.test(e.message) && e.message.includes(path),
    );

  test('a valid file loads', () => {
    const path = write('ok.json', {
      entries: [entry({})],
      discounts: [discount({ match: { account: A } })],
    });
    const o = loadOverrides(path);
    assert.equal(o.entries.length, 1);
    assert.equal(o.discounts.length, 1);
  });
  test('names the field that is wrong', () => {
    fails(
      write('pct.json', { discounts: [discount({ percent: '110' })] }),
      /discounts\.0\.percent/,
    );
    fails(
      write('acct.json', { discounts: [discount({ match: { account: '12' } })] }),
      /match\.account/,
    );
    fails(write('key.json', { discounts: [], extra: 1 }), /extra|Unrecognized/);
    fails(
      write('rate.json', { entries: [entry({ usdPerMillionTokens: { input: '0.0000001' } })] }),
      /6 decimals/,
    );
    fails(
      write('dates.json', { discounts: [discount({ effectiveTo: '2025-01-01' })] }),
      /effectiveTo/,
    );
  });
  test('refuses duplicate ids and an id the catalog already uses', () => {
    fails(
      write('dup.json', { discounts: [discount({}), discount({})] }),
      /duplicate discount id edp/,
    );
    const shippedId = shipped.entries[0]?.entry.id ?? '';
    fails(
      write('clash.json', { entries: [entry({ id: shippedId })] }),
      /already a catalog entry id/,
    );
  });
  test('not JSON / missing', () => {
    fails(write('bad.json', '{'), /not valid JSON/);
    fails(join(tmp.path, 'nope.json'), /no such file/);
  });
  test('the shipped catalog files still load without overrides', () => {
    assert.ok(catalogFilesIn(defaultCatalogDir()).length >= 8);
  });
});
