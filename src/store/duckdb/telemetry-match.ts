/**
 * One ledger for a call seen twice (architecture §2): an API-request telemetry event (Claude Code `api_request`, a
 * GenAI span) and the server-side record of the same call (invocation log, gateway) count once, the record taking
 * the client's context; a call only the client saw counts on its own where no server-side source covers it.
 *
 * For each event, in order:
 * 1. `request_id` — its request id is a server-side record's (Claude Code on Bedrock sends x-amzn-RequestId).
 * 2. `fingerprint` — same canonical model, same input, output, cache-read and cache-write (5m + 1h) tokens, and the
 *    record's time within MATCH_WINDOW_MS of the call's span on the client's clock: [end − duration, end] for Claude
 *    Code (an event is stamped when the response has ended), [start, start + duration] for a GenAI span. One to one,
 *    only against records no event names by request id; candidates are taken nearest-in-time first (then by ids),
 *    i.e. the greedy matching in that order, so ties resolve the same way every time (and are counted).
 * 3. `covered` — no match, but the ledger holds server-side records of that model in a clock hour the call's window
 *    touches: logging covers it, so it is not counted again (its record may be late, or lost). An event that names
 *    its AWS account (`cloud.account.id`, stored as `account`) is covered only by records of that account (or of no
 *    known account: gateway records without a configured account); one that does not (Claude Code) by records of
 *    any account.
 * 4. `client_only` — otherwise a ledger row of its own: source `telemetry`, request id `otel:<event_key>`, priced as
 *    the receiver priced the event, attributed from the event, in the event's account (else `unknown`); deleted as
 *    soon as a record matches or covers it.
 * An event with no model is `no_model` and not counted.
 *
 * A GenAI token-usage metric row (source `genai_metric`: one interval of a `gen_ai.client.token.usage` stream, many
 * calls) is never matched one to one — it is a sum. It is `span` when a GenAI span of the same service
 * (`service.name`) and model overlaps its interval (within SPAN_PAD_MS): the app traces those calls and its spans
 * count them, so the metric counts nowhere, neither here nor in the telemetry reports. Otherwise it is `covered` or
 * `client_only` as above (the ledger row then stands for all the interval's calls). Sampled traces therefore count
 * only the sampled calls of an interval that has any span: the rule favours never counting a call twice.
 * Claude Code's own metrics are not API-request rows: its `api_request` events count its calls.
 *
 * The match is a function of the stored data, not of arrival order: a run recomputes the wanted state of the events
 * in scope (those near a receiver's batch, or near whatever arrived since the last unscoped run) and writes only
 * differences — dimensions the telemetry filled are recognised by their `telemetry.*` attribution rule and can be
 * taken back — so N runs leave one ledger, and logs-then-events equals events-then-logs. Each run is set-based SQL
 * over temporary tables in one transaction; the JSON of dimensions and rules is parsed once per row.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TELEMETRY_REGION, TELEMETRY_UNKNOWN_ACCOUNT, type TelemetryStore } from '../store.ts';
import { inTransaction } from './transaction.ts';

export type MatchScope = NonNullable<Parameters<TelemetryStore['enrich']>[0]>;
export type MatchSummary = Awaited<ReturnType<TelemetryStore['enrich']>>;

/**
 * How far a server-side record's timestamp may lie outside the call's span on the client: clock skew, Bedrock's
 * whole-second timestamps, and whether the log stamps the request or the response.
 */
export const MATCH_WINDOW_MS = 120_000;
export const CLIENT_ONLY_SOURCE = 'telemetry';
export const CLIENT_ONLY_PREFIX = 'otel:';
/** A reported duration longer than this is not believed (it only widens the window). */
const DURATION_CAP_MS = 3_600_000;
/** Events whose matches a receiver's batch can change: those whose windows can share a record with it. */
const SCOPE_PAD_MS = DURATION_CAP_MS + 2 * MATCH_WINDOW_MS;
/** GenAI token-usage metric rows (otlp-sink.ts) and GenAI spans. */
export const METRIC_SOURCE = 'genai_metric';
export const SPAN_SOURCE = 'genai';
/**
 * How far a GenAI span may lie outside a metric row's interval and still cover it: one process's clock stamps both,
 * but the histogram records a call when it returns, and times are rounded to the millisecond.
 */
export const SPAN_PAD_MS = 5_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const W = MATCH_WINDOW_MS;

const SERVER = `source <> '${CLIENT_ONLY_SOURCE}'`;

