/** Builds AttributedRecords for store and pipeline tests without going through a source. */
import { DIMENSIONS, UNALLOCATED } from '../../src/core/index.js';

let seq = 0;
export function makeRecord(over = {}) {
  seq++;
  const values = Object.fromEntries(DIMENSIONS.map((d) => [d, UNALLOCATED]));
  values.team = over.team ?? 'search';
  values.user = over.user ?? 'alice';
  const model = over.model ?? 'anthropic.claude-sonnet-4-5-20250929-v1:0';
  return {
    requestId: over.id ?? `req-${seq}`,
    occurredAt: Date.parse(over.at ?? '2026-03-02T10:00:00Z'),
    accountId: '111122223333',
    region: over.region ?? 'us-east-1',
    inferenceRegion: null,
    operation: 'Converse',
    modelId: `us.${model}`,
    identityArn: 'arn:aws:sts::111122223333:assumed-role/App/alice',
    requestMetadata: over.metadata ?? { team: values.team },
    tokens: {
      input: over.input ?? 100,
      output: over.output ?? 10,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
    },
    cacheTtlKnown: true,
    tier: 'standard',
    latencyMs: 100,
    firstByteMs: null,
    errorCode: over.errorCode ?? null,
    source: { uri: '/logs/a.jsonl', line: seq },
    model: {
      raw: `us.${model}`,
      base: model,
      profile: `us.${model}`,
      scope: 'geo',
      geo: 'us',
      form: 'profile-id',
      profileTags: {},
    },
    flags: over.cost === null ? ['unpriced'] : [],
    cost: {
      picos: over.cost === undefined ? 1000000n : over.cost,
      priceId: over.cost === null ? null : 'p1',
      catalogHash: 'h',
    },
    attribution: { values, rules: { team: 'requestMetadata.team' } },
  };
}
//# sourceMappingURL=records.js.map
