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
  request_id: 'request_id',
  // Every time zone's offset is a whole number of quarter hours: a local day or month is made of them.
  quarter_hour: "time_bucket(INTERVAL '15 minutes', ts)",
  hour: "date_trunc('hour', ts)",
  day: 'ts::DATE',
  week: "date_trunc('week', ts)::DATE",
  month: "date_trunc('month', ts)::DATE",
};

/** Time keys are grouped as dates (cheap) and formatted once per group, after aggregation. */
const FORMAT: Readonly<Record<string, (col: string) => string>> = {
  quarter_hour: (c) => `strftime(${c}, '%Y-%m-%dT%H:%MZ')`,
  hour: (c) => `strftime(${c}, '%Y-%m-%dT%H:00Z')`,
  day: (c) => `strftime(${c}, '%Y-%m-%d')`,
  week: (c) => `strftime(${c}, '%Y-%m-%d')`,
  month: (c) => `strftime(${c}, '%Y-%m')`,
};

const TIME_KEYS: ReadonlySet<string> = new Set(Object.keys(FORMAT));

/** Distinct values of one dimension in what the filters select, as text, sorted; nulls left out. */
export function distinctValuesSql(
  key: GroupKey,
  q: Omit<UsageQuery, 'groupBy'>,
  limit: number,
  params: unknown[],
): string {
  const expr = expressionFor(key);
  const where = whereClause(q, params);
  const value = FORMAT[key]?.(expr) ?? `${expr}::VARCHAR`;
  return `SELECT DISTINCT ${value} AS v FROM usage ${where ? `${where} AND` : 'WHERE'} ${expr} IS NOT NULL
    ORDER BY v LIMIT ${Math.max(1, Math.trunc(limit))}`;
}

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
  parts.push(
    ...filtersSql(
      q.where,
      (key) => {
        // A time key compares as the text reports show (2026-03, 2026-03-01T10:00Z).
        const expr = expressionFor(key);
        return FORMAT[key]?.(expr) ?? expr;
      },
      (value) => {
        params.push(value);
        return `$${params.length}`;
      },
    ),
  );
  return parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
}

/**
 * `--where` filters as SQL conditions that all apply: the values given for one key are alternatives (`--where
 * team=a --where team=b` is either team; a row has one team, so both at once would match nothing), and each key
 * narrows the rows further.
 */
export function filtersSql<K extends string>(
  where: readonly { readonly key: K; readonly value: string }[],
  column: (key: K) => string,
  bind: (value: string) => string,
): string[] {
  const byKey = new Map<K, string[]>();
  for (const w of where) {
    const values = byKey.get(w.key);
    if (values === undefined) byKey.set(w.key, [w.value]);
    else values.push(w.value);
  }
  return [...byKey].map(([key, values]) =>
    values.length === 1
      ? `${column(key)} = ${bind(values[0] as string)}`
      : `${column(key)} IN (${values.map(bind).join(', ')})`,
  );
}

/**
 * One scan: GROUPING SETS give the groups and the grand total together (the total row has `is_total`), so a report
 * never reads the ledger twice. Time keys are formatted after aggregation.
 */
export function usageSql(q: UsageQuery, params: unknown[]): string {
  const keys = q.groupBy.map((k, i) => `${expressionFor(k)} AS g${i}`);
  const where = whereClause(q, params);
  const groups = q.groupBy.map((_, i) => `g${i}`).join(', ');
  const grouping = q.groupBy.length === 0 ? '' : `GROUP BY GROUPING SETS ((${groups}), ())`;
  const outKeys = q.groupBy.map((k, i) => `${FORMAT[k]?.(`g${i}`) ?? `g${i}`} AS k${i}`);
  const billed = q.cost === 'billed';
  const source = billed
    ? `(SELECT *, billed_pusd AS amount, false AS billed_only FROM usage
        UNION ALL BY NAME SELECT *, billed_pusd AS amount, true AS billed_only FROM billed_extra)`
    : 'usage';
  const amount = billed ? 'amount' : 'cost_pusd';
  const inner = `SELECT ${[...keys, ''].join(', ')}
      ${q.groupBy.length === 0 ? 'true' : `grouping(${groups}) <> 0`} AS is_total,
      ${billed ? 'count(*) FILTER (WHERE NOT billed_only)' : 'count(*)'} AS requests,
      count(error_code) AS errors,
      coalesce(sum(input_tokens), 0)::HUGEINT AS input_tokens,
      coalesce(sum(output_tokens), 0)::HUGEINT AS output_tokens,
      coalesce(sum(cache_read_tokens), 0)::HUGEINT AS cache_read_tokens,
      coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0)::HUGEINT AS cache_write_tokens,
      coalesce(sum(${amount}), 0)::HUGEINT AS cost_pusd,
      count(*) - count(${amount}) AS unpriced
    FROM ${source} ${where} ${grouping}`;
  const rows = `SELECT ${[...outKeys, ''].join(', ')} * EXCLUDE (${[...q.groupBy.map((_, i) => `g${i}`), ''].join(', ')} is_total), is_total
    FROM (${inner})`;
  // The total first (a limit keeps it); a time series in time order (time keys first), then the largest cost first.
  const time = q.groupBy.flatMap((k, i) => (TIME_KEYS.has(k) ? [`k${i}`] : []));
  const order = (dir: 'ASC' | 'DESC') =>
    `ORDER BY is_total DESC, ${time.map((k) => `${k} ${dir}, `).join('')}cost_pusd DESC, requests DESC${q.groupBy.map((_, i) => `, k${i}`).join('')}`;
  if (q.limit === undefined) return `${rows} ${order('ASC')}`;
  const n = Math.max(1, Math.trunc(q.limit)) + 1;
  // With a limit, a time series keeps its latest periods, shown in time order.
  return time.length === 0
    ? `${rows} ${order('ASC')} LIMIT ${n}`
    : `SELECT * FROM (${rows} ${order('DESC')} LIMIT ${n}) ${order('ASC')}`;
}
