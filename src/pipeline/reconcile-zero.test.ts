/**
 * A call that billed no token (throttled, refused) in a group the bill has no line for still carries billed
 * dollars after reconciliation: $0, so "every record of the month carries billed dollars" holds.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeRecord } from '../../test/support/records.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { createLocalObjectStore } from '../sources/index.ts';
import { createDuckDbStore } from '../store/index.ts';
import { ingestCur } from './ingest-cur.ts';

const tmp = tempDir();
after(() => tmp.remove());

test('a zero-token record in a group the bill does not mention is billed $0', async () => {
  const store = await createDuckDbStore({ path: join(tmp.path, 'ledger.duckdb') });
  try {
    await store.migrate();
    const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
    await store.writeUsage({
      records: [
        makeRecord({
          id: 'paid',
          at: '2026-03-02T10:00:00Z',
          cost: 1_000_000n,
          input: 200,
          output: 0,
          model: SONNET,
        }),
        makeRecord({
          id: 'throttled',
          at: '2026-03-02T11:00:00Z',
          cost: 0n,
          input: 0,
          output: 0,
          model: SONNET,
          region: 'eu-west-1',
          errorCode: 'ThrottlingException',
        }),
      ],
      rejects: [],
      checkpoints: [],
    });
    const dir = join(tmp.path, 'cur', 'data', 'BILLING_PERIOD=2026-03');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'part-1.csv'),
      'bill_payer_account_id,bill_billing_period_start_date,line_item_usage_account_id,line_item_usage_start_date,' +
        'line_item_product_code,line_item_usage_type,line_item_line_item_type,line_item_usage_amount,pricing_unit,' +
        'line_item_unblended_cost,product_product_family\n' +
        '999988887777,2026-03-01T00:00:00Z,111122223333,2026-03-02T00:00:00Z,AmazonBedrock,' +
        'USE1-Claude4.5Sonnet-input-tokens-cross-region-geo,Usage,200,tokens,0.000002,Amazon Bedrock\n',
    );
    await ingestCur({ store, objects: createLocalObjectStore() }, [join(tmp.path, 'cur')]);
    const data = await store.reconciler.reconcile('2026-03', { allocate: true });
    assert.ok(data.allocation);
    assert.equal(data.allocation.records, data.allocation.periodRecords);
    assert.equal((await store.getRecord('throttled'))?.billed_pusd, 0n);
    assert.notEqual((await store.getRecord('paid'))?.billed_pusd, null);
  } finally {
    await store.close();
  }
});
