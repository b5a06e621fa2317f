/**
 * The file form: every testdata/<case> parsed and compared with testdata/<case>.golden.json, plus the properties
 * the goldens could hide (canonical cache names, tier suffixes, account-level metrics, defaults, line numbers,
 * totality on truncated input).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertGolden, toGoldenJson } from '../../../test/support/golden.ts';
import type { MetricPoint } from './metric-point.ts';
import { parseMetricData, readMetricDocuments } from './parse.ts';

const dir = join(import.meta.dirname, 'testdata');
const read = (file: string) => readFileSync(join(dir, file), 'utf8');
const parse = (file: string, defaults = {}) => parseMetricData(read(file), file, defaults);

/** `metric modelId tier stat/period time value`: a point in one line. */
function line(p: MetricPoint): string {
  const model =
    p.modelId === null ? '-' : `${p.modelId}${p.tier === 'standard' ? '' : `+${p.tier}`}`;
  const time = new Date(p.at).toISOString().replace(':00.000Z', 'Z');
  return `${p.region} ${p.account ?? '-'} ${p.metric} ${model} ${p.stat}/${p.periodSeconds} ${time} ${p.value}`;
}

describe('CloudWatch metric goldens', () => {
  const cases = readdirSync(dir).filter((f) => !f.endsWith('.golden.json'));
  for (const file of cases) {
    test(file, () => {
      const { points, rejects } = parse(file);
      const golden = {
        points: points.map((p) => ({ ...p, time: new Date(p.at).toISOString() })),
        rejects: rejects.map((r) => ({ line: r.line, reason: r.reason })),
      };
      assert.ok(rejects.every((r) => r.source === file));
      assertGolden(join(dir, file.replace(/\.[a-z]+$/, '.golden.json')), toGoldenJson(golden));
    });
  }
});

