/**
 * The CloudWatch path end to end: the real AWS SDK v3 CloudWatchClient against the local fake endpoint. First
 * the fake itself is held to what the client reads (so it is trusted), then the source: discovery, batching,
 * pagination, the saved document re-reading to the same points, and errors an operator can act on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CloudWatchClient,
  CloudWatchServiceException,
  GetMetricDataCommand,
  InvalidNextToken,
  ListMetricsCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  type FakeCloudWatch,
  type FakeSeries,
  startFakeCloudWatch,
} from '../../../test/support/fake-cloudwatch.ts';
import { AppError } from '../../core/index.ts';
import { deriveMetrics } from './derive.ts';
import { createCloudWatchMetricsSource, type MetricsFetchOptions } from './fetch.ts';
import type { MetricPoint } from './metric-point.ts';
import { parseMetricData } from './parse.ts';

// Static credentials only: the SDK must never look for real ones (env, profile files, IMDS).
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const SONNET = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
const ACCOUNT = '123456789012';

const at = (hhmm: string, day = 14) => Date.parse(`2026-07-${day}T${hhmm}:00Z`);

function series(
  metricName: string,
  modelId: string | null,
  samples: [number, number][],
  more: Partial<FakeSeries> = {},
): FakeSeries {
  return {
    region: 'us-east-1',
    metricName,
    ...(modelId === null ? {} : { dimensions: { ModelId: modelId } }),
    samples: samples.map(([t, value]) => ({ at: t, value })),
    ...more,
  };
}

/** One sample per call, as Bedrock publishes them. */
const SERIES: FakeSeries[] = [
  series('Invocations', HAIKU, [
    [at('10:01'), 1],
    [at('10:02'), 1],
    [at('11:01'), 1],
    [at('23:59', 13), 1], // before the window
    [at('00:00', 16), 1], // the window's end is exclusive
  ]),
  series('InputTokenCount', HAIKU, [
    [at('10:01'), 100],
    [at('10:02'), 250],
    [at('11:01'), 40],
  ]),
  series('OutputTokenCount', HAIKU, [
    [at('10:01'), 20],
    [at('10:02'), 30],
    [at('11:01'), 10],
  ]),
  series('CacheReadInputTokenCount', HAIKU, [
    [at('10:01'), 1000],
    [at('10:02'), 1000],
  ]),
  // The documented spelling; real accounts show the other one. Both are discovered and read.
  series('CacheWriteInputTokens', HAIKU, [[at('10:01'), 500]]),
  series('InvocationClientErrors', HAIKU, [[at('10:02'), 1]]),
  series('InvocationLatency', HAIKU, [
    [at('10:01'), 200],
    [at('10:02'), 400],
    [at('11:01'), 100],
  ]),
  series('Invocations', `${HAIKU}+flex`, [[at('10:03'), 1]]),
  series('InputTokenCount', `${HAIKU}+flex`, [[at('10:03'), 7]]),
  series('OutputTokenCount', `${HAIKU}+flex`, [[at('10:03'), 3]]),
  series('Invocations', `${SONNET}+priority`, [
    [at('23:05'), 1],
    [at('00:30', 15), 1],
  ]),
  series('InputTokenCount', `${SONNET}+priority`, [
    [at('23:05'), 10],
    [at('00:30', 15), 20],
  ]),
  series('CacheReadInputTokens', `${SONNET}+priority`, [[at('23:05'), 90]]),
  series('InvocationThrottles', `${SONNET}+priority`, [[at('23:06'), 1]]),
  series('ModelInvocationLogsS3DeliveryFailure', null, [
    [at('10:01'), 1],
    [at('10:02'), 1],
  ]),
  series('ModelInvocationLogsCloudWatchDeliverySuccess', null, [[at('10:01'), 1]]),
  // Not read: another dimension besides ModelId, another Region, another namespace.
  series('OutputImageCount', null, [[at('10:01'), 1]], {
    dimensions: { ModelId: 'amazon.nova-canvas-v1:0', ImageSize: '1024x1024' },
  }),
  series('Invocations', HAIKU, [[at('10:01'), 5]], { region: 'eu-west-1' }),
  series('InvocationCount', null, [[at('10:01'), 1]], { namespace: 'AWS/Bedrock/Agents' }),
];

