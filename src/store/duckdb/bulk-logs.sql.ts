/**
 * SQL for the bulk path: DuckDB reads invocation-log NDJSON files itself (bedrock.md §1.4–1.6) and computes what
 * src/sources/invocation-logs/parse.ts computes, for files whose every row is well-formed. Any row that is not
 * (a type the JS parser would reject, an odd timestamp) sends its file to the row-by-row path, which produces
 * exact rejects. `src/pipeline/bulk-parity.test.ts` holds the two paths to identical ledgers.
 */
import { MAX_TOKEN_COUNT } from '../../core/index.ts';
import type { BulkFile } from '../store.ts';

/**
 * Token counts are read as JSON so that DuckDB never casts ("100" → 100) what the JS parser rejects: such a file goes
 * row by row. Strings and request metadata are read typed (fast); DuckDB would accept a number where a string is
 * expected, which the JS parser rejects — a divergence only for logs Bedrock does not write. Known objects are
 * STRUCTs so that request bodies are never materialised (only the tier fields of the input body are). A value of
 * the wrong shape makes the read fail and the file goes row by row.
 */
const lit = (path: string) => `'${path.replaceAll("'", "''")}'`;

const COLUMNS = `{schemaType: 'VARCHAR', schemaVersion: 'VARCHAR', "timestamp": 'VARCHAR', accountId: 'VARCHAR',
    region: 'VARCHAR', requestId: 'VARCHAR', operation: 'VARCHAR', modelId: 'VARCHAR', inferenceRegion: 'VARCHAR',
    errorCode: 'VARCHAR', identity: 'STRUCT(arn VARCHAR)', requestMetadata: 'MAP(VARCHAR, VARCHAR)',
    performanceConfig: 'STRUCT(latency VARCHAR)',
    input: 'STRUCT(inputTokenCount JSON, cacheReadInputTokenCount JSON, cacheWriteInputTokenCount JSON, inputBodyJson STRUCT(serviceTier JSON, service_tier JSON, performanceConfig STRUCT(latency VARCHAR)))',
    output: 'STRUCT(outputTokenCount JSON, outputBodyJson JSON)'}`;

/**
 * One group's files; `filename` names each row's file (read_json has no line numbers). (`maximum_object_size` is
 * left at its 16 MB default: DuckDB takes the larger of the option and the default, so a smaller value changes
 * neither the records it accepts nor the ~40 MB each reader buffers.)
 */
const readFiles = (files: readonly BulkFile[]) =>
  `read_json([${files.map((f) => lit(f.path)).join(', ')}], format = 'newline_delimited', filename = true, columns = ${COLUMNS})`;

/**
 * Each row's file as its index in the group (the file's name is the same string on every row; an index keeps the
 * staged tables and their scans small). `read_json`'s `filename` is one value per chunk, so this runs once a chunk.
 */
const fileIndex = (files: readonly BulkFile[]) =>
  files.length === 1
    ? '0'
    : `(CASE filename ${files.map((f, i) => `WHEN ${lit(f.path)} THEN ${i}`).join(' ')}
        ELSE error('read_json named a file it was not given: ' || filename) END)`;

/** The maps the pipeline resolves (one row per distinct key): columns, and which of them are the key. */
const MAPS = {
  models: {
    key: ['model_id'],
    columns: `model_id VARCHAR, model VARCHAR, profile VARCHAR, scope VARCHAR, geo VARCHAR, model_form VARCHAR,
      unresolved BOOLEAN`,
  },
  prices: {
    key: ['model_id', 'region', 'tier', 'account', 'day'],
    columns: `model_id VARCHAR, region VARCHAR, tier VARCHAR, account VARCHAR, day VARCHAR, price_id VARCHAR,
      tier_unknown BOOLEAN, unpriced BOOLEAN, early BOOLEAN, regional BOOLEAN, override BOOLEAN, lc_threshold BIGINT,
      r_in HUGEINT, r_out HUGEINT, r_read HUGEINT, r_w5 HUGEINT, r_w1 HUGEINT,
      lc_in HUGEINT, lc_out HUGEINT, lc_read HUGEINT, lc_w5 HUGEINT, lc_w1 HUGEINT, disc_num HUGEINT, disc_den HUGEINT`,
  },
  attributions: {
    key: ['identity_arn', 'md_key', 'aip'],
    columns: `identity_arn VARCHAR, md_key VARCHAR, aip VARCHAR, team VARCHAR, "user" VARCHAR, feature VARCHAR,
      project VARCHAR, environment VARCHAR, cost_center VARCHAR, application VARCHAR, session VARCHAR,
      attribution VARCHAR`,
  },
} as const;
export type MapKind = keyof typeof MAPS;
export const MAP_KINDS = Object.keys(MAPS) as MapKind[];

