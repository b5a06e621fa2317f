/**
 * SQL for the bulk path: DuckDB reads invocation-log NDJSON files itself (bedrock.md §1.4–1.6) and computes what
 * src/sources/invocation-logs/parse.ts computes, for files whose every row is well-formed. Any row that is not
 * (a type the JS parser would reject, an odd timestamp) sends its file to the row-by-row path, which produces
 * exact rejects. `test/e2e/bulk-parity.test.ts` holds the two paths to identical ledgers.
 */

/**
 * Token counts are read as JSON so that DuckDB never casts ("100" → 100) what the JS parser rejects: such a file goes
 * row by row. Strings and request metadata are read typed (fast); DuckDB would accept a number where a string is
 * expected, which the JS parser rejects — a divergence only for logs Bedrock does not write. Known objects are
 * STRUCTs so that request bodies are never materialised (only the tier fields of the input body are). A value of
 * the wrong shape makes the read fail and the file goes row by row.
 */
const lit = (path: string) => `'${path.replaceAll("'", "''")}'`;

const readFiles = (files: readonly string[]) => `
SELECT filename AS file, * EXCLUDE (filename)
FROM read_json([${files.map(lit).join(', ')}], format = 'newline_delimited', filename = true, maximum_object_size = 1048576,
  columns = {schemaType: 'VARCHAR', schemaVersion: 'VARCHAR', "timestamp": 'VARCHAR', accountId: 'VARCHAR',
    region: 'VARCHAR', requestId: 'VARCHAR', operation: 'VARCHAR', modelId: 'VARCHAR', inferenceRegion: 'VARCHAR',
    errorCode: 'VARCHAR', identity: 'STRUCT(arn VARCHAR)', requestMetadata: 'MAP(VARCHAR, VARCHAR)',
    performanceConfig: 'STRUCT(latency VARCHAR)',
    input: 'STRUCT(inputTokenCount JSON, cacheReadInputTokenCount JSON, cacheWriteInputTokenCount JSON, inputBodyJson STRUCT(serviceTier JSON, service_tier JSON, performanceConfig STRUCT(latency VARCHAR)))',
    output: 'STRUCT(outputTokenCount JSON, outputBodyJson JSON)'})`;

const optCount = (e: string) =>
  `(${e} IS NULL OR json_type(${e}) = 'NULL' OR (json_type(${e}) = 'UBIGINT' AND json_extract_string(${e}, '$')::UBIGINT <= 9007199254740991))`;
const count = (e: string) =>
  `CASE WHEN json_type(${e}) = 'UBIGINT' THEN json_extract_string(${e}, '$')::BIGINT END`;
/** A non-negative number from a body (DOUBLE after from_json), truncated like Math.trunc (parse.ts `num`). */
const num = (e: string) => `CASE WHEN ${e} >= 0 THEN trunc(${e})::BIGINT END`;
const firstNonNull = (list: string) => `list_first(list_filter(${list}, x -> x IS NOT NULL))`;
const lastNonNull = (list: string) => `list_last(list_filter(${list}, x -> x IS NOT NULL))`;

/**
 * The output body parsed once into the few fields parse.ts reads. (from_json is lenient where parse.ts is strict
 * about body numbers — "5" reads as 5 — but bodies only fill in what the authoritative top-level counts lack.)
 */
const USAGE = `{"cacheReadInputTokens":"DOUBLE","cache_read_input_tokens":"DOUBLE","cacheWriteInputTokens":"DOUBLE","cache_creation_input_tokens":"DOUBLE","cacheDetails":[{"ttl":"VARCHAR","inputTokens":"DOUBLE"}],"cache_creation":{"ephemeral_1h_input_tokens":"DOUBLE"}}`;
const METRICS = `{"invocationLatency":"DOUBLE","firstByteLatency":"DOUBLE","cacheReadInputTokenCount":"DOUBLE","cacheWriteInputTokenCount":"DOUBLE"}`;
const OBJECT_BODY = `{"usage":${USAGE},"metrics":{"latencyMs":"DOUBLE"},"amazon-bedrock-invocationMetrics":${METRICS}}`;
const STREAM_BODY = `[{"message":{"usage":${USAGE}},"usage":${USAGE},"amazon-bedrock-invocationMetrics":${METRICS}}]`;
const usageCount = (u: string, camel: string, snake: string) =>
  `coalesce(${num(`${u}.${camel}`)}, ${num(`${u}.${snake}`)})`;
