/**
 * The bulk path (DuckDB reads the files) and the row-by-row path (JS parses them) must build the same ledger:
 * same records, tokens, costs, flags and attribution, and the same counts. Irregular files must take the
 * row-by-row path even when bulk is on.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../test/support/temp-dir.ts';
import { generateDemo } from '../demo/index.ts';
import { openRuntime } from '../runtime.ts';
import { type IngestSummary, ingest } from './ingest.ts';

const testdata = join(import.meta.dirname, '..', 'sources', 'invocation-logs', 'testdata');
const tmp = tempDir();
after(() => tmp.remove());

async function ingestInto(
  db: string,
  root: string,
  config: string,
  bulk: boolean,
  bulkGroupFiles?: number,
): Promise<IngestSummary> {
  const rt = await openRuntime({ db, configPath: config, env: {} });
  try {
    return await ingest(rt, {
      paths: [root],
      format: 'auto',
      rejectsFile: `${db}.rejects.jsonl`,
      bulk,
      bulkMinBytes: 0,
      ...(bulkGroupFiles === undefined ? {} : { bulkGroupFiles }),
    });
  } finally {
    await rt.close();
  }
}

async function dump(db: string): Promise<unknown[]> {
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(
      'SELECT * EXCLUDE (ingested_at, source_line) FROM usage ORDER BY request_id',
    );
    return reader.getRowObjectsJson();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function compare(root: string, config: string, bulkGroupFiles?: number) {
  const slow = join(tmp.path, `slow-${Math.random()}.duckdb`);
  const fast = join(tmp.path, `fast-${Math.random()}.duckdb`);
  const a = await ingestInto(slow, root, config, false);
  const b = await ingestInto(fast, root, config, true, bulkGroupFiles);
  const counts = (s: IngestSummary) => [
    s.files,
    s.read,
    s.inserted,
    s.duplicates,
    s.rejected,
    s.unpriced,
  ];
  assert.deepEqual(counts(b), counts(a));
  const [ra, rb] = [await dump(slow), await dump(fast)];
  assert.equal(rb.length, ra.length);
  for (let i = 0; i < ra.length; i++) assert.deepEqual(rb[i], ra[i], `record ${i} differs`);
  return { rowByRow: a, bulk: b };
}

test('bulk and row-by-row build the same ledger from the format fixtures', async () => {
  const root = join(tmp.path, 'fixtures');
  mkdirSync(root);
  for (const f of readdirSync(testdata))
    if (!f.endsWith('.golden.json')) copyFileSync(join(testdata, f), join(root, f));
  const { bulk } = await compare(root, join(testdata, 'tokenledger.yaml'));
  // The clean NDJSON files went through DuckDB; the pretty JSON, CloudWatch and malformed files did not.
  assert.equal(bulk.bulkFiles, 3);
});

test('a file with a row DuckDB reads but the parser rejects goes row by row; the rest of its group stays bulk', async () => {
  const root = join(tmp.path, 'mixed');
  mkdirSync(root);
  copyFileSync(join(testdata, 'operations.jsonl'), join(root, 'a-operations.jsonl'));
  // Well-formed JSON throughout, but one count is a string: the JS parser rejects that row, so the whole file must
  // take the row-by-row path (exact rejects) while operations.jsonl, in the same group, is inserted by DuckDB.
  const first = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[0] as string;
  const good = JSON.parse(first) as { requestId: string; input: Record<string, unknown> };
  const bad = structuredClone(good);
  good.requestId = 'mixed-good-0001';
  bad.requestId = 'mixed-bad-0001';
  bad.input.inputTokenCount = '100';
  writeFileSync(join(root, 'b-typed.jsonl'), `${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`);
  const { bulk } = await compare(root, join(testdata, 'tokenledger.yaml'));
  assert.equal(bulk.bulkFiles, 1, 'only operations.jsonl went through DuckDB');
  assert.equal(bulk.rejected, 1);
});

test('bulk and row-by-row build the same ledger from two days of the demo organisation', {
  timeout: 120_000,
}, async () => {
  const demo = await generateDemo({
    outDir: join(tmp.path, 'demo'),
    days: 2,
    seed: 11,
    end: new Date('2026-06-03T00:00:00Z'),
  });
  const { bulk } = await compare(demo.logsRoot, demo.configPath);
  assert.equal(bulk.bulkFiles, demo.files);
});

test('a group DuckDB cannot read is split and the groups staged ahead of it are staged again', {
  timeout: 120_000,
}, async () => {
  // The first group holds a malformed file: its stage fails while the next groups, staged ahead, are handed the
  // keys it shares with them. The group's good file, staged again, inserts first and must still find its maps.
  const demo = await generateDemo({
    outDir: join(tmp.path, 'split'),
    days: 1,
    seed: 5,
    end: new Date('2026-06-03T00:00:00Z'),
  });
  copyFileSync(join(testdata, 'malformed.jsonl'), join(demo.logsRoot, '0-malformed.jsonl'));
  const { bulk } = await compare(demo.logsRoot, demo.configPath, 2);
  assert.equal(bulk.bulkFiles, demo.files);
  assert.ok(bulk.rejected > 0);
});

test('the resolved maps live for one ingest: a later ingest with another configuration resolves afresh', {
  timeout: 120_000,
}, async () => {
  // Two days of the same organisation (same identities, model ids and metadata), different request ids.
  const gen = (seed: number) =>
    generateDemo({
      outDir: join(tmp.path, `run-${seed}`),
      days: 1,
      seed,
      end: new Date('2026-06-03T00:00:00Z'),
    });
  const [first, second] = [await gen(21), await gen(22)];
  const reassign = join(tmp.path, 'reassign.yaml');
  writeFileSync(
    reassign,
    'attribution:\n  rules:\n    - name: everyone\n      match: { sessionName: ".+" }\n      set: { team: reassigned }\n',
  );
  // One store, one process: the first ingest with the demo's configuration, the second with another one.
  const shared = join(tmp.path, 'shared.duckdb');
  const a = await openRuntime({ db: shared, configPath: first.configPath, env: {} });
  const b = await openRuntime({ db: ':memory:', configPath: reassign, env: {} });
  try {
    const opts = (root: string) => ({
      paths: [root],
      format: 'auto' as const,
      rejectsFile: `${shared}.rejects.jsonl`,
      bulk: true,
      bulkMinBytes: 0,
    });
    await ingest(a, opts(first.logsRoot));
    await ingest({ ...b, store: a.store }, opts(second.logsRoot));
  } finally {
    await a.close();
    await b.close();
  }
  // The second day, alone in a fresh ledger with the second configuration: what the shared store must hold.
  const alone = join(tmp.path, 'alone.duckdb');
  await ingestInto(alone, second.logsRoot, reassign, true);
  const secondDay = (rows: unknown[]) =>
    rows.filter((r) => String((r as { source: string }).source).startsWith(second.logsRoot));
  const [got, want] = [secondDay(await dump(shared)), await dump(alone)];
  assert.ok(want.some((r) => (r as { team: string }).team === 'reassigned'));
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `record ${i} differs`);
});
