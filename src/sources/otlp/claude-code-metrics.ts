/**
 * The eight `claude_code.*` metrics (telemetry.md §1) → exact increases. Claude Code exports monotonic sums, DELTA
 * by default (each point is the increase since the previous export: summed as is); with
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative each point is a running total, turned into an
 * increase by a `CumulativeTracker` (re-exports and restarts count once). Values arrive as doubles even for
 * counts; they become bigint (counts, tokens), a decimal string (USD) or seconds. A point that adds nothing
 * (zero, a duplicate export, a stale point) produces no observation but is counted.
 */
import { createHash } from 'node:crypto';
import { Attribution, headerAttributes } from './attribution.ts';
import {
  CLAUDE_CODE_PREFIX,
  type ClaudeCodeContext,
  type ClaudeCodeMetricDelta,
  type ClaudeCodeMetricValue,
  commonFields,
  requestFacets,
} from './claude-code.ts';
import { type CumulativeOutcome, type CumulativeTracker, seriesIdentity } from './cumulative.ts';
import { compareDecimal, decimalToBigInt, doubleToDecimal } from './decimal.ts';
import {
  type InstrumentationScope,
  type Metric,
  type MetricsRequest,
  type NumberDataPoint,
  temporalityOf,
} from './shape.ts';
import { Attrs, nanosToMs } from './values.ts';

/** The eight metrics and how their values are kept. */
export const CLAUDE_CODE_METRICS: Readonly<Record<string, ClaudeCodeMetricValue['valueType']>> = {
  'claude_code.session.count': 'integer',
  'claude_code.lines_of_code.count': 'integer',
  'claude_code.pull_request.count': 'integer',
  'claude_code.commit.count': 'integer',
  'claude_code.cost.usage': 'usd',
  'claude_code.token.usage': 'integer',
  'claude_code.code_edit_tool.decision': 'integer',
  'claude_code.active_time.total': 'seconds',
};

export interface ClaudeCodeMetricCounts {
  /** `claude_code.*` data points read. */
  readonly points: number;
  /** Observations produced. */
  readonly deltas: number;
  /** Points whose increase is zero. */
  readonly zero: number;
  /** Cumulative points already seen (an exporter retry or re-export). */
  readonly duplicate: number;
  /** Cumulative points older than the last one of their stream. */
  readonly stale: number;
  /** `claude_code.*` metrics not among the eight, by name (kept with valueType `decimal`). */
  readonly unknownMetrics: Readonly<Record<string, number>>;
  /** Metrics from other instrumentation, left to other readers. */
  readonly notClaudeCode: number;
}

export interface ClaudeCodeMetricsResult {
  readonly deltas: readonly ClaudeCodeMetricDelta[];
  readonly counts: ClaudeCodeMetricCounts;
  /** Points that could not be read (no value, unexpected type or temporality, fractional count), one line each. */
  readonly problems: readonly string[];
  /** Data points refused, for the exporter's partial success (a problem may refuse a metric's every point). */
  readonly rejected: number;
}

function pointKey(series: string, p: NumberDataPoint): string {
  return createHash('sha256')
    .update(`${series}|${p.startTimeUnixNano}|${p.timeUnixNano}`)
    .digest('hex')
    .slice(0, 32);
}

function metricValue(
  type: ClaudeCodeMetricValue['valueType'],
  delta: string,
): ClaudeCodeMetricValue | null {
  switch (type) {
    case 'integer': {
      const n = decimalToBigInt(delta);
      return n === null ? null : { valueType: 'integer', value: n };
    }
    case 'usd':
      return { valueType: 'usd', value: delta };
    case 'seconds':
      return { valueType: 'seconds', value: Number(delta) };
    case 'decimal':
      return { valueType: 'decimal', value: delta };
  }
}

/**
 * Reads every `claude_code.*` metric of one decoded `/v1/metrics` request. `tracker` holds the cumulative state
 * between requests (one tracker per receiver; delta points do not touch it).
 */
