/** The spend report: a UsageQuery from user terms, rows and totals, and the unpriced usage that must be shown. */
import { AppError, formatUsd } from '../core/index.ts';
import {
  FIXED_GROUP_KEYS,
  type GroupKey,
  type Store,
  type UnpricedModel,
  type UsageQuery,
  type UsageRow,
} from '../store/index.ts';
import { parseTime } from './time-range.ts';

export interface ReportRequest {
  readonly by: readonly string[];
  readonly since?: string;
  readonly until?: string;
  readonly where: readonly string[];
  readonly limit?: number;
  /** `list` (default) or `billed` (after `reconcile`). */
  readonly cost?: string;
}

export interface Report {
  readonly query: UsageQuery;
  readonly rows: readonly UsageRow[];
  readonly total: UsageRow;
  readonly unpriced: readonly UnpricedModel[];
}

const ALIASES: Readonly<Record<string, GroupKey>> = {
  users: 'user',
  teams: 'team',
  models: 'model',
  date: 'day',
  ops: 'operation',
  cost_centre: 'cost_center',
  costcenter: 'cost_center',
  app: 'application',
  env: 'environment',
  principal: 'identity',
};

/** A dimension name as a user types it: a fixed key, an alias, or any other request-metadata key. */
export function toGroupKey(name: string): GroupKey {
  const n = name.trim();
  if (n.length === 0) throw new AppError('analyse.bad_dimension', 'empty dimension name');
  if ((FIXED_GROUP_KEYS as readonly string[]).includes(n)) return n as GroupKey;
  const alias = ALIASES[n.toLowerCase()];
  if (alias) return alias;
  if (n.startsWith('meta:')) return n as GroupKey;
  return `meta:${n}`;
}

export function buildQuery(req: ReportRequest, now: number): UsageQuery {
  const where = req.where.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0)
      throw new AppError('analyse.bad_filter', `--where ${JSON.stringify(w)}: expected DIM=VALUE`);
    return { key: toGroupKey(w.slice(0, eq)), value: w.slice(eq + 1) };
  });
  if (req.cost !== undefined && req.cost !== 'list' && req.cost !== 'billed') {
    throw new AppError('analyse.bad_cost', `--cost must be list or billed, got ${req.cost}`);
  }
  return {
    groupBy: req.by.map(toGroupKey),
    where,
    ...(req.cost === 'billed' ? { cost: 'billed' as const } : {}),
    ...(req.since !== undefined ? { since: parseTime(req.since, now, '--since') } : {}),
    ...(req.until !== undefined ? { until: parseTime(req.until, now, '--until') } : {}),
    ...(req.limit !== undefined ? { limit: req.limit } : {}),
  };
}

export async function runReport(store: Store, req: ReportRequest, now: number): Promise<Report> {
  const query = buildQuery(req, now);
  const { rows, total } = await store.queryUsage(query);
  // Unpriced usage is rare: look for its models only when the total says there is some. (With billed dollars,
  // "unpriced" records are those no reconciled bill covers; the note says so instead.)
  const unpriced =
    total.unpricedRequests > 0 && query.cost !== 'billed' ? await store.unpricedModels(query) : [];
  return { query, rows, total, unpriced };
}

/** The JSON shape of a row: group keys plus counters; money as a decimal string. */
export function rowToJson(row: UsageRow): Record<string, string | number | null> {
  return {
    ...row.keys,
    requests: row.requests,
    errors: row.errors,
    input_tokens: Number(row.inputTokens),
    output_tokens: Number(row.outputTokens),
    cache_read_tokens: Number(row.cacheReadTokens),
    cache_write_tokens: Number(row.cacheWriteTokens),
    cost_usd: formatUsd(row.costPicos),
    unpriced_requests: row.unpricedRequests,
  };
}
