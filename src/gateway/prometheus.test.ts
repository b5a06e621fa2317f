/**
 * The gateway's /metrics text: a golden exposition for a fixed state, read back by a strict parser (test/support);
 * exact cost decimals, escaped label values, cumulative histogram buckets, and the series cap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertGolden } from '../../test/support/golden.ts';
import { onPath } from '../../test/support/process.ts';
import { parseExposition, sampleOf } from '../../test/support/prometheus.ts';
import type { GovernorStatus } from './governance/index.ts';
import { createCallMetrics, type ObservedCall, OTHER_MODEL, renderMetrics } from './prometheus.ts';

const ZERO = { input: 0, output: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
const call = (over: Partial<ObservedCall>): ObservedCall => ({
  team: 'search',
  model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  operation: 'Converse',
  error: null,
  tokens: ZERO,
  costPicos: 0n,
  latencyMs: 100,
  ...over,
});

const governor: GovernorStatus = {
  at: '2026-11-24T10:00:00.000Z',
  budgets: [
    {
      budget: 'team-monthly',
      label: 'team-monthly{team=search}',
      scope: { team: 'search' },
      period: 'monthly',
      window: 'calendar',
      timezone: null,
      enforce: 'block',
      limitUsd: '2000.00',
      softUsd: '1600.00',
      spentUsd: '12.345678901234',
      reservedUsd: '0.75',
      remainingUsd: '1986.904321098766',
      periodStart: '2026-11-01T00:00:00.000Z',
      resetsAt: '2026-12-01T00:00:00.000Z',
    },
  ],
  limits: [
    {
      limit: 'key-rate',
      label: 'key-rate{key=k1}',
      scope: { key: 'k1' },
      kind: 'rpm',
      max: 120,
      used: 7,
      reserved: 1,
      remaining: 112,
    },
  ],
  openTickets: 1,
  oldestTicketAgeMs: 250,
  expiredTickets: 0,
  lateSettlements: 0,
  expireAfterMs: 360_000,
};

function state() {
  const calls = createCallMetrics(3);
  calls.observe(
    call({
      tokens: { input: 1000, output: 200, cacheRead: 5000, cacheWrite5m: 300, cacheWrite1h: 0 },
      costPicos: 4_200_000_000n,
      latencyMs: 320,
    }),
  );
  calls.observe(call({ tokens: ZERO, error: 'ThrottlingException', costPicos: 0n, latencyMs: 40 }));
  calls.observe(
    call({
      team: null,
      model: 'writer.palmyra-x5-v1:0',
      operation: 'InvokeModel',
      tokens: { ...ZERO, input: 10, output: 5 },
      costPicos: null,
      latencyMs: 1500,
    }),
  );
  // A team name with the characters the format escapes.
  const some = { ...ZERO, input: 1 };
  calls.observe(call({ team: 'a"b\\c\nd', tokens: some, costPicos: 1n, latencyMs: 90_000 }));
  // A fourth combination: past the cap of three, it counts under (other).
  calls.observe(
    call({ model: 'brand.new-model-v1:0', tokens: some, costPicos: 7n, latencyMs: 400_000 }),
  );
  return renderMetrics({
    requests: 9,
    recorded: 5,
    rejected: { ThrottlingException: 2, UnrecognizedClientException: 1 },
    upstreamErrors: 1,
    settleFailures: 0,
    draining: 2,
    closedStreamsCut: 1,
    calls,
    governor,
    spool: {
      appended: 5,
      written: 4,
      pendingRecords: 1,
      pendingBytes: 512,
      segments: 1,
      storeDown: false,
      consecutiveFailures: 0,
      lastError: null,
      corruptLines: 0,
      replayedSegments: 0,
      syncs: 3,
    },
    sharedKeys: { pending: 0, lastSyncAt: 1_795_000_000_000, unreadable: 0 },
    process: {
      cpuSeconds: 12.5,
      residentBytes: 123_456_789,
      heapBytes: 45_678_901,
      startTimeSeconds: 1_795_000_000,
      loopDelay: { p50: 0.010_5, p99: 0.02, max: 0.031 },
    },
  });
}

describe('gateway /metrics', () => {
  test('the exposition of a fixed state (golden), valid line by line', () => {
    const text = state();
    assertGolden(join(import.meta.dirname, 'testdata', 'metrics.golden.txt'), text);
    assert.ok(parseExposition(text).length > 40);
  });

  const promtool = onPath('promtool');
  test('Prometheus’s own promtool accepts it, lint included', {
    skip: promtool === null ? 'promtool not on PATH (Debian: apt-get install prometheus)' : false,
  }, () => {
    const r = spawnSync(promtool as string, ['check', 'metrics'], {
      input: state(),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
  });

  test('costs are exact decimals; label values round-trip; histograms are cumulative', () => {
    const samples = parseExposition(state());
    const search = { team: 'search', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' };
    assert.equal(sampleOf(samples, 'tokenledger_gateway_cost_usd_total', search).text, '0.0042');
    assert.equal(sampleOf(samples, 'tokenledger_gateway_calls_total', search).value, 2);
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_call_errors_total', {
        ...search,
        error: 'ThrottlingException',
      }).value,
      1,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_tokens_total', { ...search, type: 'cache_read' })
        .value,
      5000,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_unpriced_calls_total', { team: '(none)' }).value,
      1,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_calls_total', { team: 'a"b\\c\nd' }).value,
      1,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_calls_total', { model: OTHER_MODEL }).value,
      1,
    );
    const buckets = samples.filter(
      (s) =>
        s.name === 'tokenledger_gateway_call_duration_seconds_bucket' &&
        s.labels.team === 'search' &&
        s.labels.model === search.model,
    );
    assert.deepEqual(
      buckets.map((b) => [b.labels.le, b.value]),
      [
        ['0.1', 1],
        ['0.25', 1],
        ['0.5', 2],
        ['1', 2],
        ['2.5', 2],
        ['5', 2],
        ['10', 2],
        ['30', 2],
        ['60', 2],
        ['120', 2],
        ['300', 2],
        ['+Inf', 2],
      ],
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_budget_spent_usd', { scope: 'team-monthly{team=search}' })
        .text,
      '12.345678901234',
    );
  });

  test('the test parser itself refuses what Prometheus refuses', () => {
    for (const bad of [
      'x 1\n',
      '# TYPE x counter\nx{a="b"c"} 1\n',
      '# TYPE x counter\nx{a="b\\q"} 1\n',
      '# TYPE x counter\nx{a="1",a="2"} 1\n',
      '# TYPE x counter\nx 1\nx 2\n',
      '# TYPE x counter\nx 1,5\n',
      '# TYPE x counter\nx_bucket{le="1"} 1\n',
      '# TYPE x counter\nx 1',
    ])
      assert.throws(() => parseExposition(bad), bad);
  });

  test('a call that billed nothing opens no series of its own: made-up model ids cannot fill the cap', () => {
    const calls = createCallMetrics(10);
    calls.observe(call({ tokens: { ...ZERO, input: 5 }, costPicos: 5n }));
    calls.observe(call({ error: 'ThrottlingException' })); // a known model's refusal: counted under it
    for (let i = 0; i < 100; i++)
      calls.observe(call({ model: `made-up-${i}`, error: 'ValidationException' }));
    assert.deepEqual(
      calls.series().map((s) => [s.model, s.calls, [...s.errors]]),
      [
        ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 2, [['ThrottlingException', 1]]],
        [OTHER_MODEL, 100, [['ValidationException', 100]]],
      ],
    );
  });

  test('past the cap every new combination shares the (other) series of its team and operation', () => {
    const calls = createCallMetrics(1);
    const one = { ...ZERO, output: 1 };
    for (let i = 0; i < 100; i++)
      calls.observe(call({ model: `m-${i}`, tokens: one, costPicos: 1n }));
    const series = calls.series();
    assert.equal(series.length, 2);
    assert.deepEqual(
      series.map((s) => [s.model, s.calls, s.cost]),
      [
        ['m-0', 1, 1n],
        [OTHER_MODEL, 99, 99n],
      ],
    );
  });
});
