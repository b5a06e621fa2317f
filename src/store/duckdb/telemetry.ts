/** The DuckDB TelemetryStore: Claude Code / GenAI events and metric increases, and the sessions report. */
import { type DuckDBConnection, listValue } from '@duckdb/node-api';
import type { TelemetryStore } from '../store.ts';
import { writeMapFile } from './bulk-logs.ts';

const EVENT_COLUMNS = {
  event_key: 'VARCHAR',
  ts_ms: 'BIGINT',
  source: 'VARCHAR',
  kind: 'VARCHAR',
  event: 'VARCHAR',
  session_id: 'VARCHAR',
  prompt_id: 'VARCHAR',
  user_id: 'VARCHAR',
  user_email: 'VARCHAR',
  identity: 'VARCHAR',
  dimensions: 'VARCHAR',
  model: 'VARCHAR',
  model_base: 'VARCHAR',
  input_tokens: 'BIGINT',
  output_tokens: 'BIGINT',
  cache_read_tokens: 'BIGINT',
  cache_write_5m_tokens: 'BIGINT',
  cache_write_1h_tokens: 'BIGINT',
  cost_pusd: 'BIGINT',
  cost_reported_usd: 'VARCHAR',
  duration_ms: 'DOUBLE',
  request_id: 'VARCHAR',
  tool_name: 'VARCHAR',
  decision: 'VARCHAR',
  success: 'BOOLEAN',
  terminal: 'VARCHAR',
  version: 'VARCHAR',
  query_source: 'VARCHAR',
  attributes: 'VARCHAR',
  received_ms: 'BIGINT',
} as const;
const METRIC_COLUMNS = {
  point_key: 'VARCHAR',
  ts_ms: 'BIGINT',
  from_ms: 'BIGINT',
  metric: 'VARCHAR',
  type: 'VARCHAR',
  model: 'VARCHAR',
  value: 'VARCHAR',
  session_id: 'VARCHAR',
  user_id: 'VARCHAR',
  user_email: 'VARCHAR',
  dimensions: 'VARCHAR',
  terminal: 'VARCHAR',
  version: 'VARCHAR',
  received_ms: 'BIGINT',
} as const;
/** Times travel as epoch ms (`*_ms`) and land in TIMESTAMP columns. */
const TIMES = new Set(['ts_ms', 'from_ms', 'received_ms']);

function insertSql(table: string, columns: Record<string, string>, file: string): string {
  const spec = Object.entries(columns)
    .map(([k, t]) => `${k}: '${t}'`)
    .join(', ');
  const select = Object.keys(columns)
    .map((k) => (TIMES.has(k) ? `epoch_ms(${k})` : k))
    .join(', ');
  return `INSERT OR IGNORE INTO ${table} SELECT ${select}
    FROM read_json('${file.replaceAll("'", "''")}', format = 'newline_delimited', columns = {${spec}})`;
}

const SESSIONS_SQL = `
WITH e AS (
  SELECT session_id, any_value(coalesce(user_email, user_id)) AS "user", min(ts) AS first, max(ts) AS last,
    count(*) FILTER (WHERE kind = 'api_request') AS requests,
    coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)
      FILTER (WHERE kind = 'api_request'), 0)::HUGEINT AS tokens,
    coalesce(sum(cost_pusd) FILTER (WHERE kind = 'api_request'), 0)::HUGEINT AS cost,
    count(*) FILTER (WHERE kind = 'api_request' AND cost_pusd IS NULL) AS unpriced,
    sum(TRY_CAST(cost_reported_usd AS DECIMAL(38, 12))) FILTER (WHERE kind = 'api_request') AS reported,
    count(*) FILTER (WHERE kind = 'tool_result') AS tools
  FROM telemetry_events
  WHERE session_id IS NOT NULL AND ts >= epoch_ms($1::BIGINT) AND ts < epoch_ms($2::BIGINT)
  GROUP BY session_id
), m AS (
  SELECT session_id,
    coalesce(sum(TRY_CAST(value AS HUGEINT)) FILTER (WHERE metric = 'claude_code.commit.count'), 0) AS commits,
    coalesce(sum(TRY_CAST(value AS HUGEINT)) FILTER (WHERE metric = 'claude_code.pull_request.count'), 0) AS prs
  FROM telemetry_metrics
  WHERE session_id IS NOT NULL AND ts >= epoch_ms($1::BIGINT) AND ts < epoch_ms($2::BIGINT)
  GROUP BY session_id
)
SELECT e.*, coalesce(m.commits, 0) AS commits, coalesce(m.prs, 0) AS prs
FROM e LEFT JOIN m USING (session_id)
ORDER BY cost DESC, requests DESC, session_id LIMIT $3`;

/** A dimension the record left unallocated takes the event's value. */
const fill = (column: string, value: string) =>
  `${column} = CASE WHEN usage.${column} = 'unallocated' AND ${value} IS NOT NULL THEN ${value} ELSE usage.${column} END`;
const dim = (key: string) => `json_extract_string(e.dimensions, '$."${key}".value')`;