const M = '"amazon-bedrock-invocationMetrics"';

/**
 * Rows as parse.ts maps them, plus `valid` (false → the file goes row by row). Body facts are visited in parse.ts's
 * order: stream chunks one by one (message.usage, usage, invocation metrics); object bodies usage, then metrics.
 */
export const rowsSql = (files: readonly string[], metadataKeys: readonly string[]) => `
CREATE OR REPLACE TEMP TABLE bulk_rows AS
WITH b AS (
  SELECT *, input.inputBodyJson AS in_body, json_type(output.outputBodyJson) AS out_type,
    CASE WHEN json_type(output.outputBodyJson) = 'OBJECT' THEN from_json(output.outputBodyJson, '${OBJECT_BODY}') END AS ob,
    CASE WHEN json_type(output.outputBodyJson) = 'ARRAY' THEN from_json(output.outputBodyJson, '${STREAM_BODY}') END AS chunks
  FROM (${readFiles(files)})
), d AS (
  SELECT *,
    CASE WHEN chunks IS NOT NULL THEN flatten(list_transform(chunks, ch -> [ch.message.usage, ch.usage]))
      WHEN ob IS NOT NULL THEN [ob.usage] ELSE [] END AS usages,
    CASE WHEN chunks IS NOT NULL THEN list_transform(chunks, ch -> ch.${M})
      WHEN ob IS NOT NULL THEN [ob.${M}] ELSE [] END AS metrics,
    coalesce(in_body.serviceTier, in_body.service_tier) AS st
  FROM b
), f AS (
  SELECT *,
    schemaType = 'ModelInvocationLog' AND schemaVersion = '1.0'
      AND requestId <> '' AND accountId <> '' AND region <> '' AND operation <> '' AND modelId <> ''
      AND regexp_full_match("timestamp", '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z')
      AND ${optCount('input.inputTokenCount')} AND ${optCount('input.cacheReadInputTokenCount')}
      AND ${optCount('input.cacheWriteInputTokenCount')} AND ${optCount('output.outputTokenCount')}
    AS valid,
    -- parse.ts: serviceTier ?? service_tier, then its .type when it is an object.
    CASE WHEN json_type(st) = 'OBJECT' THEN json_extract_string(st, '$.type') ELSE json_extract_string(st, '$') END AS tier_type,
    -- cache counts from the body, in visiting order; used only when the top level lacks them.
    CASE WHEN chunks IS NOT NULL
      THEN flatten(list_transform(chunks, ch -> [${usageCount('ch.message.usage', 'cacheReadInputTokens', 'cache_read_input_tokens')},
        ${usageCount('ch.usage', 'cacheReadInputTokens', 'cache_read_input_tokens')}, ${num(`ch.${M}.cacheReadInputTokenCount`)}]))
      ELSE list_transform(usages, u -> ${usageCount('u', 'cacheReadInputTokens', 'cache_read_input_tokens')}) END AS body_reads,
    CASE WHEN chunks IS NOT NULL
      THEN flatten(list_transform(chunks, ch -> [${usageCount('ch.message.usage', 'cacheWriteInputTokens', 'cache_creation_input_tokens')},
        ${usageCount('ch.usage', 'cacheWriteInputTokens', 'cache_creation_input_tokens')}, ${num(`ch.${M}.cacheWriteInputTokenCount`)}]))
      ELSE list_transform(usages, u -> ${usageCount('u', 'cacheWriteInputTokens', 'cache_creation_input_tokens')}) END AS body_writes
  FROM d
)
SELECT file, valid,
  -- read_json gives no line numbers; the record's place is its file (and its requestId within it).
  0 AS line,
  requestId AS request_id,
  epoch_ms(CAST(rtrim("timestamp", 'Z') AS TIMESTAMP)) AS ts,
  accountId AS account, region, inferenceRegion AS inference_region, operation, modelId AS model_id,
  identity.arn AS identity_arn,
  -- Stored as the row-by-row path stores it (JSON.stringify of the object, null when empty); attribution only
  -- needs the values of the keys it reads.
  CASE WHEN cardinality(requestMetadata) > 0 THEN to_json(requestMetadata)::VARCHAR END AS metadata,
  CASE WHEN requestMetadata IS NOT NULL
    THEN to_json([${metadataKeys.map((k) => `requestMetadata[${lit(k)}]`).join(', ')}])::VARCHAR END AS md_key,
  -- Only application inference profiles carry attribution (their tags); other model ids do not split the key.
  CASE WHEN contains(modelId, ':application-inference-profile/') THEN modelId END AS aip,
  coalesce(${count('input.inputTokenCount')}, 0) AS input_tokens,
  coalesce(${count('output.outputTokenCount')}, 0) AS output_tokens,
  coalesce(${count('input.cacheReadInputTokenCount')}, ${firstNonNull('body_reads')}, 0) AS cache_read_tokens,
  coalesce(${count('input.cacheWriteInputTokenCount')}, ${firstNonNull('body_writes')}, 0) AS cache_write_tokens,
  -- The last usage object that shows a TTL split wins (parse.ts overwrites as it goes).
  ${lastNonNull(`list_transform(usages, u ->
    CASE WHEN u.cache_creation IS NOT NULL THEN coalesce(${num('u.cache_creation.ephemeral_1h_input_tokens')}, 0)
         WHEN u.cacheDetails IS NOT NULL THEN coalesce(list_sum(list_transform(u.cacheDetails, dd ->
                  CASE WHEN dd.ttl = '1h' THEN coalesce(${num('dd.inputTokens')}, 0) ELSE 0 END)), 0)
    END)`)} AS write_1h,
  CASE
    WHEN performanceConfig.latency = 'optimized' OR in_body.performanceConfig.latency = 'optimized'
      THEN 'latency-optimized'
    WHEN tier_type = 'priority' THEN 'priority'
    WHEN tier_type = 'flex' THEN 'flex'
    WHEN in_body IS NOT NULL THEN 'standard'
  END AS tier,
  CASE WHEN chunks IS NOT NULL
    THEN ${firstNonNull(`list_transform(metrics, m -> ${num('m.invocationLatency')})`)}
    ELSE coalesce(${num('ob.metrics.latencyMs')}, ${num(`ob.${M}.invocationLatency`)})
  END AS latency_ms,
  ${firstNonNull(`list_transform(metrics, m -> ${num('m.firstByteLatency')})`)} AS first_byte_ms,
  CASE WHEN errorCode <> '' THEN errorCode END AS error_code
FROM f`;

