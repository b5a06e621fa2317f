/**
 * Reports over application telemetry (`telemetry_events`, `telemetry_metrics`): sessions, developers, tools, and
 * usage grouped by telemetry dimensions. Everything is aggregated by DuckDB; money stays integer pico-USD
 * (BIGINT per event, HUGEINT sums) until the edge.
 *
 * Apportioning (tools, and usage grouped by `tool`): the API requests in range are summed per prompt (`prompt.id`,
 * a UUID per user prompt) and whatever other keys the report groups by; each sum (requests, errors, tokens, cost,
 * unpriced requests) is split over that prompt's tool_result events — all of them, whatever their time — in whole
 * units: every call gets `sum // n`, the first `sum % n` calls in time order one more. The shares of a prompt add
 * up to its sums exactly. Requests without a prompt id, and prompts without tool calls, are `(no tool)`.
 *
 * GenAI token-usage metric rows (source `genai_metric`, telemetry-match.ts) stand for the calls of one interval:
 * they count as that many requests, and not at all where a span covers them (match `span`): the spans count those
 * calls.
 *
 * One ledger: an API request matched to a server-side record (match `request_id` or `fingerprint`) costs what the
 * ledger's record of that call costs (`usage.cost_pusd`, null when the ledger could not price it), not its own
 * repricing — which may differ (an older Claude Code without the 1h cache-write split, a profile the event does not
 * name). Several events matched to one record (the same call reported twice) share it: the first carries its cost,
 * the others cost 0. Unmatched and client-only events keep their own catalog price (the ledger's client-only row is
 * priced the same).
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { AppError } from '../../core/index.ts';
import type {
  DecisionCounts,
  EditDecisionRow,
  SessionSummary,
  TelemetryGroupKey,
  TelemetryReportQuery,
  TelemetryReportResults,
  TelemetryUsageQuery,
  TelemetryUsageResult,
  ToolSummary,
  UsageRow,
  UserSummary,
} from '../store.ts';
import { filtersSql } from './query-sql.ts';
import { METRIC_SOURCE } from './telemetry-match.ts';

export const NO_TOOL = '(no tool)';
const UNKNOWN = '(unknown)';

type Row = Record<string, unknown>;
type Params = DuckDBValue[];

/** Appends a parameter and returns its placeholder. */
const bind = (params: Params, value: DuckDBValue): string => {
  params.push(value);
  return `$${params.length}`;
};

/**
 * Who a telemetry row is about: its `user.email`; else the person the ledger billed the session's calls to (a matched
 * record's user: the gateway key's, or the IAM identity's); else its `user.id` (`enduser.id` when the admin set it,
 * else Claude Code's anonymous install id). `person` comes from `SESSION_PEOPLE`, joined into `EVENTS`/`METRICS`.
 */
const USER = 'coalesce(user_email, person, user_id)';

/** Per session, the user of the ledger records its API-request events matched (the latest call's when several). */
const SESSION_PEOPLE = `(
  SELECT e.session_id, arg_max(u."user", u.ts) AS person
  FROM telemetry_matches m
  JOIN telemetry_events e ON e.event_key = m.event_key
  JOIN usage u ON u.request_id = m.request_id
  WHERE m.match IN ('request_id', 'fingerprint') AND u."user" IS NOT NULL AND e.session_id IS NOT NULL
  GROUP BY e.session_id
)`;
/** The telemetry tables with the person of their session. */
const withPerson = (table: string) =>
  `(SELECT t.*, p.person FROM ${table} t LEFT JOIN ${SESSION_PEOPLE} p ON p.session_id = t.session_id)`;
const EVENTS = withPerson('telemetry_events');
const METRICS = withPerson('telemetry_metrics');
/** Attribution attribute names that may reach the SQL text (quoted as a JSON path key). */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.:@/+=-]{1,256}$/;
const dim = (...names: string[]) => {
  const parts = names.map((n) => `json_extract_string(dimensions, '$."${n}".value')`);
  return parts.length === 1 ? (parts[0] as string) : `coalesce(${parts.join(', ')})`;
};