/**
 * The enrichment UPDATE. Scoped (the receiver, per request) it joins only the request's events and the ledger rows
 * within a day of them, so zone maps skip the rest of a large ledger; unscoped (after an ingest) it joins every
 * api_request event with a request id.
 */
const enrichSql = (scoped: boolean) => `
UPDATE usage SET ${[
  fill('session', 'e.session_id'),
  fill('"user"', 'e.who'),
  fill('team', dim('team')),
  fill('cost_center', dim('cost_center')),
  fill('project', dim('project')),
  fill('application', dim('application')),
  fill('environment', dim('environment')),
].join(',\n  ')},
  attribution = json_merge_patch(usage.attribution, json_object('session', 'telemetry.session.id'))::VARCHAR
FROM (
  SELECT request_id, any_value(session_id) AS session_id, any_value(coalesce(user_email, user_id)) AS who,
    any_value(dimensions) AS dimensions
  FROM telemetry_events
  WHERE kind = 'api_request' AND request_id IS NOT NULL ${scoped ? 'AND request_id IN (SELECT unnest($1::VARCHAR[]))' : ''}
  GROUP BY request_id
) e
WHERE usage.request_id = e.request_id AND usage.session = 'unallocated' AND e.session_id IS NOT NULL
  ${scoped ? 'AND usage.ts BETWEEN epoch_ms($2::BIGINT - 86400000) AND epoch_ms($3::BIGINT + 86400000)' : ''}`;

export function createTelemetryStore(conn: DuckDBConnection, tmp: string): TelemetryStore {
  let n = 0;
  // The receiver takes concurrent requests; their transactions on this one connection must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    write: (events, metrics) =>
      serial(async () => {
        let newEvents = 0;
        let newMetrics = 0;
        await conn.run('BEGIN TRANSACTION');
        try {
          if (events.length > 0) {
            const file = writeMapFile(
              tmp,
              `telemetry-${n++}-events`,
              events.map((e) => ({
                event_key: e.eventKey,
                ts_ms: e.at,
                source: e.source,
                kind: e.kind,
                event: e.event,
                session_id: e.sessionId,
                prompt_id: e.promptId,
                user_id: e.userId,
                user_email: e.userEmail,
                identity: e.identity,
                dimensions: e.dimensions,
                model: e.model,
                model_base: e.modelBase,
                input_tokens: e.inputTokens,
                output_tokens: e.outputTokens,
                cache_read_tokens: e.cacheReadTokens,
                cache_write_5m_tokens: e.cacheWrite5mTokens,
                cache_write_1h_tokens: e.cacheWrite1hTokens,
                cost_pusd: e.costPicos === null ? null : e.costPicos.toString(),
                cost_reported_usd: e.costReportedUsd,
                duration_ms: e.durationMs,
                request_id: e.requestId,
                tool_name: e.toolName,
                decision: e.decision,
                success: e.success,
                terminal: e.terminal,
                version: e.version,
                query_source: e.querySource,
                attributes: e.attributes,
                received_ms: e.receivedAt,
              })),
            );
            newEvents = Number(
              (await conn.run(insertSql('telemetry_events', EVENT_COLUMNS, file))).rowsChanged,
            );
          }
          if (metrics.length > 0) {
            const file = writeMapFile(
              tmp,
              `telemetry-${n++}-metrics`,
              metrics.map((m) => ({
                point_key: m.pointKey,
                ts_ms: m.at,
                from_ms: m.from,
                metric: m.metric,
                type: m.type,
                model: m.model,
                value: m.value,
                session_id: m.sessionId,
                user_id: m.userId,
                user_email: m.userEmail,
                dimensions: m.dimensions,
                terminal: m.terminal,
                version: m.version,
                received_ms: m.receivedAt,
              })),
            );
            newMetrics = Number(
              (await conn.run(insertSql('telemetry_metrics', METRIC_COLUMNS, file))).rowsChanged,
            );
          }
          await conn.run('COMMIT');
        } catch (e: unknown) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
        return { events: newEvents, metrics: newMetrics };
      }),

    enrich: (scope) =>
      serial(async () => {
        if (scope === undefined) return Number((await conn.run(enrichSql(false))).rowsChanged);
        if (scope.requestIds.length === 0) return 0;
        const ids = listValue(scope.requestIds.map((id) => id));
        return Number(
          (await conn.run(enrichSql(true), [ids, scope.fromMs, scope.toMs])).rowsChanged,
        );
      }),

    async sessions(from, to, limit) {
      const rows = (await conn.runAndReadAll(SESSIONS_SQL, [from, to, limit])).getRowObjectsJS();
      return rows.map((r) => ({
        sessionId: String(r.session_id),
        user: r.user === null ? null : String(r.user),
        first: (r.first as Date).getTime(),
        last: (r.last as Date).getTime(),
        requests: Number(r.requests),
        tokens: BigInt(r.tokens as bigint),
        costPicos: BigInt(r.cost as bigint),
        unpricedRequests: Number(r.unpriced),
        costReportedUsd: r.reported === null ? null : String(r.reported),
        toolCalls: Number(r.tools),
        commits: BigInt(r.commits as bigint),
        pullRequests: BigInt(r.prs as bigint),
      }));
    },
  };
}
