/**
 * The cached row encoder gives `encodeRow(ledgerRecord(raw))` to the byte, and the same price, for calls that vary
 * in every field RawUsage has: the cache must never hand one call another's shared columns or rate card.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RawUsage, Tier } from '../core/index.ts';
import { defaultCatalogDir } from '../price/index.ts';
import { openPricing } from '../runtime.ts';
import { encodeRow } from '../store/index.ts';
import { createRowEncoder, ledgerRecord } from './row-encoder.ts';

const pricing = openPricing({
  configPath: join(import.meta.dirname, '..', 'config', 'testdata', 'valid.yaml'),
  env: { TL_CATALOG_DIR: defaultCatalogDir() },
});

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODELS = [
  'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
  'anthropic.claude-3-haiku-20240307-v1:0',
  'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0',
  'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6',
  'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/unknown00001',
  'example.not-a-model-v9:0',
  // Their prices change at midnight UTC within the times below (a new entry; the first one in force).
  'global.anthropic.claude-sonnet-5',
  'us.anthropic.claude-opus-4-7',
];
const IDENTITIES = [
  null,
  'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Search_0123456789abcdef/ana@example.com',
  'arn:aws:sts::111122223333:assumed-role/batch-runner/i-0123456789abcdef0',
  'arn:aws:iam::444455556666:user/ci-bot',
];
const METADATA: Record<string, string>[] = [
  {},
  { team: 'search', user: 'ana@example.com' },
  { team: 'search', user: 'ana@example.com', ticket: 'T-9' },
  { feature: 'chat', cc: '4711', session: 's-1' },
  { gateway_key: 'k1', team: 'payments', note: 'quote " and \\ and \n' },
];
const TIERS: (Tier | null)[] = [null, 'standard', 'priority', 'flex'];
const DAY = 86_400_000;

function calls(n: number, seed: number): RawUsage[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const tokens = () => (r() < 0.2 ? 0 : Math.floor(r() ** 3 * 300_000));
  // Two days either side of catalog entries' first days: 2026-04-16 and 2026-09-01.
  const starts = [Date.parse('2026-04-14T00:00:00Z'), Date.parse('2026-08-30T00:00:00Z')];
  return Array.from({ length: n }, (_, i) => ({
    requestId: r() < 0.05 ? `id-with-"quote"-${i}` : `req-${seed}-${i}`,
    occurredAt: pick(starts) + Math.floor(r() * 4 * DAY),
    accountId: pick(['111122223333', '444455556666']),
    region: pick(['us-east-1', 'us-west-2', 'eu-central-1', 'xx-nowhere-1']),
    inferenceRegion: pick([null, 'us-east-2']),
    operation: pick(['Converse', 'ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream']),
    modelId: pick(MODELS),
    identityArn: pick(IDENTITIES),
    requestMetadata: pick(METADATA),
    tokens: {
      input: tokens(),
      output: tokens(),
      cacheRead: tokens(),
      cacheWrite5m: tokens(),
      cacheWrite1h: r() < 0.7 ? 0 : tokens(),
    },
    cacheTtlKnown: r() < 0.8,
    tier: pick(TIERS),
    latencyMs: r() < 0.1 ? null : Math.floor(r() * 30_000),
    firstByteMs: r() < 0.5 ? null : Math.floor(r() * 5_000),
    errorCode: r() < 0.1 ? pick(['ThrottlingException', 'ValidationException']) : null,
    source: { uri: 'gateway', line: 0 },
  }));
}

test('each call encodes to encodeRow(ledgerRecord(call)) and its price, with shapes shared across calls', () => {
  const encoder = createRowEncoder(pricing);
  const all = calls(4_000, 7);
  let priced = 0;
  // A key's shape is made by its second call: the later passes encode every call with a shape, made by another call
  // of the same key (a component missing from the key shows as two calls that differ in it sharing a shape).
  for (let pass = 0; pass < 3; pass++) {
    for (const raw of all) {
      const want = ledgerRecord(pricing, raw);
      const got = encoder.encode(raw);
      assert.equal(got.row, encodeRow(want), `call ${raw.requestId}, pass ${pass}`);
      assert.equal(got.picos, want.cost.picos, `price of ${raw.requestId}, pass ${pass}`);
      if (pass === 0 && got.picos !== null && got.picos > 0n) priced++;
    }
  }
  // The generator covers priced and unpriced calls, and long-context ones (input up to 300k tokens).
  assert.ok(priced > 1_000 && priced < all.length, `priced ${priced}`);
  assert.ok(
    all.some((raw) => ledgerRecord(pricing, raw).flags.includes('long_context')),
    'some call is long-context',
  );
});

test('calls of one caller and model that differ only per call share a shape and still differ where they must', () => {
  const encoder = createRowEncoder(pricing);
  const [a, b] = calls(2, 11).map((raw, i) => ({
    ...raw,
    ...calls(1, 12)[0],
    requestId: `same-shape-${i}`,
    occurredAt: Date.parse('2026-03-02T10:00:00Z') + i * 1_000,
    tokens: { input: 10 + i, output: 20 + i, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    errorCode: i === 0 ? null : 'ThrottlingException',
  })) as [RawUsage, RawUsage];
  // The first two calls make the shape (a key's second call does); the next two use it.
  encoder.encode(a);
  encoder.encode(b);
  const ra = encoder.encode(a).row;
  const rb = encoder.encode(b).row;
  assert.equal(ra, encodeRow(ledgerRecord(pricing, a)));
  assert.equal(rb, encodeRow(ledgerRecord(pricing, b)));
  assert.notEqual(ra, rb);
});
