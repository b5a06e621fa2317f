/** DuckDB DDL. Money is BIGINT pico-USD (1e-12 USD); sums come back as HUGEINT, never floats. */

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS usage (
    request_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, account VARCHAR NOT NULL, region VARCHAR NOT NULL,
    inference_region VARCHAR, operation VARCHAR NOT NULL, model_id VARCHAR NOT NULL, model VARCHAR NOT NULL,
    profile VARCHAR, scope VARCHAR NOT NULL, geo VARCHAR, model_form VARCHAR NOT NULL, tier VARCHAR NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cache_read_tokens BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL, cache_write_1h_tokens BIGINT NOT NULL,
    latency_ms INTEGER, first_byte_ms INTEGER, error_code VARCHAR, identity_arn VARCHAR,
    team VARCHAR NOT NULL, "user" VARCHAR NOT NULL, feature VARCHAR NOT NULL, project VARCHAR NOT NULL,
    environment VARCHAR NOT NULL, cost_center VARCHAR NOT NULL, application VARCHAR NOT NULL, session VARCHAR NOT NULL,
    metadata VARCHAR, attribution VARCHAR NOT NULL,
    cost_pusd BIGINT, price_id VARCHAR, catalog_hash VARCHAR NOT NULL, flags VARCHAR NOT NULL,
    source VARCHAR NOT NULL, source_line INTEGER NOT NULL, ingested_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS rejects (
    source VARCHAR NOT NULL, line INTEGER NOT NULL, reason VARCHAR NOT NULL, excerpt VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL, PRIMARY KEY (source, line, reason)
  )`,
  `CREATE TABLE IF NOT EXISTS checkpoints (
    key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL
  )`,
  // How each API-request telemetry event counts (telemetry-match.ts): `request_id` / `fingerprint` (in that
  // server-side record, request_id), `client_only` (in its own ledger row `otel:<event_key>`), `covered` (an hour
  // the server-side records cover: not counted again), `span` (a GenAI token-usage metric row whose interval a span
  // of the same service and model covers: counted nowhere, not even in the telemetry reports), `no_model`. Derived
  // state, recomputed by every match run; kept beside telemetry_events rather than as columns on it. No key: the
  // matcher writes only differences.
  `CREATE TABLE IF NOT EXISTS telemetry_matches (
    event_key VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, match VARCHAR NOT NULL, request_id VARCHAR,
    delta_ms BIGINT, ambiguous BOOLEAN NOT NULL
  )`,
];

/**
 * The bill (CUR 2.0 / legacy CUR), Bedrock line items only. A billing period is replaced as a whole when it is
 * ingested again (AWS re-delivers a month as it finalises). Amounts are pico-USD HUGEINT (a line can exceed the
 * BIGINT range only above $9.2M, but sums must not overflow).
 */
export const BILL_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS bill_lines (
    billing_period VARCHAR NOT NULL, source VARCHAR NOT NULL, source_row INTEGER NOT NULL,
    billing_entity VARCHAR, payer_account VARCHAR, account VARCHAR NOT NULL,
    usage_start TIMESTAMP NOT NULL, usage_end TIMESTAMP, product_code VARCHAR, usage_type VARCHAR, operation VARCHAR,
    line_item_type VARCHAR NOT NULL, resource_id VARCHAR, description VARCHAR,
    usage_amount DECIMAL(38, 12), pricing_unit VARCHAR,
    unblended_pusd HUGEINT NOT NULL, net_unblended_pusd HUGEINT, public_pusd HUGEINT, currency VARCHAR,
    classification VARCHAR NOT NULL, reason VARCHAR,
    region VARCHAR, model VARCHAR, billing_model VARCHAR, token_class VARCHAR, tier VARCHAR, scope VARCHAR,
    long_context BOOLEAN, tokens BIGINT,
    iam_principal VARCHAR, tags VARCHAR, product VARCHAR, ingested_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS bill_rejects (
    source VARCHAR NOT NULL, line INTEGER NOT NULL, reason VARCHAR NOT NULL, excerpt VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL, PRIMARY KEY (source, line, reason)
  )`,
  // The bill's dollars allocated to records (reconcile): null until a reconciliation covers the record.
  `ALTER TABLE usage ADD COLUMN IF NOT EXISTS billed_pusd BIGINT`,
  // Billed usage no logged record can carry (no logs for that Region or those hours, batch, unmapped usage types),
  // attributed from the bill's IAM principal and tags: the billing lens, never added to the log lens.
  `CREATE TABLE IF NOT EXISTS billed_extra (
    billing_period VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, account VARCHAR NOT NULL, region VARCHAR NOT NULL,
    model VARCHAR NOT NULL, scope VARCHAR NOT NULL, tier VARCHAR NOT NULL, identity_arn VARCHAR,
    team VARCHAR NOT NULL, "user" VARCHAR NOT NULL, feature VARCHAR NOT NULL, project VARCHAR NOT NULL,
    environment VARCHAR NOT NULL, cost_center VARCHAR NOT NULL, application VARCHAR NOT NULL, session VARCHAR NOT NULL,
    cause VARCHAR NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_write_5m_tokens BIGINT NOT NULL, cache_write_1h_tokens BIGINT NOT NULL,
    billed_pusd BIGINT NOT NULL
  )`,
];