/**
 * The canonical base model in a form both sides share: the invocation log's `anthropic.claude-sonnet-4-5-20250929-
 * v1:0` and the event's response-body name `claude-sonnet-4-5-20250929` are both `claude-sonnet-4-5` (provider
 * prefix, version suffix and release date dropped). Two dated releases of one model collide only when tokens and
 * time do too.
 */
const modelKey = (col: string) =>
  `regexp_replace(regexp_replace(regexp_replace(lower(${col}), '^[a-z][a-z0-9-]*\\.', ''), '(-v[0-9]+)?(:[0-9]+[a-z]*)?$', ''), '-[0-9]{8}$', '')`;

/** A dimension the telemetry can fill: its column, the event's value and the attribute that gave it. */
interface Fill {
  readonly dim: string;
  readonly column: string;
  /** Attribution keys of the event's `dimensions` that give the value, first present wins. */
  readonly keys: readonly string[];
}
const FILLS: readonly Fill[] = [
  { dim: 'session', column: 'session', keys: [] },
  { dim: 'user', column: '"user"', keys: [] },
  { dim: 'team', column: 'team', keys: ['team', 'team.id', 'team.name'] },
  { dim: 'feature', column: 'feature', keys: ['feature'] },
  { dim: 'project', column: 'project', keys: ['project'] },
  {
    dim: 'environment',
    column: 'environment',
    keys: ['environment', 'deployment.environment.name', 'deployment.environment'],
  },
  { dim: 'cost_center', column: 'cost_center', keys: ['cost_center'] },
  { dim: 'application', column: 'application', keys: ['application'] },
];
const each = (f: (x: Fill, i: number) => string, sep = ', ') => FILLS.map(f).join(sep);
const DIMENSION_KEYS = FILLS.flatMap((f) => f.keys);
/** The event's dimension values as one list (the JSON is parsed once per event, not once per key). */
const DIMENSION_LIST = `json_extract_string(dimensions, [${DIMENSION_KEYS.map((k) => `'$."${k}".value'`).join(', ')}])`;
const attr = (k: string) => `nullif(p.dl[${DIMENSION_KEYS.indexOf(k) + 1}], '')`;
/** The event's value for a dimension, over a relation `p` with session_id, user_email, user_id and dl. */
function value(f: Fill): string {
  if (f.dim === 'session') return "nullif(p.session_id, '')";
  if (f.dim === 'user') return "coalesce(nullif(p.user_email, ''), nullif(p.user_id, ''))";
  return `coalesce(${f.keys.map(attr).join(', ')})`;
}
/** The attribute that gave it. */
function key(f: Fill): string {
  if (f.dim === 'session') return "'session.id'";
  if (f.dim === 'user')
    return "CASE WHEN nullif(p.user_email, '') IS NOT NULL THEN 'user.email' ELSE 'user.id' END";
  return `CASE ${f.keys.map((k) => `WHEN ${attr(k)} IS NOT NULL THEN '${k}'`).join(' ')} END`;
}
/** `telemetry.<attribute>@<match>`: which attribute of the event filled the dimension, and how the event matched. */
const rule = (f: Fill, match: string) => `'telemetry.' || ${key(f)} || '@' || ${match}`;
const isTelemetryRule = (r: string) => `starts_with(coalesce(${r}, ''), 'telemetry.')`;

/** The API-request events in scope with their fingerprint and the call's span [t0, t1] in epoch ms. */
const eventsSql = (range: string) => `
CREATE OR REPLACE TEMP TABLE tm_ev AS
WITH e AS (
  SELECT *, least(greatest(coalesce(round(duration_ms), 0), 0), ${DURATION_CAP_MS})::BIGINT AS dur
  FROM telemetry_events WHERE kind = 'api_request' ${range}
), k AS (
  SELECT m, ${modelKey('m')} AS mkey
  FROM (SELECT DISTINCT coalesce(model_base, model) AS m FROM e) WHERE m IS NOT NULL
)
SELECT e.event_key, e.ts, e.source, e.request_id, e.session_id, e.user_email, e.user_id, e.dimensions, e.model,
  nullif(e.account, '') AS account, ${DIMENSION_LIST} AS dl, coalesce(e.model_base, e.model) AS base, k.mkey,
  coalesce(e.input_tokens, 0) AS i, coalesce(e.output_tokens, 0) AS o, coalesce(e.cache_read_tokens, 0) AS cr,
  coalesce(e.cache_write_5m_tokens, 0) AS w5, coalesce(e.cache_write_1h_tokens, 0) AS w1, e.cost_pusd,
  e.price_id, e.price_flags, e.catalog_hash, e.duration_ms, e.dur, e.source = '${METRIC_SOURCE}' AS agg,
  CASE WHEN e.source = '${METRIC_SOURCE}' THEN json_extract_string(e.attributes, '$.serviceName') END AS svc,
  CASE WHEN e.source = '${SPAN_SOURCE}' THEN epoch_ms(e.ts) ELSE epoch_ms(e.ts) - e.dur END AS t0,
  CASE WHEN e.source = '${SPAN_SOURCE}' THEN epoch_ms(e.ts) + e.dur ELSE epoch_ms(e.ts) END AS t1
FROM e LEFT JOIN k ON k.m = coalesce(e.model_base, e.model)`;