const EXPECTED = [
  `CacheReadInputTokenCount ${SONNET}+priority Sum 2026-07-14T23:00Z 90`,
  `CacheReadInputTokenCount ${HAIKU} Sum 2026-07-14T10:00Z 2000`,
  `CacheWriteInputTokenCount ${HAIKU} Sum 2026-07-14T10:00Z 500`,
  `InputTokenCount ${SONNET}+priority Sum 2026-07-14T23:00Z 10`,
  `InputTokenCount ${SONNET}+priority Sum 2026-07-15T00:00Z 20`,
  `InputTokenCount ${HAIKU}+flex Sum 2026-07-14T10:00Z 7`,
  `InputTokenCount ${HAIKU} Sum 2026-07-14T10:00Z 350`,
  `InputTokenCount ${HAIKU} Sum 2026-07-14T11:00Z 40`,
  `InvocationClientErrors ${HAIKU} Sum 2026-07-14T10:00Z 1`,
  `InvocationLatency ${HAIKU} Average 2026-07-14T10:00Z 300`,
  `InvocationLatency ${HAIKU} Average 2026-07-14T11:00Z 100`,
  `InvocationThrottles ${SONNET}+priority Sum 2026-07-14T23:00Z 1`,
  `Invocations ${SONNET}+priority Sum 2026-07-14T23:00Z 1`,
  `Invocations ${SONNET}+priority Sum 2026-07-15T00:00Z 1`,
  `Invocations ${HAIKU}+flex Sum 2026-07-14T10:00Z 1`,
  `Invocations ${HAIKU} Sum 2026-07-14T10:00Z 2`,
  `Invocations ${HAIKU} Sum 2026-07-14T11:00Z 1`,
  'ModelInvocationLogsCloudWatchDeliverySuccess - Sum 2026-07-14T10:00Z 1',
  'ModelInvocationLogsS3DeliveryFailure - Sum 2026-07-14T10:00Z 2',
  `OutputTokenCount ${HAIKU}+flex Sum 2026-07-14T10:00Z 3`,
  `OutputTokenCount ${HAIKU} Sum 2026-07-14T10:00Z 50`,
  `OutputTokenCount ${HAIKU} Sum 2026-07-14T11:00Z 10`,
];

function line(p: MetricPoint): string {
  const model =
    p.modelId === null ? '-' : `${p.modelId}${p.tier === 'standard' ? '' : `+${p.tier}`}`;
  const time = new Date(p.at).toISOString().replace(':00.000Z', 'Z');
  return `${p.metric} ${model} ${p.stat} ${time} ${p.value}`;
}

const WINDOW: MetricsFetchOptions = {
  region: 'us-east-1',
  account: ACCOUNT,
  start: new Date('2026-07-14T00:00:00Z'),
  end: new Date('2026-07-16T00:00:00Z'),
  periodSeconds: 3600,
};

let fake: FakeCloudWatch;
let client: CloudWatchClient;

before(async () => {
  fake = await startFakeCloudWatch({
    series: SERIES,
    listPageSize: 5,
    maxDatapointsPerPage: 5,
    failures: {
      'ap-south-1': 'AccessDenied',
      'sa-east-1': 'Throttling',
      'me-south-1': 'InternalError',
    },
  });
  client = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    credentials,
    maxAttempts: 1,
  });
});

after(async () => {
  client.destroy();
  await fake.close();
});

const source = () =>
  createCloudWatchMetricsSource(
    { AWS_ENDPOINT_URL_CLOUDWATCH: fake.endpoint },
    { credentials, maxAttempts: 1 },
  );

