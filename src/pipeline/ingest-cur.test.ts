/**
 * CUR 2.0 (gzip CSV) and legacy CUR (slash-camel headers, tag columns, a Manifest naming the current assembly) →
 * Bedrock bill lines, checked against golden files; malformed rows and unknown usage types are counted and shown;
 * re-ingesting a billing period replaces it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { assertGolden, toGoldenJson } from '../../test/support/golden.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { createLocalObjectStore } from '../sources/index.ts';
import { createDuckDbStore } from '../store/index.ts';
import { currentDeliveryFiles, ingestCur } from './ingest-cur.ts';

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

describe('which delivery of a CUR 2.0 period is read', () => {
  const objects = createLocalObjectStore();
  const delivery = async (root: string, path = root) => {
    const listed = [];
    for await (const o of objects.list(path)) listed.push(o);
    const d = await currentDeliveryFiles(objects, listed);
    return { files: d.files.map((o) => o.uri.slice(root.length + 1)), warnings: d.warnings };
  };
  const files = async (root: string) => (await delivery(root)).files;
  const put = (root: string, path: string, text = 'x') => {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const RUN_1 = '2026-03-05T01:00:00.000Z-3695a728-d559-40bd-ac30-ffc97b552489';
  const RUN_2 = '2026-03-06T01:00:00.000Z-0c1d2e3f-1111-4a5a-9a43-2f1e0c9d7a10';

  test('"create new": the run the period manifest names, not a later run still being written', () => {
    const root = join(tmp.path, 'create-new');
    put(root, `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00001.csv.gz`);
    put(root, `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00002.csv.gz`);
    put(root, `export/data/BILLING_PERIOD=2026-03/${RUN_2}/export-00001.csv.gz`);
    put(root, `export/metadata/BILLING_PERIOD=2026-03/${RUN_1}/export-Manifest.json`, '{}');
    put(
      root,
      'export/metadata/BILLING_PERIOD=2026-03/export-Manifest.json',
      JSON.stringify({
        executionId: RUN_1.slice(25),
        dataFiles: [1, 2].map(
          (n) =>
            `s3://cur-bucket/exports/export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-0000${n}.csv.gz`,
        ),
      }),
    );
    return files(root).then((got) =>
      assert.deepEqual(got, [
        `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00001.csv.gz`,
        `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00002.csv.gz`,
      ]),
    );
  });

  test('without a manifest, the latest run; a lower-case partition is a period all the same', async () => {
    const root = join(tmp.path, 'no-manifest');
    put(root, `export/data/billing_period=2026-03/${RUN_1}/export-00001.csv.gz`);
    put(root, `export/data/billing_period=2026-03/${RUN_2}/export-00001.csv.gz`);
    put(root, 'export/data/billing_period=2026-04/export-00001.csv.gz');
    assert.deepEqual(await files(root), [
      `export/data/billing_period=2026-03/${RUN_2}/export-00001.csv.gz`,
      'export/data/billing_period=2026-04/export-00001.csv.gz',
    ]);
  });

  const manifestOf = (keys: readonly string[]) =>
    JSON.stringify({ dataFiles: keys.map((k) => `s3://cur-bucket/exports/${k}`) });
  const createNew = (root: string, manifest: string | null) => {
    put(root, `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00001.csv.gz`);
    put(root, `export/data/BILLING_PERIOD=2026-03/${RUN_2}/export-00001.csv.gz`);
    if (manifest !== null)
      put(root, 'export/metadata/BILLING_PERIOD=2026-03/export-manifest.json', manifest);
  };

  test('pointed at data/ alone, the manifest beside it in metadata/ is read all the same', async () => {
    const root = join(tmp.path, 'data-only');
    createNew(
      root,
      manifestOf([`export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00001.csv.gz`]),
    );
    const got = await delivery(root, join(root, 'export', 'data'));
    assert.deepEqual(got.files, [
      `export/data/BILLING_PERIOD=2026-03/${RUN_1}/export-00001.csv.gz`,
    ]);
  });

  test('a manifest naming files that are not there (a partial copy) leaves the period out, saying so', async () => {
    const root = join(tmp.path, 'partial-copy');
    createNew(
      root,
      manifestOf(
        [1, 2].map((n) => `export/data/BILLING_PERIOD=2026-03/${RUN_2}/export-0000${n}.csv.gz`),
      ),
    );
    put(root, 'export/data/BILLING_PERIOD=2026-04/export-00001.csv.gz');
    const got = await delivery(root);
    assert.deepEqual(got.files, ['export/data/BILLING_PERIOD=2026-04/export-00001.csv.gz']);
    assert.match(got.warnings.join('\n'), /BILLING_PERIOD=2026-03: left out.*1 of 2 data files/);
  });

  test("a manifest's keys match by period too: another month's file is not this month's", async () => {
    const root = join(tmp.path, 'other-period');
    put(root, 'export/data/BILLING_PERIOD=2026-03/export-00001.csv.gz');
    put(
      root,
      'export/metadata/BILLING_PERIOD=2026-03/export-Manifest.json',
      manifestOf(['export/data/BILLING_PERIOD=2026-02/export-00001.csv.gz']),
    );
    const got = await delivery(root);
    assert.deepEqual(got.files, []);
    assert.match(got.warnings.join('\n'), /left out/);
  });

  test('a manifest that cannot be read: the folder rule, with a warning, not a failed ingest', async () => {
    const root = join(tmp.path, 'unreadable');
    createNew(root, '{"dataFiles": [');
    const got = await delivery(root);
    assert.deepEqual(got.files, [
      `export/data/BILLING_PERIOD=2026-03/${RUN_2}/export-00001.csv.gz`,
    ]);
    assert.match(got.warnings.join('\n'), /the manifest could not be read/);
  });

  test('the export and a folder of it given together: each file once; the Athena status table is no bill', async () => {
    const root = join(tmp.path, 'overlap');
    put(root, 'export/data/BILLING_PERIOD=2026-03/export-00001.csv.gz');
    put(root, 'report/cost_and_usage_data_status/cost_and_usage_data_status.parquet');
    const listed = [];
    for (const path of [root, join(root, 'export', 'data')])
      for await (const o of objects.list(path)) listed.push(o);
    const got = await currentDeliveryFiles(objects, listed);
    assert.deepEqual(
      got.files.map((o) => o.uri.slice(root.length + 1)),
      ['export/data/BILLING_PERIOD=2026-03/export-00001.csv.gz'],
    );
  });
});