/** `name TYPE, …` → read_json's `columns = {name: 'TYPE', …}`. */
const readColumns = (columns: string) =>
  `{${columns
    .split(',')
    .map((c) => c.trim().split(/\s+/))
    .map(([name, type]) => `${name}: '${type}'`)
    .join(', ')}}`;
const readMap = (kind: MapKind, file: string) =>
  `read_json(${lit(file)}, format = 'newline_delimited', columns = ${readColumns(MAPS[kind].columns)})`;
const sameKey = (kind: MapKind, a: string, b: string) =>
  MAPS[kind].key.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');

/**
 * The bulk path's maps: temporary tables of the writing connection, filled as the run goes (each key once, whichever
 * groups resolved it) and joined by the insert. (Temporary tables can be written inside the run's transaction, which
 * writes the ledger; another attached database could not.)
 */
export const BULK_MAPS = {
  models: 'bulk_models',
  prices: 'bulk_prices',
  attributions: 'bulk_attributions',
};
export const createBulkMapsSql = (): string[] =>
  MAP_KINDS.map(
    (kind) => `CREATE OR REPLACE TEMP TABLE ${BULK_MAPS[kind]} (${MAPS[kind].columns})`,
  );
/**
 * A price map whose rows carry their model's normalisation (the model map joined in): what `pricedCtes` joins, once.
 * Every join costs the statement a hash table of at least ~8 MB of DuckDB's memory however few its rows (one block
 * per radix partition), so the insert joins two maps, not three. `keys`: only the rows of those price keys.
 */
const pricedMapSql = (target: string, keys?: string) => `CREATE OR REPLACE TEMP TABLE ${target} AS
SELECT p.*, m.model, m.profile, m.scope, m.geo, m.model_form, m.unresolved, m.model_id IS NOT NULL AS has_model
FROM ${BULK_MAPS.prices} p LEFT JOIN ${BULK_MAPS.models} m ON m.model_id = p.model_id${
  keys === undefined ? '' : `\nSEMI JOIN (${keys}) g ON ${sameKey('prices', 'p', 'g')}`
}`;

/**
 * The maps one insert joins: the run's maps cut down to the keys of the group it inserts. The run's maps grow with
 * the distinct keys it meets (identities × metadata values, model × Region × tier × account × day); joined whole, a
 * map larger than the group made DuckDB build the join's hash table on the group's rows, every column of them,
 * instead (1M records in: up to 48 MB of hash tables for a group of 30k rows, under a 200 MB limit). Cut, a map
 * is the rows the group uses. Made once per group, before its first part inserts.
 */
export const GROUP_MAPS = { priced: 'bulk_group_priced', attributions: 'bulk_group_attributions' };
const groupKeys = (kind: MapKind, staged: string) =>
  `SELECT DISTINCT ${MAPS[kind].key.join(', ')} FROM ${staged}.staged`;
export const groupMapsSql = (staged: string): string[] => [
  pricedMapSql(GROUP_MAPS.priced, groupKeys('prices', staged)),
  `CREATE OR REPLACE TEMP TABLE ${GROUP_MAPS.attributions} AS
SELECT m.* FROM ${BULK_MAPS.attributions} m
SEMI JOIN (${groupKeys('attributions', staged)}) g ON ${sameKey('attributions', 'm', 'g')}`,
];
export const addBulkMapSql = (kind: MapKind, file: string) => `
INSERT INTO ${BULK_MAPS[kind]}
SELECT DISTINCT ON (${MAPS[kind].key.join(', ')}) * FROM ${readMap(kind, file)} n
WHERE NOT EXISTS (SELECT 1 FROM ${BULK_MAPS[kind]} o WHERE ${sameKey(kind, 'o', 'n')})`;

/**
 * A token count as parse.ts `count` reads it: absent, null, or an integer from 0 to MAX_TOKEN_COUNT (a larger one is a
 * corrupt record parse.ts rejects). The JSON column holds the value's JSON text, so an integer is plain digits (a
 * real, "1.0", a string or a negative number is not: its file goes row by row). TRY_CAST, because DuckDB evaluates both sides of the AND: a plain cast of `"100"` raised a
 * conversion error that failed the whole group, which was then split and staged again until the file was alone.
 */
