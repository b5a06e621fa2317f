/** Today's search-team spend put in a gateway's ledger before it starts: what its budgets start from. */
import { ledgerRecord } from '../../src/pipeline/index.ts';
import type { Runtime } from '../../src/runtime.ts';

/** 100,000 Haiku 4.5 output tokens, global profile: exactly $0.50 (500,000,000,000 pico-USD). */
export const SEARCH_SPEND_PICOS = 500_000_000_000n;

/** Writes one record of today's search spend ($0.50) to the runtime's ledger; returns its cost in pico-USD. */
export async function seedSearchSpend(rt: Runtime): Promise<bigint | null> {
  const record = ledgerRecord(rt, {
    requestId: 'seed-1',
    occurredAt: Date.now(),
    accountId: 'gateway',
    region: 'us-east-1',
    inferenceRegion: null,
    operation: 'InvokeModel',
    modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
    identityArn: null,
    requestMetadata: { team: 'search' },
    tokens: { input: 0, output: 100_000, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    cacheTtlKnown: true,
    tier: 'standard',
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'seed', line: 1 },
  });
  await rt.store.writeUsage({ records: [record], rejects: [], checkpoints: [] });
  return record.cost.picos;
}
