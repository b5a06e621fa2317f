/** `tokenledger metrics`: failed log deliveries keep their own day and Region whatever `--by` folds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricRow } from '../../store/index.ts';
import { deliveryFailuresOf, percent } from './metrics.ts';

const row = (over: Partial<MetricRow>): MetricRow => ({
  region: 'us-east-1',
  account: '111122223333',
  namespace: 'AWS/Bedrock',
  metric: 'Invocations',
  modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
  tier: 'standard',
  stat: 'Sum',
  periodSeconds: 3600,
  at: Date.parse('2026-11-19T14:00:00Z'),
  value: 10,
  source: 'test',
  ...over,
});

test('delivery failures are dated the day they happened, in their Region; other metrics are not failures', () => {
  const failure = { metric: 'ModelInvocationLogsS3DeliveryFailure', modelId: '' };
  const failures = deliveryFailuresOf([
    row({}),
    row({ ...failure, value: 120 }),
    row({ ...failure, value: 81, at: Date.parse('2026-11-19T15:00:00Z') }),
    row({ ...failure, value: 5, region: 'eu-west-1', at: Date.parse('2026-11-20T01:00:00Z') }),
  ]);
  assert.deepEqual(failures, [
    {
      region: 'us-east-1',
      day: '2026-11-19',
      metric: 'ModelInvocationLogsS3DeliveryFailure',
      failures: 201n,
    },
    {
      region: 'eu-west-1',
      day: '2026-11-20',
      metric: 'ModelInvocationLogsS3DeliveryFailure',
      failures: 5n,
    },
  ]);
});

test('rates show as percentages, exactly (the decimal point moves two places)', () => {
  assert.deepEqual(['0.0020', '0.6920', '1.0000', '0.5', '0', '0.12345', null].map(percent), [
    '0.20%',
    '69.20%',
    '100.00%',
    '50%',
    '0%',
    '12.345%',
    '-',
  ]);
});
