/**
 * The bulk path (DuckDB reads the files) and the row-by-row path (JS parses them) must build the same ledger:
 * same records, tokens, costs, flags and attribution, and the same counts. Irregular files must take the
 * row-by-row path even when bulk is on.
 */
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { startFakeS3 } from '../../test/support/fake-s3.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { AppError, OUT_OF_MEMORY } from '../core/index.ts';
import { generateDemo } from '../demo/index.ts';
import { openRuntime } from '../runtime.ts';
import { createS3ObjectStore } from '../sources/s3-object-store.ts';
import type { BulkLogLoader, StagedBatch } from '../store/index.ts';
import { type IngestOptions, type IngestSummary, ingest } from './ingest.ts';
import { LEAN_SIZES } from './ingest-bulk.ts';

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
  const records = await assertSame({ summary: a, db: slow }, { summary: b, db: fast });
  return { rowByRow: a, bulk: b, records: records as Record<string, unknown>[] };
}

/** The same counts, and the same records in both ledgers (returned). */
async function assertSame(
  rowByRow: { summary: IngestSummary; db: string },
  bulk: { summary: IngestSummary; db: string },
): Promise<unknown[]> {
  const counts = (s: IngestSummary) => [
    s.files,
    s.read,
    s.inserted,
    s.duplicates,
    s.rejected,
    s.unpriced,
  ];
  assert.deepEqual(counts(bulk.summary), counts(rowByRow.summary));
  const [ra, rb] = [await dump(rowByRow.db), await dump(bulk.db)];
  assert.equal(rb.length, ra.length);
  for (let i = 0; i < ra.length; i++) assert.deepEqual(rb[i], ra[i], `record ${i} differs`);
  return rb;
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

test('a token count no call can have is rejected with its line on both paths; the rest of its file is kept', async () => {
  const root = join(tmp.path, 'huge');
  mkdirSync(root);
  const first = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[0] as string;
  type Log = { requestId: string; input: Record<string, unknown>; output: Record<string, unknown> };
  const record = (id: string, edit: (r: Log) => void = () => {}) => {
    const r = JSON.parse(first) as Log;
    r.requestId = id;
    edit(r);
    return JSON.stringify(r);
  };
  const lines = [
    record('huge-good-1'),
    // Its cost (~$75M) would not fit the ledger's pico-USD column: it failed the whole ingest, every run.
    record('huge-bad', (r) => {
      r.output.outputTokenCount = 1_000_000_000_000;
    }),
    record('huge-good-2'),
    // A body count that large only fills in what the top level lacks: it is unknown, the record kept.
    record('huge-body', (r) => {
      delete r.input.cacheReadInputTokenCount;
      r.output.outputBodyJson = { usage: { cacheReadInputTokens: 3_000_000_000 } };
    }),
  ];
  writeFileSync(join(root, 'huge.jsonl'), `${lines.join('\n')}\n`);
  const { bulk, rowByRow } = await compare(root, join(testdata, 'tokenledger.yaml'));
  assert.deepEqual([bulk.inserted, bulk.rejected], [3, 1]);
  const rejects = readFileSync(`${rowByRow.rejectsFile}`, 'utf8');
  assert.match(rejects, /huge\.jsonl/);
  assert.match(rejects, /"line":2/);
  assert.match(
    rejects,
    /output\.outputTokenCount is 1000000000000, more tokens than one call can have/,
  );
});

test('the tier a Converse answer says served the call wins over the one asked for, on both paths', async () => {
  const root = join(tmp.path, 'served');
  mkdirSync(root);
  // Line 11: Nova Pro, Converse, asked for flex.
  const line = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[10] as string;
  type Log = { requestId: string; output: { outputBodyJson: Record<string, unknown> } };
  const served = (id: string, type: string | null) => {
    const r = JSON.parse(line) as Log;
    r.requestId = id;
    if (type !== null) r.output.outputBodyJson.serviceTier = { type };
    return JSON.stringify(r);
  };
  // Line 3: Haiku 4.5, InvokeModel, whose request body names the default tier itself (its own field for it).
  const invoke = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[2] as string;
  const asked = (id: string, field: Record<string, unknown>) => {
    const r = JSON.parse(invoke) as { requestId: string; input: { inputBodyJson: object } };
    r.requestId = id;
    Object.assign(r.input.inputBodyJson, field);
    return JSON.stringify(r);
  };
  const lines = [
    served('served-default', 'default'),
    served('served-flex', 'flex'),
    served('served-priority', 'priority'),
    served('served-unsaid', null),
    asked('invoke-default', { serviceTier: { type: 'default' } }),
    asked('invoke-standard', { service_tier: 'standard' }),
  ];
  writeFileSync(join(root, 'served.jsonl'), `${lines.join('\n')}\n`);
  const { bulk, records } = await compare(root, join(testdata, 'tokenledger.yaml'));
  assert.equal(bulk.bulkFiles, 1);
  assert.deepEqual(Object.fromEntries(records.map((r) => [r.request_id, r.tier])), {
    'served-default': 'standard',
    'served-flex': 'flex',
    'served-priority': 'priority',
    'served-unsaid': 'flex',
    'invoke-default': 'standard',
    'invoke-standard': 'standard',
  });
});

test('a file whose name DuckDB would read as a glob goes row by row, never as the file the pattern matches', async () => {
  const root = join(tmp.path, 'globs');
  mkdirSync(root);
  const first = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[0] as string;
  const file = (name: string, prefix: string) => {
    const lines = [0, 1, 2].map((i) => {
      const r = JSON.parse(first) as { requestId: string };
      r.requestId = `${prefix}-${i}`;
      return JSON.stringify(r);
    });
    writeFileSync(join(root, name), `${lines.join('\n')}\n`);
  };
  // `a[1].jsonl` as a pattern matches `a1.jsonl`, `b?.jsonl` matches `bx.jsonl`.
  file('a[1].jsonl', 'bracket');
  file('a1.jsonl', 'one');
  file('b?.jsonl', 'question');
  file('bx.jsonl', 'x');
  const { bulk, records } = await compare(root, join(testdata, 'tokenledger.yaml'));
  assert.equal(bulk.bulkFiles, 2, 'only the plain names went through DuckDB');
  assert.deepEqual(
    Object.fromEntries(records.map((r) => [r.request_id, String(r.source).split('/').at(-1)])),
    {
      'bracket-0': 'a[1].jsonl',
      'bracket-1': 'a[1].jsonl',
      'bracket-2': 'a[1].jsonl',
      'one-0': 'a1.jsonl',
      'one-1': 'a1.jsonl',
      'one-2': 'a1.jsonl',
      'question-0': 'b?.jsonl',
      'question-1': 'b?.jsonl',
      'question-2': 'b?.jsonl',
      'x-0': 'bx.jsonl',
      'x-1': 'bx.jsonl',
      'x-2': 'bx.jsonl',
    },
  );
});

test('odd inputs: a lone surrogate, a latency past INTEGER, a 1h write with no 1h rate, a byte-order mark', async () => {
  const root = join(tmp.path, 'odd');
  mkdirSync(root);
  const lines = readFileSync(join(testdata, 'operations.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const odd = lines.map((l, i) => {
    const r = JSON.parse(l) as {
      requestId: string;
      requestMetadata?: Record<string, string>;
      output: { outputBodyJson?: unknown };
    };
    r.requestId = `odd-${i}`;
    if (i === 0) r.requestMetadata = { team: 'a\ud800b', '\udc00k': 'v' };
    if (i === 1) r.output.outputBodyJson = { metrics: { latencyMs: 3_000_000_000 } };
    return JSON.stringify(r); // a lone surrogate is written as the escape \ud800: valid JSON
  });
  assert.match(odd[0] as string, /\\ud800/);
  // The surrogate's file goes row by row (DuckDB's reader refuses it); the latency's file through DuckDB.
  writeFileSync(join(root, 'odd-surrogate.jsonl'), `${odd[0]}\n`);
  // And a 1-hour cache write on a model with no 1-hour rate: priced at its 5-minute rate on both paths.
  const oneHour = JSON.stringify({
    schemaType: 'ModelInvocationLog',
    schemaVersion: '1.0',
    timestamp: '2026-06-10T12:00:00Z',
    accountId: '111122223333',
    region: 'us-east-1',
    requestId: 'odd-1h',
    operation: 'InvokeModel',
    modelId: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
    input: {
      inputBodyJson: { messages: [] },
      inputTokenCount: 0,
      cacheWriteInputTokenCount: 100000,
    },
    output: {
      outputTokenCount: 0,
      outputBodyJson: {
        usage: {
          cache_creation_input_tokens: 100000,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100000 },
        },
      },
    },
  });
  writeFileSync(join(root, 'odd-latency.jsonl'), `${[...odd.slice(1), oneHour].join('\n')}\n`);
  // A file that starts with a UTF-8 byte-order mark: its first record is a record, not a reject.
  const bom = oneHour.replace('odd-1h', 'odd-bom');
  writeFileSync(join(root, 'odd-bom.jsonl'), `\ufeff${bom}\n`);
  const { rowByRow, bulk } = await compare(root, join(testdata, 'tokenledger.yaml'));
  assert.equal(rowByRow.inserted, lines.length + 2, 'every record is in the ledger');
  assert.equal(rowByRow.rejected, 0);
  assert.ok(bulk.bulkFiles >= 1);
  const db = join(tmp.path, 'odd-check.duckdb');
  await ingestInto(db, root, join(testdata, 'tokenledger.yaml'), true);
  const rows = (await dump(db)) as {
    request_id: string;
    team: string;
    metadata: string | null;
    latency_ms: number | null;
    cost_pusd: string | null;
    flags: string;
  }[];
  const first = rows.find((r) => r.request_id === 'odd-0');
  assert.equal(first?.team, 'a\ufffdb', 'the lone surrogate became U+FFFD');
  assert.deepEqual(JSON.parse(first?.metadata ?? '{}'), { team: 'a\ufffdb', '\ufffdk': 'v' });
  assert.equal(
    rows.find((r) => r.request_id === 'odd-1')?.latency_ms,
    null,
    'no such latency: unknown',
  );
  const h1 = rows.find((r) => r.request_id === 'odd-1h');
  assert.equal(
    h1?.cost_pusd,
    String(100_000n * 3_750_000n),
    '100k tokens at $3.75/M, not the $3/M input rate',
  );
  assert.match(h1?.flags ?? '', /rate_missing/);
});

