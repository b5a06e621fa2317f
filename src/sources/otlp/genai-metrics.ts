/**
 * `gen_ai.client.token.usage` (telemetry.md §4.2): a histogram per token type whose sum is tokens and whose count
 * is operations. DELTA points are taken as they are; CUMULATIVE ones (the OTel SDKs' default) go through a
 * `CumulativeTracker`. The metric has no cache token type, so it cannot tell cached input apart.
 */
import { createHash } from 'node:crypto';
import { Attribution, headerAttributes } from './attribution.ts';
import { type CumulativeOutcome, type CumulativeTracker, seriesIdentity } from './cumulative.ts';
import { compareDecimal, doubleToDecimal } from './decimal.ts';
import {
  GENAI_TOKEN_USAGE_METRIC,
  type GenAiContext,
  type GenAiMetricsResult,
  type GenAiMetricUsage,
  genAiCommon,
} from './genai.ts';
import { type MetricsRequest, temporalityOf } from './shape.ts';
import { Attrs, nanosToMs } from './values.ts';

function decimalOf(v: number | bigint | null): string | null {
  if (v === null) return null;
  return typeof v === 'bigint' ? v.toString() : doubleToDecimal(v);
}

/**
 * Reads `gen_ai.client.token.usage` (a histogram: sum = tokens, count = operations) of one decoded `/v1/metrics`
 * request; cumulative streams go through `tracker`.
 */
export function interpretGenAiMetrics(
  request: MetricsRequest,
  context: GenAiContext,
  tracker: CumulativeTracker,
): GenAiMetricsResult {
  const headers = headerAttributes(context.headers);
  const usages: GenAiMetricUsage[] = [];
  const problems: string[] = [];
  const counts = { points: 0, zero: 0, duplicate: 0, stale: 0, otherMetrics: 0 };
  for (const rm of request.resourceMetrics) {
    const attribution = new Attribution(rm.resource.attributes, headers);
    for (const sm of rm.scopeMetrics) {
      for (const metric of sm.metrics) {
        const data = metric.data;
        if (metric.name !== GENAI_TOKEN_USAGE_METRIC) {
          counts.otherMetrics++;
          continue;
        }
        if (data?.type !== 'histogram' && data?.type !== 'exponentialHistogram') {
          problems.push(`${metric.name}: ${data?.type ?? 'no'} data, expected a histogram`);
          continue;
        }
        const temporality = temporalityOf(data.aggregationTemporality);
        for (const point of data.dataPoints) {
          counts.points++;
          const where = `${metric.name} point at ${point.timeUnixNano}`;
          const sum = decimalOf(point.sum);
          if (temporality === null || sum === null || (point.flags & 1) === 1) {
            problems.push(
              `${where}: ${temporality === null ? `aggregation temporality ${data.aggregationTemporality}` : 'no sum'}`,
            );
            continue;
          }
          const series = seriesIdentity({
            resource: rm.resource.attributes,
            scope: sm.scope.name,
            metric: metric.name,
            attributes: point.attributes,
          });
          let outcome: 'delta' | CumulativeOutcome = 'delta';
          let values: readonly string[] = [point.count.toString(), sum];
          if (temporality === 'cumulative') {
            const d = tracker.delta(series, { ...point, values });
            outcome = d.outcome;
            values = d.values;
            if (outcome === 'duplicate' || outcome === 'stale') {
              counts[outcome]++;
              continue;
            }
          }
          const [count = '0', tokenSum = '0'] = values;
          if (compareDecimal(count, '0') === 0 && compareDecimal(tokenSum, '0') === 0) {
            counts.zero++;
            continue;
          }
          const a = new Attrs(point.attributes);
          const tokenType = a.str('gen_ai.token.type');
          const tokenCount = Number(tokenSum);
          const kind =
            tokenType === 'input'
              ? 'input'
              : tokenType === 'output' || tokenType === 'completion'
                ? 'output'
                : null;
          usages.push({
            source: 'metric',
            at: nanosToMs(point.timeUnixNano),
            ...genAiCommon(a, attribution, sm.scope),
            metric: metric.name,
            tokenType,
            tokenCount,
            operationCount: Number(count),
            tokens: {
              input: kind === 'input' ? tokenCount : null,
              output: kind === 'output' ? tokenCount : null,
              cacheRead: null,
              cacheCreation: null,
              reasoning: null,
            },
            temporality,
            outcome,
            from: nanosToMs(point.startTimeUnixNano),
            startTimeUnixNano: point.startTimeUnixNano,
            timeUnixNano: point.timeUnixNano,
            key: createHash('sha256')
              .update(`${series}|${point.startTimeUnixNano}|${point.timeUnixNano}`)
              .digest('hex')
              .slice(0, 32),
            issues: a.issues,
          });
        }
      }
    }
  }
  return { usages, counts, problems };
}