/**
 * Metric rows in scope that a GenAI span covers: same service, same model, the span's [start, start + duration]
 * overlapping the row's interval. Spans are read from the whole table near the rows, in scope or not.
 */
const spanCoverSql = (near: string) => `
CREATE OR REPLACE TEMP TABLE tm_span AS
WITH s AS (
  SELECT epoch_ms(ts) AS s0,
    epoch_ms(ts) + least(greatest(coalesce(round(duration_ms), 0), 0), ${DURATION_CAP_MS})::BIGINT AS s1,
    json_extract_string(attributes, '$.serviceName') AS svc, coalesce(model_base, model) AS m
  FROM telemetry_events
  WHERE kind = 'api_request' AND source = '${SPAN_SOURCE}' AND ${near}
), k AS (SELECT m, ${modelKey('m')} AS mkey FROM (SELECT DISTINCT m FROM s) WHERE m IS NOT NULL)
SELECT DISTINCT e.event_key
FROM tm_ev e JOIN s ON s.svc IS NOT DISTINCT FROM e.svc JOIN k ON k.m = s.m AND k.mkey = e.mkey
WHERE e.agg AND s.s0 <= e.t1 + ${SPAN_PAD_MS} AND s.s1 >= e.t0 - ${SPAN_PAD_MS}`;

const BOUNDS_SQL = `SELECT count(*) AS n, min(t0) AS lo, max(t1) AS hi, epoch_ms(min(ts)) AS first,
  epoch_ms(max(ts)) AS last FROM tm_ev`;

const between = (col: string, from: number, to: number) =>
  `${col} BETWEEN epoch_ms(${from}::BIGINT) AND epoch_ms(${to}::BIGINT)`;

/** (model, account, hour) triples the server-side records cover. */
const coverSql = (near: string) => `
CREATE OR REPLACE TEMP TABLE tm_cov AS
SELECT DISTINCT ${modelKey('model')} AS mkey, account, hour
FROM (SELECT DISTINCT model, account, date_trunc('hour', ts) AS hour FROM usage WHERE ${SERVER} AND ${near})`;

const exactSql = (near: string | null) => `
CREATE OR REPLACE TEMP TABLE tm_exact AS
SELECT DISTINCT e.event_key, u.request_id
FROM tm_ev e JOIN usage u ON u.request_id = e.request_id
WHERE u.${SERVER} ${near === null ? '' : `AND ${near}`}`;

/**
 * Server-side records a fingerprint may match: a token count some event has, no event names them by request id,
 * and not matched by an event outside the scope (that match stands).
 */
const recordsSql = (near: string) => `
CREATE OR REPLACE TEMP TABLE tm_rec AS
WITH f AS (
  SELECT DISTINCT i, o, cr, w5 + w1 AS cw FROM tm_ev
  WHERE mkey IS NOT NULL AND NOT agg AND i + o + cr + w5 + w1 > 0
    AND event_key NOT IN (SELECT event_key FROM tm_exact)
), r AS (
  SELECT u.request_id, epoch_ms(u.ts) AS ms, u.model, f.i, f.o, f.cr, f.cw
  FROM usage u JOIN f ON u.input_tokens = f.i AND u.output_tokens = f.o AND u.cache_read_tokens = f.cr
    AND u.cache_write_5m_tokens + u.cache_write_1h_tokens = f.cw
  WHERE u.${SERVER} AND ${near}
)
SELECT r.request_id, r.ms, ${modelKey('r.model')} AS mkey, r.i, r.o, r.cr, r.cw FROM r
WHERE r.request_id NOT IN (
    SELECT request_id FROM telemetry_events WHERE kind = 'api_request' AND request_id IS NOT NULL)
  AND r.request_id NOT IN (
    SELECT request_id FROM telemetry_matches
    WHERE match IN ('request_id', 'fingerprint') AND event_key NOT IN (SELECT event_key FROM tm_ev))`;