const optCount = (e: string) =>
  `(${e} IS NULL OR ${e}::VARCHAR = 'null' OR coalesce(regexp_full_match(${e}::VARCHAR, '[0-9]{1,16}') AND TRY_CAST(${e}::VARCHAR AS UBIGINT) <= ${MAX_TOKEN_COUNT}, false))`;
/** The count of a valid row (digits or null). */
const count = (e: string) => `TRY_CAST(${e}::VARCHAR AS BIGINT)`;
/** A token count from a body (DOUBLE after from_json), truncated like Math.trunc; unknown past MAX_TOKEN_COUNT (parse.ts `tokens`). */
const num = (e: string) =>
  `CASE WHEN ${e} >= 0 AND ${e} < ${MAX_TOKEN_COUNT + 1} THEN trunc(${e})::BIGINT END`;
/** A latency in ms, as parse.ts's `ms`: past INTEGER it is unknown. */
const ms = (e: string) => `CASE WHEN ${e} >= 0 AND ${e} < 2147483648 THEN trunc(${e})::INTEGER END`;
const firstNonNull = (list: string) => `list_first(list_filter(${list}, x -> x IS NOT NULL))`;
const lastNonNull = (list: string) => `list_last(list_filter(${list}, x -> x IS NOT NULL))`;

/** The record's time: the regex in VALID guarantees the shape, TRY_CAST a real date (else the file goes row by row). */
const TS = `TRY_CAST("timestamp" AS TIMESTAMP)`;

/** The rows parse.ts accepts as they are; a file with any other row goes row by row (exact rejects). */
const VALID = `schemaType = 'ModelInvocationLog' AND schemaVersion = '1.0'
      AND requestId <> '' AND accountId <> '' AND region <> '' AND operation <> '' AND modelId <> ''
      AND regexp_full_match("timestamp", '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z')
      AND ${TS} IS NOT NULL
      AND ${optCount('input.inputTokenCount')} AND ${optCount('input.cacheReadInputTokenCount')}
      AND ${optCount('input.cacheWriteInputTokenCount')} AND ${optCount('output.outputTokenCount')}`;

/**
 * parse.ts `tierOf`: the tier the answer says served the call (`ob.serviceTier.type`, Converse), else the one asked
 * for: serviceTier ?? service_tier, then its .type when it is an object (`st`: the former).
 */
const tier = (st: string) => `CASE
    WHEN ob.serviceTier.type IN ('priority', 'flex') THEN ob.serviceTier.type
    WHEN performanceConfig.latency = 'optimized' OR input.inputBodyJson.performanceConfig.latency = 'optimized'
      THEN 'latency-optimized'
    WHEN ob.serviceTier.type IN ('default', 'standard') THEN 'standard'
    WHEN (CASE WHEN json_type(${st}) = 'OBJECT' THEN json_extract_string(${st}, '$.type') ELSE json_extract_string(${st}, '$') END)
      IN ('priority', 'flex')
      THEN CASE WHEN json_type(${st}) = 'OBJECT' THEN json_extract_string(${st}, '$.type') ELSE json_extract_string(${st}, '$') END
    WHEN (CASE WHEN json_type(${st}) = 'OBJECT' THEN json_extract_string(${st}, '$.type') ELSE json_extract_string(${st}, '$') END)
      IN ('default', 'standard')
      THEN 'standard'
    WHEN input.inputBodyJson IS NOT NULL AND operation IN ('Converse', 'ConverseStream') THEN 'standard'
  END`;
const ST = `coalesce(input.inputBodyJson.serviceTier, input.inputBodyJson.service_tier)`;

/** What attribution reads: the values of the metadata keys it uses (JSON array), and application profiles. */
const mdKey = (metadataKeys: readonly string[]) => `CASE WHEN requestMetadata IS NOT NULL
    THEN to_json([${metadataKeys.map((k) => `requestMetadata[${lit(k)}]`).join(', ')}])::VARCHAR END`;
// Only application inference profiles carry attribution (their tags); other model ids do not split the key.
const AIP = `CASE WHEN contains(modelId, ':application-inference-profile/') THEN modelId END`;

