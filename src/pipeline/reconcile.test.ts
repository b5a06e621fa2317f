/**
 * Reconciliation on a small hand-built month: the bill's net usage is allocated to records in proportion to their
 * estimates, exact to the pico (largest remainder), billed usage with no logs becomes billed-only rows under the
 * bill's own attribution, and each discrepancy is named.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeRecord } from '../../test/support/records.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { explainReconciliation, runReconciliation, runReport } from '../analyse/index.ts';
import { createLocalObjectStore } from '../sources/index.ts';
import { createDuckDbStore, type Store } from '../store/index.ts';
import { ingestCur } from './ingest-cur.ts';
import { ingestMetricFiles } from './ingest-metrics.ts';

const tmp = tempDir();
let store: Store;
after(async () => {
  await store.close();
  tmp.remove();
});

const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const COLUMNS = [
  'bill_payer_account_id',
  'bill_billing_period_start_date',
  'line_item_usage_account_id',
  'line_item_usage_start_date',
  'line_item_product_code',
  'line_item_usage_type',
  'line_item_line_item_type',
  'line_item_usage_amount',
  'pricing_unit',
  'line_item_unblended_cost',
  'product_product_family',
  'line_item_iam_principal',
  'tags',
  'line_item_line_item_description',
];
function line(
  day: string,
  usageType: string,
  type: string,
  amount: string,
  cost: string,
  extra: Partial<Record<string, string>> = {},
) {
  const v: Record<string, string> = {
    bill_payer_account_id: '999988887777',
    bill_billing_period_start_date: '2026-03-01T00:00:00Z',
    line_item_usage_account_id: '111122223333',
    line_item_usage_start_date: `2026-03-${day}T00:00:00Z`,
    line_item_product_code: 'AmazonBedrock',
    line_item_usage_type: usageType,
    line_item_line_item_type: type,
    line_item_usage_amount: amount,
    pricing_unit: amount === '' ? '' : 'tokens',
    line_item_unblended_cost: cost,
    product_product_family: 'Amazon Bedrock',
    ...extra,
  };
  return COLUMNS.map((c) => {
    const s = v[c] ?? '';
    return /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  }).join(',');
}

before(async () => {
  store = await createDuckDbStore({ path: join(tmp.path, 'ledger.duckdb') });
  await store.migrate();
  const rec = (id: string, at: string, cost: bigint, input: number) =>
    makeRecord({ id, at, cost, input, output: 0, model: SONNET, region: 'us-east-1' });
  await store.writeUsage({
    records: [
      rec('a', '2026-03-02T10:00:00Z', 1_000_000n, 100),
      rec('b', '2026-03-02T11:00:00Z', 2_000_000n, 200),
      rec('c', '2026-03-02T12:00:00Z', 3_000_000n, 300),
      rec('d', '2026-03-03T09:00:00Z', 5_000_000n, 500),
    ],
    rejects: [],
    checkpoints: [],
  });
  const dir = join(tmp.path, 'cur', 'data', 'BILLING_PERIOD=2026-03');
  mkdirSync(dir, { recursive: true });
  const ut = 'USE1-Claude4.5Sonnet-input-tokens-cross-region-geo';
  writeFileSync(
    join(dir, 'part-1.csv'),
    `${[
      COLUMNS.join(','),
      line('02', ut, 'Usage', '600', '0.000007'),
      line('02', ut, 'EdpDiscount', '', '-0.0000007'),
      // A credit and a refund that name the usage type they offset (as real CUR lines often do): credits, never
      // a discount of that usage nor part of what is allocated to its records.
      line('02', ut, 'Credit', '', '-0.000001'),
      line('02', ut, 'Refund', '', '-0.0000005'),
      line('03', ut, 'Usage', '500', '0.000005'),
      line('03', ut, 'EdpDiscount', '', '-0.0000005'),
      // No logs from eu-central-1 at all; the bill says who called.
      line('04', 'EUC1-Claude4.5Sonnet-input-tokens', 'Usage', '1000', '0.5', {
        line_item_iam_principal: 'arn:aws:sts::111122223333:assumed-role/MlRole/jane',
        tags: '{"iamPrincipal/team":"ml"}',
      }),
      line('05', 'USE1-NovaLite-input-tokens-batch', 'Usage', '1000', '0.00003'),
      line('10', '', 'Credit', '', '-1.00', {
        line_item_line_item_description: 'Promotional credit',
      }),
      line('01', '', 'Tax', '', '0.10'),
    ].join('\n')}\n`,
  );
  await ingestCur({ store, objects: createLocalObjectStore() }, [join(tmp.path, 'cur')]);
});

test('billed net usage is allocated exactly; what no record carries is billed-only under the bill’s attribution', async () => {
  const data = await store.reconciler.reconcile('2026-03', { allocate: true });
  const net = 7_000_000n - 700_000n + 5_000_000n - 500_000n + 500_000_000_000n + 30_000_000n;
  assert.equal(data.totals.usage + data.totals.discount, net);
  assert.equal(data.totals.credit, -1_000_000_000_000n - 1_000_000n - 500_000n);
  assert.ok(data.allocation);
  assert.equal(data.allocation.toRecords + data.allocation.billedOnly, net, 'to the pico');
  // 6,300,000 over weights 1:2:3 → 1,050,000 / 2,100,000 / 3,150,000; the 3rd of March's record takes 4,500,000.
  const billed = async (id: string) => (await store.getRecord(id))?.billed_pusd;
  assert.deepEqual(
    [await billed('a'), await billed('b'), await billed('c'), await billed('d')],
    [1_050_000n, 2_100_000n, 3_150_000n, 4_500_000n],
  );
  assert.equal(data.allocation.records, 4);

  const byTeam = await runReport(
    store,
    { by: ['team'], where: [], cost: 'billed' },
    Date.parse('2026-03-31T00:00:00Z'),
  );
  assert.equal(byTeam.total.costPicos, net);
  const ml = byTeam.rows.find((r) => r.keys.team === 'ml');
  assert.equal(
    ml?.costPicos,
    500_000_000_000n,
    'the eu-central-1 usage, attributed from iamPrincipal/team',
  );
  assert.equal(ml?.requests, 0, 'billed-only rows are not requests');
  const list = await runReport(
    store,
    { by: ['team'], where: [], cost: 'list' },
    Date.parse('2026-03-31T00:00:00Z'),
  );
  assert.equal(list.total.costPicos, 11_000_000n);

  // Again: the same allocation, nothing doubled.
  const again = await store.reconciler.reconcile('2026-03', { allocate: true });
  assert.deepEqual(again.allocation, data.allocation);
});

test('each discrepancy is found and named', async () => {
  const r = explainReconciliation(await store.reconciler.reconcile('2026-03', { allocate: false }));
  const kinds = r.findings.map((f) => f.kind).sort();
  // The bill charges 12,000,000 picos for tokens the catalog estimates at 11,000,000: a price difference too.
  // Three credits: the promotional one, and the credit and refund that name a usage type.
  assert.deepEqual(kinds, [
    'batch',
    'credit',
    'credit',
    'credit',
    'discount',
    'no_logging',
    'price',
    'tax',
  ]);
  assert.match(
    r.findings.find((f) => f.kind === 'price')?.message ?? '',
    /claude-sonnet-4-5.*us-east-1/,
  );
  const discount = r.findings.find((f) => f.kind === 'discount');
  assert.match(
    discount?.message ?? '',
    /\(0\.00 %\)/,
    'a tiny discount next to $0.50 of usage rounds to 0.00 %',
  );
  assert.match(
    r.findings.find((f) => f.kind === 'no_logging')?.message ?? '',
    /111122223333 in eu-central-1/,
  );
  assert.match(
    r.findings.find((f) => f.kind === 'credit')?.message ?? '',
    /credit −\$1\.00 from 2026-03-10 \(Promotional credit\)/,
  );
  const euc = r.rows.find((g) => g.region === 'eu-central-1');
  assert.match(euc?.cause ?? '', /no invocation logs/);
  const use1 = r.rows.find((g) => g.region === 'us-east-1' && g.tier === 'standard');
  // Billed 7M + 5M at list, discounts −0.7M − 0.5M, estimated 11M.
  assert.equal(use1?.variance, 12_000_000n - 1_200_000n - 11_000_000n);
  assert.match(use1?.cause ?? '', /catalog price differs.*negotiated discount/);
});

test('with CloudWatch metrics, missing hours are exact and log-delivery failures are named', async () => {
  const dir = join(tmp.path, 'cw');
  mkdirSync(dir, { recursive: true });
  const query = (id: string, metric: string, dims: { Name: string; Value: string }[]) => ({
    Id: id,
    MetricStat: {
      Metric: { Namespace: 'AWS/Bedrock', MetricName: metric, Dimensions: dims },
      Period: 3600,
      Stat: 'Sum',
    },
    ReturnData: true,
  });
  const model = [{ Name: 'ModelId', Value: `us.${SONNET}` }];
  writeFileSync(
    join(dir, '2026-03-02.json'),
    JSON.stringify({
      Region: 'us-east-1',
      AccountId: '111122223333',
      MetricDataQueries: [
        query('m0', 'InputTokenCount', model),
        query('m1', 'ModelInvocationLogsS3DeliveryFailure', []),
      ],
      MetricDataResults: [
        {
          Id: 'm0',
          Label: 'InputTokenCount',
          Timestamps: ['2026-03-02T10:00:00Z', '2026-03-02T14:00:00Z', '2026-03-02T15:00:00Z'],
          Values: [100, 250, 300],
          StatusCode: 'Complete',
        },
        {
          Id: 'm1',
          Label: 'failures',
          Timestamps: ['2026-03-02T14:00:00Z'],
          Values: [2],
          StatusCode: 'Complete',
        },
      ],
      Messages: [],
    }),
  );
  const summary = await ingestMetricFiles({ store, objects: createLocalObjectStore() }, [dir], {});
  assert.deepEqual([summary.points, summary.rejects.length], [4, 0]);
  const again = await ingestMetricFiles({ store, objects: createLocalObjectStore() }, [dir], {});
  assert.equal(again.points, 4, 'read again, stored once');

  const stored = await store.metrics.points(
    Date.parse('2026-03-02T00:00:00Z'),
    Date.parse('2026-03-03T00:00:00Z'),
  );
  assert.deepEqual(
    stored.map(
      (p) =>
        `${p.metric} ${p.modelId || '(account)'} ${new Date(p.at).toISOString().slice(11, 13)} ${p.value}`,
    ),
    [
      `InputTokenCount us.${SONNET} 10 100`,
      `InputTokenCount us.${SONNET} 14 250`,
      'ModelInvocationLogsS3DeliveryFailure (account) 14 2',
      `InputTokenCount us.${SONNET} 15 300`,
    ],
  );

  const r = await runReconciliation(store, '2026-03', { allocate: false });
  const missing = r.findings.filter((f) => f.kind === 'missing_logs').map((f) => f.message);
  assert.deepEqual(missing, [
    'missing logs: account 111122223333, us-east-1, 2026-03-02 14:00–16:00 UTC: CloudWatch counted 550 tokens the ledger does not have',
  ]);
  assert.match(
    r.findings.find((f) => f.kind === 'log_delivery')?.message ?? '',
    /2 failed invocation-log deliveries for account 111122223333 in us-east-1, 2026-03-02 14:00–15:00 UTC/,
  );
  // A month without a bill is said so (not reconciled as a bill of $0), and a month must look like one.
  await assert.rejects(runReconciliation(store, '2025-01', { allocate: false }), {
    code: 'analyse.no_bill',
    message: /no bill for 2025-01 in the ledger \(bills for: 2026-03\)/,
  });
  await assert.rejects(runReconciliation(store, 'March', { allocate: false }), {
    code: 'analyse.bad_month',
  });
});