/** Distinct keys the pipeline resolves in JS (normalise, price, attribute) for the valid files' rows. */
export const KEYS_SQL = {
  invalidFiles: `SELECT DISTINCT file FROM bulk_rows WHERE valid IS NOT TRUE ORDER BY file`,
  models: `SELECT DISTINCT model_id FROM bulk_rows WHERE valid`,
  prices: `SELECT model_id, region, tier, account, strftime(epoch_ms(ts), '%Y-%m-%d') AS day, count(*) AS rows FROM bulk_ok GROUP BY ALL`,
  attributions: `SELECT DISTINCT identity_arn, md_key, aip FROM bulk_rows WHERE valid`,
  files: `SELECT file, count(*) AS rows, max(line) AS lines FROM bulk_ok GROUP BY file`,
};

export const OK_VIEW_SQL = `
CREATE OR REPLACE TEMP VIEW bulk_ok AS
SELECT * FROM bulk_rows WHERE file NOT IN (SELECT file FROM bulk_rows WHERE valid IS NOT TRUE)`;

/** Map tables filled from NDJSON files the pipeline writes (small: one row per distinct key). */
export const mapTablesSql = (models: string, prices: string, attributions?: string): string[] => [
  `CREATE OR REPLACE TEMP TABLE bulk_models AS SELECT * FROM read_json(${lit(models)}, format = 'newline_delimited',
    columns = {model_id: 'VARCHAR', model: 'VARCHAR', profile: 'VARCHAR', scope: 'VARCHAR', geo: 'VARCHAR',
               model_form: 'VARCHAR', unresolved: 'BOOLEAN'})`,
  `CREATE OR REPLACE TEMP TABLE bulk_prices AS SELECT * FROM read_json(${lit(prices)}, format = 'newline_delimited',
    columns = {model_id: 'VARCHAR', region: 'VARCHAR', tier: 'VARCHAR', account: 'VARCHAR', day: 'VARCHAR',
               price_id: 'VARCHAR', tier_unknown: 'BOOLEAN', unpriced: 'BOOLEAN', early: 'BOOLEAN',
               regional: 'BOOLEAN', override: 'BOOLEAN', lc_threshold: 'BIGINT',
               r_in: 'HUGEINT', r_out: 'HUGEINT', r_read: 'HUGEINT', r_w5: 'HUGEINT', r_w1: 'HUGEINT',
               lc_in: 'HUGEINT', lc_out: 'HUGEINT', lc_read: 'HUGEINT', lc_w5: 'HUGEINT', lc_w1: 'HUGEINT',
               disc_num: 'HUGEINT', disc_den: 'HUGEINT'})`,
  ...(attributions === undefined
    ? []
    : [
        `CREATE OR REPLACE TEMP TABLE bulk_attr AS SELECT * FROM read_json(${lit(attributions)}, format = 'newline_delimited',
    columns = {identity_arn: 'VARCHAR', md_key: 'VARCHAR', aip: 'VARCHAR', team: 'VARCHAR', "user": 'VARCHAR',
               feature: 'VARCHAR', project: 'VARCHAR', environment: 'VARCHAR', cost_center: 'VARCHAR',
               application: 'VARCHAR', session: 'VARCHAR', attribution: 'VARCHAR'})`,
      ]),
];