/** Every (event, record) pair with the same fingerprint in the window, with how close they are. */
const CANDIDATES_SQL = `
CREATE OR REPLACE TEMP TABLE tm_cand AS
SELECT *, count(*) OVER (PARTITION BY event_key) AS ne, count(*) OVER (PARTITION BY request_id) AS nr
FROM (
  SELECT e.event_key, r.request_id, greatest(e.t0 - r.ms, r.ms - e.t1, 0) AS d1, abs(r.ms - e.t0) AS d2
  FROM tm_ev e JOIN tm_rec r ON r.mkey = e.mkey AND r.i = e.i AND r.o = e.o AND r.cr = e.cr
    AND r.cw = e.w5 + e.w1
  WHERE e.event_key NOT IN (SELECT event_key FROM tm_exact) AND NOT e.agg
    AND e.i + e.o + e.cr + e.w5 + e.w1 > 0 AND r.ms BETWEEN e.t0 - ${W} AND e.t1 + ${W}
)`;

/** A pair alone on both sides needs no ordering: greedy takes it whatever else happens. */
const UNCONTESTED_SQL = `
INSERT INTO tm_fp SELECT event_key, request_id, d1, false FROM tm_cand WHERE ne = 1 AND nr = 1`;

/**
 * One round of the greedy matching of the contested pairs: every pair that is the closest for both its event and
 * its record among those still free. In a strict order (distance to the span, distance to its start, then ids)
 * these are exactly the pairs greedy would take next, so rounds until nothing is added give the greedy matching.
 */
const GREEDY_ROUND_SQL = `
INSERT INTO tm_fp
SELECT event_key, request_id, d1, true FROM (
  SELECT *, row_number() OVER (PARTITION BY event_key ORDER BY d1, d2, request_id) AS re,
    row_number() OVER (PARTITION BY request_id ORDER BY d1, d2, event_key) AS rr
  FROM tm_cand
  WHERE (ne > 1 OR nr > 1)
    AND event_key NOT IN (SELECT event_key FROM tm_fp) AND request_id NOT IN (SELECT request_id FROM tm_fp)
) WHERE re = 1 AND rr = 1`;

/**
 * How each event in scope counts now. `cov`: an unmatched event whose window touches a clock hour in which the
 * server-side records hold its model — records of its AWS account when it names one, of any account otherwise;
 * `tm_span`: a metric row a span covers.
 */
const WANT_SQL = `
CREATE OR REPLACE TEMP TABLE tm_want AS
WITH open AS (
  SELECT event_key, mkey, account, t0, t1 FROM tm_ev
  WHERE mkey IS NOT NULL AND event_key NOT IN (SELECT event_key FROM tm_exact)
    AND event_key NOT IN (SELECT event_key FROM tm_fp)
), h AS (
  SELECT event_key, mkey, account, unnest(generate_series(date_trunc('hour', epoch_ms(t0 - ${W})),
    date_trunc('hour', epoch_ms(t1 + ${W})), INTERVAL 1 HOUR)) AS hour
  FROM open
), cov AS (
  SELECT DISTINCT h.event_key FROM h JOIN tm_cov c ON c.mkey = h.mkey AND c.hour = h.hour
  -- A record whose account is not an AWS account id (the gateway's \`gateway\` without TOKENLEDGER_GATEWAY_ACCOUNT)
  -- covers any account's events.
  WHERE h.account IS NULL OR c.account = h.account OR NOT regexp_full_match(c.account, '[0-9]{12}')
), m AS (
  SELECT e.event_key, e.ts, x.request_id AS exact, f.request_id AS fp, f.d1, f.ambiguous,
    CASE WHEN x.request_id IS NOT NULL THEN 'request_id' WHEN f.request_id IS NOT NULL THEN 'fingerprint'
      WHEN e.mkey IS NULL THEN 'no_model' WHEN sp.event_key IS NOT NULL THEN 'span'
      WHEN cov.event_key IS NOT NULL THEN 'covered' ELSE 'client_only' END AS match
  FROM tm_ev e LEFT JOIN tm_exact x ON x.event_key = e.event_key
    LEFT JOIN tm_fp f ON f.event_key = e.event_key LEFT JOIN cov ON cov.event_key = e.event_key
    LEFT JOIN tm_span sp ON sp.event_key = e.event_key
)
SELECT event_key, ts, match,
  CASE match WHEN 'request_id' THEN exact WHEN 'fingerprint' THEN fp
    WHEN 'client_only' THEN '${CLIENT_ONLY_PREFIX}' || event_key END AS request_id,
  d1 AS delta_ms, coalesce(ambiguous, false) AS ambiguous
FROM m`;

