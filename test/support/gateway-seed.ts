/**
 * A nearly spent budget for the concurrency tests: today's search-team spend put in a gateway's ledger before it
 * starts (what its budgets start from), and the `gateway:` section of a $0.55 daily search budget.
 */
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

/** The `gateway:` section's body (indented two spaces): a $0.55 daily hard budget for team search, a quick spool. */
export const SEARCH_DAILY_BUDGET_YAML = [
  '  budgets:',
  '    - name: search-daily',
  '      scope: { team: search }',
  "      amountUsd: '0.55'",
  '      period: daily',
  '  spool:',
  '    flushMs: 50',
].join('\n');
