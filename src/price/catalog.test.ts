import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AppError, parseUsd, parseUsdPerMillion, TIERS } from '../core/index.ts';
import {
  buildCatalog,
  catalogHash,
  defaultCatalogDir,
  loadCatalogDir,
  loadCatalogFiles,
} from './catalog.ts';
import { CatalogFile, type PriceEntry } from './catalog-schema.ts';

const DIR = defaultCatalogDir();
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const RAW: { file: string; json: unknown }[] = FILES.map((file) => ({
  file,
  json: JSON.parse(readFileSync(join(DIR, file), 'utf8')),
}));
const ENTRIES: PriceEntry[] = RAW.flatMap(({ json }) => CatalogFile.parse(json).entries);
const RATE_KEYS = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'] as const;

/** `anthropic.claude-sonnet-4-5-20250929-v1:0` → { family: 'sonnet', version: 4.5 }; null for non-Claude ids. */
function claudeVersion(model: string): { family: string; version: number } | null {
  const m =
    /^anthropic\.claude-(sonnet|haiku|opus|fable)-(\d)(?:-(\d))?(?:-\d{8})?(?:-v\d+(?::\d+)?)?$/.exec(
      model,
    );
  if (m === null) return null;
  return { family: m[1] ?? '', version: Number(m[2]) + Number(m[3] ?? 0) / 10 };
}

/** Claude Sonnet 4.5 and every later Claude (Haiku 4.5, Opus 4.5+, Sonnet 4.6+, Fable 5), and Nova 2 Lite. */
function hasTwoPrices(model: string): boolean {
  if (model === 'amazon.nova-2-lite-v1:0') return true;
  const c = claudeVersion(model);
  return c !== null && c.version >= 4.5;
}