/**
 * The output body parsed once into the few fields parse.ts reads. (from_json is lenient where parse.ts is strict
 * about body numbers — "5" reads as 5 — but bodies only fill in what the authoritative top-level counts lack; and it
 * never fails: a value of another shape reads as null, as parse.ts ignores it.)
 */
const USAGE = `{"cacheReadInputTokens":"DOUBLE","cache_read_input_tokens":"DOUBLE","cacheWriteInputTokens":"DOUBLE","cache_creation_input_tokens":"DOUBLE","cacheDetails":[{"ttl":"VARCHAR","inputTokens":"DOUBLE"}],"cache_creation":{"ephemeral_1h_input_tokens":"DOUBLE"}}`;
const METRICS = `{"invocationLatency":"DOUBLE","firstByteLatency":"DOUBLE","cacheReadInputTokenCount":"DOUBLE","cacheWriteInputTokenCount":"DOUBLE"}`;
const OBJECT_BODY = `{"usage":${USAGE},"metrics":{"latencyMs":"DOUBLE"},"amazon-bedrock-invocationMetrics":${METRICS},"serviceTier":{"type":"VARCHAR"}}`;
const STREAM_BODY = `[{"message":{"usage":${USAGE}},"usage":${USAGE},"amazon-bedrock-invocationMetrics":${METRICS}}]`;
const usageCount = (u: string, camel: string, snake: string) =>
  `coalesce(${num(`${u}.${camel}`)}, ${num(`${u}.${snake}`)})`;
const M = '"amazon-bedrock-invocationMetrics"';
/** parse.ts `readUsage`'s 1h cache writes of one usage object: cache_creation (Anthropic) wins over cacheDetails. */
const write1h = (
  u: string,
) => `CASE WHEN ${u}.cache_creation IS NOT NULL THEN coalesce(${num(`${u}.cache_creation.ephemeral_1h_input_tokens`)}, 0)
         WHEN ${u}.cacheDetails IS NOT NULL THEN coalesce(list_sum(list_transform(${u}.cacheDetails, dd ->
                  CASE WHEN dd.ttl = '1h' THEN coalesce(${num('dd.inputTokens')}, 0) ELSE 0 END)), 0)
    END`;

/**
 * The staged rows, handed from the staging connection to the writing one as the table `staged` of an in-memory
 * database attached for the group (`db`), detached once the group is inserted. A temporary table is private to its
 * connection, and the writer's long transaction would not see a table of the ledger committed after it began; a
 * database attached after that is another matter: the transaction reads it as of its first look, which comes after
 * the table was made. (Until this, the hand-off was a Snappy Parquet file: writing and reading it cost ~1.5 CPU-s per
 * million rows, half of it on the staging connection, the ingest's critical path; then a copy of a temporary table,
 * ~0.5 CPU-s.)
 *
 * The database compresses what it checkpoints (COMPRESS; in-memory databases do not by default), and the stage
 * checkpoints it once the table is made (`compressStagedSql`): a 30,000-row group measured 23 MB as made and 1.6 MB
 * compressed, for ~25 ms. Groups staged ahead waited uncompressed and, under the ingest's memory limit, were spilled
 * to disk and read back; compressed, a 1M-record ingest measured ~6 % less wall time and ~5 % less CPU.
 */
export const attachStagedSql = (db: string) => `ATTACH ':memory:' AS ${db} (COMPRESS)`;
export const compressStagedSql = (db: string) => `CHECKPOINT ${db}`;

/**
 * Stage: the group's files read once, every row mapped as parse.ts maps it, into `db`'s table `staged` (DuckDB keeps
 * it within its memory limit, spilling if it must); `valid` false marks a row parse.ts would treat differently, and
 * sends its file row by row. Body facts are visited in parse.ts's order: stream chunks one by one (message.usage,
 * usage, invocation metrics); object bodies usage, then metrics. Object bodies (most records) are read field by
 * field; lists only for streams.
 */
