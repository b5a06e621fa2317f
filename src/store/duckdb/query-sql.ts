/** UsageQuery → SQL. Only whitelisted expressions reach the SQL text; values are bound parameters. */
import { AppError } from '../../core/index.ts';
import type { GroupKey, UsageQuery } from '../store.ts';

const EXPRESSIONS: Readonly<Record<string, string>> = {
  team: 'team',
  user: '"user"',
  feature: 'feature',
  project: 'project',
  environment: 'environment',
  cost_center: 'cost_center',
  application: 'application',
  session: 'session',
  model: 'model',
  model_id: 'model_id',
  profile: 'profile',
  scope: 'scope',
  tier: 'tier',
  region: 'region',
  inference_region: 'inference_region',
  account: 'account',
  operation: 'operation',
  identity: 'identity_arn',
  error_code: 'error_code',
  status: "CASE WHEN error_code IS NULL THEN 'ok' ELSE 'error' END",
  hour: "strftime(date_trunc('hour', ts), '%Y-%m-%dT%H:00Z')",
  day: "strftime(date_trunc('day', ts), '%Y-%m-%d')",
  week: "strftime(date_trunc('week', ts), '%Y-%m-%d')",
  month: "strftime(date_trunc('month', ts), '%Y-%m')",
};

/** Request-metadata keys allowed by Bedrock (bedrock.md §4.1). */
const METADATA_KEY = /^[a-zA-Z0-9\s:_@$#=/+,.-]{1,256}$/;

export function expressionFor(key: GroupKey): string {
  if (key.startsWith('meta:')) {
    const name = key.slice(5);
    if (!METADATA_KEY.test(name))
      throw new AppError('store.bad_query', `not a request-metadata key: ${name}`);
    const path = `$."${name.replaceAll('"', '')}"`.replaceAll("'", "''");
    return `json_extract_string(metadata, '${path}')`;
  }
  const expr = EXPRESSIONS[key];
  if (expr === undefined) throw new AppError('store.bad_query', `unknown dimension: ${key}`);
  return expr;
}

export function whereClause(q: Omit<UsageQuery, 'groupBy'>, params: unknown[]): string {
  const parts: string[] = [];
  if (q.since !== undefined) {
    params.push(q.since);
    parts.push(`ts >= epoch_ms($${params.length}::BIGINT)`);
  }
  if (q.until !== undefined) {
    params.push(q.until);
    parts.push(`ts < epoch_ms($${params.length}::BIGINT)`);
  }
  for (const w of q.where) {
    params.push(w.value);
    parts.push(`${expressionFor(w.key)} = $${params.length}`);
  }
  return parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
}

export function usageSql(q: UsageQuery, params: unknown[]): string {
  const keys = q.groupBy.map((k, i) => `${expressionFor(k)} AS k${i}`);
  const where = whereClause(q, params);
  const group = q.groupBy.length === 0 ? '' : `GROUP BY ALL`;
  const limit = q.limit === undefined ? '' : `LIMIT ${Math.max(1, Math.trunc(q.limit))}`;
  return `SELECT ${[...keys, ''].join(', ')}
    count(*) AS requests,
    count(error_code) AS errors,
    sum(input_tokens)::HUGEINT AS input_tokens,
    sum(output_tokens)::HUGEINT AS output_tokens,
    sum(cache_read_tokens)::HUGEINT AS cache_read_tokens,
    sum(cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS cache_write_tokens,
    coalesce(sum(cost_pusd), 0)::HUGEINT AS cost_pusd,
    count(*) - count(cost_pusd) AS unpriced
  FROM usage ${where} ${group}
  ORDER BY cost_pusd DESC, requests DESC ${q.groupBy.map((_, i) => `, k${i}`).join('')} ${limit}`;
}