describe('the shipped catalog', () => {
  test('every file matches the schema', () => {
    assert.ok(FILES.length >= 8, `catalog files: ${FILES.join(', ')}`);
    for (const { file, json } of RAW) {
      const r = CatalogFile.safeParse(json);
      assert.ok(r.success, `${file}: ${JSON.stringify(r.error?.issues.slice(0, 3))}`);
      assert.ok(r.data.entries.length > 0, `${file} has no entries`);
    }
  });

  test('loads through loadCatalogDir with every entry', () => {
    const catalog = loadCatalogDir(DIR);
    assert.equal(catalog.entries.length, ENTRIES.length);
    assert.match(catalog.hash, /^[0-9a-f]{16}$/);
  });

  test('every rate is a decimal string that converts exactly to pico-USD per token', () => {
    for (const e of ENTRIES) {
      for (const k of RATE_KEYS) {
        const rate = e.usdPerMillionTokens[k];
        if (rate === undefined) continue;
        const perToken = parseUsdPerMillion(rate);
        assert.equal(perToken * 1_000_000n, parseUsd(rate), `${e.id} ${k} ${rate}`);
      }
    }
  });

  test('derived rates are exact: regional = base × 1.10, long context = × input/output multipliers', () => {
    const catalog = loadCatalogDir(DIR);
    for (const r of catalog.entries) {
      const { base, regional, longContextBase, entry } = r;
      for (const k of RATE_KEYS) {
        const b = base[k];
        const g = regional[k];
        if (b === null || g === null) {
          assert.equal(b, g, `${entry.id} ${k}`);
          continue;
        }
        if (entry.regionalPremium === undefined) assert.equal(g, b, `${entry.id} ${k}`);
        else assert.equal(g * 100n, b * 110n, `${entry.id} ${k}: ${g} is not ${b} × 1.10`);
      }
      if (entry.longContext !== undefined) {
        assert.ok(longContextBase !== null);
        assert.equal(longContextBase.input, base.input * 2n, entry.id);
        assert.equal((longContextBase.output ?? 0n) * 2n, (base.output ?? 0n) * 3n, entry.id);
      }
    }
  });

  test('ids are unique', () => {
    const seen = new Map<string, number>();
    for (const e of ENTRIES) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    const dups = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    assert.deepEqual(dups, []);
  });

  test('no two entries share (model, region, tier, effectiveFrom)', () => {
    const seen = new Set<string>();
    const dups: string[] = [];
    for (const e of ENTRIES) {
      for (const model of e.models) {
        for (const region of e.regions) {
          const key = `${model} ${region} ${e.tier} ${e.effectiveFrom}`;
          if (seen.has(key)) dups.push(key);
          seen.add(key);
        }
      }
    }
    assert.deepEqual(dups, []);
  });

  test('ids follow <family>/<regions>/<tier>/<effectiveFrom>', () => {
    for (const e of ENTRIES) {
      const regions = e.regions.join(',');
      assert.ok(e.id.endsWith(`/${regions}/${e.tier}/${e.effectiveFrom}`), e.id);
    }
  });

  test('models are canonical ids: no ARN and no profile prefix', () => {
    for (const e of ENTRIES) {
      for (const m of e.models) {
        assert.ok(!m.startsWith('arn:'), `${e.id}: ${m}`);
        assert.ok(!/^(us|eu|apac|jp|au|us-gov|ca|in|global)\./.test(m), `${e.id}: ${m}`);
      }
    }
  });

  test('regionalPremium is only on Claude Sonnet 4.5+ / Haiku 4.5 / Opus 4.5+ (and Nova 2 Lite), always 0.10', () => {
    const wrong = ENTRIES.filter(
      (e) => e.regionalPremium !== undefined && !e.models.every(hasTwoPrices),
    ).map((e) => e.id);
    assert.deepEqual(wrong, []);
    for (const e of ENTRIES) {
      if (e.regionalPremium !== undefined) assert.equal(e.regionalPremium, '0.10', e.id);
    }
  });

  test('and every such model has it', () => {
    const missing = ENTRIES.filter(
      (e) => e.regionalPremium === undefined && e.models.some(hasTwoPrices),
    ).map((e) => e.id);
    assert.deepEqual(missing, []);
  });

  test('the classifier behind those two checks reads old and new id forms', () => {
    const cases: [string, boolean][] = [
      ['anthropic.claude-sonnet-4-20250514-v1:0', false],
      ['anthropic.claude-opus-4-1-20250805-v1:0', false],
      ['anthropic.claude-3-7-sonnet-20250219-v1:0', false],
      ['anthropic.claude-sonnet-4-5-20250929-v1:0', true],
      ['anthropic.claude-haiku-4-5-20251001-v1:0', true],
      ['anthropic.claude-opus-4-6-v1', true],
      ['anthropic.claude-sonnet-4-6', true],
      ['anthropic.claude-opus-5', true],
      ['amazon.nova-2-lite-v1:0', true],
      ['amazon.nova-pro-v1:0', false],
    ];
    for (const [model, expected] of cases) assert.equal(hasTwoPrices(model), expected, model);
  });

  test('longContext is only on Claude Sonnet 4 and Sonnet 4.5', () => {
    const lc = ENTRIES.filter((e) => e.longContext !== undefined).flatMap((e) => e.models);
    assert.deepEqual(lc.sort(), [
      'anthropic.claude-sonnet-4-20250514-v1:0',
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
    ]);
  });

  test('embedding entries have no output or cache rates; no non-standard tier has cache rates', () => {
    for (const e of ENTRIES) {
      const r = e.usdPerMillionTokens;
      if (e.kind === 'embedding') assert.equal(r.output, undefined, e.id);
      if (e.tier !== 'standard') {
        assert.deepEqual(
          [r.cacheRead, r.cacheWrite5m, r.cacheWrite1h],
          [undefined, undefined, undefined],
          e.id,
        );
      }
    }
  });

  test('every tier in the catalog is a known tier', () => {
    for (const e of ENTRIES) assert.ok(TIERS.includes(e.tier), e.id);
  });
});

describe('catalogHash', () => {
  test('is stable: the same catalog loaded twice hashes the same', () => {
    assert.equal(loadCatalogDir(DIR).hash, loadCatalogDir(DIR).hash);
    assert.equal(catalogHash(ENTRIES), loadCatalogDir(DIR).hash);
  });

  test('ignores entry order and key order', () => {
    const shuffled = [...ENTRIES].reverse().map((e) => {
      const reordered = Object.fromEntries(Object.entries(e).reverse()) as PriceEntry;
      return reordered;
    });
    assert.equal(catalogHash(shuffled), catalogHash(ENTRIES));
  });

  test('changes when any price changes', () => {
    const base = catalogHash(ENTRIES);
    const changed = ENTRIES.map((e, i) =>
      i === 0 ? { ...e, usdPerMillionTokens: { ...e.usdPerMillionTokens, input: '9.99' } } : e,
    );
    assert.notEqual(catalogHash(changed), base);
    const oneMore = [
      ...ENTRIES,
      entry({ id: 'x/*/standard/2030-01-01', effectiveFrom: '2030-01-01' }),
    ];
    assert.notEqual(catalogHash(oneMore), base);
  });

  test('a changed decimal spelling is a changed catalog (the strings are hashed, not their values)', () => {
    const e = entry({});
    assert.notEqual(
      catalogHash([e]),
      catalogHash([{ ...e, usdPerMillionTokens: { ...e.usdPerMillionTokens, input: '1.0' } }]),
    );
  });
});

