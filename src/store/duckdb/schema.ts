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
];
