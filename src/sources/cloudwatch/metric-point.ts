/**
 * The vocabulary of the CloudWatch source: one datapoint of an `AWS/Bedrock` metric (bedrock.md §3.1), the
 * canonical metric names, and how a `ModelId` dimension value splits into model and service tier.
 */

export type MetricTier = 'standard' | 'priority' | 'flex';

/** One datapoint of one metric series. Metric values are counts or milliseconds, never money. */
export interface MetricPoint {
  readonly namespace: string;
  /** Canonical name: the two cache-metric spellings are folded into `Cache{Read,Write}InputTokenCount`. */
  readonly metric: string;
  readonly region: string;
  readonly account: string | null;
  /** The `ModelId` dimension without its `+priority`/`+flex` suffix; null for account-level metrics. */
  readonly modelId: string | null;
  readonly tier: MetricTier;
  /** `Sum`, `SampleCount`, `Average`, `p95`, … as queried. */
  readonly stat: string;
  readonly periodSeconds: number;
  /** Epoch ms of the start of the datapoint's period. */
  readonly at: number;
  readonly value: number;
}

/** A document, query, result or datapoint that could not be read, with where it is and why. */
export interface MetricReject {
  readonly source: string;
  /** 1-based line where the offending document starts (0 when there is no line, e.g. a fetched document). */
  readonly line: number;
  readonly reason: string;
}

export const BEDROCK_NAMESPACE = 'AWS/Bedrock';

/** The documented spelling → the spelling real datapoints use (bedrock.md §3.1 [C]); both are accepted. */
const METRIC_ALIASES: Readonly<Record<string, string>> = {
  CacheReadInputTokens: 'CacheReadInputTokenCount',
  CacheWriteInputTokens: 'CacheWriteInputTokenCount',
};

export function canonicalMetric(name: string): string {
  return METRIC_ALIASES[name] ?? name;
}

/** Metrics in milliseconds, for which a sum is meaningless: they are queried as averages. */
export const LATENCY_METRICS: ReadonlySet<string> = new Set([
  'InvocationLatency',
  'TimeToFirstToken',
]);

/** `ModelInvocationLogsCloudWatchDeliveryFailure`, `…LogsS3DeliveryFailure`, `…LargeDataS3DeliveryFailure`. */
export function isDeliveryFailureMetric(metric: string): boolean {
  return /^ModelInvocation[A-Za-z0-9]*DeliveryFailure$/.test(metric);
}

/** `us.anthropic.claude-haiku-4-5-20251001-v1:0+flex` → model id and tier; an unknown suffix is an error text. */
export function splitModelId(
  value: string,
): { modelId: string; tier: MetricTier } | { error: string } {
  const plus = value.lastIndexOf('+');
  if (plus === -1)
    return value === '' ? { error: 'empty ModelId' } : { modelId: value, tier: 'standard' };
  const modelId = value.slice(0, plus);
  const suffix = value.slice(plus + 1);
  if (modelId === '') return { error: `ModelId "${value}" has no model before its suffix` };
  if (suffix === 'priority' || suffix === 'flex') return { modelId, tier: suffix };
  return { error: `ModelId "${value}" has an unknown service-tier suffix "+${suffix}"` };
}

/** The identity of a point: two points with the same key are the same fact. */
export function metricPointKey(p: MetricPoint): string {
  return [
    p.region,
    p.account ?? '',
    p.namespace,
    p.metric,
    p.modelId ?? '',
    p.tier,
    p.stat,
    p.periodSeconds,
    p.at,
  ].join('\u0000');
}

/** A total order over points (by key fields, time last), so outputs do not depend on the input's order. */
export function compareMetricPoints(a: MetricPoint, b: MetricPoint): number {
  return (
    cmp(a.region, b.region) ||
    cmp(a.account ?? '', b.account ?? '') ||
    cmp(a.namespace, b.namespace) ||
    cmp(a.metric, b.metric) ||
    cmp(a.modelId ?? '', b.modelId ?? '') ||
    cmp(a.tier, b.tier) ||
    cmp(a.stat, b.stat) ||
    a.periodSeconds - b.periodSeconds ||
    a.at - b.at
  );
}

function cmp(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
