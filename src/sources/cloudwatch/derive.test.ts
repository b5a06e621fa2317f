/**
 * deriveMetrics on hand-made points; every expected number is computed by hand in the comments.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decimalRatio, deriveMetrics } from './derive.ts';
import type { MetricPoint } from './metric-point.ts';

const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const SONNET = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';

function point(
  metric: string,
  modelId: string | null,
  time: string,
  value: number,
  more: Partial<MetricPoint> = {},
): MetricPoint {
  return {
    namespace: 'AWS/Bedrock',
    metric,
    region: 'us-east-1',
    account: '123456789012',
    modelId,
    tier: 'standard',
    stat: 'Sum',
    periodSeconds: 3600,
    at: Date.parse(time),
    value,
    ...more,
  };
}

const points: MetricPoint[] = [
  // Haiku, 14 July, two hours: 3 calls, 350 + 40 input, 50 + 10 output, 2,000 cache read, 500 cache write.
  point('Invocations', HAIKU, '2026-07-14T10:00:00Z', 2),
  point('Invocations', HAIKU, '2026-07-14T11:00:00Z', 1),
  point('InputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 350),
  point('InputTokenCount', HAIKU, '2026-07-14T11:00:00Z', 40),
  point('OutputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 50),
  point('OutputTokenCount', HAIKU, '2026-07-14T11:00:00Z', 10),
  point('CacheReadInputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 2000),
  point('CacheWriteInputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 500),
  point('InvocationClientErrors', HAIKU, '2026-07-14T10:00:00Z', 1),
  // Haiku flex: its own group.
  point('Invocations', HAIKU, '2026-07-14T10:00:00Z', 1, { tier: 'flex' }),
  point('InputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 7, { tier: 'flex' }),
  point('OutputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 3, { tier: 'flex' }),
  // Sonnet priority across midnight: a group per day; 1 throttle on the 14th.
  point('Invocations', SONNET, '2026-07-14T23:00:00Z', 1, { tier: 'priority' }),
  point('InputTokenCount', SONNET, '2026-07-14T23:00:00Z', 10, { tier: 'priority' }),
  point('CacheReadInputTokenCount', SONNET, '2026-07-14T23:00:00Z', 90, { tier: 'priority' }),
  point('InvocationThrottles', SONNET, '2026-07-14T23:00:00Z', 1, { tier: 'priority' }),
  point('Invocations', SONNET, '2026-07-15T00:00:00Z', 4, { tier: 'priority' }),
  point('InputTokenCount', SONNET, '2026-07-15T00:00:00Z', 20, { tier: 'priority' }),
  point('InvocationServerErrors', SONNET, '2026-07-15T00:00:00Z', 1, { tier: 'priority' }),
  // Not counted: a daily Sum of a series that also has hourly points; a latency; a SampleCount; a non-integer.
  point('Invocations', HAIKU, '2026-07-14T00:00:00Z', 3, { periodSeconds: 86400 }),
  point('InvocationLatency', HAIKU, '2026-07-14T10:00:00Z', 300, { stat: 'Average' }),
  point('InputTokenCount', HAIKU, '2026-07-14T10:00:00Z', 2, { stat: 'SampleCount' }),
  point('OutputTokenCount', SONNET, '2026-07-15T00:00:00Z', 2.5, { tier: 'priority' }),
  // Account-level (no ModelId): its own group, never added to the per-model overall.
  point('Invocations', null, '2026-07-14T10:00:00Z', 4),
  // Log delivery: S3 failed twice on the 14th in us-east-1; CloudWatch delivery 0 failures; another Region 1.
  point('ModelInvocationLogsS3DeliveryFailure', null, '2026-07-14T10:00:00Z', 2),
  point('ModelInvocationLogsCloudWatchDeliveryFailure', null, '2026-07-14T10:00:00Z', 0),
  point('ModelInvocationLogsCloudWatchDeliverySuccess', null, '2026-07-14T10:00:00Z', 9),
  point('ModelInvocationLargeDataS3DeliveryFailure', null, '2026-07-15T05:00:00Z', 1, {
    region: 'eu-west-1',
  }),
];

describe('deriveMetrics', () => {
  const derived = deriveMetrics(points);
  const group = (modelId: string | null, tier: string, day: string) => {
    const g = derived.groups.find((x) => x.modelId === modelId && x.tier === tier && x.day === day);
    assert.ok(g, `no group ${modelId} ${tier} ${day}`);
    return g;
  };

  test('groups by Region, model, tier and UTC day, in order, account-level last', () => {
    assert.deepEqual(
      derived.groups.map((g) => `${g.day} ${g.region} ${g.modelId ?? '(all models)'} ${g.tier}`),
      [
        `2026-07-14 us-east-1 ${SONNET} priority`,
        `2026-07-14 us-east-1 ${HAIKU} flex`,
        `2026-07-14 us-east-1 ${HAIKU} standard`,
        '2026-07-14 us-east-1 (all models) standard',
        `2026-07-15 us-east-1 ${SONNET} priority`,
      ],
    );
  });

  test('Haiku standard on 14 July: exact counts and ratios', () => {
    assert.deepEqual(group(HAIKU, 'standard', '2026-07-14'), {
      region: 'us-east-1',
      modelId: HAIKU,
      tier: 'standard',
      day: '2026-07-14',
      invocations: 3n,
      inputTokens: 390n,
      outputTokens: 60n,
      cacheReadTokens: 2000n,
      cacheWriteTokens: 500n,
      clientErrors: 1n,
      serverErrors: 0n,
      throttles: 0n,
      // (390 + 2,000 + 500 + 60) / 3 = 983.333…
      tokensPerInvocation: '983.33',
      // 60 / 2,890 = 0.020761…
      outputInputRatio: '0.0208',
      // 2,000 / 2,890 = 0.692041…
      cacheHitRate: '0.6920',
      // 1 / 3
      clientErrorRate: '0.3333',
      serverErrorRate: '0.0000',
      throttleRate: '0.0000',
    });
  });

  test('Sonnet priority: throttles are a share of attempts; a day without output', () => {
    const d14 = group(SONNET, 'priority', '2026-07-14');
    assert.equal(d14.invocations, 1n);
    // 1 throttle / (1 invocation + 1 throttle)
    assert.equal(d14.throttleRate, '0.5000');
    // 90 / (10 + 90)
    assert.equal(d14.cacheHitRate, '0.9000');
    assert.equal(d14.outputInputRatio, '0.0000');
    const d15 = group(SONNET, 'priority', '2026-07-15');
    // The 2.5 output Sum is not a count: not counted.
    assert.equal(d15.outputTokens, 0n);
    // 1 / 4
    assert.equal(d15.serverErrorRate, '0.2500');
    // 20 / 4
    assert.equal(d15.tokensPerInvocation, '5.00');
  });

  test('account-level group stands alone; overall sums the per-model groups only', () => {
    assert.equal(group(null, 'standard', '2026-07-14').invocations, 4n);
    const o = derived.overall;
    // 3 + 1 + 1 + 4 (not + 4 account-level, not + 3 from the daily Sum)
    assert.equal(o.invocations, 9n);
    // 390 + 7 + 10 + 20
    assert.equal(o.inputTokens, 427n);
    assert.equal(o.outputTokens, 63n);
    assert.equal(o.cacheReadTokens, 2090n);
    assert.equal(o.cacheWriteTokens, 500n);
    assert.equal(o.throttles, 1n);
    // 2,090 / (427 + 2,090 + 500) = 2,090 / 3,017 = 0.692741…
    assert.equal(o.cacheHitRate, '0.6927');
    // (3,017 + 63) / 9 = 342.222…
    assert.equal(o.tokensPerInvocation, '342.22');
    // 1 / (9 + 1)
    assert.equal(o.throttleRate, '0.1000');
  });

  test('log-delivery failures per Region and day mark gaps; zero failures do not', () => {
    assert.deepEqual(derived.deliveryFailures, [
      {
        region: 'us-east-1',
        day: '2026-07-14',
        metric: 'ModelInvocationLogsS3DeliveryFailure',
        failures: 2n,
      },
      {
        region: 'eu-west-1',
        day: '2026-07-15',
        metric: 'ModelInvocationLargeDataS3DeliveryFailure',
        failures: 1n,
      },
    ]);
    assert.equal(derived.logGaps, true);
    const healthy = deriveMetrics(points.filter((p) => !p.metric.endsWith('DeliveryFailure')));
    assert.equal(healthy.logGaps, false);
    assert.deepEqual(healthy.deliveryFailures, []);
  });

  test('what is not counted is said', () => {
    assert.deepEqual(derived.notes, [
      `us-east-1 (account 123456789012) OutputTokenCount ${SONNET}+priority at 2026-07-15T00:00:00.000Z: Sum 2.5 is not a whole non-negative count; not counted`,
      `us-east-1 (account 123456789012) Invocations ${HAIKU}: 1 Sum datapoint(s) at 86400 s not counted; the series has 3600 s datapoints`,
    ]);
    const odd = deriveMetrics([
      point('Invocations', HAIKU, '2026-07-14T10:00:00Z', 1, { periodSeconds: 7 * 3600 }),
    ]);
    assert.match(odd.notes[0] ?? '', /period 25200 s does not divide a day/);
  });

  test('nothing in, zeros and null ratios out', () => {
    const empty = deriveMetrics([]);
    assert.deepEqual(empty.groups, []);
    assert.equal(empty.overall.invocations, 0n);
    assert.equal(empty.overall.cacheHitRate, null);
    assert.equal(empty.overall.tokensPerInvocation, null);
    assert.equal(empty.logGaps, false);
  });

  test('counts beyond 2^53 stay exact', () => {
    const big = 2 ** 53;
    const d = deriveMetrics([
      point('InputTokenCount', HAIKU, '2026-07-14T10:00:00Z', big),
      point('InputTokenCount', HAIKU, '2026-07-14T11:00:00Z', big),
      point('InputTokenCount', HAIKU, '2026-07-14T12:00:00Z', 2),
    ]);
    assert.equal(d.overall.inputTokens, 2n ** 54n + 2n);
  });
});

describe('decimalRatio', () => {
  test('rounds half up at the requested places', () => {
    assert.equal(decimalRatio(1n, 8n, 2), '0.13');
    assert.equal(decimalRatio(1n, 8n, 3), '0.125');
    assert.equal(decimalRatio(2n, 3n, 4), '0.6667');
    assert.equal(decimalRatio(7n, 2n, 0), '4');
    assert.equal(decimalRatio(10n, 4n, 2), '2.50');
    assert.equal(decimalRatio(5n, 0n, 2), null);
  });
});
