/**
 * The demo organisation's CloudWatch `AWS/Bedrock` metrics, one file per account, Region and UTC day: the
 * GetMetricData request (`MetricDataQueries`) and its response (`MetricDataResults`, hourly Sum, newest first as
 * the API returns them by default) in one JSON object. Per ModelId value exactly as called (`+priority` for the
 * priority tier): Invocations (accepted calls, throttles excluded), token counts and error counts; per account/
 * Region with logging: ModelInvocationLogsS3DeliverySuccess/Failure (records delivered or not), without dimensions.
 */
import type { Meter, Series } from './meter.ts';
import { CW_METRICS } from './meter.ts';
import { HOUR_MS } from './rhythm.ts';

/**
 * Models whose cache metrics use the spelling of the CloudWatch documentation (`CacheReadInputTokens`,
 * `CacheWriteInputTokens`) instead of the one seen in real datapoints (`…TokenCount`); readers must accept both.
 */
export const DOC_SPELLING_MODELS: ReadonlySet<string> = new Set(['anthropic.claude-opus-4-6-v1']);
const DOC_SPELLING: Readonly<Record<number, string>> = {
  3: 'CacheReadInputTokens',
  4: 'CacheWriteInputTokens',
};

export const DELIVERY_METRICS = [
  'ModelInvocationLogsS3DeliverySuccess',
  'ModelInvocationLogsS3DeliveryFailure',
] as const;

interface Query {
  readonly name: string;
  readonly modelId: string | null;
  /** Hour (ms) → value. */
  readonly points: Map<number, number>;
}

const iso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** File path (`<account>/<region>/<YYYY-MM-DD>.json`) → contents. */
export function cloudwatchFiles(meter: Meter): Map<string, string> {
  const days = new Map<string, { region: string; account: string; queries: Map<string, Query> }>();
  const group = (account: string, region: string, hourMs: number) => {
    const path = `${account}/${region}/${dayOf(hourMs)}.json`;
    let g = days.get(path);
    if (g === undefined) {
      g = { region, account, queries: new Map() };
      days.set(path, g);
    }
    return g;
  };
  const point = (
    queries: Map<string, Query>,
    name: string,
    modelId: string | null,
    hourMs: number,
    value: number,
  ) => {
    const id = `${modelId ?? ''}\u0000${name}`;
    let q = queries.get(id);
    if (q === undefined) {
      q = { name, modelId, points: new Map() };
      queries.set(id, q);
    }
    q.points.set(hourMs, (q.points.get(hourMs) ?? 0) + value);
  };

  for (const s of meter.series.values()) {
    const g = group(s.account, s.region, s.hourMs);
    const names = metricNames(meter, s);
    s.values.forEach((value, i) => {
      point(g.queries, names[i] ?? '', s.modelId, s.hourMs, value);
    });
  }
  for (const d of meter.delivery.values()) {
    const g = group(d.account, d.region, d.hourMs);
    point(g.queries, DELIVERY_METRICS[0], null, d.hourMs, d.success);
    point(g.queries, DELIVERY_METRICS[1], null, d.hourMs, d.failure);
  }

  const files = new Map<string, string>();
  for (const path of [...days.keys()].sort()) {
    const g = days.get(path);
    if (g === undefined) continue;
    files.set(path, `${JSON.stringify(document(g.account, g.region, g.queries))}\n`);
  }
  return files;
}

function metricNames(meter: Meter, s: Series): readonly string[] {
  const base = meter.modelRef(s.modelId.replace(/\+(priority|flex)$/, '')).base;
  if (!DOC_SPELLING_MODELS.has(base)) return CW_METRICS;
  return CW_METRICS.map((name, i) => DOC_SPELLING[i] ?? name);
}

function document(account: string, region: string, queries: Map<string, Query>) {
  // Invocation metrics by ModelId then in CW_METRICS order; the account-level delivery metrics last.
  const rank = (q: Query) => {
    const i = CW_METRICS.findIndex((m, j) => m === q.name || DOC_SPELLING[j] === q.name);
    return i >= 0 ? i : CW_METRICS.length + DELIVERY_METRICS.indexOf(q.name as never);
  };
  const ordered = [...queries.values()].sort((a, b) => {
    if ((a.modelId === null) !== (b.modelId === null)) return a.modelId === null ? 1 : -1;
    if (a.modelId !== b.modelId) return (a.modelId ?? '') < (b.modelId ?? '') ? -1 : 1;
    return rank(a) - rank(b);
  });
  return {
    Region: region,
    AccountId: account,
    MetricDataQueries: ordered.map((q, i) => ({
      Id: `m${i}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/Bedrock',
          MetricName: q.name,
          Dimensions: q.modelId === null ? [] : [{ Name: 'ModelId', Value: q.modelId }],
        },
        Period: HOUR_MS / 1000,
        Stat: 'Sum',
      },
      ReturnData: true,
    })),
    MetricDataResults: ordered.map((q, i) => {
      const hours = [...q.points.keys()].sort((a, b) => b - a);
      return {
        Id: `m${i}`,
        Label: q.name,
        Timestamps: hours.map(iso),
        Values: hours.map((h) => q.points.get(h) ?? 0),
        StatusCode: 'Complete',
      };
    }),
    Messages: [],
  };
}
