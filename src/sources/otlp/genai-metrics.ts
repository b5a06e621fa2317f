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
  type GenAiUsageCommon,
  genAiCommon,
  notBedrock,
} from './genai.ts';
import { type MetricsRequest, temporalityOf } from './shape.ts';
import { Attrs, nanosToMs } from './values.ts';

const TOKEN_TYPE = 'gen_ai.token.type';
const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

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
  /** Data points refused: each problem names one point, or a metric and all its points. */
  let rejected = 0;
  const refuse = (problem: string, points = 1): void => {
    problems.push(problem);
    rejected += points;
  };
  const counts = { points: 0, zero: 0, duplicate: 0, stale: 0, otherMetrics: 0, otherProvider: 0 };
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
          refuse(
            `${metric.name}: ${data?.type ?? 'no'} data, expected a histogram`,
            data?.dataPoints.length ?? 0,
          );
          continue;
        }
        const temporality = temporalityOf(data.aggregationTemporality);
        for (const point of data.dataPoints) {
          counts.points++;
          const where = `${metric.name} point at ${point.timeUnixNano}`;
          const sum = decimalOf(point.sum);
          if (temporality === null || sum === null || (point.flags & 1) === 1) {
            refuse(
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
          let from = point.startTimeUnixNano;
          if (temporality === 'cumulative') {
            from = tracker.lastTime(series, point.startTimeUnixNano) ?? from;
            const d = tracker.delta(series, { ...point, values });
            outcome = d.outcome;
            values = d.values;
            if (outcome === 'duplicate' || outcome === 'stale') {
              counts[outcome]++;
              continue;
            }
            // A new stream (first, restart) counts everything since its start time.
            if (outcome !== 'increase' && outcome !== 'reset') from = point.startTimeUnixNano;
          }
          const [count = '0', tokenSum = '0'] = values;
          if (compareDecimal(count, '0') === 0 && compareDecimal(tokenSum, '0') === 0) {
            counts.zero++;
            continue;
          }
          const a = new Attrs(point.attributes);
          const tokenType = a.str(TOKEN_TYPE);
          const tokenCount = Number(tokenSum);
          if (!Number.isSafeInteger(tokenCount) || tokenCount < 0) {
            // Tokens are whole and counted up: 1000.5 or 1e30 is not a token count (and would fail its batch).
            refuse(`${where}: token sum ${tokenSum} is not a token count`);
            continue;
          }
          const kind =
            tokenType === 'input'
              ? 'input'
              : tokenType === 'output' || tokenType === 'completion'
                ? 'output'
                : null;
          const common = genAiCommon(a, attribution, sm.scope);
          if (notBedrock(common)) {
            counts.otherProvider++;
            continue;
          }
          usages.push({
            source: 'metric',
            at: nanosToMs(point.timeUnixNano),
            ...common,
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
            from: nanosToMs(from),
            startTimeUnixNano: point.startTimeUnixNano,
            timeUnixNano: point.timeUnixNano,
            key: hash(`${series}|${point.startTimeUnixNano}|${point.timeUnixNano}`),
            intervalKey: hash(
              `${seriesIdentity({
                resource: rm.resource.attributes,
                scope: sm.scope.name,
                metric: metric.name,
                attributes: point.attributes.filter((kv) => kv.key !== TOKEN_TYPE),
              })}|${point.timeUnixNano}`,
            ),
            issues: a.issues,
          });
        }
      }
    }
  }
  return { usages, counts, problems, rejected };
}

/**
 * One interval of one `gen_ai.client.token.usage` stream with its token types together: the input and output
 * tokens of the same calls over [from, at], and how many calls they were.
 */
export interface GenAiMetricInterval extends Omit<GenAiUsageCommon, 'at' | 'issues'> {
  /** Idempotency key: the interval and the token types it holds (a retry of the same points has the same key). */
  readonly key: string;
  /** Epoch ms: the interval's end (the points' time) and start (see `GenAiMetricUsage.from`). */
  readonly at: number;
  readonly from: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Tokens of a type neither input nor output (none in the conventions today), by type: kept, never priced. */
  readonly otherTokens: Readonly<Record<string, number>>;
  /**
   * The calls the interval counted: the largest histogram count among its points (a call records one input and
   * one output measurement, so each type's count is the number of calls).
   */
  readonly operations: number;
  readonly temporality: 'delta' | 'cumulative';
  readonly issues: readonly string[];
}

/** Groups the token-type points of each interval (`intervalKey`), in the order they first appear. */
export function genAiMetricIntervals(usages: readonly GenAiMetricUsage[]): GenAiMetricInterval[] {
  const groups = new Map<string, GenAiMetricUsage[]>();
  for (const u of usages) {
    const group = groups.get(u.intervalKey);
    if (group === undefined) groups.set(u.intervalKey, [u]);
    else group.push(u);
  }
  return [...groups].map(([intervalKey, points]) => {
    const [first] = points as [GenAiMetricUsage, ...GenAiMetricUsage[]];
    // The points differ only in their token type: everything else is the first one's.
    const common: Omit<GenAiUsageCommon, 'at' | 'issues'> = {
      model: first.model,
      requestModel: first.requestModel,
      responseModel: first.responseModel,
      provider: first.provider,
      providerAttribute: first.providerAttribute,
      bedrock: first.bedrock,
      operation: first.operation,
      serviceName: first.serviceName,
      awsAccount: first.awsAccount,
      scopeName: first.scopeName,
      sessionId: first.sessionId,
      conversationId: first.conversationId,
      identity: first.identity,
      dimensions: first.dimensions,
    };
    let inputTokens = 0;
    let outputTokens = 0;
    const otherTokens: Record<string, number> = {};
    const types: string[] = [];
    for (const p of points) {
      inputTokens += p.tokens.input ?? 0;
      outputTokens += p.tokens.output ?? 0;
      const type = p.tokenType ?? '(none)';
      if (p.tokens.input === null && p.tokens.output === null)
        otherTokens[type] = (otherTokens[type] ?? 0) + p.tokenCount;
      types.push(type);
    }
    return {
      ...common,
      key: hash(`${intervalKey}|${[...new Set(types)].sort().join(',')}`),
      at: Math.max(...points.map((p) => p.at)),
      from: Math.min(...points.map((p) => p.from)),
      inputTokens,
      outputTokens,
      otherTokens,
      operations: Math.max(...points.map((p) => p.operationCount)),
      temporality: first.temporality,
      issues: [...new Set(points.flatMap((p) => p.issues))],
    };
  });
}
