/**
 * Golden tests: every record shape of bedrock.md §1 (testdata/*) through parse → normalise → price → attribute,
 * compared with testdata/<case>.golden.json. The exact-cost assertions below are computed by hand from the
 * catalog's published per-1M prices, so a golden cannot silently absorb a pricing bug.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertGolden, toGoldenJson } from '../../../test/support/golden.ts';
import { createAttributor } from '../../attribute/index.ts';
import { parseConfig } from '../../config/index.ts';
import { type AttributedRecord, formatUsd, type Reject } from '../../core/index.ts';
import { createNormaliser } from '../../normalise/index.ts';
import { defaultCatalogDir, loadCatalogDir, priceRecord } from '../../price/index.ts';
import { createLocalObjectStore } from '../local-object-store.ts';
import { readLogObject } from './read.ts';
import type { LogFormat } from './records.ts';

const dir = join(import.meta.dirname, 'testdata');
const config = parseConfig(
  readFileSync(join(dir, 'tokenledger.yaml'), 'utf8'),
  'tokenledger.yaml',
  {},
);
const catalog = loadCatalogDir(defaultCatalogDir());
const profiles = new Map(Object.entries(config.inferenceProfiles));
const normaliser = createNormaliser((arn) => profiles.get(arn));
const attributor = createAttributor(config.attribution);
const store = createLocalObjectStore();

async function run(
  file: string,
  format: LogFormat = 'auto',
): Promise<{ records: AttributedRecord[]; rejects: Reject[] }> {
  const path = join(dir, file);
  const records: AttributedRecord[] = [];
  const rejects: Reject[] = [];
  const info = { uri: path, size: 0, version: 'v' };
  for await (const batch of readLogObject(store, info, {
    format,
    afterLine: 0,
    batchLines: 3,
    onBytes() {},
  })) {
    for (const item of batch.items) {
      if ('reject' in item) rejects.push(item.reject);
      else
        records.push(attributor.attribute(priceRecord(normaliser.normalise(item.usage), catalog)));
    }
  }
  return { records, rejects };
}

function view(r: AttributedRecord) {
  const values = Object.fromEntries(
    Object.entries(r.attribution.values).filter(([, v]) => v !== 'unallocated'),
  );
  return {
    requestId: r.requestId,
    line: r.source.line,
    time: new Date(r.occurredAt).toISOString(),
    operation: r.operation,
    region: r.region,
    inferenceRegion: r.inferenceRegion,
    model: { ...r.model },
    tier: r.tier,
    tokens: r.tokens,
    latencyMs: r.latencyMs,
    firstByteMs: r.firstByteMs,
    errorCode: r.errorCode,
    flags: r.flags,
    cost_usd: r.cost.picos === null ? null : formatUsd(r.cost.picos),
    priceId: r.cost.priceId,
    attribution: { values, rules: r.attribution.rules },
  };
}

const cases = readdirSync(dir).filter((f) => !f.endsWith('.golden.json') && !f.endsWith('.yaml'));

describe('invocation-log goldens', () => {
  for (const file of cases) {
    test(file, async () => {
      const { records, rejects } = await run(file);
      const golden = {
        records: records.map(view),
        rejects: rejects.map((r) => ({ line: r.source.line, reason: r.reason })),
      };
      assertGolden(join(dir, file.replace(/\.[a-z]+$/, '.golden.json')), toGoldenJson(golden));
    });
  }
});

describe('exact costs, computed by hand from per-1M prices', () => {
  const costOf = async (file: string, requestId: string) => {
    const { records } = await run(file);
    const r = records.find((x) => x.requestId === requestId);
    assert.ok(r, `${requestId} not found in ${file}`);
    return r;
  };

  test('AWS doc example: Sonnet 4 bare id, 25 in × $3 + 150 out × $15', async () => {
    const r = await costOf('aws-doc-example.json', 'abcd1234-5678-efgh-ijkl-mnopqrstuvwx');
    assert.equal(formatUsd(r.cost.picos ?? -1n), '0.002325');
    // AWS's example is dated before Sonnet 4 existed: priced at the model's earliest price, and flagged.
    assert.ok(r.flags.includes('price_before_effective'));
    assert.equal(r.attribution.values.team, 'orchestrator');
    assert.equal(r.attribution.rules.team, 'requestMetadata.team');
    assert.equal(r.attribution.values.user, 'session-name');
  });

  test('verbatim global-profile ARN: Opus 4.6 global, cache read/write, TTL unknown', async () => {
    const r = await costOf(
      'global-profile-arn-offloaded.jsonl',
      '081f659f-fc8a-40ce-8a6b-688bcaa9c628',
    );
    // 1×5 + 129,709×0.50 + 411×6.25 + 326×25 = 75,578.25 per 1M
    assert.equal(formatUsd(r.cost.picos ?? -1n), '0.07557825');
    assert.equal(r.model.base, 'anthropic.claude-opus-4-6-v1');
    assert.equal(r.model.scope, 'global');
    assert.equal(r.region, 'us-east-1');
    assert.ok(r.flags.includes('cache_ttl_unknown'));
    assert.ok(r.flags.includes('tier_unknown'));
    assert.equal(r.attribution.values.user, 'endpoint-priv-ec2-cli');
  });

  test('us. Sonnet 4.5: +10 % and a 1h + 5m cache-write split from cacheDetails', async () => {
    const r = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000002');
    // 50×3.30 + 10,000×0.33 + 1,000×4.125 + 2,000×6.60 + 400×16.50 = 27,390 per 1M
    assert.deepEqual(r.tokens, {
      input: 50,
      output: 400,
      cacheRead: 10000,
      cacheWrite5m: 1000,
      cacheWrite1h: 2000,
    });
    assert.equal(formatUsd(r.cost.picos ?? -1n), '0.02739');
  });

  test('Sonnet 4 long context: 200,001 total input tokens → whole request at 2× / 1.5×', async () => {
    const r = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000008');
    // 150,000×6 + 40,000×0.60 + 10,001×7.50 + 2,000×22.50 = 1,044,007.5 per 1M
    assert.equal(formatUsd(r.cost.picos ?? -1n), '1.0440075');
    assert.ok(r.flags.includes('long_context'));
    assert.equal(r.attribution.values.team, 'data-science');
    assert.equal(r.attribution.rules.team, 'rule:etl-role');
  });

  test('Nova Micro: cache read at $0.00875/1M, cache writes at $0', async () => {
    const r = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000010');
    // 1,000×0.035 + 8,000×0.00875 + 2,000×0 + 100×0.14 = 119 per 1M
    assert.equal(formatUsd(r.cost.picos ?? -1n), '0.000119');
    assert.equal(r.attribution.values.cost_center, 'CC-220');
  });

  test('application inference profile resolves to its model, scope and tags', async () => {
    const r = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000006');
    assert.equal(r.model.base, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.equal(r.model.scope, 'geo');
    // 900×3.30 + 60×16.50 = 3,960 per 1M
    assert.equal(formatUsd(r.cost.picos ?? -1n), '0.00396');
    assert.equal(r.attribution.values.team, 'support');
    assert.equal(r.attribution.rules.team, 'profile.tags.team');
  });

  test('service tier: a Converse body without one is the default tier; an InvokeModel body leaves it unknown', async () => {
    // Converse states the tier in its body (serviceTier); InvokeModel in a header the log does not keep.
    const converse = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000002');
    assert.equal(converse.tier, 'standard');
    assert.ok(!converse.flags.includes('tier_unknown'));
    const invoke = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000003');
    assert.equal(invoke.tier, null);
    assert.ok(invoke.flags.includes('tier_unknown'));
    // Priced at the standard tier all the same.
    assert.equal(invoke.cost.priceId, 'anthropic.claude-haiku-4-5/*/standard/2025-10-01');
  });

  test('an unknown model is unpriced, flagged, never $0', async () => {
    const r = await costOf('operations.jsonl', '0b7c2a1e-0001-4000-8000-000000000009');
    assert.equal(r.cost.picos, null);
    assert.ok(r.flags.includes('unpriced'));
  });

  test('malformed lines are rejected with line and reason; the rest is kept', async () => {
    const { records, rejects } = await run('malformed.jsonl');
    assert.deepEqual(
      records.map((r) => r.source.line),
      [1, 10],
    );
    assert.deepEqual(
      rejects.map((r) => r.source.line),
      [2, 3, 4, 5, 6, 7, 9],
    );
  });

  test('--format: cloudwatch and json read a pretty-printed document; ndjson reads lines only', async () => {
    const file = 'cloudwatch-filter-log-events.json';
    assert.equal((await run(file, 'cloudwatch')).records.length, 2);
    assert.equal((await run(file, 'json')).records.length, 2);
    const lines = await run(file, 'ndjson');
    assert.equal(lines.records.length, 0);
    assert.ok(lines.rejects.length > 0);
  });
});