/** What the scope's events were matched to before this run (its diff with tm_want is what changes). */
const haveSql = (near: string) => `
CREATE OR REPLACE TEMP TABLE tm_have AS
SELECT event_key, ts, match, request_id, delta_ms, ambiguous FROM telemetry_matches
WHERE ${near} AND event_key IN (SELECT event_key FROM tm_ev)`;

/**
 * The event that enriches each matched record, with the values it gives: its fingerprint partner, or for a request
 * id the earliest event naming it — in scope or not, so that a scoped run picks what an unscoped one would.
 */
const PICK_SQL = [
  `
CREATE OR REPLACE TEMP TABLE tm_pick0 AS
WITH x AS (
  SELECT request_id, 'request_id' AS match, session_id, user_email, user_id, dimensions,
    row_number() OVER (PARTITION BY request_id ORDER BY ts, event_key) AS k
  FROM telemetry_events
  WHERE kind = 'api_request' AND request_id IN (SELECT request_id FROM tm_want WHERE match = 'request_id')
)
SELECT request_id, match, session_id, user_email, user_id, ${DIMENSION_LIST} AS dl FROM x WHERE k = 1
UNION ALL
SELECT w.request_id, 'fingerprint', e.session_id, e.user_email, e.user_id, e.dl
FROM tm_want w JOIN tm_ev e ON e.event_key = w.event_key WHERE w.match = 'fingerprint'`,
  // A statement of its own, over the stored list: DuckDB inlines expressions into every reference, and the JSON
  // would be parsed once per reference.
  `
CREATE OR REPLACE TEMP TABLE tm_pick AS
SELECT request_id, match, ${each((f) => `${value(f)} AS v_${f.dim}, ${key(f)} AS k_${f.dim}`)} FROM tm_pick0 p`,
];

/**
 * The records whose dimensions change: those picked now and those the scope's events matched before. A dimension
 * the telemetry filled (its rule is `telemetry.*`) is first taken back to `unallocated`; then an unallocated one takes
 * the picked event's value. Only rows where a value or a rule differs are kept.
 */
const UPDATES_SQL = [
  `
CREATE OR REPLACE TEMP TABLE tm_touch AS
WITH t AS (
  SELECT request_id FROM tm_pick
  UNION SELECT request_id FROM tm_have WHERE match IN ('request_id', 'fingerprint')
)
SELECT u.rowid AS rid, u.attribution AS attr, p.*, ${each((f) => `u.${f.column} AS c_${f.dim}`)},
  json_extract_string(u.attribution, [${each((f) => `'$."${f.dim}"'`)}]) AS rl
FROM usage u JOIN t ON t.request_id = u.request_id LEFT JOIN tm_pick p ON p.request_id = u.request_id
WHERE u.${SERVER}`,
  // Rules were parsed once into a stored list above: the expressions below may repeat `rl[i]` freely.
  `
CREATE OR REPLACE TEMP TABLE tm_upd AS
WITH r AS (
  SELECT *, ${each((f, i) => `rl[${i + 1}] AS r_${f.dim}`)} FROM tm_touch
), b AS (
  SELECT *, ${each((f) => `CASE WHEN ${isTelemetryRule(`r_${f.dim}`)} THEN 'unallocated' ELSE c_${f.dim} END AS b_${f.dim}`)}
  FROM r
), n AS (
  SELECT rid, attr,
    ${each(
      (f) => `c_${f.dim}, r_${f.dim},
    CASE WHEN b_${f.dim} = 'unallocated' AND v_${f.dim} IS NOT NULL THEN v_${f.dim} ELSE b_${f.dim} END AS n_${f.dim},
    CASE WHEN b_${f.dim} = 'unallocated' AND v_${f.dim} IS NOT NULL THEN 'telemetry.' || k_${f.dim} || '@' || match
      WHEN ${isTelemetryRule(`r_${f.dim}`)} THEN NULL ELSE r_${f.dim} END AS nr_${f.dim}`,
      ',\n    ',
    )}
  FROM b
)
SELECT rid, ${each((f) => `n_${f.dim}`)},
  json_merge_patch(attr, json_object(${each((f) => `'${f.dim}', nr_${f.dim}`)}))::VARCHAR AS attribution
FROM n
WHERE ${each((f) => `n_${f.dim} IS DISTINCT FROM c_${f.dim} OR nr_${f.dim} IS DISTINCT FROM r_${f.dim}`, '\n  OR ')}`,
];