export function interpretClaudeCodeMetrics(
  request: MetricsRequest,
  context: ClaudeCodeContext,
  tracker: CumulativeTracker,
): ClaudeCodeMetricsResult {
  const headers = headerAttributes(context.headers);
  const deltas: ClaudeCodeMetricDelta[] = [];
  const problems: string[] = [];
  /** Data points refused: each problem names one point, or a metric and all its points. */
  let rejected = 0;
  const refuse = (problem: string, points = 1): void => {
    problems.push(problem);
    rejected += points;
  };
  const unknownMetrics = new Map<string, number>();
  const n = { points: 0, zero: 0, duplicate: 0, stale: 0, notClaudeCode: 0 };
  for (const rm of request.resourceMetrics) {
    const attribution = new Attribution(rm.resource.attributes, headers);
    for (const sm of rm.scopeMetrics) {
      for (const metric of sm.metrics) {
        if (!metric.name.startsWith(CLAUDE_CODE_PREFIX)) {
          n.notClaudeCode++;
          continue;
        }
        const valueType = CLAUDE_CODE_METRICS[metric.name] ?? 'decimal';
        if (valueType === 'decimal') {
          unknownMetrics.set(metric.name, (unknownMetrics.get(metric.name) ?? 0) + 1);
        }
        const data = metric.data;
        if (data?.type !== 'sum') {
          refuse(
            `${metric.name}: ${data?.type ?? 'no'} data, expected a sum`,
            data?.dataPoints.length ?? 0,
          );
          continue;
        }
        const temporality = temporalityOf(data.aggregationTemporality);
        for (const point of data.dataPoints) {
          n.points++;
          const where = `${metric.name} point at ${point.timeUnixNano}`;
          if (temporality === null) {
            refuse(`${where}: aggregation temporality ${data.aggregationTemporality}`);
            continue;
          }
          const raw = rawDecimal(point);
          if (raw === null) {
            refuse(`${where}: no recorded value`);
            continue;
          }
          const series = seriesIdentity({
            resource: rm.resource.attributes,
            scope: sm.scope.name,
            metric: metric.name,
            attributes: point.attributes,
          });
          let outcome: 'delta' | CumulativeOutcome = 'delta';
          let delta = raw;
          if (temporality === 'cumulative') {
            const d = tracker.delta(series, { ...point, values: [raw] }, data.isMonotonic);
            outcome = d.outcome;
            delta = d.values[0] ?? '0';
            if (outcome === 'duplicate' || outcome === 'stale') {
              n[outcome]++;
              continue;
            }
          }
          if (compareDecimal(delta, '0') === 0) {
            n.zero++;
            continue;
          }
          const value = metricValue(valueType, delta);
          if (value === null) {
            refuse(`${where}: ${delta} is not a whole number of ${metric.unit || 'units'}`);
            continue;
          }
          deltas.push(
            observation(metric, sm.scope, point, attribution, {
              temporality,
              outcome,
              value,
              key: pointKey(series, point),
            }),
          );
        }
      }
    }
  }
  return {
    deltas,
    counts: { ...n, deltas: deltas.length, unknownMetrics: Object.fromEntries(unknownMetrics) },
    problems,
    rejected,
  };
}

/** The point's value as an exact decimal; null when it has none (or NaN/∞, or the no-recorded-value flag). */
function rawDecimal(point: NumberDataPoint): string | null {
  if ((point.flags & 1) === 1 || point.value === null) return null;
  return point.value.type === 'int'
    ? point.value.value.toString()
    : doubleToDecimal(point.value.value);
}

function observation(
  metric: Metric,
  scope: InstrumentationScope,
  point: NumberDataPoint,
  attribution: Attribution,
  read: {
    temporality: 'delta' | 'cumulative';
    outcome: 'delta' | CumulativeOutcome;
    value: ClaudeCodeMetricValue;
    key: string;
  },
): ClaudeCodeMetricDelta {
  const a = new Attrs(point.attributes);
  const facets = requestFacets(a);
  const type = a.str('type');
  const common = commonFields(a, attribution, scope);
  return {
    kind: 'metric',
    metric: metric.name,
    temporality: read.temporality,
    outcome: read.outcome,
    at: nanosToMs(point.timeUnixNano),
    from: nanosToMs(point.startTimeUnixNano),
    startTimeUnixNano: point.startTimeUnixNano,
    timeUnixNano: point.timeUnixNano,
    ...facets,
    type,
    key: read.key,
    ...common,
    ...read.value,
    extra: a.rest(),
    issues: a.issues,
  };
}