export const stageSql = (
  db: string,
  files: readonly BulkFile[],
  metadataKeys: readonly string[],
) => `
CREATE TABLE ${db}.staged AS
WITH b AS (
  SELECT *, ${ST} AS st,
    -- The body's kind from its first character (the JSON column holds compact JSON text): cheaper than json_type.
    CASE WHEN starts_with(output.outputBodyJson, '{') THEN from_json(output.outputBodyJson, '${OBJECT_BODY}') END AS ob,
    CASE WHEN starts_with(output.outputBodyJson, '[') THEN from_json(output.outputBodyJson, '${STREAM_BODY}') END AS chunks
  FROM ${readFiles(files)}
)
SELECT ${fileIndex(files)}::INTEGER AS file, ${VALID} AS valid,
  -- read_json gives no line numbers; the record's place is its file (and its requestId within it).
  0 AS line,
  requestId AS request_id,
  ${TS} AS ts, strftime(${TS}, '%Y-%m-%d') AS day,
  accountId AS account, region, inferenceRegion AS inference_region, operation, modelId AS model_id,
  identity.arn AS identity_arn,
  -- Stored as the row-by-row path stores it (JSON.stringify of the object, null when empty); attribution only
  -- needs the values of the keys it reads.
  CASE WHEN cardinality(requestMetadata) > 0 THEN to_json(requestMetadata)::VARCHAR END AS metadata,
  ${mdKey(metadataKeys)} AS md_key,
  ${AIP} AS aip,
  coalesce(${count('input.inputTokenCount')}, 0) AS input_tokens,
  coalesce(${count('output.outputTokenCount')}, 0) AS output_tokens,
  -- Cache counts from the body only when the top level lacks them; stream chunks in visiting order.
  coalesce(${count('input.cacheReadInputTokenCount')},
    CASE WHEN chunks IS NOT NULL
      THEN ${firstNonNull(`flatten(list_transform(chunks, ch -> [${usageCount('ch.message.usage', 'cacheReadInputTokens', 'cache_read_input_tokens')},
        ${usageCount('ch.usage', 'cacheReadInputTokens', 'cache_read_input_tokens')}, ${num(`ch.${M}.cacheReadInputTokenCount`)}]))`)}
      ELSE ${usageCount('ob.usage', 'cacheReadInputTokens', 'cache_read_input_tokens')} END, 0) AS cache_read_tokens,
  coalesce(${count('input.cacheWriteInputTokenCount')},
    CASE WHEN chunks IS NOT NULL
      THEN ${firstNonNull(`flatten(list_transform(chunks, ch -> [${usageCount('ch.message.usage', 'cacheWriteInputTokens', 'cache_creation_input_tokens')},
        ${usageCount('ch.usage', 'cacheWriteInputTokens', 'cache_creation_input_tokens')}, ${num(`ch.${M}.cacheWriteInputTokenCount`)}]))`)}
      ELSE ${usageCount('ob.usage', 'cacheWriteInputTokens', 'cache_creation_input_tokens')} END, 0) AS cache_write_tokens,
  -- The last usage object that shows a TTL split wins (parse.ts overwrites as it goes).
  CASE WHEN chunks IS NOT NULL
    THEN ${lastNonNull(`list_transform(flatten(list_transform(chunks, ch -> [ch.message.usage, ch.usage])), u -> ${write1h('u')})`)}
    ELSE ${write1h('ob.usage')} END AS write_1h,
  ${tier('st')} AS tier,
  CASE WHEN chunks IS NOT NULL
    THEN ${firstNonNull(`list_transform(chunks, ch -> ${ms(`ch.${M}.invocationLatency`)})`)}
    ELSE coalesce(${ms('ob.metrics.latencyMs')}, ${ms(`ob.${M}.invocationLatency`)})
  END AS latency_ms,
  CASE WHEN chunks IS NOT NULL
    THEN ${firstNonNull(`list_transform(chunks, ch -> ${ms(`ch.${M}.firstByteLatency`)})`)}
    ELSE ${ms(`ob.${M}.firstByteLatency`)}
  END AS first_byte_ms,
  CASE WHEN errorCode <> '' THEN errorCode END AS error_code
FROM b`;

/**
 * Drops the rows of the files that go row by row (`invalid`, as indexes), when there are any (rarely): the table is
 * made again from the others, so that its row ids still run from 0 (the insert splits a group by row id).
 */
export const keepValidSql = (db: string, invalid: readonly number[]) => [
  `CREATE TABLE ${db}.valid AS SELECT * FROM ${db}.staged WHERE file NOT IN (${invalid.join(', ')})`,
  `DROP TABLE ${db}.staged`,
  `ALTER TABLE ${db}.valid RENAME TO staged`,
];

/** The group's staged rows, under one name for the queries below. */
export const okViewSql = (db: string) =>
  `CREATE OR REPLACE TEMP VIEW bulk_ok AS SELECT * FROM ${db}.staged`;

/**
 * What the pipeline needs before the insert: the files, the time span, whether a request id repeats, and the keys it
 * resolves in JS (normalise, price, attribute) with the rows of every price key.
 */
