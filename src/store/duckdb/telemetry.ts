import { rmSync } from 'node:fs';
/**
 * The DuckDB TelemetryStore: Claude Code / GenAI events and metric increases, the cumulative streams' state, and the
 * sessions report.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Limiter } from '../../core/index.ts';
import type { TelemetryStore } from '../store.ts';
import { writeMapFile } from './bulk-logs.ts';
import { matchTelemetry } from './telemetry-match.ts';
import { metricOnlySessions, telemetryReport } from './telemetry-report.ts';
import { inTransaction } from './transaction.ts';

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
  price_id: 'VARCHAR',
  price_flags: 'VARCHAR',
  catalog_hash: 'VARCHAR',
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
  account: 'VARCHAR',
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
  // Added by a later migration (ALTER TABLE … ADD COLUMN appends it): the insert is positional, so it stays last.
  attributes: 'VARCHAR',
} as const;
/** Times travel as epoch ms (`*_ms`) and land in TIMESTAMP columns (of these names). */
const TIMES: Record<string, string> = {
  ts_ms: 'ts',
  from_ms: 'from_ts',
  received_ms: 'received_at',
};

function insertSql(table: string, columns: Record<string, string>, file: string): string {
  const spec = Object.entries(columns)
    .map(([k, t]) => `${k}: '${t}'`)
    .join(', ');
  const select = Object.keys(columns)
    .map((k) => (TIMES[k] ? `epoch_ms(${k}) AS ${TIMES[k]}` : k))
    .join(', ');
  return `INSERT OR IGNORE INTO ${table} BY NAME SELECT ${select}
    FROM read_json('${file.replaceAll("'", "''")}', format = 'newline_delimited', columns = {${spec}})`;
}

export function createTelemetryStore(
  conn: DuckDBConnection,
  tmp: string,
  /** The receiver takes concurrent requests; their transactions on this one connection, and others', must not interleave. */
  serial: Limiter,
): TelemetryStore {
  let n = 0;
  return {
    write: (events, metrics, streams = []) =>
      serial(async () => {
        let newEvents = 0;
        let newMetrics = 0;
        // The NDJSON files DuckDB reads the rows from, deleted once written (a server writes for weeks).
        const files: string[] = [];
        try {
          await inTransaction(conn, async () => {
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
                  price_id: e.priceId,
                  price_flags: e.priceFlags,
                  catalog_hash: e.catalogHash,
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
                  account: e.account,
                })),
              );
              files.push(file);
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
                  attributes: m.attributes,
                })),
              );
              files.push(file);
              newMetrics = Number(
                (await conn.run(insertSql('telemetry_metrics', METRIC_COLUMNS, file))).rowsChanged,
              );
            }
            if (streams.length > 0) {
              const file = writeMapFile(
                tmp,
                `telemetry-${n++}-streams`,
                streams.map((s) => ({
                  series: s.series,
                  start_ns: s.startTimeUnixNano.toString(),
                  time_ns: s.timeUnixNano.toString(),
                  totals: JSON.stringify(s.values),
                })),
              );
              files.push(file);
              await conn.run(`INSERT OR REPLACE INTO telemetry_streams
              SELECT series, CAST(start_ns AS HUGEINT), CAST(time_ns AS HUGEINT), totals
              FROM read_json('${file.replaceAll("'", "''")}', format = 'newline_delimited',
                columns = {series: 'VARCHAR', start_ns: 'VARCHAR', time_ns: 'VARCHAR', totals: 'VARCHAR'})`);
            }
          });
        } finally {
          for (const f of files) rmSync(f, { force: true });
        }
        return { events: newEvents, metrics: newMetrics };
      }),

    streams: (sinceMs) =>
      serial(async () => {
        const since = (BigInt(Math.trunc(sinceMs)) * 1_000_000n).toString();
        await conn.run(`DELETE FROM telemetry_streams WHERE time_ns < ${since}::HUGEINT`);
        const reader = await conn.runAndReadAll(
          'SELECT series, start_ns::VARCHAR, time_ns::VARCHAR, totals FROM telemetry_streams',
        );
        return reader.getRows().map(([series, start, time, totals]) => ({
          series: String(series),
          startTimeUnixNano: BigInt(String(start)),
          timeUnixNano: BigInt(String(time)),
          values: (JSON.parse(String(totals)) as unknown[]).map(String),
        }));
      }),

    // The matching (request id, fingerprint, client-only rows) lives in telemetry-match.ts.
    enrich: (scope) => serial(() => matchTelemetry(conn, scope)),

    sessions: (from, to, limit) => telemetryReport(conn, { kind: 'sessions', from, to, limit }),

    metricOnlySessions: (from, to) => metricOnlySessions(conn, from, to),

    telemetryReport: (query) => telemetryReport(conn, query),
  };
}
