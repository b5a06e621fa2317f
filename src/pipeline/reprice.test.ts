/**
 * reprice after an overrides change updates exactly the affected records (to what a fresh ingest with the new
 * prices stores), prices unpriced usage once an entry exists, reports before/after by model, and is idempotent.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../test/support/temp-dir.ts';
import { generateDemo } from '../demo/index.ts';
import { openRuntime } from '../runtime.ts';
import type { OtlpBatch } from '../sources/index.ts';
import { ingest } from './ingest.ts';
import { createOtlpSink } from './otlp-sink.ts';
import { reprice } from './reprice.ts';

const tmp = tempDir();
after(() => tmp.remove());

const PROD = '111122223333';
const PALMYRA = 'writer.palmyra-x5-v1:0';
let logsRoot = '';
let configPath = '';

async function sql(db: string, query: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(query)).getRowObjectsJson();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function ingestInto(db: string, config: string, bulk: boolean) {
  const rt = await openRuntime({ db, configPath: config, env: {} });
  try {
    await ingest(rt, {
      paths: [logsRoot],
      format: 'auto',
      rejectsFile: `${db}.rejects`,
      bulk,
      bulkMinBytes: 0,
    });
  } finally {
    await rt.close();
  }
}

async function repriceWith(
  db: string,
  config: string | undefined,
  dryRun = false,
  sinceMs?: number,
) {
  const rt = await openRuntime({ db, configPath: config, env: {} });
  try {
    return await reprice(rt, { dryRun, ...(sinceMs === undefined ? {} : { sinceMs }) });
  } finally {
    await rt.close();
  }
}

const COLUMNS = 'request_id, model, scope, cost_pusd, price_id, flags';
const dump = (db: string) => sql(db, `SELECT ${COLUMNS} FROM usage ORDER BY request_id`);

before(async () => {
  const demo = await generateDemo({
    outDir: join(tmp.path, 'demo'),
    days: 2,
    seed: 5,
    end: new Date('2026-06-03T00:00:00Z'),
  });
  logsRoot = demo.logsRoot;
  configPath = demo.configPath;
});

/** The demo's configuration plus an overrides file: 15 % off account PROD, and a private price for Palmyra. */
function configWithOverrides(name: string): string {
  const config = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    config,
    `${readFileSync(configPath, 'utf8')}\nprices:\n  overrides: ${name}.overrides.json\n`,
  );
  writeFileSync(
    join(tmp.path, `${name}.overrides.json`),
    JSON.stringify({
      entries: [
        {
          id: 'private/palmyra-x5/2026-01-01',
          models: [PALMYRA],
          regions: ['*'],
          tier: 'standard',
          effectiveFrom: '2026-01-01',
          usdPerMillionTokens: { input: '0.60', output: '6.00' },
          source: 'contract WR-7',
          verifiedOn: '2026-06-01',
        },
      ],
      discounts: [
        { id: 'edp-prod', percent: '15', match: { account: PROD }, effectiveFrom: '2026-01-01' },
      ],
    }),
  );
  return config;
}

