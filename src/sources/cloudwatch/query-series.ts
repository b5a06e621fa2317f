/**
 * Which series one GetMetricData query names: namespace, canonical metric, account, ModelId split into model and
 * tier, statistic and period; or why a query cannot name one (metric math, other dimensions, a bad field).
 */
import { canonicalMetric, type MetricTier, splitModelId } from './metric-point.ts';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A query that names one series. */
export interface Series {
  readonly namespace: string;
  readonly metric: string;
  readonly account: string | null;
  readonly modelId: string | null;
  readonly tier: MetricTier;
  readonly stat: string;
  readonly periodSeconds: number;
}

export function querySeries(q: Obj, account: string | null): Series | { error: string } {
  if (q.Expression !== undefined) {
    return {
      error:
        'is a metric-math expression; only MetricStat queries name one metric and ModelId, so its result is not read',
    };
  }
  const stat = q.MetricStat;
  if (!isObj(stat)) return { error: 'has no MetricStat' };
  const metric = stat.Metric;
  if (!isObj(metric)) return { error: 'has no MetricStat.Metric' };
  const { Namespace: namespace, MetricName: name, Dimensions: dims } = metric;
  if (typeof namespace !== 'string' || namespace === '') return { error: 'has no Namespace' };
  if (typeof name !== 'string' || name === '') return { error: 'has no MetricName' };
  const period = stat.Period;
  if (typeof period !== 'number' || !Number.isSafeInteger(period) || period <= 0) {
    return { error: `Period is ${String(period)}, expected a positive whole number of seconds` };
  }
  if (typeof stat.Stat !== 'string' || stat.Stat === '') return { error: 'has no Stat' };
  const model = modelOf(dims);
  if ('error' in model) return model;
  const queryAccount = q.AccountId;
  if (queryAccount !== undefined && (typeof queryAccount !== 'string' || queryAccount === '')) {
    return { error: `AccountId is ${describe(queryAccount)}, expected a non-empty string` };
  }
  return {
    namespace,
    metric: canonicalMetric(name),
    account: queryAccount ?? account,
    ...model,
    stat: stat.Stat,
    periodSeconds: period,
  };
}

function modelOf(dims: unknown): { modelId: string | null; tier: MetricTier } | { error: string } {
  if (dims === undefined || dims === null) return { modelId: null, tier: 'standard' };
  if (!Array.isArray(dims)) return { error: `Dimensions is ${describe(dims)}, expected an array` };
  let value: string | undefined;
  for (const d of dims) {
    if (!isObj(d) || typeof d.Name !== 'string' || typeof d.Value !== 'string') {
      return { error: 'a dimension lacks a string Name or Value' };
    }
    if (d.Name !== 'ModelId') {
      return {
        error: `dimension ${d.Name} is not read: a point is identified by namespace, metric and ModelId only`,
      };
    }
    if (value !== undefined) return { error: 'has two ModelId dimensions' };
    value = d.Value;
  }
  if (value === undefined) return { modelId: null, tier: 'standard' };
  return splitModelId(value);
}

export function seriesLabel(s: Series): string {
  const model =
    s.modelId === null ? '' : ` ${s.modelId}${s.tier === 'standard' ? '' : `+${s.tier}`}`;
  return `${s.metric}${model} ${s.stat}/${s.periodSeconds}s`;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