/** CloudWatch `AWS/Bedrock` datapoints (counts, not money), one row per series and period start. */
export const METRICS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS metrics (
    region VARCHAR NOT NULL, account VARCHAR NOT NULL, namespace VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL, tier VARCHAR NOT NULL, stat VARCHAR NOT NULL, period_s INTEGER NOT NULL,
    period_start TIMESTAMP NOT NULL, value DOUBLE NOT NULL, source VARCHAR NOT NULL,
    PRIMARY KEY (region, account, namespace, metric, model_id, tier, stat, period_s, period_start)
  )`,
];

/**
 * Application telemetry (OTLP): Claude Code events and GenAI usage, and Claude Code metric increases. Keys are the
 * sources' idempotency keys, so an exporter's retry is stored once.
 */
export const TELEMETRY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS telemetry_events (
    event_key VARCHAR PRIMARY KEY, ts TIMESTAMP NOT NULL, source VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    event VARCHAR NOT NULL, session_id VARCHAR, prompt_id VARCHAR, user_id VARCHAR, user_email VARCHAR,
    identity VARCHAR NOT NULL, dimensions VARCHAR NOT NULL, model VARCHAR, model_base VARCHAR,
    input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT, cache_write_5m_tokens BIGINT,
    cache_write_1h_tokens BIGINT, cost_pusd BIGINT, cost_reported_usd VARCHAR, duration_ms DOUBLE, request_id VARCHAR,
    tool_name VARCHAR, decision VARCHAR, success BOOLEAN, terminal VARCHAR, version VARCHAR, query_source VARCHAR,
    attributes VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS telemetry_metrics (
    point_key VARCHAR PRIMARY KEY, ts TIMESTAMP NOT NULL, from_ts TIMESTAMP NOT NULL, metric VARCHAR NOT NULL,
    type VARCHAR, model VARCHAR, value VARCHAR NOT NULL, session_id VARCHAR, user_id VARCHAR, user_email VARCHAR,
    dimensions VARCHAR NOT NULL, terminal VARCHAR, version VARCHAR, received_at TIMESTAMP NOT NULL
  )`,
  // The point's own attributes as JSON (code_edit_tool.decision's tool_name, decision, source, language), for
  // `report --by language`. NULL on points stored before it existed.
  `ALTER TABLE telemetry_metrics ADD COLUMN IF NOT EXISTS attributes VARCHAR`,
  // How the ledger priced an API request (catalog entry, flags, catalog), so that its client-only ledger row carries
  // them as an invocation-log record does. NULL on events stored before they existed.
  `ALTER TABLE telemetry_events ADD COLUMN IF NOT EXISTS price_id VARCHAR`,
  `ALTER TABLE telemetry_events ADD COLUMN IF NOT EXISTS price_flags VARCHAR`,
  `ALTER TABLE telemetry_events ADD COLUMN IF NOT EXISTS catalog_hash VARCHAR`,
  // The AWS account of an API request when the telemetry names it (`cloud.account.id`): an unmatched call is
  // covered only by server-side records of its account. NULL when it does not, and on events stored before it.
  `ALTER TABLE telemetry_events ADD COLUMN IF NOT EXISTS account VARCHAR`,
  // Cumulative metric streams: the last point of each (series identity, start time), written in the transaction of
  // the rows it produced, so a receiver restart continues each running total where it was (otlp-sink.ts). Nanos are
  // HUGEINT (OTLP's fixed64); `totals` is a JSON array of exact decimal strings.
  `CREATE TABLE IF NOT EXISTS telemetry_streams (
    series VARCHAR NOT NULL, start_ns HUGEINT NOT NULL, time_ns HUGEINT NOT NULL, totals VARCHAR NOT NULL,
    PRIMARY KEY (series, start_ns)
  )`,
];