const APPLY_UPDATES_SQL = `
UPDATE usage SET ${each((f) => `${f.column} = d.n_${f.dim}`)}, attribution = d.attribution
FROM tm_upd d WHERE usage.rowid = d.rid`;

const ARN_PROFILE = `'^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:[0-9]*:inference-profile/'`;

/**
 * A client-only row per wanted event that has none, in the event's AWS account when it names one (else `unknown`).
 * Model form, profile and scope are read from the event's model id
 * and the base the receiver normalised it to (what normalise says for bare ids, system profiles and their ARNs;
 * `reprice` re-normalises exactly, application profiles included).
 */
const clientRowsSql = (near: string) => `
CREATE OR REPLACE TEMP TABLE tm_client AS
WITH c AS (
  SELECT w.request_id AS rid, e.*, regexp_replace(e.model, ${ARN_PROFILE}, '') AS pid
  FROM tm_want w JOIN tm_ev e ON e.event_key = w.event_key
  WHERE w.match = 'client_only' AND w.request_id NOT IN (
    SELECT request_id FROM usage WHERE source = '${CLIENT_ONLY_SOURCE}' AND ${near})
), q AS (
  SELECT *, CASE WHEN length(pid) > length(base) + 1 AND ends_with(pid, '.' || base)
    THEN left(pid, length(pid) - length(base) - 1) END AS prefix
  FROM c
)
SELECT rid AS request_id, ts, coalesce(account, '${TELEMETRY_UNKNOWN_ACCOUNT}') AS account, '${TELEMETRY_REGION}' AS region,
  NULL::VARCHAR AS inference_region, 'unknown' AS operation, model AS model_id, base AS model,
  CASE WHEN prefix IS NOT NULL THEN pid WHEN model LIKE 'arn:%:application-inference-profile/%' THEN model END
    AS profile,
  CASE WHEN prefix = 'global' THEN 'global' WHEN prefix IS NOT NULL THEN 'geo' ELSE 'in-region' END AS scope,
  CASE WHEN prefix <> 'global' THEN prefix END AS geo,
  CASE WHEN model LIKE 'arn:%:application-inference-profile/%' THEN 'application-profile-arn'
    WHEN model LIKE 'arn:%:inference-profile/%' THEN 'inference-profile-arn'
    WHEN model LIKE 'arn:%:foundation-model/%' THEN 'foundation-model-arn'
    WHEN prefix IS NOT NULL THEN 'profile-id' ELSE 'bare' END AS model_form,
  'standard' AS tier, i AS input_tokens, o AS output_tokens, cr AS cache_read_tokens,
  w5 AS cache_write_5m_tokens, w1 AS cache_write_1h_tokens,
  CASE WHEN duration_ms IS NOT NULL AND NOT agg THEN dur::INTEGER END AS latency_ms, NULL::INTEGER AS first_byte_ms,
  NULL::VARCHAR AS error_code, NULL::VARCHAR AS identity_arn,
  ${each((f) => `coalesce(${value(f)}, 'unallocated') AS ${f.column}`)},
  NULL::VARCHAR AS metadata,
  json_merge_patch('{}', json_object(${each((f) => `'${f.dim}', CASE WHEN ${value(f)} IS NOT NULL THEN ${rule(f, "'client_only'")} END`)}))::VARCHAR
    AS attribution,
  cost_pusd, price_id, coalesce(catalog_hash, '') AS catalog_hash,
  coalesce(price_flags, CASE WHEN cost_pusd IS NULL THEN 'unpriced' ELSE '' END) AS flags,
  '${CLIENT_ONLY_SOURCE}' AS source,
  0 AS source_line, now()::TIMESTAMP AS ingested_at
FROM q p`;

const CLIENT_COLUMNS = `request_id, ts, account, region, inference_region, operation, model_id, model, profile,
  scope, geo, model_form, tier, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
  cache_write_1h_tokens, latency_ms, first_byte_ms, error_code, identity_arn, ${each((f) => f.column)}, metadata,
  attribution, cost_pusd, price_id, catalog_hash, flags, source, source_line, ingested_at`;