/**
 * Rows of `source` joined with their model and price maps and priced exactly as price-record.ts prices (rates in
 * pico-USD per token; discounts compounded into num/den and rounded half up once per record). `source` has the
 * columns of bulk_rows: model_id, region, tier (null: unknown), account, ts (epoch ms), the four token counts
 * (cache writes as one total) and write_1h (null: TTL unknown). Used by the bulk insert and by reprice.
 */
const pricedCtes = (source: string) => `
j AS (
  SELECT r.*, m.model, m.profile, m.scope, m.geo, m.model_form, m.unresolved,
    p.price_id, p.tier_unknown, p.unpriced, p.early, p.regional, p.override, p.disc_num, p.disc_den,
    least(coalesce(r.write_1h, 0), r.cache_write_tokens) AS w1,
    p.lc_threshold IS NOT NULL AND r.input_tokens + r.cache_read_tokens + r.cache_write_tokens > p.lc_threshold AS lc,
    p.r_in, p.r_out, p.r_read, p.r_w5, p.r_w1, p.lc_in, p.lc_out, p.lc_read, p.lc_w5, p.lc_w1
  FROM ${source} r
  JOIN bulk_models m ON m.model_id = r.model_id
  JOIN bulk_prices p ON p.model_id = r.model_id AND p.region = r.region AND p.tier IS NOT DISTINCT FROM r.tier
    AND p.account = r.account AND p.day = strftime(epoch_ms(r.ts), '%Y-%m-%d')
), k AS (
  SELECT *, cache_write_tokens - w1 AS w5,
    CASE WHEN lc THEN lc_in ELSE r_in END AS x_in, CASE WHEN lc THEN lc_out ELSE r_out END AS x_out,
    CASE WHEN lc THEN lc_read ELSE r_read END AS x_read, CASE WHEN lc THEN lc_w5 ELSE r_w5 END AS x_w5,
    CASE WHEN lc THEN lc_w1 ELSE r_w1 END AS x_w1
  FROM j
), l AS (
  SELECT *,
    (output_tokens > 0 AND x_out IS NULL) OR (cache_read_tokens > 0 AND x_read IS NULL)
      OR (w5 > 0 AND x_w5 IS NULL) OR (w1 > 0 AND x_w1 IS NULL) AS missing,
    CASE WHEN NOT unpriced THEN input_tokens * x_in + cache_read_tokens * coalesce(x_read, x_in)
      + w5 * coalesce(x_w5, x_in) + w1 * coalesce(x_w1, x_in) + output_tokens * coalesce(x_out, x_in) END AS list_cost
  FROM k
), c AS (
  SELECT *,
    (CASE WHEN disc_num IS NULL THEN list_cost
      ELSE (list_cost * disc_num * 2 + disc_den) // (2 * disc_den) END)::BIGINT AS cost
  FROM l
)`;

