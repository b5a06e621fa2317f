/**
 * The demo organisation's bill and metrics against its logs: reconcile finds every planted discrepancy of
 * demo-truth.json and names it, and the allocated billed dollars add up to the bill's net Bedrock usage exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Reconciliation, runReconciliation, runReport } from '../../src/analyse/index.ts';
import { parseUsd } from '../../src/core/index.ts';
import { generateDemo } from '../../src/demo/index.ts';
import { ingest, ingestCur, ingestMetricFiles } from '../../src/pipeline/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { FIXED_GROUP_KEYS } from '../../src/store/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const tmp = tempDir();
let rt: Runtime;
let r: Reconciliation;
// biome-ignore lint/suspicious/noExplicitAny: the truth file is read as the JSON it is
let truth: any;
after(async () => {
  await rt.close();
  tmp.remove();
});

before(
  async () => {
    const demo = await generateDemo({
      outDir: join(tmp.path, 'demo'),
      days: 8,
      seed: 7,
      end: new Date('2026-11-09T00:00:00Z'),
    });
    truth = JSON.parse(readFileSync(demo.truthPath, 'utf8'));
    rt = await openRuntime({
      db: join(tmp.path, 'ledger.duckdb'),
      configPath: demo.configPath,
      env: {},
    });
    await ingest(rt, {
      paths: [demo.logsRoot],
      format: 'auto',
      rejectsFile: join(tmp.path, 'rejects.jsonl'),
    });
    const cur = await ingestCur(rt, [demo.curRoot]);
    assert.deepEqual(cur.rejects, []);
    assert.deepEqual(cur.unknownUsageTypes, []);
    const metrics = await ingestMetricFiles(rt, [demo.cloudwatchRoot], {});
    assert.deepEqual(metrics.rejects, []);
    r = await runReconciliation(rt.store, '2026-11', { allocate: true });
  },
  { timeout: 240_000 },
);

const messages = (kind: string) => r.findings.filter((f) => f.kind === kind).map((f) => f.message);

test('the negotiated discount, the credit and the tax are found with their amounts', () => {
  const d = truth.discrepancies;
  assert.equal(r.data.totals.discount, parseUsd(d.negotiatedDiscount.bedrockAmount));
  assert.equal(messages('discount').length, 1);
  assert.equal(r.data.totals.credit, parseUsd(d.credit.amount));
  assert.match(messages('credit')[0] ?? '', /credit −\$250\.00 from 2026-11-0\d/);
  assert.equal(r.data.totals.tax, parseUsd(d.tax.periods[0].amount));
  assert.equal(messages('tax').length, 1);
});

test('the Region without logging and the hours of missing logs are named', () => {
  const d = truth.discrepancies;
  assert.deepEqual(messages('no_logging').length, 1);
  assert.match(
    messages('no_logging')[0] ?? '',
    new RegExp(`${d.regionWithoutLogging.account} in ${d.regionWithoutLogging.region}`),
  );
  const [from] = d.missingLogs.hours as string[];
  const hh = (iso: string) => iso.slice(11, 16);
  const to = new Date(Date.parse(d.missingLogs.hours.at(-1)) + 3_600_000).toISOString();
  assert.deepEqual(messages('missing_logs'), [
    `missing logs: account ${d.missingLogs.account}, ${d.missingLogs.region}, ${from?.slice(0, 10)} ${hh(from ?? '')}–${hh(to)} UTC: CloudWatch counted ${Object.values(
      d.missingLogs.tokens as Record<string, number>,
    )
      .reduce((a, b) => a + b, 0)
      .toLocaleString('en')} tokens the ledger does not have`,
  ]);
  assert.equal(messages('log_delivery').length, 1);
});

test('batch usage, the unpriced model and the hidden 1-hour cache writes are named', () => {
  assert.match(messages('batch')[0] ?? '', /amazon\.nova-lite-v1:0/);
  assert.match(messages('unpriced').join('\n'), /writer\.palmyra-x5-v1:0/);
  assert.equal(messages('cache_ttl').length, 1);
});

test('a row whose difference a missing price or hidden 1-hour writes explain is not blamed on the catalog', () => {
  const blamed = r.rows.filter((g) => /catalog price differs/.test(g.cause));
  for (const g of blamed) {
    assert.equal(g.unpriced, 0, `${g.model} ${g.region}: ${g.cause}`);
    assert.ok(!(g.ttlUnknown > 0 && g.billed1hTokens > g.logged1hTokens), `${g.model} ${g.region}`);
  }
  assert.ok(r.rows.some((g) => /billed as 1-hour writes/.test(g.cause)));
  assert.ok(r.rows.some((g) => /no catalog price/.test(g.cause)));
});

test('allocated billed dollars add up to the bill’s net Bedrock usage, to the pico', async () => {
  const a = r.data.allocation;
  assert.ok(a);
  const net = parseUsd(truth.bill.bedrockUsage.net);
  assert.equal(r.data.totals.usage + r.data.totals.discount, net);
  assert.equal(a.toRecords + a.billedOnly, net);
  assert.equal(a.records, a.periodRecords, 'every record of the month carries billed dollars');
  const billed = await runReport(
    rt.store,
    { by: ['team'], where: [], cost: 'billed' },
    Date.parse('2026-11-09T00:00:00Z'),
  );
  assert.equal(billed.total.costPicos, net);
  assert.equal(
    billed.rows.reduce((s, row) => s + row.costPicos, 0n),
    net,
  );
});

test('report --cost billed and --cost list work for every grouping', async () => {
  const net = parseUsd(truth.bill.bedrockUsage.net);
  const now = Date.parse('2026-11-09T00:00:00Z');
  const list = await runReport(rt.store, { by: [], where: [] }, now);
  const keys = [...FIXED_GROUP_KEYS, 'hour', 'day', 'week', 'month', 'ticket'];
  for (const key of keys) {
    const billed = await runReport(rt.store, { by: [key], where: [], cost: 'billed' }, now);
    assert.equal(billed.total.costPicos, net, `billed by ${key}`);
    const listed = await runReport(rt.store, { by: [key], where: [], cost: 'list' }, now);
    assert.equal(listed.total.costPicos, list.total.costPicos, `list by ${key}`);
  }
});