test('reprice changes exactly the affected records, to what a fresh ingest stores; twice changes nothing', {
  timeout: 180_000,
}, async () => {
  const db = join(tmp.path, 'ledger.duckdb');
  await ingestInto(db, configPath, true);
  const [counts] = await sql(
    db,
    `SELECT count(*) AS total,
       count(*) FILTER (account = '${PROD}' AND cost_pusd IS NOT NULL) AS prod_priced,
       count(*) FILTER (model = '${PALMYRA}') AS palmyra
     FROM usage`,
  );
  assert.ok(Number(counts?.palmyra) > 0, 'the demo has unpriced Palmyra usage');
  assert.ok(Number(counts?.prod_priced) > 0);

  // Nothing changed yet: nothing to do.
  const noop = await repriceWith(db, configPath);
  assert.equal(noop.changed, 0);
  assert.equal(noop.records, Number(counts?.total));

  const config = configWithOverrides('o1');
  const dry = await repriceWith(db, config, true);
  const beforeDump = await dump(db);
  const result = await repriceWith(db, config);
  assert.deepEqual(dry, result, 'a dry run reports the same and writes nothing');
  // Every priced PROD record carries the discount (flags change even at $0), and every Palmyra record gets a price.
  assert.equal(result.changed, Number(counts?.prod_priced) + Number(counts?.palmyra));
  const afterDump = await dump(db);
  const changedIds = afterDump.filter(
    (r, i) => JSON.stringify(r) !== JSON.stringify(beforeDump[i]),
  ).length;
  assert.equal(changedIds, result.changed);

  // The same ledger a fresh ingest with the new prices builds.
  const fresh = join(tmp.path, 'fresh.duckdb');
  await ingestInto(fresh, config, false);
  assert.deepEqual(afterDump, await dump(fresh));

  // Before/after by model add up to the ledger's totals.
  const palmyraRow = result.byModel.find((m) => m.model === PALMYRA);
  assert.ok(palmyraRow);
  assert.equal(palmyraRow.before, 0n);
  assert.equal(palmyraRow.unpricedBefore, palmyraRow.records);
  assert.equal(palmyraRow.unpricedAfter, 0);
  const [sums] = await sql(db, `SELECT sum(cost_pusd)::VARCHAR AS total FROM usage`);
  const beforeTotal = beforeDump.reduce(
    (a, r) => a + BigInt((r.cost_pusd as string | null) ?? 0),
    0n,
  );
  const delta = result.byModel.reduce((a, m) => a + (m.after - m.before), 0n);
  assert.equal(BigInt(String(sums?.total)), beforeTotal + delta);
  assert.ok(delta < 0n, 'a 15 % discount outweighs the Palmyra price on the demo');

  // Idempotent.
  const again = await repriceWith(db, config);
  assert.equal(again.changed, 0);
  assert.deepEqual(again.byModel, []);
  assert.deepEqual(await dump(db), afterDump);
  const hashes = await sql(
    db,
    `SELECT DISTINCT catalog_hash FROM usage WHERE flags LIKE '%discounted%'`,
  );
  assert.equal(hashes.length, 1);

  // Removing the overrides puts every record back.
  const back = await repriceWith(db, configPath);
  assert.equal(back.changed, result.changed);
  assert.deepEqual(await dump(db), beforeDump);
});

test('a profile the current configuration lacks is held as stored, never made unpriced', {
  timeout: 120_000,
}, async () => {
  const db = join(tmp.path, 'held.duckdb');
  await ingestInto(db, configPath, true);
  const before = await dump(db);
  const empty = join(tmp.path, 'empty.yaml');
  writeFileSync(empty, '{}\n');
  const result = await repriceWith(db, empty);
  assert.equal(result.changed, 0);
  const [aip] = await sql(
    db,
    `SELECT model_id, count(*) AS n FROM usage WHERE model_id LIKE '%application-inference-profile%' GROUP BY ALL`,
  );
  assert.ok(aip, 'the demo uses an application inference profile');
  assert.deepEqual(result.held, [{ modelId: aip.model_id, records: Number(aip.n) }]);
  assert.deepEqual(await dump(db), before);
});

test('reprice --since leaves older records alone', { timeout: 120_000 }, async () => {
  const db = join(tmp.path, 'since.duckdb');
  await ingestInto(db, configPath, true);
  const since = Date.parse('2026-06-02T00:00:00Z');
  const result = await repriceWith(db, configWithOverrides('o2'), false, since);
  assert.ok(result.changed > 0);
  const [old] = await sql(
    db,
    `SELECT count(*) AS n FROM usage WHERE ts < TIMESTAMP '2026-06-02' AND (flags LIKE '%discounted%' OR price_id LIKE 'private/%')`,
  );
  assert.equal(Number(old?.n), 0);
});

test('bulk and row-by-row ingest apply overrides identically', { timeout: 180_000 }, async () => {
  const config = configWithOverrides('o3');
  const a = join(tmp.path, 'rows.duckdb');
  const b = join(tmp.path, 'bulk.duckdb');
  await ingestInto(a, config, false);
  await ingestInto(b, config, true);
  const full = (db: string) =>
    sql(db, 'SELECT * EXCLUDE (ingested_at, source_line) FROM usage ORDER BY request_id');
  const [ra, rb] = [await full(a), await full(b)];
  assert.equal(ra.length, rb.length);
  for (let i = 0; i < ra.length; i++) assert.deepEqual(rb[i], ra[i], `record ${i}`);
  const [d] = await sql(b, `SELECT count(*) FILTER (flags LIKE '%discounted%') AS n FROM usage`);
  assert.ok(Number(d?.n) > 0);
});