function entry(over: Partial<PriceEntry>): PriceEntry {
  return {
    id: 'test.model/*/standard/2025-01-01',
    models: ['test.model-v1:0'],
    regions: ['*'],
    tier: 'standard',
    effectiveFrom: '2025-01-01',
    usdPerMillionTokens: { input: '1.00', output: '2.00' },
    kind: 'text',
    source: 'https://example.com/prices',
    verifiedOn: '2026-01-01',
    ...over,
  };
}

const at = (iso: string): number => Date.parse(iso);

describe('find', () => {
  const M = 'test.model-v1:0';
  const catalog = buildCatalog([
    entry({ id: 'star/2025-01-01', effectiveFrom: '2025-01-01' }),
    entry({
      id: 'star/2025-06-01',
      effectiveFrom: '2025-06-01',
      usdPerMillionTokens: { input: '0.50', output: '1.00' },
    }),
    entry({
      id: 'eu/2025-03-01',
      regions: ['eu-west-1', 'eu-central-1'],
      effectiveFrom: '2025-03-01',
      usdPerMillionTokens: { input: '1.20', output: '2.40' },
    }),
    entry({ id: 'star/batch/2025-01-01', tier: 'batch', usdPerMillionTokens: { input: '0.50' } }),
    entry({ id: 'other/2025-01-01', models: ['test.other-v1:0', 'test.other-v2:0'] }),
  ]);
  const found = (
    model: string,
    region: string,
    iso: string,
    tier: 'standard' | 'batch' = 'standard',
  ) => {
    const f = catalog.find(model, region, tier, at(iso));
    return f === null ? null : [f.resolved.entry.id, f.early];
  };

  test('picks the latest entry with effectiveFrom ≤ the record time', () => {
    assert.deepEqual(found(M, 'us-east-1', '2025-03-15T00:00:00Z'), ['star/2025-01-01', false]);
    assert.deepEqual(found(M, 'us-east-1', '2026-01-01T00:00:00Z'), ['star/2025-06-01', false]);
  });

  test('effectiveFrom is the first UTC day of the price, inclusive', () => {
    assert.deepEqual(found(M, 'us-east-1', '2025-06-01T00:00:00.000Z'), ['star/2025-06-01', false]);
    assert.deepEqual(found(M, 'us-east-1', '2025-05-31T23:59:59.999Z'), ['star/2025-01-01', false]);
  });

  test('before the first entry: the earliest entry, flagged early', () => {
    assert.deepEqual(found(M, 'us-east-1', '2024-12-31T23:59:59.999Z'), ['star/2025-01-01', true]);
  });

  test('a Region-specific entry beats *, even when a newer * entry exists', () => {
    assert.deepEqual(found(M, 'eu-west-1', '2025-03-01T00:00:00Z'), ['eu/2025-03-01', false]);
    assert.deepEqual(found(M, 'eu-central-1', '2026-01-01T00:00:00Z'), ['eu/2025-03-01', false]);
  });

  test('before a Region-specific entry takes effect, the * entry then in force still applies', () => {
    // Appending a Region's own price must not reprice that Region's past records (entries are append-only).
    assert.deepEqual(found(M, 'eu-west-1', '2025-02-28T23:59:59.999Z'), ['star/2025-01-01', false]);
  });

  test('before everything, a Region with its own entry gets its earliest own entry, flagged early', () => {
    assert.deepEqual(found(M, 'eu-west-1', '2024-06-01T00:00:00Z'), ['eu/2025-03-01', true]);
  });

  test('the tier must match', () => {
    assert.deepEqual(found(M, 'us-east-1', '2025-03-15T00:00:00Z', 'batch'), [
      'star/batch/2025-01-01',
      false,
    ]);
    assert.equal(catalog.find(M, 'us-east-1', 'flex', at('2025-03-15T00:00:00Z')), null);
  });

  test('an entry may price several models; an unknown model has no entry', () => {
    assert.deepEqual(found('test.other-v2:0', 'ap-south-1', '2025-03-15T00:00:00Z'), [
      'other/2025-01-01',
      false,
    ]);
    assert.equal(found('test.unknown-v1:0', 'us-east-1', '2025-03-15T00:00:00Z'), null);
  });

  test('answers the same when asked again (cached candidates)', () => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(found(M, 'eu-west-1', '2025-02-01T00:00:00Z'), ['star/2025-01-01', false]);
      assert.deepEqual(found(M, 'eu-west-1', '2025-04-01T00:00:00Z'), ['eu/2025-03-01', false]);
    }
  });

  test('real catalog: Sonnet 5 promotional price ends on 2026-08-31', () => {
    const real = loadCatalogDir(DIR);
    const s5 = (iso: string) =>
      real.find('anthropic.claude-sonnet-5', 'us-east-1', 'standard', at(iso));
    assert.equal(s5('2026-08-31T23:59:59.999Z')?.resolved.entry.usdPerMillionTokens.input, '2.00');
    assert.equal(s5('2026-09-01T00:00:00Z')?.resolved.entry.usdPerMillionTokens.input, '3.00');
    assert.equal(s5('2026-06-01T00:00:00Z')?.early, true);
  });
});

