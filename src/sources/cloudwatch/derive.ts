/**
 * What the `AWS/Bedrock` metrics say about usage, per (Region, model, tier, UTC day) and overall: counts summed
 * exactly as bigints from `Sum` datapoints, and ratios as decimal strings rounded half up for display (they are
 * never money). Log-delivery failures mark the days on which the invocation-log ledger has gaps. Pure.
 */
import {
  BEDROCK_NAMESPACE,
  compareMetricPoints,
  isDeliveryFailureMetric,
  type MetricPoint,
  type MetricTier,
} from './metric-point.ts';

export interface UsageCounts {
  readonly invocations: bigint;
  /** Uncached input tokens (`InputTokenCount`). */
  readonly inputTokens: bigint;
  readonly outputTokens: bigint;
  readonly cacheReadTokens: bigint;
  readonly cacheWriteTokens: bigint;
  readonly clientErrors: bigint;
  readonly serverErrors: bigint;
  /** Not counted in `invocations` (bedrock.md §3.1). */
  readonly throttles: bigint;
}

/** Decimal strings, rounded half up; null when the denominator is zero. */
export interface UsageRatios {
  /** (input + cache read + cache write + output) / invocations, 2 decimals. */
  readonly tokensPerInvocation: string | null;
  /** output / (input + cache read + cache write): output per token of all input, 4 decimals. */
  readonly outputInputRatio: string | null;
  /** cache read / (input + cache read + cache write), 4 decimals. */
  readonly cacheHitRate: string | null;
  /** client errors / invocations, 4 decimals. */
  readonly clientErrorRate: string | null;
  /** server errors / invocations, 4 decimals. */
  readonly serverErrorRate: string | null;
  /** throttles / (invocations + throttles): the share of attempts refused, 4 decimals. */
  readonly throttleRate: string | null;
}

export type UsageSummary = UsageCounts & UsageRatios;

export interface UsageGroup extends UsageSummary {
  readonly region: string;
  /** Null for metrics CloudWatch reports across all models (no ModelId dimension). */
  readonly modelId: string | null;
  readonly tier: MetricTier;
  /** UTC day of the datapoints' period start, `YYYY-MM-DD`. */
  readonly day: string;
}

export interface DeliveryFailure {
  readonly region: string;
  readonly day: string;
  readonly metric: string;
  readonly failures: bigint;
}

export interface DerivedMetrics {
  /** Sorted by day, Region, model (account-level last), tier. */
  readonly groups: UsageGroup[];
  /** Over the per-model groups only: account-level series would count the same calls twice. */
  readonly overall: UsageSummary;
  /** Region/day/metric with failed log deliveries (> 0 only). */
  readonly deliveryFailures: DeliveryFailure[];
  /** True when any log delivery failed: the invocation-log ledger is missing records. */
  readonly logGaps: boolean;
  /** Datapoints that were not counted, and why (mixed periods, non-integer counts, periods across days). */
  readonly notes: string[];
}

type CountField = keyof UsageCounts;

const COUNT_METRICS: Readonly<Record<string, CountField>> = {
  Invocations: 'invocations',
  InputTokenCount: 'inputTokens',
  OutputTokenCount: 'outputTokens',
  CacheReadInputTokenCount: 'cacheReadTokens',
  CacheWriteInputTokenCount: 'cacheWriteTokens',
  InvocationClientErrors: 'clientErrors',
  InvocationServerErrors: 'serverErrors',
  InvocationThrottles: 'throttles',
};

const DAY_MS = 86_400_000;

type MutableCounts = { -readonly [K in CountField]: bigint };

function zeroCounts(): MutableCounts {
  return {
    invocations: 0n,
    inputTokens: 0n,
    outputTokens: 0n,
    cacheReadTokens: 0n,
    cacheWriteTokens: 0n,
    clientErrors: 0n,
    serverErrors: 0n,
    throttles: 0n,
  };
}

export function deriveMetrics(points: readonly MetricPoint[]): DerivedMetrics {
  const notes: string[] = [];
  const counted = countablePoints(points, notes);
  const groups = new Map<string, { key: Omit<UsageGroup, keyof UsageSummary>; c: MutableCounts }>();
  const failures = new Map<string, { region: string; day: string; metric: string; n: bigint }>();
  for (const p of counted) {
    const day = new Date(p.at - (p.at % DAY_MS)).toISOString().slice(0, 10);
    const n = BigInt(p.value);
    if (isDeliveryFailureMetric(p.metric)) {
      const k = [p.region, day, p.metric].join('\u0000');
      const f = failures.get(k) ?? { region: p.region, day, metric: p.metric, n: 0n };
      f.n += n;
      failures.set(k, f);
      continue;
    }
    const field = COUNT_METRICS[p.metric];
    if (field === undefined) continue;
    const k = [day, p.region, p.modelId ?? '', p.modelId === null ? 1 : 0, p.tier].join('\u0000');
    const g = groups.get(k) ?? {
      key: { region: p.region, modelId: p.modelId, tier: p.tier, day },
      c: zeroCounts(),
    };
    g.c[field] += n;
    groups.set(k, g);
  }
  const overall = zeroCounts();
  const out: UsageGroup[] = [];
  for (const g of [...groups.values()].sort((a, b) => compareGroups(a.key, b.key))) {
    out.push({ ...g.key, ...summarise(g.c) });
    if (g.key.modelId === null) continue;
    for (const f of Object.keys(overall) as CountField[]) overall[f] += g.c[f];
  }
  const deliveryFailures = [...failures.values()]
    .filter((f) => f.n > 0n)
    .map((f) => ({ region: f.region, day: f.day, metric: f.metric, failures: f.n }))
    .sort((a, b) => cmp(a.day, b.day) || cmp(a.region, b.region) || cmp(a.metric, b.metric));
  return {
    groups: out,
    overall: summarise(overall),
    deliveryFailures,
    logGaps: deliveryFailures.length > 0,
    notes,
  };
}

