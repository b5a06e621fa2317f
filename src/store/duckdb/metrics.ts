import { rmSync } from 'node:fs';
/** The DuckDB MetricsStore: CloudWatch datapoints and the hourly coverage check against the ledger. */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { MetricsStore } from '../store.ts';
import { writeMapFile } from './bulk-logs.ts';
import { CLIENT_ONLY_SOURCE } from './telemetry-match.ts';

const TOKEN_METRICS = `('InputTokenCount', 'OutputTokenCount', 'CacheReadInputTokenCount', 'CacheWriteInputTokenCount')`;

/**
 * Hourly tokens by account, Region and model id as called (CloudWatch's ModelId is the id or profile id of the call,
 * as the log's modelId is); an hour where CloudWatch counted more than the ledger holds is a logging gap. Only
 * server-side records count: a client-only telemetry row stands in for a missing log, it does not fill the gap.
 */
const COVERAGE_SQL = `
WITH cw AS (
  SELECT account, region, model_id, date_trunc('hour', period_start) AS hour, CAST(round(sum(value)) AS HUGEINT) AS tokens
  FROM metrics
  WHERE namespace = 'AWS/Bedrock' AND stat = 'Sum' AND metric IN ${TOKEN_METRICS} AND model_id <> ''
    AND period_start >= epoch_ms($1::BIGINT) AND period_start < epoch_ms($2::BIGINT) AND period_s <= 3600
  GROUP BY ALL
), led AS (
  SELECT account, region, model_id, date_trunc('hour', ts) AS hour,
    sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS tokens
  FROM usage WHERE ts >= epoch_ms($1::BIGINT) AND ts < epoch_ms($2::BIGINT) AND source <> '${CLIENT_ONLY_SOURCE}'
  GROUP BY ALL
)
SELECT cw.account, cw.region, cw.model_id, cw.hour, cw.tokens AS metric_tokens, coalesce(led.tokens, 0) AS logged_tokens
FROM cw LEFT JOIN led ON led.model_id = cw.model_id AND led.region = cw.region AND led.hour = cw.hour
  AND (cw.account = '' OR led.account = cw.account)
WHERE cw.tokens > coalesce(led.tokens, 0)
ORDER BY cw.account, cw.region, cw.hour, cw.model_id`;

const FAILURES_SQL = `
SELECT account, region, date_trunc('hour', period_start) AS hour, CAST(sum(value) AS BIGINT) AS failures
FROM metrics
WHERE metric LIKE 'ModelInvocation%DeliveryFailure' AND value > 0
  AND period_start >= epoch_ms($1::BIGINT) AND period_start < epoch_ms($2::BIGINT)
GROUP BY ALL ORDER BY account, region, hour`;

export function createMetricsStore(conn: DuckDBConnection, tmp: string): MetricsStore {
  let n = 0;
  return {
    async write(rows) {
      if (rows.length === 0) return { written: 0 };
      const file = writeMapFile(
        tmp,
        `metrics-${n++}`,
        rows.map((r) => ({
          region: r.region,
          account: r.account,
          namespace: r.namespace,
          metric: r.metric,
          model_id: r.modelId,
          tier: r.tier,
          stat: r.stat,
          period_s: r.periodSeconds,
          at_ms: r.at,
          value: r.value,
          source: r.source,
        })),
      );
      const result = await conn
        .run(
          `INSERT OR REPLACE INTO metrics
         SELECT region, account, namespace, metric, model_id, tier, stat, period_s, epoch_ms(at_ms), value, source
         FROM read_json($1, format = 'newline_delimited', columns = {region: 'VARCHAR', account: 'VARCHAR',
           namespace: 'VARCHAR', metric: 'VARCHAR', model_id: 'VARCHAR', tier: 'VARCHAR', stat: 'VARCHAR',
           period_s: 'INTEGER', at_ms: 'BIGINT', value: 'DOUBLE', source: 'VARCHAR'})`,
          [file],
        )
        .finally(() => rmSync(file, { force: true }));
      return { written: Number(result.rowsChanged) };
    },

    async points(from, to) {
      const reader = await conn.runAndReadAll(
        `SELECT region, account, namespace, metric, model_id, tier, stat, period_s, epoch_ms(period_start) AS at, value, source
         FROM metrics WHERE period_start >= epoch_ms($1::BIGINT) AND period_start < epoch_ms($2::BIGINT)
         ORDER BY period_start`,
        [from, to],
      );
      return reader.getRowObjectsJS().map((r) => ({
        region: String(r.region),
        account: String(r.account),
        namespace: String(r.namespace),
        metric: String(r.metric),
        modelId: String(r.model_id),
        tier: String(r.tier),
        stat: String(r.stat),
        periodSeconds: Number(r.period_s),
        at: Number(r.at),
        value: Number(r.value),
        source: String(r.source),
      }));
    },

    async coverage(from, to) {
      const rows = async (sql: string) =>
        (await conn.runAndReadAll(sql, [from, to])).getRowObjectsJS();
      const [any] = await rows(
        `SELECT count(*) AS n FROM metrics WHERE metric IN ${TOKEN_METRICS} AND period_start >= epoch_ms($1::BIGINT) AND period_start < epoch_ms($2::BIGINT)`,
      );
      return {
        covered: Number(any?.n ?? 0) > 0,
        gaps: (await rows(COVERAGE_SQL)).map((r) => ({
          account: String(r.account),
          region: String(r.region),
          modelId: String(r.model_id),
          hour: (r.hour as Date).getTime(),
          metricTokens: BigInt(r.metric_tokens as bigint),
          loggedTokens: BigInt(r.logged_tokens as bigint),
        })),
        deliveryFailures: (await rows(FAILURES_SQL)).map((r) => ({
          account: String(r.account),
          region: String(r.region),
          hour: (r.hour as Date).getTime(),
          failures: Number(r.failures),
        })),
      };
    },
  };
}
