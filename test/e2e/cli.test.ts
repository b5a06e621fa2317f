/**
 * The CLI as a user runs it, on the invocation-log fixtures, with a pinned clock and paths: output compared with
 * reviewed golden files in test/e2e/golden/.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { assertGolden } from '../support/golden.ts';
import { tempDir } from '../support/temp-dir.ts';

const testdata = join(
  import.meta.dirname,
  '..',
  '..',
  'src',
  'sources',
  'invocation-logs',
  'testdata',
);
const golden = (name: string) => join(import.meta.dirname, 'golden', name);
const tmp = tempDir();
after(() => tmp.remove());

function cli(...argv: string[]) {
  return runCli(argv, {
    env: {
      TOKENLEDGER_DB: join(tmp.path, 'ledger.duckdb'),
      TOKENLEDGER_CONFIG: join(testdata, 'tokenledger.yaml'),
    },
    cwd: tmp.path,
    now: Date.parse('2026-03-05T12:00:00Z'),
    placeholders: { [tmp.path]: '<tmp>', [testdata]: '<testdata>' },
  });
}

describe('tokenledger CLI', () => {
  before(() => {
    mkdirSync(join(tmp.path, 'logs'));
    for (const f of [
      'operations.jsonl',
      'malformed.jsonl',
      'cloudwatch-subscription.jsonl',
      'global-profile-arn-offloaded.jsonl',
    ]) {
      copyFileSync(join(testdata, f), join(tmp.path, 'logs', f));
    }
  });

  test('ingest reports partial success (exit 3) and where the rejects went', async () => {
    const r = await cli('ingest', join(tmp.path, 'logs'));
    assert.equal(r.code, 3);
    assertGolden(golden('ingest.txt'), r.out);
    const again = await cli('ingest', join(tmp.path, 'logs'), '--json');
    assert.equal(again.code, 0);
    assert.deepEqual(JSON.parse(again.out), {
      files: 4,
      logHours: 0,
      filesSkipped: 4,
      read: 0,
      inserted: 0,
      duplicates: 0,
      rejected: 0,
      unpriced: 0,
      bytes: JSON.parse(again.out).bytes,
      rejectsFile: null,
      bulkFiles: 0,
      warnings: [],
      otherInputs: [],
    });
  });

  test('report --by team (table, 100 columns, unpriced listed)', async () => {
    const r = await cli('report', '--by', 'team', '--since', '2026-03-01');
    assert.equal(r.code, 0);
    for (const line of r.out.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
    assertGolden(golden('report-team.txt'), r.out);
  });

  test('report --by team,model as JSON', async () => {
    const r = await cli('report', '--by', 'team,model', '--format', 'json');
    assertGolden(golden('report-team-model.json'), r.out);
    const rows = JSON.parse(r.out) as Record<string, unknown>[];
    assert.ok(rows.every((row) => typeof row.cost_usd === 'string'));
  });

  test('report without --by: JSON and CSV carry the total the table prints', async () => {
    const byTeam = JSON.parse((await cli('report', '--by', 'team', '--format', 'json')).out) as {
      requests: number;
    }[];
    const r = await cli('report', '--format', 'json');
    const rows = JSON.parse(r.out) as { requests: number; cost_usd: string }[];
    assert.equal(rows.length, 1);
    assert.equal(
      rows[0]?.requests,
      byTeam.reduce((n, row) => n + row.requests, 0),
    );
    assert.match(rows[0]?.cost_usd ?? '', /^\d+\.\d+$/);
    const csv = (await cli('report', '--format', 'csv')).out.trim().split('\n');
    assert.equal(csv.length, 2);
    assert.equal(csv[1]?.split(',')[0], String(rows[0]?.requests));
  });

  test('report --by day,operation as CSV with a filter and a window', async () => {
    const r = await cli(
      'report',
      '--by',
      'day,operation',
      '--where',
      'team=search',
      '--since',
      '2026-03-02',
      '--until',
      '2026-03-03',
      '--format',
      'csv',
    );
    assertGolden(golden('report-day-operation.csv'), r.out);
  });

  test('explain shows normalisation, attribution and the price lines', async () => {
    const r = await cli('explain', '0b7c2a1e-0001-4000-8000-000000000002');
    assert.equal(r.code, 0);
    assertGolden(golden('explain.txt'), r.out);
  });

  test('report --by quarter_hour: quarter hours in time order, summing to the total', async () => {
    const rows = JSON.parse(
      (await cli('report', '--by', 'quarter_hour', '--format', 'json')).out,
    ) as {
      quarter_hour: string;
      requests: number;
    }[];
    assert.ok(rows.length > 0);
    for (const r of rows) assert.match(r.quarter_hour, /^\d{4}-\d{2}-\d{2}T\d{2}:(00|15|30|45)Z$/);
    const keys = rows.map((r) => r.quarter_hour);
    assert.deepEqual(keys, [...keys].sort());
    const total = JSON.parse((await cli('report', '--format', 'json')).out) as {
      requests: number;
    }[];
    assert.equal(
      rows.reduce((n, r) => n + r.requests, 0),
      total[0]?.requests,
    );
  });

  test('report --by day is a time series: days in order, whatever they cost', async () => {
    const r = await cli('report', '--by', 'day', '--format', 'json');
    const days = (JSON.parse(r.out) as { day: string }[]).map((row) => row.day);
    assert.ok(days.length >= 3, r.out);
    assert.deepEqual(days, [...days].sort());
  });

  test('report --by request_id lists the costliest calls, ready for explain', async () => {
    const r = await cli('report', '--by', 'request_id', '--limit', '2', '--format', 'json');
    const rows = JSON.parse(r.out) as { request_id: string; requests: number; cost_usd: string }[];
    assert.deepEqual(
      rows.map((row) => [row.requests, row.cost_usd]),
      [
        [1, '1.0440075'],
        [1, '0.07557825'],
      ],
    );
    const table = await cli('report', '--by', 'request_id', '--limit', '2');
    for (const line of table.out.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
    assert.ok(table.out.includes(rows[0]?.request_id ?? '-'), 'the table shows whole ids');
    // With other keys beside it, the ids stay whole (the other keys are shortened instead).
    const wide = await cli('report', '--by', 'request_id,team,model', '--limit', '2');
    assert.ok(wide.out.includes(rows[0]?.request_id ?? '-'), wide.out);
    assert.equal((await cli('explain', rows[0]?.request_id ?? '')).code, 0);
  });

  test('--where model= takes the short name the tables show', async () => {
    const full = await cli(
      'report',
      '--by',
      'team',
      '--where',
      'model=anthropic.claude-sonnet-4-20250514-v1:0',
    );
    const short = await cli('report', '--by', 'team', '--where', 'model=claude-sonnet-4');
    assert.equal(short.code, 0, short.err);
    assert.equal(short.out, full.out);
    assert.match(short.out, /data-science +1 /);
  });

  test('an empty report says which filter matched nothing, and what is there', async () => {
    const typo = await cli('report', '--by', 'day', '--where', 'team=serach');
    assert.equal(typo.code, 0);
    assert.match(typo.out, /TOTAL +0 /);
    assert.match(
      typo.err,
      /Note: no record in this range has team=serach; team values here: .*search/,
    );
    const key = await cli('report', '--by', 'team', '--where', 'tema=search', '--format', 'csv');
    assert.match(key.err, /Note: no record in this range has the request-metadata key "tema"/);
    assert.doesNotMatch(key.out, /Note/, 'notes stay off stdout');
    const by = await cli('report', '--by', 'nosuchdim');
    assert.match(by.err, /Note: no record in this report has the request-metadata key "nosuchdim"/);
    // Only the filter that matches nothing is named; a value that is there is not.
    const two = await cli('report', '--where', 'team=search', '--where', 'model=nosuch');
    assert.match(two.err, /no record in this range has model=nosuch; model values here: /);
    assert.doesNotMatch(two.err, /team=search/);
    // Values of one key are alternatives: either team; a value no record has is named, the report is not empty.
    const either = await cli(
      'report',
      '--by',
      'team',
      '--where',
      'team=search',
      '--where',
      'team=data-science',
      '--where',
      'team=serach',
      '--format',
      'json',
    );
    assert.deepEqual((JSON.parse(either.out) as { team: string }[]).map((r) => r.team).sort(), [
      'data-science',
      'search',
    ]);
    assert.match(either.err, /no record in this range has team=serach/);
    assert.doesNotMatch(either.err, /team=search|team=data-science/);
    // A column all "(none)" because a limit cut the rows that have the key is not a missing key.
    const cut = await cli('report', '--by', 'meta:feature', '--limit', '1', '--format', 'json');
    assert.equal(
      (JSON.parse(cut.out) as { 'meta:feature': string | null }[])[0]?.['meta:feature'],
      null,
    );
    assert.equal(cut.err, '');
  });

  test('time keys filter as reports show them; a limited time series keeps its latest periods', async () => {
    const all = await cli(
      'report',
      '--by',
      'team',
      '--since',
      '2026-03-01',
      '--until',
      '2026-04-01',
      '--format',
      'json',
    );
    const march = await cli(
      'report',
      '--by',
      'team',
      '--where',
      'month=2026-03',
      '--format',
      'json',
    );
    assert.equal(march.code, 0, march.err);
    assert.equal(march.out, all.out);
    const hour = await cli('report', '--by', 'operation', '--where', 'hour=2026-03-02T10:00Z');
    assert.equal(hour.code, 0, hour.err);
    assert.doesNotMatch(hour.out, /TOTAL +0 /);
    const days = (await cli('report', '--by', 'day', '--format', 'json')).out;
    const every = (JSON.parse(days) as { day: string }[]).map((r) => r.day);
    const last = (await cli('report', '--by', 'day', '--limit', '2', '--format', 'json')).out;
    assert.deepEqual(
      (JSON.parse(last) as { day: string }[]).map((r) => r.day),
      every.slice(-2),
    );
  });

  test('usage errors exit 2 with a message', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    const unknown = await cli('report', '--frob');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /tokenledger report: unknown option --frob \(see --help\)/);
    const zero = await cli('report', '--limit', '0');
    assert.equal(zero.code, 2);
    assert.match(zero.err, /--limit must be 1 or more/);
    const negative = await cli('report', '--limit', '-1');
    assert.equal(negative.code, 2);
    assert.match(
      negative.err,
      /--limit needs a value; a value that starts with '-' is written --limit=VALUE/,
    );
    const range = await cli('report', '--since', '2026-03-04', '--until', '2026-03-02');
    assert.equal(range.code, 2);
    assert.match(
      range.err,
      /--since 2026-03-04 \(2026-03-04T00:00Z\) is not before --until 2026-03-02/,
    );
    const bad = await cli('report', '--since', 'yesterday');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--since "yesterday"/);
    assert.equal((await cli('report', '--format', 'xml')).code, 2);
    // A path that is no URI we read is the caller's mistake too.
    for (const uri of ['ftp://x/y', 's3://', 'cwlogs://']) {
      const wrong = await cli('ingest', uri);
      assert.equal(wrong.code, 2, `${uri}: ${wrong.err}`);
      assert.match(wrong.err, /tokenledger ingest: (unsupported URI scheme|not a)/);
    }
    const missing = await cli('explain', 'no-such-request');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no record with requestId no-such-request/);
  });

  test('--version, and start --help answers without building anything', async () => {
    const v = await cli('--version');
    assert.equal(v.code, 0);
    assert.match(v.out, /^tokenledger \d+\.\d+\.\d+\n$/);
    const help = await cli('start', '--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: tokenledger start/);
    assert.doesNotMatch(help.out, /demo organisation \(tokenledger demo\)\.\n|Spend by team/);
  });
});