/** Keys both tables carry (same column names in telemetry_events and telemetry_metrics). */
const SHARED_KEYS: Readonly<Record<string, string>> = {
  session: 'session_id',
  user: USER,
  terminal: 'terminal',
  version: 'version',
  team: dim('team', 'team.name', 'team.id'),
  feature: dim('feature'),
  project: dim('project'),
  environment: dim('environment', 'deployment.environment.name', 'deployment.environment'),
  cost_center: dim('cost_center'),
  application: dim('application'),
  hour: "strftime(date_trunc('hour', ts), '%Y-%m-%dT%H:00Z')",
  day: "strftime(ts, '%Y-%m-%d')",
  week: "strftime(date_trunc('week', ts), '%Y-%m-%d')",
  month: "strftime(ts, '%Y-%m')",
};

/** API request/error events (`tool` is not a column: it comes from the apportioning). */
const EVENT_KEYS: Readonly<Record<string, string>> = {
  ...SHARED_KEYS,
  query_source: 'query_source',
  prompt: 'prompt_id',
  model: 'coalesce(model_base, model)',
};

/** `claude_code.code_edit_tool.decision` points: their own attributes are in `attributes` (JSON). */
const DECISION_METRIC_KEYS: Readonly<Record<string, string>> = {
  ...SHARED_KEYS,
  tool: "json_extract_string(attributes, '$.tool_name')",
  language: "json_extract_string(attributes, '$.language')",
};

function expression(key: TelemetryGroupKey, table: Readonly<Record<string, string>>): string {
  if (key.startsWith('meta:')) {
    const name = key.slice(5);
    if (!ATTRIBUTE_NAME.test(name))
      throw new AppError('store.bad_query', `not an attribution attribute: ${name}`);
    return dim(name);
  }
  const expr = table[key];
  if (expr === undefined)
    throw new AppError(
      'store.bad_query',
      table === DECISION_METRIC_KEYS
        ? `${key} cannot be combined with language: language comes from the code_edit_tool.decision metric, which has no ${key}`
        : `unknown telemetry dimension: ${key}`,
    );
  return expr;
}

function rangeSql(params: Params, from: number | undefined, to: number | undefined): string[] {
  const parts: string[] = [];
  if (from !== undefined) parts.push(`ts >= epoch_ms(${bind(params, from)}::BIGINT)`);
  if (to !== undefined) parts.push(`ts < epoch_ms(${bind(params, to)}::BIGINT)`);
  return parts;
}

const userSql = (params: Params, user: string | undefined): string[] =>
  user === undefined ? [] : [`${USER} = ${bind(params, user)}`];

const and = (parts: readonly string[]) => (parts.length === 0 ? 'TRUE' : parts.join(' AND '));

/** Rows that count: all but the metric rows a GenAI span covers (their calls are counted by the spans). */
const COUNTED = `(source <> '${METRIC_SOURCE}' OR event_key NOT IN (
    SELECT event_key FROM telemetry_matches WHERE match = 'span'))`;
/**
 * `telemetry_events` with each API request's cost as the ledger prices its call (see the module comment): every
 * column, `cost_pusd` replaced.
 */
const PRICED_EVENTS = `(
  SELECT e.* REPLACE (CASE WHEN l.event_key IS NULL THEN e.cost_pusd
      WHEN l.k = 1 OR l.cost_pusd IS NULL THEN l.cost_pusd ELSE 0 END AS cost_pusd)
  FROM ${EVENTS} e LEFT JOIN (
    SELECT m.event_key, r.cost_pusd,
      row_number() OVER (PARTITION BY m.request_id ORDER BY m.ts, m.event_key) AS k
    FROM telemetry_matches m JOIN (
      SELECT request_id, min(cost_pusd) AS cost_pusd FROM usage
      WHERE request_id IN (
        SELECT request_id FROM telemetry_matches WHERE match IN ('request_id', 'fingerprint'))
      GROUP BY request_id
    ) r ON r.request_id = m.request_id
    WHERE m.match IN ('request_id', 'fingerprint')
  ) l ON l.event_key = e.event_key
)`;