function appError(code: string, ...fragments: string[]) {
  return (e: unknown): boolean =>
    e instanceof AppError && e.code === code && fragments.every((f) => e.message.includes(f));
}

describe('fake CloudWatch, read by the real CloudWatchClient', () => {
  test('ListMetrics: AWS JSON 1.0 pages with a NextToken, dimensions, Region from the signature', async () => {
    fake.requests.length = 0;
    const first = await client.send(new ListMetricsCommand({ Namespace: 'AWS/Bedrock' }));
    assert.equal(first.Metrics?.length, 5);
    assert.deepEqual(first.Metrics?.[0], {
      Namespace: 'AWS/Bedrock',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'ModelId', Value: HAIKU }],
    });
    assert.equal(typeof first.NextToken, 'string');
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListMetricsCommand({ Namespace: 'AWS/Bedrock', NextToken: token }),
      );
      names.push(...(page.Metrics ?? []).map((m) => m.MetricName ?? ''));
      token = page.NextToken;
    } while (token !== undefined);
    assert.equal(names.length, 17);
    assert.ok(
      names.includes('CacheWriteInputTokens') && names.includes('CacheReadInputTokenCount'),
    );
    assert.ok(!names.includes('InvocationCount'));
    const filtered = await client.send(
      new ListMetricsCommand({
        Namespace: 'AWS/Bedrock',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'ModelId', Value: `${HAIKU}+flex` }],
      }),
    );
    assert.deepEqual(
      filtered.Metrics?.map((m) => m.Dimensions?.[0]?.Value),
      [`${HAIKU}+flex`],
    );
    assert.ok(
      fake.requests.every((r) => r.operation === 'ListMetrics' && r.region === 'us-east-1'),
    );
    assert.ok(fake.requests.every((r) => r.queryMode));
  });

  test('GetMetricData: Dates, values, PartialData pages and a NextToken, ScanBy', async () => {
    const query = (Id: string, MetricName: string, Stat: string) => ({
      Id,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/Bedrock',
          MetricName,
          Dimensions: [{ Name: 'ModelId', Value: HAIKU }],
        },
        Period: 3600,
        Stat,
      },
    });
    const input = {
      MetricDataQueries: [
        query('inv', 'Invocations', 'SampleCount'),
        query('tok', 'InputTokenCount', 'Sum'),
        query('none', 'OutputImageCount', 'Sum'),
      ],
      StartTime: WINDOW.start,
      EndTime: WINDOW.end,
    };
    const first = await client.send(new GetMetricDataCommand(input));
    assert.deepEqual(
      first.MetricDataResults?.map((r) => [r.Id, r.Timestamps, r.Values, r.StatusCode]),
      [
        ['inv', [new Date(at('11:00')), new Date(at('10:00'))], [1, 2], 'Complete'],
        ['tok', [new Date(at('11:00')), new Date(at('10:00'))], [40, 350], 'Complete'],
        ['none', [], [], 'Complete'],
      ],
    );
    assert.equal(first.NextToken, undefined);
    const small = await startFakeCloudWatch({ series: SERIES, maxDatapointsPerPage: 3 });
    const pager = new CloudWatchClient({
      region: 'us-east-1',
      endpoint: small.endpoint,
      credentials,
    });
    try {
      const asc = { ...input, ScanBy: 'TimestampAscending' as const };
      const page1 = await pager.send(new GetMetricDataCommand(asc));
      assert.deepEqual(
        page1.MetricDataResults?.map((r) => [r.Id, r.Values, r.StatusCode]),
        [
          ['inv', [2, 1], 'Complete'],
          ['tok', [350], 'PartialData'],
          ['none', [], 'Complete'],
        ],
      );
      assert.equal(typeof page1.NextToken, 'string');
      const page2 = await pager.send(
        new GetMetricDataCommand({ ...asc, NextToken: page1.NextToken }),
      );
      assert.deepEqual(
        page2.MetricDataResults?.map((r) => [r.Id, r.Values, r.StatusCode]),
        [['tok', [40], 'Complete']],
      );
      assert.equal(page2.NextToken, undefined);
    } finally {
      pager.destroy();
      await small.close();
    }
  });

  test('errors: the modelled InvalidNextToken, AccessDenied by its query-compatible code', async () => {
    await assert.rejects(
      client.send(new ListMetricsCommand({ Namespace: 'AWS/Bedrock', NextToken: 'bogus' })),
      (e) =>
        e instanceof InvalidNextToken &&
        e.$metadata.httpStatusCode === 400 &&
        e.$fault === 'client',
    );
    const denied = new CloudWatchClient({
      region: 'ap-south-1',
      endpoint: fake.endpoint,
      credentials,
      maxAttempts: 1,
    });
    await assert.rejects(
      denied.send(new ListMetricsCommand({ Namespace: 'AWS/Bedrock' })),
      (e) =>
        e instanceof CloudWatchServiceException &&
        e.name === 'AccessDenied' &&
        /not authorized to perform: cloudwatch:ListMetrics/.test(e.message),
    );
    denied.destroy();
  });

  test('the SDK itself takes the endpoint from AWS_ENDPOINT_URL_CLOUDWATCH', async () => {
    const saved = process.env;
    process.env = { ...saved, AWS_ENDPOINT_URL_CLOUDWATCH: fake.endpoint };
    try {
      const fromEnv = new CloudWatchClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
      const out = await fromEnv.send(new ListMetricsCommand({ Namespace: 'AWS/Bedrock' }));
      assert.equal(out.Metrics?.length, 5);
      fromEnv.destroy();
    } finally {
      process.env = saved;
    }
  });
});