export const KEYS_SQL = {
  invalidFiles: (db: string) =>
    `SELECT DISTINCT file FROM ${db}.staged WHERE valid IS NOT TRUE ORDER BY file`,
  files: `SELECT file, count(*) AS rows, 0 AS lines FROM bulk_ok GROUP BY file`,
  summary: `SELECT count(*) > count(DISTINCT request_id) AS repeated, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi
            FROM bulk_ok`,
  prices: `SELECT model_id, region, tier, account, day, count(*) AS rows FROM bulk_ok GROUP BY ALL`,
};

/**
 * The attribution keys (identity × metadata values × application profile: many) a run has handed out to be
 * resolved, on its staging connection, with the stage that handed each out. A group is given only the keys no
 * earlier group was (after the first groups, almost none). Every handed-out key is in the writer's maps before a
 * later group inserts, because groups insert in staging order; a discarded group takes its keys back (the groups
 * staged after it must be discarded too, and staged again). Model ids and price keys (few) are tracked the same way
 * in JS, from the `prices` rows.
 */
const HANDED = 'bulk_handed_attributions';
export const CREATE_HANDED_SQL = `CREATE OR REPLACE TEMP TABLE ${HANDED} (stage INTEGER, ${MAPS.attributions.key
  .map((k) => `${k} VARCHAR`)
  .join(', ')})`;
/** The group's attribution keys not handed out yet, into `bulk_new_attributions`. */
export const NEW_ATTRIBUTION_KEYS_SQL = `
CREATE OR REPLACE TEMP TABLE bulk_new_attributions AS
SELECT * FROM (SELECT DISTINCT ${MAPS.attributions.key.join(', ')} FROM bulk_ok) k
WHERE NOT EXISTS (SELECT 1 FROM ${HANDED} h WHERE ${sameKey('attributions', 'h', 'k')})`;
export const NEW_ATTRIBUTION_KEYS_QUERY = 'SELECT * FROM bulk_new_attributions';
/**
 * Marks a staged group's new keys handed out by stage `stage`: the stage's last step, so that a stage that failed
 * (its group is then split and staged again) hands out nothing.
 */
export const markHandedSql = (stage: number) =>
  `INSERT INTO ${HANDED} SELECT ${stage}, * FROM bulk_new_attributions`;
/** Takes back the keys stage `stage` handed out (its group was discarded). */
export const unhandSql = (stage: number) => `DELETE FROM ${HANDED} WHERE stage = ${stage}`;

export const DROP_STAGED_SQL = [
  'DROP VIEW IF EXISTS bulk_ok',
  'DROP TABLE IF EXISTS bulk_new_attributions',
];

/** The map reprice joins (temporary, on its connection), made from NDJSON files. */
const REPRICE_MAP = 'bulk_priced';
export const mapTablesSql = (models: string, prices: string): string[] => [
  `CREATE OR REPLACE TEMP TABLE ${BULK_MAPS.models} AS SELECT * FROM ${readMap('models', models)}`,
  `CREATE OR REPLACE TEMP TABLE ${BULK_MAPS.prices} AS SELECT * FROM ${readMap('prices', prices)}`,
  pricedMapSql(REPRICE_MAP),
];

/**
 * Rows of `source` joined with their priced map (`pricedMapSql`) and priced exactly as price-record.ts prices (rates in
 * pico-USD per token; discounts compounded into num/den and rounded half up once per record). `source` has the
 * columns model_id, region, tier (null: unknown), account, day (UTC, YYYY-MM-DD), the four token counts (cache
 * writes as one total) and write_1h (null: TTL unknown). A row without its maps fails the statement rather than
 * vanish from an inner join. Used by the bulk insert and by reprice.
 */