/** The flags column, in the order price-record.ts and the normaliser produce them. */
const flagsSql = (tierUnknown: string) => `concat_ws(',',
    CASE WHEN unresolved THEN 'profile_unresolved' END,
    CASE WHEN cache_write_tokens > 0 AND write_1h IS NULL THEN 'cache_ttl_unknown' END,
    CASE WHEN ${tierUnknown} THEN 'tier_unknown' END,
    CASE WHEN unpriced THEN 'unpriced' END,
    CASE WHEN NOT unpriced AND early THEN 'price_before_effective' END,
    CASE WHEN NOT unpriced AND lc THEN 'long_context' END,
    CASE WHEN NOT unpriced AND regional THEN 'regional_premium' END,
    CASE WHEN NOT unpriced AND missing THEN 'rate_missing' END,
    CASE WHEN NOT unpriced AND override THEN 'price_override' END,
    CASE WHEN NOT unpriced AND disc_num IS NOT NULL THEN 'discounted' END)`;

/** The valid staged rows, priced and attributed, inserted unless their request id is already in the ledger. */
export const insertSql = (dedupeWithinBatch: boolean) => `
INSERT INTO usage (request_id, ts, account, region, inference_region, operation, model_id, model, profile, scope, geo,
  model_form, tier, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
  latency_ms, first_byte_ms, error_code, identity_arn, team, "user", feature, project, environment, cost_center,
  application, session, metadata, attribution, cost_pusd, price_id, catalog_hash, flags, source, source_line,
  ingested_at)
WITH ${pricedCtes('bulk_ok')}
SELECT c.request_id, epoch_ms(c.ts), c.account, c.region, c.inference_region, c.operation, c.model_id, c.model,
  c.profile, c.scope, c.geo, c.model_form, coalesce(c.tier, 'standard'), c.input_tokens, c.output_tokens,
  c.cache_read_tokens, c.w5, c.w1, c.latency_ms, c.first_byte_ms, c.error_code, c.identity_arn, a.team, a."user",
  a.feature, a.project, a.environment, a.cost_center, a.application, a.session, c.metadata, a.attribution, c.cost,
  c.price_id, $1, ${flagsSql('tier_unknown')}, c.file, c.line, now()::TIMESTAMP
FROM c
JOIN bulk_attr a ON a.identity_arn IS NOT DISTINCT FROM c.identity_arn
  AND a.md_key IS NOT DISTINCT FROM c.md_key AND a.aip IS NOT DISTINCT FROM c.aip
WHERE NOT EXISTS (SELECT 1 FROM usage u WHERE u.request_id = c.request_id
                  AND u.ts BETWEEN epoch_ms($2::BIGINT - 86400000) AND epoch_ms($3::BIGINT + 86400000))
${
  // The window costs more than the rest of the insert; most batches have no repeated request id, so it runs only
  // when a cheap count found one.
  dedupeWithinBatch
    ? 'QUALIFY row_number() OVER (PARTITION BY c.request_id ORDER BY c.file, c.line) = 1'
    : ''
}`;