/** The requests a row stands for: an event one, a metric row the calls its interval counted. */
const CALLS = `CASE WHEN source = '${METRIC_SOURCE}'
    THEN coalesce(TRY_CAST(json_extract_string(attributes, '$.operations') AS BIGINT), 1) ELSE 1 END`;

// ── the apportioning ────────────────────────────────────────────────────────────────────────────────────────

const MEASURES = [
  'requests',
  'errors',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost',
  'unpriced',
] as const;

/** Sums of API request and error events (no FROM/WHERE/GROUP BY). */
const REQUEST_SUMS = `coalesce(sum(${CALLS}), 0)::BIGINT AS requests,
    count(*) FILTER (WHERE kind = 'api_error' OR success = false) AS errors,
    coalesce(sum(input_tokens), 0)::HUGEINT AS input_tokens,
    coalesce(sum(output_tokens), 0)::HUGEINT AS output_tokens,
    coalesce(sum(cache_read_tokens), 0)::HUGEINT AS cache_read_tokens,
    coalesce(sum(coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)), 0)::HUGEINT
      AS cache_write_tokens,
    coalesce(sum(cost_pusd), 0)::HUGEINT AS cost,
    coalesce(sum(${CALLS}) FILTER (WHERE kind = 'api_request' AND cost_pusd IS NULL), 0)::BIGINT AS unpriced`;

/** A whole-unit share of `x` for the call ranked `rk` of `n` (the first `x % n` calls get one more). */
const share = (x: string) =>
  `CASE WHEN t.n IS NULL THEN r.${x} ELSE r.${x} // t.n + CASE WHEN t.rk <= r.${x} % t.n THEN 1 ELSE 0 END END AS ${x}`;

/**
 * CTEs `r` (requests per prompt and key) and `s` (their shares per tool call, `tool` = `(no tool)` when none):
 * `s` has the columns `tool`, `k0…` (the request-side keys, named by `keys`) and the measures.
 */
function apportionCtes(keys: readonly string[], filters: readonly string[]): string {
  const keyCols = keys.map((e, i) => `${e} AS k${i}`);
  return `r AS (
  SELECT prompt_id AS pid${keyCols.map((c) => `, ${c}`).join('')},
    ${REQUEST_SUMS}
  FROM ${PRICED_EVENTS}
  WHERE kind IN ('api_request', 'api_error') AND ${COUNTED} AND ${and(filters)}
  GROUP BY ALL
), t AS (
  SELECT prompt_id AS pid, coalesce(tool_name, '${UNKNOWN}') AS tool,
    row_number() OVER (PARTITION BY prompt_id ORDER BY ts, event_key) AS rk,
    count(*) OVER (PARTITION BY prompt_id) AS n
  FROM telemetry_events
  WHERE kind = 'tool_result' AND prompt_id IN (SELECT pid FROM r WHERE pid IS NOT NULL)
), s AS (
  SELECT coalesce(t.tool, '${NO_TOOL}') AS tool${keys.map((_, i) => `, r.k${i}`).join('')},
    ${MEASURES.map(share).join(',\n    ')}
  FROM r LEFT JOIN t ON t.pid = r.pid
)`;
}
// ── usage grouped by telemetry dimensions ───────────────────────────────────────────────────────────────────

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as bigint));
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const bigOrNull = (v: unknown): bigint | null =>
  v === null || v === undefined ? null : BigInt(v as bigint);

function usageRow(r: Row, keys: readonly TelemetryGroupKey[]): UsageRow {
  return {
    keys: Object.fromEntries(keys.map((k, i) => [k, str(r[`g${i}`])])),
    requests: num(r.requests),
    errors: num(r.errors),
    inputTokens: big(r.input_tokens),
    outputTokens: big(r.output_tokens),
    cacheReadTokens: big(r.cache_read_tokens),
    cacheWriteTokens: big(r.cache_write_tokens),
    costPicos: big(r.cost),
    unpricedRequests: num(r.unpriced),
  };
}