describe('parseMetricData', () => {
  test('a CLI request merged with its response: canonical names, tiers, account-level metrics', () => {
    const { points, rejects } = parse('cli-merged.json');
    assert.deepEqual(points.map(line), [
      'us-east-1 123456789012 CacheReadInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 2000',
      'us-east-1 123456789012 CacheReadInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T11:00Z 0',
      'us-east-1 123456789012 CacheWriteInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 500',
      'us-east-1 123456789012 InputTokenCount global.anthropic.claude-sonnet-4-5-20250929-v1:0+priority Sum/3600 2026-07-14T10:00Z 10',
      'us-east-1 123456789012 InvocationLatency us.anthropic.claude-haiku-4-5-20251001-v1:0 p95/3600 2026-07-14T10:00Z 395.5',
      'us-east-1 123456789012 InvocationLatency us.anthropic.claude-haiku-4-5-20251001-v1:0 p95/3600 2026-07-14T11:00Z 100',
      'us-east-1 123456789012 Invocations us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 3',
      'us-east-1 123456789012 Invocations us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T11:00Z 1',
      'us-east-1 123456789012 ModelInvocationLogsS3DeliveryFailure - Sum/3600 2026-07-14T10:00Z 2',
      'us-east-1 123456789012 OutputTokenCount amazon.nova-pro-v1:0+flex Sum/3600 2026-07-14T10:00Z 3',
    ]);
    // The AWS CLI concatenates pages, so one Id can have several results: the last page's status counts.
    assert.deepEqual(rejects, []);
    const priority = points.find((p) => p.metric === 'InputTokenCount');
    assert.equal(priority?.modelId, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.equal(priority?.tier, 'priority');
    assert.equal(points.find((p) => p.metric.startsWith('ModelInvocation'))?.modelId, null);
  });

  test('both cache spellings are one metric: equal duplicates merge silently, NDJSON across lines', () => {
    const { points, rejects } = parse('pages.jsonl');
    assert.deepEqual(points.map(line), [
      'eu-west-1 - ModelInvocationLargeDataS3DeliveryFailure - Sum/300 2026-07-14T10:05Z 1',
      'eu-west-1 210987654321 Invocations eu.anthropic.claude-sonnet-4-5-20250929-v1:0+flex SampleCount/300 2026-07-14T10:00Z 4',
      'eu-west-1 210987654321 Invocations eu.anthropic.claude-sonnet-4-5-20250929-v1:0+flex SampleCount/300 2026-07-14T10:05Z 1',
      'us-east-1 123456789012 CacheReadInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 2000',
      'us-east-1 123456789012 CacheReadInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T11:00Z 750',
    ]);
    assert.deepEqual(rejects, []);
  });

  test('Region and account come from the document, else from the defaults', () => {
    const { points } = parse('pages.jsonl', { region: 'ap-south-1', account: '999999999999' });
    const accounts = new Set(points.map((p) => `${p.region} ${p.account}`));
    assert.deepEqual([...accounts].sort(), [
      'eu-west-1 210987654321',
      'eu-west-1 999999999999',
      'us-east-1 123456789012',
    ]);
    const bare = JSON.parse(read('cli-merged.json'));
    delete bare.Region;
    delete bare.AccountId;
    const withDefaults = parseMetricData(JSON.stringify(bare), 'x.json', {
      region: 'eu-central-1',
    });
    assert.ok(withDefaults.points.every((p) => p.region === 'eu-central-1' && p.account === null));
    const without = parseMetricData(JSON.stringify(bare), 'x.json', {});
    assert.equal(without.points.length, 0);
    assert.match(without.rejects[0]?.reason ?? '', /no Region/);
  });

  test('a bare response is refused with how to save the queries with it', () => {
    const response = {
      MetricDataResults: [{ Id: 'm0', Timestamps: [], Values: [] }],
      Messages: [],
    };
    const { points, rejects } = parseMetricData(JSON.stringify(response), 'r.json', {
      region: 'us-east-1',
    });
    assert.equal(points.length, 0);
    assert.equal(rejects.length, 1);
    assert.match(rejects[0]?.reason ?? '', /without its request.*MetricDataQueries.*jq/s);
  });

  test('rejects name the line where each array element starts', () => {
    const { points, rejects } = parse('array.json');
    assert.equal(points.length, 2);
    assert.deepEqual(rejects, [
      {
        source: 'array.json',
        line: 12,
        reason:
          'query missing (InvocationClientErrors anthropic.claude-3-5-haiku-20241022-v1:0 Sum/86400s) has no result in MetricDataResults',
      },
    ]);
  });

  test('every kind of malformed input is a reject, and nothing that can be read is lost', () => {
    const { points, rejects } = parse('malformed.jsonl');
    const reasons = rejects.map((r) => `${r.line}: ${r.reason}`).join('\n');
    for (const pattern of [
      /^1: a GetMetricData response without its request/m,
      /^2: a GetMetricData request without its response/m,
      /^3: document is a string/m,
      /^4: not valid JSON/m,
      /^5: no Region/m,
      /^6: Region is a number/m,
      /^7: MetricDataQueries is an object/m,
      /^8: not a GetMetricData document/m,
      /^9: query sum: is a metric-math expression/m,
      /^9: query img: dimension ImageSize is not read/m,
      /^9: query reserved: ModelId ".*\+reserved" has an unknown service-tier suffix/m,
      /^9: MetricDataQueries\[3\] has no Id/m,
      /^9: query dup: a second query with the same Id is ignored/m,
      /^9: query noPeriod: Period is 0, expected a positive whole number/m,
      /^10: the response has a NextToken/m,
      /^10: CloudWatch message: MaxQueryTimeRangeExceed: The query time range is too large/m,
      /^10: result stray matches no query/m,
      /^10: MetricDataResults\[1\] has no Id/m,
      /^10: query in .*: its result has no Timestamps array/m,
      /^10: query out .*: its result has 2 Timestamps but 1 Values/m,
      /^10: query ts .*: 2 of 4 datapoints dropped; first: datapoint 0: timestamp "yesterday"/m,
      /^10: query vals .*: 2 of 2 datapoints dropped; first: datapoint 0: value "7" is not a finite number/m,
      /^10: query partial \(CacheWriteInputTokenCount .*\): StatusCode PartialData.*; 1 datapoint\(s\) kept/m,
      /^10: query failed .*: StatusCode InternalError \(InternalError: try again\)/m,
      /^10: query odd .*: unknown StatusCode "Weird"/m,
      /^10: query noResult .*\+flex Sum\/3600s\) has no result/m,
      /^11: query a .* at 2026-07-14T10:00:00.000Z: a duplicate point with value 4 \(was 3\); the later value is kept/m,
    ]) {
      assert.match(reasons, pattern);
    }
    assert.equal(rejects.length, 27, reasons);
    // Readable datapoints of partly bad results are kept: ts's ISO ones (10:00 overwritten by line 11), partial,
    // odd, and dup's first query.
    assert.deepEqual(points.map(line), [
      'us-east-1 - Invocations us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 3',
      'us-east-1 123456789012 CacheWriteInputTokenCount us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 40',
      'us-east-1 123456789012 InvocationThrottles us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 1',
      'us-east-1 123456789012 Invocations us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T10:00Z 4',
      'us-east-1 123456789012 Invocations us.anthropic.claude-haiku-4-5-20251001-v1:0 Sum/3600 2026-07-14T11:00Z 4',
    ]);
  });

  test('timestamps: ISO-8601 (with or without zone) or epoch seconds; epoch milliseconds are refused', () => {
    const doc = (timestamps: unknown[]) =>
      JSON.stringify({
        Region: 'us-east-1',
        MetricDataQueries: [
          {
            Id: 'q',
            MetricStat: {
              Metric: { Namespace: 'AWS/Bedrock', MetricName: 'Invocations' },
              Period: 60,
              Stat: 'Sum',
            },
          },
        ],
        MetricDataResults: [{ Id: 'q', Timestamps: timestamps, Values: timestamps.map(() => 1) }],
      });
    const ok = parseMetricData(
      doc([
        '2026-07-14T10:00:00Z',
        '2026-07-14T10:01:00+00:00',
        '2026-07-14T10:02:00',
        1784023380,
        1784023440.0,
      ]),
      'ts.json',
    );
    assert.deepEqual(ok.rejects, []);
    assert.deepEqual(
      ok.points.map((p) => new Date(p.at).toISOString()),
      ['00', '01', '02', '03', '04'].map((m) => `2026-07-14T10:${m}:00.000Z`),
    );
    const ms = parseMetricData(doc([1784023200000]), 'ms.json');
    assert.equal(ms.points.length, 0);
    assert.match(ms.rejects[0]?.reason ?? '', /1784023200000 looks like epoch milliseconds/);
  });

  test('total: any prefix of a valid file parses without throwing', () => {
    const text = read('cli-merged.json');
    for (let n = 0; n <= text.length; n += 7) {
      const { points, rejects } = parseMetricData(text.slice(0, n), 'cut.json', {});
      assert.ok(points.length > 0 || rejects.length > 0 || text.slice(0, n).trim() === '');
    }
    for (const junk of [
      'null',
      '42',
      '[null, 1, "x"]',
      '{}',
      '[[]]',
      '\u{feff}{"MetricDataQueries":[]}',
    ]) {
      assert.doesNotThrow(() => parseMetricData(junk, 'junk', {}));
    }
  });

  test('reading documents in memory gives what reading their JSON gives', () => {
    const docs = JSON.parse(read('array.json')) as unknown[];
    const fromMemory = readMetricDocuments(docs, 'array.json');
    const fromText = parseMetricData(JSON.stringify(docs), 'array.json', {});
    assert.deepEqual(fromMemory.points, fromText.points);
    assert.deepEqual(
      fromMemory.rejects.map((r) => r.reason),
      fromText.rejects.map((r) => r.reason),
    );
  });
});