/** Stored records (at or after $1 epoch ms) in the shape `pricedCtes` reads. */
const STORED_AS_STAGED = `(
  SELECT rowid AS rid, model_id, region, tier, account, epoch_ms(ts) AS ts, input_tokens, output_tokens,
    cache_read_tokens, cache_write_5m_tokens + cache_write_1h_tokens AS cache_write_tokens,
    CASE WHEN NOT contains(flags, 'cache_ttl_unknown') THEN cache_write_1h_tokens END AS write_1h,
    contains(flags, 'tier_unknown') AS was_tier_unknown,
    cost_pusd AS old_cost, price_id AS old_price_id, flags AS old_flags, model AS old_model, scope AS old_scope
  FROM usage WHERE ts >= epoch_ms($1::BIGINT)
)`;

/** Distinct keys of the stored records a reprice resolves in JS. */
export const REPRICE_KEYS_SQL = {
  models: `SELECT DISTINCT model_id FROM usage WHERE ts >= epoch_ms($1::BIGINT)`,
  prices: `SELECT DISTINCT model_id, region, tier, account, strftime(ts, '%Y-%m-%d') AS day
           FROM usage WHERE ts >= epoch_ms($1::BIGINT)`,
};

/**
 * Every stored record (at or after $1) re-priced with the current maps, and whether anything about its price
 * changed. Normalisation is redone too (an application inference profile configured since, say); attribution is not.
 */
export const REPRICED_SQL = `
CREATE OR REPLACE TEMP TABLE repriced AS
WITH ${pricedCtes(STORED_AS_STAGED)}, h AS (
  -- A model id that resolved when it was stored but not now (an application inference profile missing from this
  -- configuration) is held as stored: re-pricing never throws away what an earlier configuration knew.
  SELECT *, ${flagsSql('was_tier_unknown')} AS new_flags,
    unresolved AND NOT contains(old_flags, 'profile_unresolved') AS held
  FROM c
)
SELECT rid, model_id, old_model, model, profile, scope, geo, model_form, old_cost, cost, old_price_id, price_id,
  old_flags, new_flags AS flags, held,
  NOT held AND (old_cost IS DISTINCT FROM cost OR old_price_id IS DISTINCT FROM price_id
    OR old_model IS DISTINCT FROM model OR old_scope IS DISTINCT FROM scope OR old_flags IS DISTINCT FROM new_flags)
    AS changed
FROM h`;

/** Before/after by model (the new model name; the old one when it changed is in old_model). */
export const REPRICE_SUMMARY_SQL = `
SELECT model, count(*) AS records, count(*) FILTER (changed) AS changed,
  coalesce(sum(old_cost), 0)::HUGEINT AS before, coalesce(sum(cost), 0)::HUGEINT AS after,
  count(*) FILTER (old_cost IS NULL) AS unpriced_before, count(*) FILTER (cost IS NULL) AS unpriced_after
FROM repriced WHERE NOT held GROUP BY model HAVING count(*) FILTER (changed) > 0
ORDER BY abs(after - before) DESC, model`;

export const REPRICE_HELD_SQL = `
SELECT model_id, count(*) AS records FROM repriced WHERE held GROUP BY model_id ORDER BY records DESC, model_id`;

export const REPRICE_UPDATE_SQL = `
UPDATE usage SET model = r.model, profile = r.profile, scope = r.scope, geo = r.geo, model_form = r.model_form,
  cost_pusd = r.cost, price_id = r.price_id, flags = r.flags, catalog_hash = $1
FROM (SELECT * FROM repriced WHERE changed) r WHERE usage.rowid = r.rid`;

export const REPEATED_IDS_SQL = `SELECT count(*) AS n FROM (SELECT request_id FROM bulk_ok GROUP BY request_id HAVING count(*) > 1)`;
