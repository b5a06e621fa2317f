/**
 * The row codec's batch encoder: one row per request id, the copy with the first source and line kept in the place
 * of the id's first row, and the time span of the rows kept.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeRecord } from '../../../test/support/records.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import {
  COLUMNS,
  encodeRow,
  encodeUsage,
  PER_CALL_COLUMNS,
  RowTemplate,
  scanRows,
  UsageEncoder,
  writeLines,
} from './row-codec.ts';

const tmp = tempDir();
after(() => tmp.remove());

const at = (source: string, line: number, r: ReturnType<typeof makeRecord>) => ({
  ...r,
  source: { uri: source, line },
});

test('a request id repeated in a batch keeps its copy with the first source and line, in its first place', () => {
  const file = join(tmp.path, 'batch.ndjson');
  const encoder = new UsageEncoder();
  encoder.add(
    at('s3://b/2.json.gz', 5, makeRecord({ id: 'x', team: 'late', at: '2026-03-02T12:00:00Z' })),
  );
  encoder.add(
    at('s3://b/1.json.gz', 9, makeRecord({ id: 'y', team: 'other', at: '2026-03-02T11:00:00Z' })),
  );
  // An earlier file: this copy of x wins, and takes x's place (the first row).
  encoder.add(
    at('s3://b/1.json.gz', 7, makeRecord({ id: 'x', team: 'early', at: '2026-03-02T10:00:00Z' })),
  );
  // A later line of the same file: ignored.
  encoder.add(
    at('s3://b/1.json.gz', 8, makeRecord({ id: 'x', team: 'ignored', at: '2026-03-02T09:00:00Z' })),
  );
  const out = encoder.finish(file);
  assert.deepEqual(
    { records: out.records, rows: out.rows, minTs: out.minTs, maxTs: out.maxTs },
    {
      records: 4,
      rows: 2,
      minTs: Date.parse('2026-03-02T10:00:00Z'),
      maxTs: Date.parse('2026-03-02T11:00:00Z'),
    },
  );
  const rows = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((r) => [r.c0, r.c22]),
    [
      ['x', 'early'],
      ['y', 'other'],
    ],
  );
  // encodeUsage over the same records writes the same file.
  const again = join(tmp.path, 'again.ndjson');
  encodeUsage(
    [
      at('s3://b/2.json.gz', 5, makeRecord({ id: 'x', team: 'late', at: '2026-03-02T12:00:00Z' })),
      at('s3://b/1.json.gz', 9, makeRecord({ id: 'y', team: 'other', at: '2026-03-02T11:00:00Z' })),
      at('s3://b/1.json.gz', 7, makeRecord({ id: 'x', team: 'early', at: '2026-03-02T10:00:00Z' })),
    ],
    again,
  );
  assert.deepEqual(readFileSync(again, 'utf8'), readFileSync(file, 'utf8'));
});

test('no records: no file', () => {
  assert.deepEqual(new UsageEncoder().finish(join(tmp.path, 'none.ndjson')), {
    file: null,
    records: 0,
    rows: 0,
    minTs: 0,
    maxTs: 0,
  });
});

test('writeLines: every line whole and in order, across chunk edges, multi-byte text and lines larger than a chunk', () => {
  const file = join(tmp.path, 'lines.ndjson');
  // ~3,000 lines of varying length cross the 64 KiB chunk edge many times; some carry 2-, 3- and 4-byte UTF-8; two
  // are larger than a chunk (one of them all 3-byte characters), one is empty.
  const lines: string[] = [];
  for (let i = 0; i < 3_000; i++)
    lines.push(JSON.stringify({ i, text: 'x'.repeat(i % 97) + (i % 5 === 0 ? 'é€😀' : '') }));
  lines.splice(1_000, 0, 'a'.repeat(200_000));
  lines.splice(2_000, 0, '€'.repeat(30_000));
  lines.splice(2_500, 0, '');
  writeLines(file, lines);
  assert.equal(readFileSync(file, 'utf8'), `${lines.join('\n')}\n`);
  writeLines(file, []);
  assert.equal(readFileSync(file, 'utf8'), '');
});

test('RowTemplate: the per-call columns are exactly those that differ between two calls of one caller and model', () => {
  // Same caller, model, Region, tier and day; every per-call field different (tokens, cost, flags, error, times).
  const a = makeRecord({ id: 'a', at: '2026-03-02T10:00:00Z', input: 10, output: 5, cost: 7n });
  const b = {
    ...makeRecord({
      id: 'b',
      at: '2026-03-02T11:00:00Z',
      input: 11,
      output: 6,
      cost: 9n,
      errorCode: 'ThrottlingException',
    }),
    tokens: { input: 11, output: 6, cacheRead: 1, cacheWrite5m: 2, cacheWrite1h: 3 },
    latencyMs: 99,
    firstByteMs: 12,
    flags: ['long_context' as const],
    source: { uri: 'gateway-b', line: 4 },
  };
  const differing = COLUMNS.filter(([, , enc]) => enc(a) !== enc(b)).map(([c]) => c);
  assert.deepEqual(new Set(differing), PER_CALL_COLUMNS);
  const template = new RowTemplate(a);
  assert.equal(template.encode(a), encodeRow(a));
  assert.equal(template.encode(b), encodeRow(b));
});

test('scanRows: first row of each request id kept, lines of another format counted, time span read', () => {
  const row = (id: string, at: string) => encodeRow(makeRecord({ id, at }));
  const lines = [
    row('x', '2026-03-02T10:00:00Z'),
    row('id "quoted", with ,"c1": inside', '2026-03-02T09:00:00Z'),
    row('x', '2026-03-02T08:00:00Z'),
    '{"r":{"requestId":"legacy"}}',
    row('y', '2026-03-02T12:00:00Z'),
  ];
  const out = scanRows(Buffer.from(`${lines.join('\n')}\n`));
  assert.deepEqual(
    { count: out.count, repeats: out.repeats, unreadable: out.unreadable },
    { count: 3, repeats: 1, unreadable: 1 },
  );
  assert.equal(out.minTs, Date.parse('2026-03-02T09:00:00Z'));
  assert.equal(out.maxTs, Date.parse('2026-03-02T12:00:00Z'));
  assert.deepEqual(
    out.rows
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).c0),
    ['x', 'id "quoted", with ,"c1": inside', 'y'],
  );
  // Nothing to keep: an empty buffer.
  assert.equal(scanRows(Buffer.from('{"r":{}}\n')).rows.length, 0);
});