const removeClientRowsSql = (near: string) => `
DELETE FROM usage WHERE source = '${CLIENT_ONLY_SOURCE}' AND ${near}
  AND request_id IN (SELECT '${CLIENT_ONLY_PREFIX}' || event_key FROM tm_ev)
  AND request_id NOT IN (SELECT request_id FROM tm_want WHERE match = 'client_only')`;

/** Set differences (EXCEPT compares NULLs as equal): rows that went stale, and the rows that replace them. */
const removeMatchesSql = (near: string) => `
DELETE FROM telemetry_matches WHERE ${near}
  AND event_key IN (SELECT event_key FROM (SELECT * FROM tm_have EXCEPT SELECT * FROM tm_want))`;

const ADD_MATCHES_SQL = `
INSERT INTO telemetry_matches SELECT * FROM (SELECT * FROM tm_want EXCEPT SELECT * FROM tm_have)`;

const SUMMARY_SQL = `
SELECT count(*) AS events, count(*) FILTER (WHERE match = 'request_id') AS request_id,
  count(*) FILTER (WHERE match = 'fingerprint') AS fingerprint, count(*) FILTER (WHERE ambiguous) AS ambiguous,
  count(*) FILTER (WHERE match = 'covered') AS covered, count(*) FILTER (WHERE match = 'client_only') AS client_only,
  count(*) FILTER (WHERE match = 'no_model') AS no_model
FROM tm_want`;

const TEMP_TABLES = [
  'tm_ev',
  'tm_cov',
  'tm_span',
  'tm_exact',
  'tm_rec',
  'tm_cand',
  'tm_fp',
  'tm_want',
  'tm_have',
  'tm_pick0',
  'tm_pick',
  'tm_touch',
  'tm_upd',
  'tm_client',
];

const EMPTY: MatchSummary = {
  events: 0,
  requestId: 0,
  fingerprint: 0,
  ambiguous: 0,
  covered: 0,
  clientOnly: 0,
  noModel: 0,
  enriched: 0,
  clientRowsAdded: 0,
  clientRowsRemoved: 0,
};

const int = (v: unknown): number => Number(v ?? 0);
/** An epoch-µs watermark as stored (a decimal string) or read (BIGINT); none is 0. */
const micros = (v: unknown): bigint =>
  typeof v === 'bigint' || typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v))
    ? BigInt(v)
    : 0n;

/**
 * Where the last unscoped run stopped: the newest server-side record's `ingested_at` and the newest event's
 * `received_at` it had seen (epoch µs), in the checkpoints table. Writers commit in order (one writer process, and
 * an ingest runs its unscoped match after its last commit), so nothing older than a watermark arrives after it;
 * events are matched when received anyway, this only catches a receive whose match failed.
 */
const WATERMARK = {
  records: 'telemetry-match:records-ingested',
  events: 'telemetry-match:events-received',
} as const;

const WATERMARKS_SQL = `
SELECT (SELECT value FROM checkpoints WHERE key = '${WATERMARK.records}') AS records_seen,
  (SELECT value FROM checkpoints WHERE key = '${WATERMARK.events}') AS events_seen,
  (SELECT epoch_us(max(ingested_at)) FROM usage WHERE ${SERVER}) AS records_now,
  (SELECT epoch_us(max(received_at)) FROM telemetry_events WHERE kind = 'api_request') AS events_now`;

/** The time span of what arrived since the watermarks: server-side records and API-request events. */
const dirtySql = (records: bigint, events: bigint) => `
SELECT min(lo) AS lo, max(hi) AS hi FROM (
  SELECT epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi FROM usage
  WHERE ${SERVER} AND ingested_at > make_timestamp(${records}::BIGINT)
  UNION ALL
  SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM telemetry_events
  WHERE kind = 'api_request' AND received_at > make_timestamp(${events}::BIGINT)
)`;

/**
 * Brings the ledger to the wanted match state, in one transaction (the caller serialises calls on the connection).
 * With a scope: the API-request events within an hour and two windows of [fromMs, toMs] (a range covering
 * everything re-matches everything). Without: the events near whatever arrived since the last unscoped run —
 * server-side records by any writer (ingest, gateway) and events whose receive-time run did not finish — and all of
 * them the first time.
 */