describe('rates', () => {
  const catalog = buildCatalog([
    entry({
      usdPerMillionTokens: { input: '3.00', output: '15.00', cacheRead: '0.30' },
      regionalPremium: '0.10',
      longContext: { thresholdTokens: 200_000, inputMultiplier: '2', outputMultiplier: '1.5' },
    }),
  ]);
  const r = catalog.entries[0];

  test('global scope pays the base, geo and in-Region pay the premium, long context multiplies both', () => {
    assert.ok(r !== undefined);
    const pick = (scope: 'global' | 'geo' | 'in-region', lc: boolean) => {
      const x = catalog.rates(r, scope, lc);
      return [x.input, x.output, x.cacheRead, x.cacheWrite5m];
    };
    assert.deepEqual(pick('global', false), [3_000_000n, 15_000_000n, 300_000n, null]);
    assert.deepEqual(pick('geo', false), [3_300_000n, 16_500_000n, 330_000n, null]);
    assert.deepEqual(pick('in-region', false), [3_300_000n, 16_500_000n, 330_000n, null]);
    assert.deepEqual(pick('global', true), [6_000_000n, 22_500_000n, 600_000n, null]);
    assert.deepEqual(pick('geo', true), [6_600_000n, 24_750_000n, 660_000n, null]);
  });
});

describe('buildCatalog rejects', () => {
  const rejects = (entries: PriceEntry[], pattern: RegExp) =>
    assert.throws(
      () => buildCatalog(entries),
      (e: unknown) =>
        e instanceof AppError && e.code === 'price.catalog_invalid' && pattern.test(e.message),
    );

  test('a duplicate id', () => {
    rejects([entry({}), entry({ models: ['test.other'] })], /duplicate entry id/);
  });

  test('two entries for the same (model, region, tier, effectiveFrom)', () => {
    rejects(
      [entry({ id: 'a' }), entry({ id: 'b' })],
      /two entries price test\.model-v1:0 \* standard 2025-01-01/,
    );
  });

  test('an overlap through a shared model and region of multi-model, multi-region entries', () => {
    rejects(
      [
        entry({ id: 'a', models: ['m1', 'm2'], regions: ['us-east-1', 'us-west-2'] }),
        entry({ id: 'b', models: ['m3', 'm2'], regions: ['eu-west-1', 'us-west-2'] }),
      ],
      /m2 us-west-2/,
    );
  });

  test('but accepts the same model in another tier, Region or effectiveFrom', () => {
    const c = buildCatalog([
      entry({ id: 'a' }),
      entry({ id: 'b', tier: 'batch' }),
      entry({ id: 'c', regions: ['us-east-1'] }),
      entry({ id: 'd', effectiveFrom: '2025-02-01' }),
    ]);
    assert.equal(c.entries.length, 4);
  });

  test('a rate with more than 6 decimals per 1M tokens', () => {
    rejects([entry({ usdPerMillionTokens: { input: '0.0000001' } })], /more than 6 decimals/);
    rejects(
      [entry({ usdPerMillionTokens: { input: '1.00', cacheRead: '0.1234567' } })],
      /more than 6 decimals/,
    );
  });

  test('a premium or multiplier that does not give whole pico-USD', () => {
    rejects(
      [entry({ usdPerMillionTokens: { input: '0.000001' }, regionalPremium: '0.10' })],
      /not a whole pico/,
    );
    rejects(
      [
        entry({
          usdPerMillionTokens: { input: '1.00', output: '0.000001' },
          longContext: { thresholdTokens: 1, inputMultiplier: '2', outputMultiplier: '1.5' },
        }),
      ],
      /not a whole pico/,
    );
  });
});

describe('loadCatalogFiles', () => {
  test('names the file and the path of a schema error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-catalog-'));
    try {
      const file = join(dir, 'bad.json');
      const bad = { vendor: 'x', entries: [{ ...entry({}), usdPerMillionTokens: { input: 3 } }] };
      writeFileSync(file, JSON.stringify(bad));
      assert.throws(
        () => loadCatalogFiles([file]),
        (e: unknown) =>
          e instanceof AppError &&
          e.code === 'price.catalog_invalid' &&
          e.message.includes(file) &&
          e.message.includes('entries.0.usdPerMillionTokens.input'),
      );
      writeFileSync(file, '{ not json');
      assert.throws(() => loadCatalogFiles([file]), /not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