const pricedCtes = (source: string, pricedMap: string) => `
j AS (
  SELECT r.*, p.model, p.profile, p.scope, p.geo, p.model_form, p.unresolved,
    p.model_id IS NULL OR NOT p.has_model AS unmapped,
    p.price_id, p.tier_unknown, p.unpriced, p.early, p.regional, p.override, p.disc_num, p.disc_den,
    least(coalesce(r.write_1h, 0), r.cache_write_tokens) AS w1,
    p.lc_threshold IS NOT NULL AND r.input_tokens + r.cache_read_tokens + r.cache_write_tokens > p.lc_threshold AS lc,
    p.r_in, p.r_out, p.r_read, p.r_w5, p.r_w1, p.lc_in, p.lc_out, p.lc_read, p.lc_w5, p.lc_w1
  FROM ${source} r
  LEFT JOIN ${pricedMap} p ON p.model_id = r.model_id AND p.region = r.region AND p.tier IS NOT DISTINCT FROM r.tier
    AND p.account = r.account AND p.day = r.day
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
      + w5 * coalesce(x_w5, x_in) + w1 * coalesce(x_w1, x_w5, x_in) + output_tokens * coalesce(x_out, x_in) END AS list_cost
  FROM k
), c AS (
  SELECT *,
    (CASE WHEN unmapped THEN error('no model or price map for ' || model_id || ' (' || region || ', ' || day || ')')
      WHEN disc_num IS NULL THEN list_cost
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

/**
 * The staged rows (the database `staged` names, made by `stageSql`), priced and attributed, inserted unless
 * their request id is already in the ledger.
 */
export const insertSql = (
  staged: string,
  // The group's files' sources (a path, or an S3 object's URI), in the order `stageSql` was given them.
  sources: readonly string[],
  dedupeWithinBatch: boolean,
  // Only the staged rows [from, to) (by rowid: the table is made once, never deleted from): a group split at a
  // transaction's end.
  part: { readonly from: number; readonly to: number | null } | null = null,
) => {
  const source =
    part === null
      ? `${staged}.staged`
      : `(SELECT * FROM ${staged}.staged
          WHERE rowid >= ${part.from}${part.to === null ? '' : ` AND rowid < ${part.to}`})`;
  return `
INSERT INTO usage (request_id, ts, account, region, inference_region, operation, model_id, model, profile, scope, geo,
  model_form, tier, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
  latency_ms, first_byte_ms, error_code, identity_arn, team, "user", feature, project, environment, cost_center,
  application, session, metadata, attribution, cost_pusd, price_id, catalog_hash, flags, source, source_line,
  ingested_at)
WITH existing AS MATERIALIZED (
  -- The group's request ids already in the ledger (within a day of its records), so that the anti join below builds
  -- on these few ids. (A correlated NOT EXISTS would make DuckDB copy every staged row aside first.)
  SELECT DISTINCT request_id FROM usage
  WHERE ts BETWEEN epoch_ms($2::BIGINT - 86400000) AND epoch_ms($3::BIGINT + 86400000)
    AND request_id IN (SELECT request_id FROM ${source})
), ${pricedCtes(source, GROUP_MAPS.priced)}
SELECT c.request_id, c.ts, c.account, c.region, c.inference_region, c.operation, c.model_id, c.model,
  c.profile, c.scope, c.geo, c.model_form, coalesce(c.tier, 'standard'), c.input_tokens, c.output_tokens,
  c.cache_read_tokens, c.w5, c.w1, c.latency_ms, c.first_byte_ms, c.error_code, c.identity_arn, a.team, a."user",
  a.feature, a.project, a.environment, a.cost_center, a.application, a.session, c.metadata,
  CASE WHEN a.attribution IS NULL THEN error('no attribution map for ' || coalesce(c.identity_arn, '(no identity)'))
    ELSE a.attribution END, c.cost,
  c.price_id, $1, ${flagsSql('tier_unknown')}, [${sources.map(lit).join(', ')}][c.file + 1], c.line,
  now()::TIMESTAMP
FROM c
LEFT JOIN ${GROUP_MAPS.attributions} a ON a.identity_arn IS NOT DISTINCT FROM c.identity_arn
  AND a.md_key IS NOT DISTINCT FROM c.md_key AND a.aip IS NOT DISTINCT FROM c.aip
ANTI JOIN existing e ON e.request_id = c.request_id
${
  // The window costs more than the rest of the insert; most batches have no repeated request id, so it runs only
  // when a cheap count found one.
  dedupeWithinBatch
    ? 'QUALIFY row_number() OVER (PARTITION BY c.request_id ORDER BY c.file, c.line) = 1'
    : ''
}`;
};

/** Stored records (at or after $1 epoch ms) in the shape `pricedCtes` reads. */
const STORED_AS_STAGED = `(
  SELECT rowid AS rid, model_id, region, tier, account, strftime(ts, '%Y-%m-%d') AS day, input_tokens, output_tokens,
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
WITH ${pricedCtes(STORED_AS_STAGED, REPRICE_MAP)}, h AS (
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