/** Sum datapoints of AWS/Bedrock count metrics, one period per series (the finest), whole non-negative values. */
function countablePoints(points: readonly MetricPoint[], notes: string[]): MetricPoint[] {
  const relevant = points.filter(
    (p) =>
      p.namespace === BEDROCK_NAMESPACE &&
      p.stat === 'Sum' &&
      (COUNT_METRICS[p.metric] !== undefined || isDeliveryFailureMetric(p.metric)),
  );
  const finest = new Map<string, Set<number>>();
  for (const p of relevant) {
    const k = seriesKey(p);
    finest.set(k, (finest.get(k) ?? new Set()).add(p.periodSeconds));
  }
  const kept: MetricPoint[] = [];
  const skipped = new Map<string, { p: MetricPoint; min: number; n: number }>();
  const oddPeriods = new Set<number>();
  for (const p of [...relevant].sort(compareMetricPoints)) {
    const min = Math.min(...(finest.get(seriesKey(p)) ?? [p.periodSeconds]));
    if (p.periodSeconds !== min) {
      const k = `${seriesKey(p)}\u0000${p.periodSeconds}`;
      const s = skipped.get(k) ?? { p, min, n: 0 };
      s.n++;
      skipped.set(k, s);
      continue;
    }
    if (!Number.isInteger(p.value) || p.value < 0) {
      notes.push(
        `${describePoint(p)}: Sum ${p.value} is not a whole non-negative count; not counted`,
      );
      continue;
    }
    if (DAY_MS % (p.periodSeconds * 1000) !== 0) oddPeriods.add(p.periodSeconds);
    kept.push(p);
  }
  for (const { p, min, n } of skipped.values()) {
    notes.push(
      `${describeSeries(p)}: ${n} Sum datapoint(s) at ${p.periodSeconds} s not counted; the series has ${min} s datapoints`,
    );
  }
  for (const period of [...oddPeriods].sort((a, b) => a - b)) {
    notes.push(
      `period ${period} s does not divide a day: each datapoint is counted on the day its period starts`,
    );
  }
  return kept;
}

function seriesKey(p: MetricPoint): string {
  return [p.region, p.account ?? '', p.metric, p.modelId ?? '', p.tier].join('\u0000');
}

function describeSeries(p: MetricPoint): string {
  const model =
    p.modelId === null ? '' : ` ${p.modelId}${p.tier === 'standard' ? '' : `+${p.tier}`}`;
  const account = p.account === null ? '' : ` (account ${p.account})`;
  return `${p.region}${account} ${p.metric}${model}`;
}

function describePoint(p: MetricPoint): string {
  return `${describeSeries(p)} at ${new Date(p.at).toISOString()}`;
}

function summarise(c: UsageCounts): UsageSummary {
  const allInput = c.inputTokens + c.cacheReadTokens + c.cacheWriteTokens;
  return {
    ...c,
    tokensPerInvocation: decimalRatio(allInput + c.outputTokens, c.invocations, 2),
    outputInputRatio: decimalRatio(c.outputTokens, allInput, 4),
    cacheHitRate: decimalRatio(c.cacheReadTokens, allInput, 4),
    clientErrorRate: decimalRatio(c.clientErrors, c.invocations, 4),
    serverErrorRate: decimalRatio(c.serverErrors, c.invocations, 4),
    throttleRate: decimalRatio(c.throttles, c.invocations + c.throttles, 4),
  };
}

/** num / den as a decimal string with `places` decimals, rounded half up (both non-negative). */
export function decimalRatio(num: bigint, den: bigint, places: number): string | null {
  if (den === 0n) return null;
  const scale = 10n ** BigInt(places);
  const q = (num * scale * 2n + den) / (den * 2n);
  const whole = q / scale;
  const frac = (q % scale).toString().padStart(places, '0');
  return places === 0 ? whole.toString() : `${whole}.${frac}`;
}

function compareGroups(
  a: Omit<UsageGroup, keyof UsageSummary>,
  b: Omit<UsageGroup, keyof UsageSummary>,
): number {
  return (
    cmp(a.day, b.day) ||
    cmp(a.region, b.region) ||
    (a.modelId === null ? 1 : 0) - (b.modelId === null ? 1 : 0) ||
    cmp(a.modelId ?? '', b.modelId ?? '') ||
    cmp(a.tier, b.tier)
  );
}

function cmp(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