export async function matchTelemetry(
  conn: DuckDBConnection,
  scope?: MatchScope,
): Promise<MatchSummary> {
  const one = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS()[0] ?? {};
  if (scope !== undefined) {
    // No API-request event near the scope: nothing to match. Checked before the transaction and its temporary
    // tables, which cost a gateway without telemetry ~40 ms on every batch it wrote.
    const near = between(
      'ts',
      Math.floor(scope.fromMs) - SCOPE_PAD_MS,
      Math.ceil(scope.toMs) + SCOPE_PAD_MS,
    );
    const any = await one(
      `SELECT count(*) AS n FROM (SELECT 1 FROM telemetry_events WHERE kind = 'api_request' AND ${near} LIMIT 1)`,
    );
    if (int(any.n) === 0) return EMPTY;
  }
  try {
    return await inTransaction(conn, async () => {
      let summary = EMPTY;
      if (scope !== undefined) {
        summary = await matchEvents(conn, { fromMs: scope.fromMs, toMs: scope.toMs });
      } else {
        const w = await one(WATERMARKS_SQL);
        const first = w.records_seen === null || w.records_seen === undefined;
        if (first) summary = await matchEvents(conn, null);
        else {
          const d = await one(dirtySql(micros(w.records_seen), micros(w.events_seen)));
          if (d.lo !== null && d.lo !== undefined)
            summary = await matchEvents(conn, { fromMs: int(d.lo), toMs: int(d.hi) });
        }
        await conn.run(
          `INSERT OR REPLACE INTO checkpoints VALUES
          ('${WATERMARK.records}', '${micros(w.records_now)}', now()::TIMESTAMP),
          ('${WATERMARK.events}', '${micros(w.events_now)}', now()::TIMESTAMP)`,
        );
      }
      return summary;
    });
  } finally {
    for (const t of TEMP_TABLES) await conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
}

/** The match of the events in the range (null: all of them), written as differences. */
async function matchEvents(
  conn: DuckDBConnection,
  range: { fromMs: number; toMs: number } | null,
): Promise<MatchSummary> {
  const one = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS()[0] ?? {};
  const changed = async (sql: string) => Number((await conn.run(sql)).rowsChanged);
  await conn.run(
    eventsSql(
      range === null
        ? ''
        : `AND ${between('ts', Math.floor(range.fromMs) - SCOPE_PAD_MS, Math.ceil(range.toMs) + SCOPE_PAD_MS)}`,
    ),
  );
  const b = await one(BOUNDS_SQL);
  if (int(b.n) === 0) return EMPTY;
  const [lo, hi, first, last] = [int(b.lo), int(b.hi), int(b.first), int(b.last)];
  // Records whose hour a call's window touches; client rows and matches carry the event's own time.
  const server = between('ts', lo - W - HOUR_MS, hi + W + HOUR_MS);
  const own = between('ts', first, last);
  await conn.run(coverSql(server));
  await conn.run(spanCoverSql(between('ts', lo - HOUR_MS - SPAN_PAD_MS, hi + SPAN_PAD_MS)));
  await conn.run(exactSql(range === null ? null : between('u.ts', first - DAY_MS, last + DAY_MS)));
  await conn.run(recordsSql(between('u.ts', lo - W, hi + W)));
  await conn.run(CANDIDATES_SQL);
  await conn.run(
    'CREATE OR REPLACE TEMP TABLE tm_fp (event_key VARCHAR, request_id VARCHAR, d1 BIGINT, ambiguous BOOLEAN)',
  );
  await conn.run(UNCONTESTED_SQL);
  while ((await changed(GREEDY_ROUND_SQL)) > 0);
  await conn.run(WANT_SQL);
  await conn.run(haveSql(own));
  for (const sql of [...PICK_SQL, ...UPDATES_SQL]) await conn.run(sql);
  const enriched = await changed(APPLY_UPDATES_SQL);
  const clientRowsRemoved = await changed(removeClientRowsSql(own));
  await conn.run(clientRowsSql(own));
  const clientRowsAdded = await changed(
    `INSERT INTO usage (${CLIENT_COLUMNS}) SELECT * FROM tm_client`,
  );
  await conn.run(removeMatchesSql(own));
  await conn.run(ADD_MATCHES_SQL);
  const s = await one(SUMMARY_SQL);
  return {
    events: int(s.events),
    requestId: int(s.request_id),
    fingerprint: int(s.fingerprint),
    ambiguous: int(s.ambiguous),
    covered: int(s.covered),
    clientOnly: int(s.client_only),
    noModel: int(s.no_model),
    enriched,
    clientRowsAdded,
    clientRowsRemoved,
  };
}
