/**
 * Client-only telemetry rows (source `telemetry`, account `unknown`: calls only the client saw) stand in for missing
 * invocation logs in the ledger, but reconciliation and the CloudWatch coverage check compare the bill and the
 * metrics with what Bedrock logged: such rows must not fill a logging gap, appear as an `unknown` account, have
 * quiet hours of their own, or take a share of the bill.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeRecord } from '../../test/support/records.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import type { AttributedRecord } from '../core/index.ts';
import { createLocalObjectStore } from '../sources/index.ts';
import { createDuckDbStore, type Store } from '../store/index.ts';
import { ingestCur } from './ingest-cur.ts';

const tmp = tempDir();
let store: Store;
after(async () => {
  await store.close();
  tmp.remove();
});

const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const HOUR = 3_600_000;

/** A client-only row as telemetry-match writes it: request id `otel:…`, account unknown, source `telemetry`. */
function clientOnly(id: string, at: string, input: number): AttributedRecord {
  const r = makeRecord({ id: `otel:${id}`, at, input, output: 0, model: SONNET });
  return { ...r, accountId: 'unknown', identityArn: null, source: { uri: 'telemetry', line: 0 } };
}

before(async () => {
  store = await createDuckDbStore({ path: join(tmp.path, 'ledger.duckdb') });
  await store.migrate();
  const logged = (id: string, at: string) =>
    makeRecord({ id, at, cost: 1_000_000n, input: 200, output: 0, model: SONNET });
  // A busy client on the 3rd, five calls an hour except at noon: the quiet-hours pattern, for account `unknown`.
  const busy: AttributedRecord[] = [];
  for (let h = 0; h < 24; h++) {
    if (h === 12) continue;
    for (let i = 0; i < 5; i++) {
      const at = new Date(Date.parse('2026-03-03T00:00:00Z') + h * HOUR + i * 60_000);
      busy.push(clientOnly(`busy-${h}-${i}`, at.toISOString(), 10));
    }
  }
  await store.writeUsage({
    records: [
      logged('a', '2026-03-02T10:00:00Z'),
      logged('b', '2026-03-02T11:00:00Z'),
      logged('c', '2026-03-02T12:00:00Z'),
      // As many tokens as CloudWatch counted at 14:00, which no invocation log holds.
      clientOnly('gap', '2026-03-02T14:30:00Z', 250),
      ...busy,
    ],
    rejects: [],
    checkpoints: [],
  });

  const dir = join(tmp.path, 'cur', 'data', 'BILLING_PERIOD=2026-03');
  mkdirSync(dir, { recursive: true });
  const header =
    'bill_payer_account_id,bill_billing_period_start_date,line_item_usage_account_id,line_item_usage_start_date,' +
    'line_item_product_code,line_item_usage_type,line_item_line_item_type,line_item_usage_amount,pricing_unit,' +
    'line_item_unblended_cost,product_product_family';
  const usage = (day: string, tokens: string, cost: string) =>
    `999988887777,2026-03-01T00:00:00Z,111122223333,2026-03-${day}T00:00:00Z,AmazonBedrock,` +
    `USE1-Claude4.5Sonnet-input-tokens-cross-region-geo,Usage,${tokens},tokens,${cost},Amazon Bedrock`;
  writeFileSync(
    join(dir, 'part-1.csv'),
    `${[header, usage('02', '600', '0.000006'), usage('03', '1150', '0.0000115')].join('\n')}\n`,
  );
  await ingestCur({ store, objects: createLocalObjectStore() }, [join(tmp.path, 'cur')]);

  // CloudWatch without an account (the fetch did not say which): it matches ledger rows of any account.
  const point = (at: string, value: number) => ({
    region: 'us-east-1',
    account: '',
    namespace: 'AWS/Bedrock',
    metric: 'InputTokenCount',
    modelId: `us.${SONNET}`,
    tier: 'standard',
    stat: 'Sum',
    periodSeconds: 3600,
    at: Date.parse(at),
    value,
    source: 'test',
  });
  await store.metrics.write([
    point('2026-03-02T10:00:00Z', 200),
    point('2026-03-02T14:00:00Z', 250),
  ]);
});

test('a client-only row does not hide an hour CloudWatch counted and no log holds', async () => {
  const coverage = await store.metrics.coverage(
    Date.parse('2026-03-02T00:00:00Z'),
    Date.parse('2026-03-03T00:00:00Z'),
  );
  assert.equal(coverage.covered, true);
  assert.deepEqual(
    coverage.gaps.map((g) => [new Date(g.hour).toISOString(), g.metricTokens, g.loggedTokens]),
    [['2026-03-02T14:00:00.000Z', 250n, 0n]],
  );
});

test('reconciliation compares and allocates logged records only: no `unknown` account, no quiet hours of its own', async () => {
  const data = await store.reconciler.reconcile('2026-03', { allocate: true });
  assert.deepEqual(
    data.groups.map((g) => [g.account, g.records, g.loggedTokens]),
    [['111122223333', 3, 600n]],
  );
  assert.deepEqual(data.quietHours, []);
  assert.ok(data.allocation);
  assert.equal(data.allocation.periodRecords, 3);
  assert.equal(data.allocation.records, 3);
  assert.equal((await store.getRecord('otel:gap'))?.billed_pusd, null);
  assert.equal((await store.getRecord('otel:busy-3-0'))?.billed_pusd, null);
  assert.notEqual((await store.getRecord('a'))?.billed_pusd, null);
});