test('S3 objects go through DuckDB by local copies: the same ledger as row by row, under their s3:// URIs', {
  timeout: 120_000,
}, async () => {
  // The format fixtures and a day of the demo organisation as objects of one bucket, behind the real AWS SDK.
  const bucket = join(tmp.path, 's3', 'acme-logs');
  mkdirSync(bucket, { recursive: true });
  for (const f of readdirSync(testdata))
    if (!f.endsWith('.golden.json') && f !== 'tokenledger.yaml')
      copyFileSync(join(testdata, f), join(bucket, f));
  const demo = await generateDemo({
    outDir: join(tmp.path, 's3-demo'),
    days: 1,
    seed: 31,
    end: new Date('2026-06-03T00:00:00Z'),
  });
  cpSync(demo.logsRoot, join(bucket, 'AWSLogs'), { recursive: true });
  const fake = await startFakeS3({ root: join(tmp.path, 's3') });
  // Copies go under TMPDIR: a directory of the test's own, to see that none is left behind.
  const copies = join(tmp.path, 'copies');
  mkdirSync(copies);
  const tmpdirBefore = process.env.TMPDIR;
  process.env.TMPDIR = copies;
  try {
    const s3 = createS3ObjectStore({
      client: new S3Client({
        region: 'us-east-1',
        endpoint: fake.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      }),
    });
    const ingestS3 = async (db: string, bulk: boolean) => {
      const rt = await openRuntime({ db, configPath: demo.configPath, env: {} });
      try {
        const o = {
          paths: ['s3://acme-logs/'],
          format: 'auto' as const,
          rejectsFile: `${db}.rejects.jsonl`,
          bulk,
          bulkMinBytes: 0,
          bulkGroupFiles: 4,
        };
        const first = await ingest({ ...rt, objects: s3 }, o);
        return { first, again: await ingest({ ...rt, objects: s3 }, o) };
      } finally {
        await rt.close();
      }
    };
    const slow = join(tmp.path, 's3-slow.duckdb');
    const fast = join(tmp.path, 's3-fast.duckdb');
    const a = await ingestS3(slow, false);
    const b = await ingestS3(fast, true);
    // The clean NDJSON fixtures and every demo file through DuckDB; the others row by row, from S3 again.
    assert.equal(b.first.bulkFiles, 3 + demo.files);
    assert.ok(b.first.rejected > 0, 'the malformed fixture is still rejected line by line');
    assert.deepEqual([b.again.read, b.again.inserted, b.again.filesSkipped], [0, 0, b.first.files]);
    const rb = await assertSame({ summary: a.first, db: slow }, { summary: b.first, db: fast });
    assert.ok(
      rb.every((r) => String((r as { source: string }).source).startsWith('s3://acme-logs/')),
    );
    assert.deepEqual(readdirSync(copies), [], 'the local copies are deleted');
  } finally {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
    await fake.close();
  }
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

/**
 * The store's bulk loader with the inserts numbered in `failAt` (1-based, across runs) failing as DuckDB's running out
 * of memory makes them fail; the run then rolls back what it had not committed. Records each run's commitRows and
 * the most groups it had asked to stage and not yet inserted at once.
 */
function failingInserts(loader: BulkLogLoader, failAt: ReadonlySet<number>) {
  const runs: { commitRows: number | undefined; mostStaged: number }[] = [];
  let inserts = 0;
  const wrapped: BulkLogLoader = {
    async start(keys, options = {}) {
      const run = await loader.start(keys, options);
      const seen = { commitRows: options.commitRows, mostStaged: 0 };
      runs.push(seen);
      let staged = 0;
      return {
        ...run,
        async stage(files): Promise<StagedBatch> {
          seen.mostStaged = Math.max(seen.mostStaged, ++staged);
          const batch = await run.stage(files);
          return {
            ...batch,
            insert: async (maps, checkpoints) => {
              try {
                if (failAt.has(++inserts))
                  throw new AppError(
                    OUT_OF_MEMORY,
                    'bulk insert ran out of memory: Out of Memory Error: failed to pin block of size 256.0 KiB (test)',
                  );
                return await batch.insert(maps, checkpoints);
              } finally {
                staged--;
              }
            },
            discard: () => {
              staged--;
              return batch.discard();
            },
          };
        },
      };
    },
  };
  return { loader: wrapped, runs };
}

test('out of memory mid-run: what was not committed goes again in smaller pieces, counted once, the same ledger', {
  timeout: 120_000,
}, async () => {
  const demo = await generateDemo({
    outDir: join(tmp.path, 'oom'),
    days: 1,
    seed: 41,
    end: new Date('2026-06-03T00:00:00Z'),
  });
  const slow = join(tmp.path, 'oom-slow.duckdb');
  const rowByRow = await ingestInto(slow, demo.logsRoot, demo.configPath, false);
  const o = (db: string, over: Partial<IngestOptions> = {}): IngestOptions => ({
    paths: [demo.logsRoot],
    format: 'auto',
    rejectsFile: `${db}.rejects.jsonl`,
    bulk: true,
    bulkMinBytes: 0,
    bulkGroupFiles: 4,
    // A commit every few groups, so that the failure finds some groups committed and some not.
    bulkCommitRows: 150,
    ...over,
  });

  // The seventh insert fails: the groups inserted since the last commit are rolled back and go again.
  const fast = join(tmp.path, 'oom-fast.duckdb');
  const rt = await openRuntime({ db: fast, configPath: demo.configPath, env: {} });
  let summary: IngestSummary;
  const failing = failingInserts(rt.store.bulkLogs as BulkLogLoader, new Set([7]));
  let filesDone = 0;
  try {
    summary = await ingest(
      { ...rt, store: { ...rt.store, bulkLogs: failing.loader } },
      o(fast, { onProgress: (p) => (filesDone = p.filesDone) }),
    );
  } finally {
    await rt.close();
  }
  assert.equal(failing.runs.length, 2);
  const [first, lean] = failing.runs;
  assert.ok((first?.mostStaged ?? 0) > 1, 'the first run staged ahead');
  assert.equal(lean?.mostStaged, 1, 'the second stages one group at a time');
  assert.equal(lean?.commitRows, Math.min(150, LEAN_SIZES.commitRows));
  assert.equal(summary.bulkFiles, demo.files);
  assert.equal(filesDone, summary.files, 'progress counts each file once');
  assert.equal(summary.warnings.length, 1);
  assert.match(
    summary.warnings[0] as string,
    /ran out of its memory limit.*TOKENLEDGER_DUCKDB_MEMORY/,
  );
  await assertSame({ summary: rowByRow, db: slow }, { summary, db: fast });

  // Out of memory again in the second run: the ingest fails (the CLI adds the setting to raise); what both runs
  // committed is kept, and the next ingest adds only the rest.
  const kept = join(tmp.path, 'oom-kept.duckdb');
  const rt2 = await openRuntime({ db: kept, configPath: demo.configPath, env: {} });
  try {
    const twice = failingInserts(rt2.store.bulkLogs as BulkLogLoader, new Set([7, 10]));
    await assert.rejects(
      ingest({ ...rt2, store: { ...rt2.store, bulkLogs: twice.loader } }, o(kept)),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === OUT_OF_MEMORY &&
        /even one row group at a time; what was committed is kept/.test(e.message),
    );
    assert.equal(twice.runs.length, 2);
    const partial = await rt2.store.queryUsage({ groupBy: [], where: [] });
    assert.ok(partial.total.requests > 0, 'what was committed is kept');
    const rest = await ingest(rt2, o(kept));
    assert.ok(rest.filesSkipped > 0, 'committed files are not read again');
    // Rows of a group a commit split are in the ledger though their file is not done: read again, they are repeats.
    assert.equal(partial.total.requests + rest.inserted, rowByRow.inserted);
  } finally {
    await rt2.close();
  }
  const [want, got] = [await dump(slow), await dump(kept)];
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `record ${i} differs`);
});