/** Groups plus the grand total in one aggregation; `rows` ordered and limited, the total over everything. */
function groupsAndTotal(
  source: string,
  keys: readonly string[],
  select: string,
  order: string,
  limit: number | undefined,
  params: Params,
): string {
  const sets = keys.length === 0 ? '()' : `(${keys.join(', ')}), ()`;
  const isTotal = keys.length === 0 ? 'TRUE' : `grouping(${keys[0]}) = 1`;
  const lim = limit === undefined ? 'TRUE' : `rn <= ${bind(params, limit)}`;
  return `SELECT * FROM (
  SELECT *, row_number() OVER (PARTITION BY is_total ORDER BY ${order}${keys.map((k) => `, ${k} NULLS LAST`).join('')}) AS rn
  FROM (
    SELECT ${keys.map((k) => `${k}, `).join('')}${isTotal} AS is_total, ${select}
    FROM ${source}
    GROUP BY GROUPING SETS (${sets})
  )
) WHERE is_total OR ${lim}
ORDER BY is_total, rn`;
}

async function usage(
  conn: DuckDBConnection,
  q: TelemetryUsageQuery,
): Promise<TelemetryUsageResult> {
  if (q.groupBy.includes('language') || q.where.some((w) => w.key === 'language'))
    return editDecisions(conn, q);
  const params: Params = [];
  const byTool = q.groupBy.includes('tool') || q.where.some((w) => w.key === 'tool');
  const requestKeys = q.groupBy.filter((k) => k !== 'tool');
  const filters = [
    ...rangeSql(params, q.since, q.until),
    ...filtersSql(
      q.where.filter((w) => w.key !== 'tool'),
      (key) => expression(key, EVENT_KEYS),
      (value) => bind(params, value),
    ),
  ];
  const sums = MEASURES.map((m) =>
    m === 'requests' || m === 'errors' || m === 'unpriced'
      ? `sum(${m})::BIGINT AS ${m}`
      : `sum(${m})::HUGEINT AS ${m}`,
  ).join(', ');
  let sql: string;
  if (byTool) {
    const toolWhere = filtersSql(
      q.where.filter((w) => w.key === 'tool'),
      () => 'tool',
      (value) => bind(params, value),
    );
    const cols = q.groupBy.map((k, i) =>
      k === 'tool' ? `tool AS g${i}` : `k${requestKeys.indexOf(k)} AS g${i}`,
    );
    const ctes = apportionCtes(
      requestKeys.map((k) => expression(k, EVENT_KEYS)),
      filters,
    );
    sql = `WITH ${ctes}, shares AS (
  SELECT ${[...cols, ...MEASURES].join(', ')} FROM s WHERE ${and(toolWhere)}
)
${groupsAndTotal(
  'shares',
  q.groupBy.map((_, i) => `g${i}`),
  sums,
  'cost DESC, requests DESC',
  q.limit,
  params,
)}`;
  } else {
    const cols = q.groupBy.map((k, i) => `${expression(k, EVENT_KEYS)} AS g${i}`);
    sql = `WITH req AS (
  SELECT ${[...cols, 'kind', 'source', 'attributes', 'success', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'cost_pusd'].join(', ')}
  FROM ${PRICED_EVENTS} WHERE kind IN ('api_request', 'api_error') AND ${COUNTED} AND ${and(filters)}
)
${groupsAndTotal(
  'req',
  q.groupBy.map((_, i) => `g${i}`),
  REQUEST_SUMS,
  'cost DESC, requests DESC',
  q.limit,
  params,
)}`;
  }
  const rows = (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  const total = rows.find((r) => r.is_total === true);
  const result = rows.filter((r) => r.is_total !== true).map((r) => usageRow(r, q.groupBy));
  const totalRow = total === undefined ? usageRow({}, []) : { ...usageRow(total, []), keys: {} };
  return {
    measure: 'requests',
    rows: result,
    total: totalRow,
    unpriced: totalRow.unpricedRequests > 0 ? await unpricedModels(conn, q) : [],
  };
}

async function unpricedModels(conn: DuckDBConnection, q: TelemetryUsageQuery) {
  const params: Params = [];
  const filters = [
    ...rangeSql(params, q.since, q.until),
    ...filtersSql(
      q.where.filter((w) => w.key !== 'tool'),
      (key) => expression(key, EVENT_KEYS),
      (value) => bind(params, value),
    ),
  ];
  const rows = (
    await conn.runAndReadAll(
      `SELECT coalesce(model, '${UNKNOWN}') AS model, sum(${CALLS}) AS requests,
      coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0) + coalesce(cache_read_tokens, 0)
        + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)), 0)::HUGEINT AS tokens
    FROM ${PRICED_EVENTS}
    WHERE kind = 'api_request' AND cost_pusd IS NULL AND ${COUNTED} AND ${and(filters)}
    GROUP BY 1 ORDER BY requests DESC, model`,
      params,
    )
  ).getRowObjectsJS();
  return rows.map((r) => ({
    model: String(r.model),
    requests: num(r.requests),
    tokens: big(r.tokens),
  }));
}

async function hasMetricAttributes(conn: DuckDBConnection): Promise<boolean> {
  const rows = (
    await conn.runAndReadAll(
      `SELECT 1 FROM information_schema.columns
       WHERE table_name = 'telemetry_metrics' AND column_name = 'attributes'`,
    )
  ).getRowObjectsJS();
  return rows.length > 0;
}

async function editDecisions(
  conn: DuckDBConnection,
  q: TelemetryUsageQuery,
): Promise<TelemetryUsageResult> {
  if (!(await hasMetricAttributes(conn)))
    throw new AppError(
      'store.no_metric_attributes',
      'language comes from the claude_code.code_edit_tool.decision metric attributes, which this ledger does not store (telemetry_metrics has no attributes column)',
    );
  const params: Params = [];
  const cols = q.groupBy.map((k, i) => `${expression(k, DECISION_METRIC_KEYS)} AS g${i}`);
  const filters = [
    ...rangeSql(params, q.since, q.until),
    ...filtersSql(
      q.where,
      (key) => expression(key, DECISION_METRIC_KEYS),
      (value) => bind(params, value),
    ),
  ];
  const sql = `WITH d AS (
  SELECT ${[...cols, 'TRY_CAST(value AS HUGEINT) AS n', "json_extract_string(attributes, '$.decision') AS decision"].join(', ')}
  FROM ${METRICS} WHERE metric = 'claude_code.code_edit_tool.decision' AND ${and(filters)}
)
${groupsAndTotal(
  'd',
  q.groupBy.map((_, i) => `g${i}`),
  `coalesce(sum(n), 0)::HUGEINT AS decisions,
    coalesce(sum(n) FILTER (WHERE decision = 'accept'), 0)::HUGEINT AS accepts,
    coalesce(sum(n) FILTER (WHERE decision = 'reject'), 0)::HUGEINT AS rejects`,
  'decisions DESC',
  q.limit,
  params,
)}`;
  const rows = (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  const toRow = (r: Row, keys: readonly TelemetryGroupKey[]): EditDecisionRow => ({
    keys: Object.fromEntries(keys.map((k, i) => [k, str(r[`g${i}`])])),
    decisions: big(r.decisions),
    accepts: big(r.accepts),
    rejects: big(r.rejects),
  });
  const total = rows.find((r) => r.is_total === true);
  return {
    measure: 'edit_decisions',
    rows: rows.filter((r) => r.is_total !== true).map((r) => toRow(r, q.groupBy)),
    total: toRow(total ?? {}, []),
  };
}

// ── sessions and developers ─────────────────────────────────────────────────────────────────────────────────

/** Events per session (or per user) and metrics per session (or user), in range. */
function eventSums(groupCol: string): string {
  return `${groupCol},
    coalesce(sum(${CALLS}) FILTER (WHERE kind = 'api_request'), 0) AS requests,
    coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0) + coalesce(cache_read_tokens, 0)
      + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0))
      FILTER (WHERE kind = 'api_request'), 0)::HUGEINT AS tokens,
    coalesce(sum(cost_pusd) FILTER (WHERE kind = 'api_request'), 0)::HUGEINT AS cost,
    coalesce(sum(${CALLS}) FILTER (WHERE kind = 'api_request' AND cost_pusd IS NULL), 0) AS unpriced,
    count(*) FILTER (WHERE kind = 'tool_result') AS tools,
    count(*) FILTER (WHERE kind = 'tool_decision' AND decision = 'accept') AS accepts,
    count(*) FILTER (WHERE kind = 'tool_decision' AND decision = 'reject') AS rejects`;
}

const ACTIVE = "metric = 'claude_code.active_time.total'";
function metricSums(groupCol: string): string {
  return `${groupCol},
    coalesce(sum(TRY_CAST(value AS HUGEINT)) FILTER (WHERE metric = 'claude_code.commit.count'), 0) AS commits,
    coalesce(sum(TRY_CAST(value AS HUGEINT)) FILTER (WHERE metric = 'claude_code.pull_request.count'), 0) AS prs,
    round(sum(TRY_CAST(value AS DECIMAL(38, 9))) FILTER (WHERE ${ACTIVE}) * 1000)::BIGINT AS active_ms,
    round(sum(TRY_CAST(value AS DECIMAL(38, 9))) FILTER (WHERE ${ACTIVE} AND type = 'user') * 1000)::BIGINT
      AS active_user_ms,
    round(sum(TRY_CAST(value AS DECIMAL(38, 9))) FILTER (WHERE ${ACTIVE} AND type = 'cli') * 1000)::BIGINT
      AS active_cli_ms`;
}

/** Per-unit costs, rounded half up to a pico-USD (`cost`, `commits`, `prs`, `active_ms` in scope). */
const RATIOS = `CASE WHEN commits > 0 THEN (cost + commits // 2) // commits END AS cost_per_commit,
  CASE WHEN prs > 0 THEN (cost + prs // 2) // prs END AS cost_per_pr,
  CASE WHEN active_ms > 0 THEN (cost * 3600000 + active_ms // 2) // active_ms END AS cost_per_active_hour`;

async function sessions(
  conn: DuckDBConnection,
  q: Extract<TelemetryReportQuery, { kind: 'sessions' }>,
): Promise<readonly SessionSummary[]> {
  const params: Params = [];
  const range = rangeSql(params, q.from, q.to);
  const user = userSql(params, q.user);
  const limit = bind(params, q.limit);
  const sql = `
WITH e AS (
  SELECT ${eventSums('session_id')}, any_value(${USER}) AS "user", min(ts) AS first, max(ts) AS last,
    sum(TRY_CAST(cost_reported_usd AS DECIMAL(38, 12))) FILTER (WHERE kind = 'api_request')::VARCHAR AS reported
  FROM ${PRICED_EVENTS}
  WHERE session_id IS NOT NULL AND ${COUNTED} AND ${and([...range, ...user])}
  GROUP BY session_id
), m AS (
  SELECT ${metricSums('session_id')}
  FROM telemetry_metrics
  WHERE session_id IN (SELECT session_id FROM e) AND ${and(range)}
  GROUP BY session_id
), j AS (
  SELECT e.*, coalesce(m.commits, 0)::HUGEINT AS commits, coalesce(m.prs, 0)::HUGEINT AS prs,
    m.active_ms, m.active_user_ms, m.active_cli_ms
  FROM e LEFT JOIN m USING (session_id)
)
SELECT *, CASE WHEN active_ms IS NOT NULL THEN greatest(0, epoch_ms(last) - epoch_ms(first) - active_ms) END
  AS idle_ms, ${RATIOS}
FROM j
ORDER BY cost DESC, requests DESC, session_id LIMIT ${limit}`;
  const rows = (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  return rows.map((r) => ({
    sessionId: String(r.session_id),
    user: str(r.user),
    first: (r.first as Date).getTime(),
    last: (r.last as Date).getTime(),
    requests: num(r.requests),
    tokens: big(r.tokens),
    costPicos: big(r.cost),
    unpricedRequests: num(r.unpriced),
    costReportedUsd: str(r.reported),
    toolCalls: num(r.tools),
    commits: big(r.commits),
    pullRequests: big(r.prs),
    toolAccepts: num(r.accepts),
    toolRejects: num(r.rejects),
    activeMs: numOrNull(r.active_ms),
    activeUserMs: numOrNull(r.active_user_ms),
    activeCliMs: numOrNull(r.active_cli_ms),
    idleMs: numOrNull(r.idle_ms),
    costPerCommitPicos: bigOrNull(r.cost_per_commit),
    costPerPullRequestPicos: bigOrNull(r.cost_per_pr),
    costPerActiveHourPicos: bigOrNull(r.cost_per_active_hour),
  }));
}

async function users(
  conn: DuckDBConnection,
  q: Extract<TelemetryReportQuery, { kind: 'users' }>,
): Promise<readonly UserSummary[]> {
  const params: Params = [];
  const range = rangeSql(params, q.from, q.to);
  const user = userSql(params, q.user);
  const sql = `
WITH e AS (
  SELECT ${eventSums(`${USER} AS "user"`)}, count(DISTINCT session_id) AS sessions
  FROM ${PRICED_EVENTS} WHERE ${COUNTED} AND ${and([...range, ...user])}
  GROUP BY 1
), m AS (
  SELECT ${metricSums(`${USER} AS "user"`)}
  FROM ${METRICS} WHERE ${and([...range, ...user])}
  GROUP BY 1
), j AS (
  SELECT coalesce(e."user", m."user") AS "user", coalesce(e.sessions, 0) AS sessions,
    coalesce(e.requests, 0) AS requests, coalesce(e.tokens, 0)::HUGEINT AS tokens,
    coalesce(e.cost, 0)::HUGEINT AS cost, coalesce(e.unpriced, 0) AS unpriced, coalesce(e.tools, 0) AS tools,
    coalesce(e.accepts, 0) AS accepts, coalesce(e.rejects, 0) AS rejects,
    coalesce(m.commits, 0)::HUGEINT AS commits, coalesce(m.prs, 0)::HUGEINT AS prs, m.active_ms
  FROM e FULL JOIN m ON e."user" IS NOT DISTINCT FROM m."user"
)
SELECT *, CASE WHEN accepts + rejects > 0 THEN accepts / (accepts + rejects) END AS accept_rate, ${RATIOS}
FROM j
ORDER BY cost DESC, requests DESC, "user" NULLS LAST`;
  const rows = (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  return rows.map((r) => ({
    user: str(r.user),
    sessions: num(r.sessions),
    requests: num(r.requests),
    tokens: big(r.tokens),
    costPicos: big(r.cost),
    unpricedRequests: num(r.unpriced),
    toolCalls: num(r.tools),
    toolAccepts: num(r.accepts),
    toolRejects: num(r.rejects),
    toolAcceptRate: numOrNull(r.accept_rate),
    commits: big(r.commits),
    pullRequests: big(r.prs),
    activeMs: numOrNull(r.active_ms),
    costPerCommitPicos: bigOrNull(r.cost_per_commit),
    costPerPullRequestPicos: bigOrNull(r.cost_per_pr),
    costPerActiveHourPicos: bigOrNull(r.cost_per_active_hour),
  }));
}

// ── tools ───────────────────────────────────────────────────────────────────────────────────────────────────

async function tools(
  conn: DuckDBConnection,
  q: Extract<TelemetryReportQuery, { kind: 'tools' }>,
): Promise<readonly ToolSummary[]> {
  const params: Params = [];
  const range = rangeSql(params, q.from, q.to);
  const user = userSql(params, q.user);
  const who = q.byUser ? USER : 'NULL::VARCHAR';
  const ctes = apportionCtes(q.byUser ? [USER] : [], [...range, ...user]);
  const sql = `
WITH ${ctes}, facts AS (
  SELECT coalesce(tool_name, '${UNKNOWN}') AS tool, ${who} AS "user", 'call' AS f, success, duration_ms,
    NULL::VARCHAR AS decision, NULL::VARCHAR AS src, 0::BIGINT AS requests, 0::HUGEINT AS cost, 0::BIGINT AS unpriced
  FROM ${EVENTS} WHERE kind = 'tool_result' AND ${and([...range, ...user])}
  UNION ALL
  SELECT coalesce(tool_name, '${UNKNOWN}'), ${who}, 'decision', NULL, NULL, decision,
    coalesce(json_extract_string(attributes, '$.source'), '${UNKNOWN}'), 0, 0, 0
  FROM ${EVENTS} WHERE kind = 'tool_decision' AND ${and([...range, ...user])}
  UNION ALL
  SELECT tool, ${q.byUser ? 'k0' : 'NULL::VARCHAR'}, 'cost', NULL, NULL, NULL, NULL, sum(requests), sum(cost), sum(unpriced)
  FROM s GROUP BY ALL
)
SELECT tool, "user",
  count(*) FILTER (WHERE f = 'call') AS calls,
  count(*) FILTER (WHERE f = 'call' AND success) AS successes,
  count(*) FILTER (WHERE f = 'call' AND NOT success) AS failures,
  avg(duration_ms) FILTER (WHERE f = 'call') AS mean_ms,
  quantile_cont(duration_ms, 0.95) FILTER (WHERE f = 'call') AS p95_ms,
  count(*) FILTER (WHERE f = 'decision' AND decision = 'accept') AS accepts,
  count(*) FILTER (WHERE f = 'decision' AND decision = 'reject') AS rejects,
  histogram(src || '|' || coalesce(decision, '${UNKNOWN}')) FILTER (WHERE f = 'decision') AS by_source,
  coalesce(sum(requests), 0)::BIGINT AS requests,
  coalesce(sum(cost), 0)::HUGEINT AS cost,
  coalesce(sum(unpriced), 0)::BIGINT AS unpriced
FROM facts
GROUP BY tool, "user"
ORDER BY cost DESC, calls DESC, tool, "user" NULLS LAST`;
  const rows = (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  return rows.map((r) => {
    const successes = num(r.successes);
    const failures = num(r.failures);
    const accepts = num(r.accepts);
    const rejects = num(r.rejects);
    const bySource: Record<string, DecisionCounts> = {};
    const entries = (r.by_source ?? []) as unknown as readonly { key: string; value: unknown }[];
    for (const { key, value } of entries) {
      const cut = key.lastIndexOf('|');
      const source = key.slice(0, cut);
      const decision = key.slice(cut + 1);
      const prev = bySource[source] ?? { accept: 0, reject: 0 };
      bySource[source] = {
        accept: prev.accept + (decision === 'accept' ? num(value) : 0),
        reject: prev.reject + (decision === 'reject' ? num(value) : 0),
      };
    }
    return {
      tool: String(r.tool),
      user: str(r.user),
      calls: num(r.calls),
      successes,
      failures,
      successRate: successes + failures > 0 ? successes / (successes + failures) : null,
      meanDurationMs: numOrNull(r.mean_ms),
      p95DurationMs: numOrNull(r.p95_ms),
      accepts,
      rejects,
      acceptRate: accepts + rejects > 0 ? accepts / (accepts + rejects) : null,
      bySource,
      requests: num(r.requests),
      costPicos: big(r.cost),
      unpricedRequests: num(r.unpriced),
    };
  });
}

/** The `telemetryReport` member of the DuckDB TelemetryStore. */
/** Claude Code sessions in [from, to) with metric points but no API-request event (see TelemetryStore). */
export async function metricOnlySessions(
  conn: DuckDBConnection,
  from: number,
  to: number,
): Promise<number> {
  const params: Params = [];
  const reader = await conn.runAndReadAll(
    `SELECT count(DISTINCT m.session_id) FROM telemetry_metrics m
     WHERE starts_with(m.metric, 'claude_code.') AND m.session_id IS NOT NULL
       AND ${rangeSql(params, from, to).join(' AND ')}
       AND NOT EXISTS (SELECT 1 FROM telemetry_events e WHERE e.session_id = m.session_id AND e.kind = 'api_request')`,
    params,
  );
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

export async function telemetryReport<Q extends TelemetryReportQuery>(
  conn: DuckDBConnection,
  query: Q,
): Promise<TelemetryReportResults[Q['kind']]> {
  const q: TelemetryReportQuery = query;
  let result: TelemetryReportResults[keyof TelemetryReportResults];
  switch (q.kind) {
    case 'sessions':
      result = await sessions(conn, q);
      break;
    case 'users':
      result = await users(conn, q);
      break;
    case 'tools':
      result = await tools(conn, q);
      break;
    case 'usage':
      result = await usage(conn, q);
      break;
  }
  return result as TelemetryReportResults[Q['kind']];
}