describe('createCloudWatchMetricsSource', () => {
  test('discovers, queries and pages: every Bedrock series of the Region, both cache spellings', async () => {
    fake.requests.length = 0;
    const { points, rejects, document } = await source().fetch(WINDOW);
    assert.deepEqual(points.map(line), EXPECTED);
    assert.deepEqual(rejects, []);
    assert.ok(points.every((p) => p.region === 'us-east-1' && p.account === ACCOUNT));
    // 17 metrics at 5 a page; 22 datapoints at 5 a page.
    assert.deepEqual(
      fake.requests.map((r) => r.operation),
      [...Array(4).fill('ListMetrics'), ...Array(5).fill('GetMetricData')],
    );
    const get = fake.requests.find((r) => r.operation === 'GetMetricData');
    assert.ok(get);
    assert.equal(get.body.StartTime, Date.parse('2026-07-14T00:00:00Z') / 1000);
    assert.equal(get.body.ScanBy, 'TimestampAscending');
    assert.equal((get.body.MetricDataQueries as unknown[]).length, 16);
    assert.equal(document.length, 1);
  });

  test('the saved document re-reads to the same points, offline', async () => {
    const { points, document } = await source().fetch(WINDOW);
    const text = JSON.stringify(document, null, 2);
    const reread = parseMetricData(text, 'saved.json', {});
    assert.deepEqual(reread.rejects, []);
    assert.deepEqual(reread.points, points);
    // As NDJSON too, and the file form holds what it says: queries and their merged results.
    const ndjson = document.map((d) => JSON.stringify(d)).join('\n');
    assert.deepEqual(parseMetricData(ndjson, 'saved.jsonl', {}).points, points);
    const doc = document[0];
    assert.equal(doc?.Region, 'us-east-1');
    assert.equal(doc?.AccountId, ACCOUNT);
    assert.ok(doc?.MetricDataResults.every((r) => r.StatusCode === 'Complete'));
  });

  test('the points derive to the hand-computed usage', async () => {
    const { points } = await source().fetch(WINDOW);
    const d = deriveMetrics(points);
    const haiku = d.groups.find((g) => g.modelId === HAIKU && g.tier === 'standard');
    assert.equal(haiku?.invocations, 3n);
    assert.equal(haiku?.inputTokens, 390n);
    assert.equal(haiku?.cacheWriteTokens, 500n);
    assert.equal(haiku?.cacheHitRate, '0.6920');
    assert.equal(d.overall.invocations, 6n);
    assert.equal(d.logGaps, true);
  });

  test('modelIds narrows to those models (any tier); account-level metrics stay', async () => {
    const { points } = await source().fetch({ ...WINDOW, modelIds: [HAIKU] });
    const models = new Set(points.map((p) => `${p.modelId ?? '-'} ${p.tier}`));
    assert.deepEqual([...models].sort(), ['- standard', `${HAIKU} flex`, `${HAIKU} standard`]);
    const exact = await source().fetch({ ...WINDOW, modelIds: [`${SONNET}+priority`] });
    assert.ok(exact.points.some((p) => p.modelId === SONNET && p.tier === 'priority'));
  });

  test('another Region reads its own series', async () => {
    const { points } = await source().fetch({ ...WINDOW, region: 'eu-west-1' });
    assert.deepEqual(points.map(line), [`Invocations ${HAIKU} Sum 2026-07-14T10:00Z 5`]);
  });

  test('more than 500 series: requests of at most 500 queries', async () => {
    const many = Array.from({ length: 520 }, (_, i) =>
      series('Invocations', `test.model-${String(i).padStart(3, '0')}`, [[at('10:00'), i]]),
    );
    const big = await startFakeCloudWatch({ series: many });
    try {
      const s = createCloudWatchMetricsSource(
        { AWS_ENDPOINT_URL_CLOUDWATCH: big.endpoint },
        { credentials, maxAttempts: 1 },
      );
      const { points, rejects, document } = await s.fetch(WINDOW);
      assert.deepEqual(rejects, []);
      assert.equal(points.length, 520);
      assert.equal(
        points.reduce((n, p) => n + p.value, 0),
        (519 * 520) / 2,
      );
      const sizes = big.requests
        .filter((r) => r.operation === 'GetMetricData')
        .map((r) => (r.body.MetricDataQueries as unknown[]).length);
      assert.deepEqual(sizes, [500, 20]);
      assert.equal(document.length, 2);
      assert.deepEqual(parseMetricData(JSON.stringify(document), 'big.json').points, points);
    } finally {
      await big.close();
    }
  });

  test('errors say what to fix or that a retry may help', async () => {
    await assert.rejects(
      source().fetch({ ...WINDOW, region: 'ap-south-1' }),
      appError('sources.cloudwatch_access_denied', 'cloudwatch:ListMetrics', 'ap-south-1'),
    );
    await assert.rejects(
      source().fetch({ ...WINDOW, region: 'sa-east-1' }),
      (e) =>
        appError('sources.cloudwatch_unavailable', 'Throttling')(e) && (e as AppError).retryable,
    );
    await assert.rejects(
      source().fetch({ ...WINDOW, region: 'me-south-1' }),
      (e) => appError('sources.cloudwatch_unavailable')(e) && (e as AppError).retryable,
    );
  });

  test('a range or period CloudWatch would refuse is refused before any call', async () => {
    fake.requests.length = 0;
    const s = source();
    await assert.rejects(
      s.fetch({ ...WINDOW, periodSeconds: 90 }),
      appError('sources.invalid_argument', '90'),
    );
    await assert.rejects(
      s.fetch({ ...WINDOW, periodSeconds: 0 }),
      appError('sources.invalid_argument'),
    );
    await assert.rejects(
      s.fetch({ ...WINDOW, start: WINDOW.end }),
      appError('sources.invalid_argument', 'empty'),
    );
    await assert.rejects(s.fetch({ ...WINDOW, region: '' }), appError('sources.invalid_argument'));
    assert.equal(fake.requests.length, 0);
  });
});