/** One Claude Code api_request event (Sonnet 4.5 by its response-body name, 1000 in, 100 out) as the receiver gets it. */
function apiRequestBatch(
  at: number,
  session: string,
  resource: Record<string, string> = {},
): OtlpBatch {
  const kv = (key: string, v: string | number) => ({
    key,
    value: typeof v === 'number' ? { intValue: v } : { stringValue: v },
  });
  return {
    signal: 'logs',
    encoding: 'json',
    body: new TextEncoder().encode(
      JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                kv('service.name', 'claude-code'),
                ...Object.entries(resource).map(([k, v]) => kv(k, v)),
              ],
            },
            scopeLogs: [
              {
                scope: { name: 'com.anthropic.claude_code.events' },
                logRecords: [
                  {
                    timeUnixNano: `${BigInt(at) * 1_000_000n}`,
                    body: { stringValue: 'claude_code.api_request' },
                    attributes: [
                      kv('event.name', 'api_request'),
                      kv('session.id', session),
                      kv('event.sequence', 1),
                      kv('model', 'claude-sonnet-4-5-20250929'),
                      kv('input_tokens', 1000),
                      kv('output_tokens', 100),
                      kv('cache_read_tokens', 0),
                      kv('cache_creation_tokens', 0),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    ),
    headers: {},
    receivedAt: at,
  };
}

test('a client-only telemetry row named by its response-body model keeps its price', async () => {
  // Claude Code's api_request names the model as the Messages API response does; the receiver prices it as the
  // Bedrock model that name stands for, and reprice must read the stored name the same way.
  const db = join(tmp.path, 'telemetry.duckdb');
  const rt = await openRuntime({ db, configPath: undefined, env: {} });
  const at = Date.parse('2026-06-02T10:00:00Z');
  try {
    await createOtlpSink(rt).accept(apiRequestBatch(at, 'S1'));
    // Its price: what reprice must keep, with the price id and flags an invocation-log record would carry.
    const stored = `SELECT model_id, model, scope, cost_pusd, price_id, flags, catalog_hash FROM usage
      WHERE source = 'telemetry'`;
    const before = await rt.store.getRecord(`otel:S1|1|${BigInt(at) * 1_000_000n}|api_request`);
    // Sonnet 4.5 in-Region: $3.00 / $15.00 per 1M × 1.10.
    assert.deepEqual(
      [before?.model_id, before?.model, before?.scope, before?.cost_pusd, before?.flags],
      [
        'claude-sonnet-4-5-20250929',
        'anthropic.claude-sonnet-4-5-20250929-v1:0',
        'in-region',
        1000n * 3_300_000n + 100n * 16_500_000n,
        'regional_premium',
      ],
    );
    assert.match(String(before?.price_id), /sonnet-4-5/);
    assert.equal(before?.catalog_hash, rt.catalog.hash);
    await rt.close();
    const rows = await sql(db, stored);
    // The same catalog: nothing to change (no row reported changed at the same cost).
    const result = await repriceWith(db, undefined);
    assert.equal(result.changed, 0);
    assert.deepEqual(await sql(db, stored), rows);
  } finally {
    await rt.close().catch(() => undefined);
  }
});

test("a client-only row of an event that names its account is priced with that account's discount, and kept", async () => {
  const db = join(tmp.path, 'telemetry-account.duckdb');
  const config = configWithOverrides('telemetry-account');
  const rt = await openRuntime({ db, configPath: config, env: {} });
  const at = Date.parse('2026-06-02T10:00:00Z');
  try {
    await createOtlpSink(rt).accept(apiRequestBatch(at, 'S2', { 'cloud.account.id': PROD }));
    const row = await rt.store.getRecord(`otel:S2|1|${BigInt(at) * 1_000_000n}|api_request`);
    // The 15 % PROD discount of the overrides: $3.30 / $16.50 per 1M, × 0.85.
    assert.deepEqual(
      [row?.account, row?.cost_pusd, row?.flags],
      [
        PROD,
        ((1000n * 3_300_000n + 100n * 16_500_000n) * 85n) / 100n,
        'regional_premium,discounted',
      ],
    );
    await rt.close();
    assert.equal((await repriceWith(db, config)).changed, 0);
  } finally {
    await rt.close().catch(() => undefined);
  }
});
