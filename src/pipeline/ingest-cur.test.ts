/**
 * CUR 2.0 (gzip CSV) and legacy CUR (slash-camel headers, tag columns, a Manifest naming the current assembly) →
 * Bedrock bill lines, checked against golden files; malformed rows and unknown usage types are counted and shown;
 * re-ingesting a billing period replaces it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { assertGolden, toGoldenJson } from '../../test/support/golden.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { createLocalObjectStore } from '../sources/index.ts';
import { createDuckDbStore } from '../store/index.ts';
import { ingestCur } from './ingest-cur.ts';

const testdata = join(import.meta.dirname, 'testdata', 'cur');
const tmp = tempDir();
after(() => tmp.remove());

async function ingestInto(db: string, path: string) {
  const store = await createDuckDbStore({ path: db });
  await store.migrate();
  try {
    return await ingestCur({ store, objects: createLocalObjectStore() }, [path]);
  } finally {
    await store.close();
  }
}

async function lines(db: string) {
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(`
      SELECT * EXCLUDE (source, ingested_at), replace(source, '${testdata}', '<testdata>') AS source
      FROM bill_lines ORDER BY source, source_row`);
    return r.getRowObjectsJson();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const clean = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll(testdata, '<testdata>'));

test('CUR 2.0: every Bedrock row kept and classified; noise left out; bad rows rejected with place and reason', async () => {
  const db = join(tmp.path, 'cur2.duckdb');
  const summary = await ingestInto(db, join(testdata, 'cur2'));
  assertGolden(join(testdata, 'cur2.summary.golden.json'), toGoldenJson(clean(summary)));
  assertGolden(join(testdata, 'cur2.lines.golden.json'), toGoldenJson(await lines(db)));
  assert.equal(summary.otherRows, 1, 'the S3 row');
  assert.equal(summary.inserted, 9);
  assert.deepEqual(
    summary.rejects.map((r) => r.source.line),
    [11, 13],
    'the bad cost (line 11) and the truncated CSV line (line 13)',
  );
  assert.deepEqual(
    summary.unknownUsageTypes.map((u) => u.usageType),
    ['USE1-NovaMicro-input-images'],
  );

  // The same delivery again replaces the period: nothing doubles.
  const again = await ingestInto(db, join(testdata, 'cur2'));
  assert.equal(again.replaced, 9);
  assert.equal((await lines(db)).length, 9);
});

test('legacy CUR: slash-camel headers, tag columns and product/ columns; only the Manifest’s assembly is read', async () => {
  const db = join(tmp.path, 'legacy.duckdb');
  const summary = await ingestInto(db, join(testdata, 'legacy'));
  assert.equal(summary.files, 1);
  assertGolden(join(testdata, 'legacy.lines.golden.json'), toGoldenJson(await lines(db)));
});

test('CUR 2.0 as Parquet, with MAP columns, gives the same bill lines as the CSV', async () => {
  const dir = join(tmp.path, 'parquet', 'data', 'BILLING_PERIOD=2026-03');
  mkdirSync(dir, { recursive: true });
  const csv = join(
    testdata,
    'cur2',
    'tokenledger',
    'data',
    'BILLING_PERIOD=2026-03',
    'tokenledger-00001.csv.gz',
  );
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const asMap = (c: string) => `CAST(json(${c}) AS MAP(VARCHAR, VARCHAR)) AS ${c}`;
  await conn.run(`COPY (
      SELECT * REPLACE (${asMap('product')}, ${asMap('resource_tags')}, ${asMap('tags')})
      FROM read_csv('${csv}', all_varchar = true, header = true, ignore_errors = true)
      WHERE line_item_unblended_cost <> 'n/a'
    ) TO '${join(dir, 'part-0.snappy.parquet')}' (FORMAT parquet)`);
  conn.closeSync();
  instance.closeSync();

  const a = join(tmp.path, 'from-csv.duckdb');
  const b = join(tmp.path, 'from-parquet.duckdb');
  await ingestInto(a, join(testdata, 'cur2'));
  const summary = await ingestInto(b, join(tmp.path, 'parquet'));
  assert.deepEqual(summary.rejects, []);
  const strip = (rows: Record<string, unknown>[]) =>
    rows.map(({ source: _s, source_row: _r, ...rest }) => rest);
  assert.deepEqual(strip(await lines(b)), strip(await lines(a)));
});
