/**
 * SQL of reconciliation: the ledger and the bill side by side at (day, account, Region, model, scope, tier), and the
 * allocation of the bill's net usage dollars to records in proportion to their estimated cost (largest remainder,
 * exact to the pico-USD). Billed usage with no logged record becomes `billed_extra` rows, attributed from the bill's
 * own tags (billing-level attribution), so the billed lens adds up to the bill without counting anything twice.
 * Client-only telemetry rows (source `telemetry`: calls only the client saw) take no part: the bill
 * is compared with, and allocated to, what Bedrock logged, so such rows neither hide a logging gap nor show up as an
 * `unknown` account.
 */
import { CLIENT_ONLY_SOURCE } from './telemetry-match.ts';

/** The ledger rows reconciliation reads: server-side records only. */
const LOGGED = `source <> '${CLIENT_ONLY_SOURCE}'`;

/** Line item types that bill usage; the discounts that reduce it carry the same usage types. */
export const USAGE_LINE_TYPES = `('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')`;
/**
 * Lines that are neither usage nor a discount of it, though they often carry the usage type they offset (bedrock.md
 * §2.1): credits and refunds are reported as credits and tax as tax, never as a discount allocated to records.
 */
const NOT_DISCOUNTS = `('Credit', 'Refund', 'Tax')`;
/** A line that discounts usage: not usage itself, not a credit, refund or tax. */
const DISCOUNT = `line_item_type NOT IN ${USAGE_LINE_TYPES} AND line_item_type NOT IN ${NOT_DISCOUNTS}`;
const KEY = ['day', 'account', 'region', 'model', 'scope', 'tier'] as const;
const on = (a: string, b: string) =>
  KEY.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');

/** $1 = billing period 'YYYY-MM', $2 = period start, $3 = next period start (TIMESTAMP). */
export const GROUPS_SQL = [
  `CREATE OR REPLACE TEMP TABLE g_bill AS
   SELECT CAST(usage_start AS DATE) AS day, account, region, model, scope, tier,
     sum(unblended_pusd) FILTER (WHERE line_item_type IN ${USAGE_LINE_TYPES}) AS usage_pusd,
     coalesce(sum(unblended_pusd) FILTER (WHERE ${DISCOUNT}), 0) AS discount_pusd,
     sum(tokens) FILTER (WHERE line_item_type IN ${USAGE_LINE_TYPES}) AS tokens,
     sum(tokens) FILTER (WHERE token_class = 'input' AND line_item_type IN ${USAGE_LINE_TYPES}) AS input_tokens,
     sum(tokens) FILTER (WHERE token_class = 'output' AND line_item_type IN ${USAGE_LINE_TYPES}) AS output_tokens,
     sum(tokens) FILTER (WHERE token_class = 'cacheRead' AND line_item_type IN ${USAGE_LINE_TYPES}) AS cache_read_tokens,
     sum(tokens) FILTER (WHERE token_class IN ('cacheWrite5m', 'cacheWrite1h') AND line_item_type IN ${USAGE_LINE_TYPES}) AS cache_write_tokens,
     sum(tokens) FILTER (WHERE token_class = 'cacheWrite1h' AND line_item_type IN ${USAGE_LINE_TYPES}) AS cache_write_1h_tokens
   FROM bill_lines
   WHERE billing_period = $1 AND model IS NOT NULL AND token_class IS NOT NULL
   GROUP BY ALL`,
  `CREATE OR REPLACE TEMP TABLE g_ledger AS
   SELECT CAST(ts AS DATE) AS day, account, region, model, scope, tier, count(*) AS records,
     coalesce(sum(cost_pusd), 0)::HUGEINT AS est_pusd,
     sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS tokens,
     sum(input_tokens)::HUGEINT AS input_tokens, sum(output_tokens)::HUGEINT AS output_tokens,
     sum(cache_read_tokens)::HUGEINT AS cache_read_tokens,
     sum(cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS cache_write_tokens,
     sum(cache_write_1h_tokens)::HUGEINT AS cache_write_1h_tokens,
     count(*) FILTER (WHERE contains(flags, 'cache_ttl_unknown')) AS ttl_unknown,
     count(*) FILTER (WHERE cost_pusd IS NULL) AS unpriced
   FROM usage WHERE ts >= $2 AND ts < $3 AND ${LOGGED} GROUP BY ALL`,
];

/** Month rows per (account, Region, model, scope, tier): billed, estimated, tokens on both sides, days present. */
export const COMPARE_SQL = `
SELECT coalesce(b.account, l.account) AS account, coalesce(b.region, l.region) AS region,
  coalesce(b.model, l.model) AS model, coalesce(b.scope, l.scope) AS scope, coalesce(b.tier, l.tier) AS tier,
  coalesce(sum(b.usage_pusd), 0)::HUGEINT AS billed_usage_pusd, coalesce(sum(b.discount_pusd), 0)::HUGEINT AS discount_pusd,
  coalesce(sum(l.est_pusd), 0)::HUGEINT AS est_pusd, coalesce(sum(l.records), 0) AS records,
  sum(b.tokens)::HUGEINT AS billed_tokens, coalesce(sum(l.tokens), 0)::HUGEINT AS logged_tokens,
  coalesce(sum(b.cache_write_1h_tokens), 0)::HUGEINT AS billed_1h_tokens,
  coalesce(sum(l.cache_write_1h_tokens), 0)::HUGEINT AS logged_1h_tokens,
  coalesce(sum(l.ttl_unknown), 0) AS ttl_unknown, coalesce(sum(l.unpriced), 0) AS unpriced,
  count(*) FILTER (WHERE b.day IS NOT NULL AND l.day IS NULL) AS days_billed_not_logged,
  count(*) FILTER (WHERE b.day IS NULL AND l.day IS NOT NULL) AS days_logged_not_billed,
  list(strftime(b.day, '%Y-%m-%d') ORDER BY b.day) FILTER (WHERE b.tokens > coalesce(l.tokens, 0) AND l.day IS NOT NULL) AS short_days
FROM g_bill b FULL OUTER JOIN g_ledger l ON ${on('b', 'l')}
GROUP BY ALL ORDER BY abs(coalesce(sum(b.usage_pusd), 0) + coalesce(sum(b.discount_pusd), 0) - coalesce(sum(l.est_pusd), 0)) DESC`;

/** Hours of a day with no records for an account and Region although the neighbouring hours have some. */
export const QUIET_HOURS_SQL = `
WITH h AS (
  SELECT account, region, date_trunc('hour', ts) AS hour, count(*) AS n
  FROM usage WHERE ts >= $2 AND ts < $3 AND ${LOGGED} GROUP BY ALL
), grid AS (
  SELECT a.account, a.region, t.hour
  FROM (SELECT DISTINCT account, region FROM h) a,
       (SELECT unnest(generate_series($2::TIMESTAMP, $3::TIMESTAMP - INTERVAL 1 HOUR, INTERVAL 1 HOUR)) AS hour) t
), g AS (
  SELECT grid.account, grid.region, grid.hour, coalesce(h.n, 0) AS n,
    avg(coalesce(h.n, 0)) OVER (PARTITION BY grid.account, grid.region ORDER BY grid.hour
      ROWS BETWEEN 24 PRECEDING AND 24 FOLLOWING) AS around
  FROM grid LEFT JOIN h USING (account, region, hour)
)
SELECT account, region, hour FROM g
WHERE n = 0 AND around >= 4
  AND hour >= (SELECT min(hour) FROM h h2 WHERE h2.account = g.account AND h2.region = g.region)
  AND hour <= (SELECT max(hour) FROM h h2 WHERE h2.account = g.account AND h2.region = g.region)
ORDER BY account, region, hour`;

/**
 * Month-level lines that belong to no (model, token class) group: credits, tax, refunds (also those that name the
 * usage type they offset), unknown usage.
 */
export const OTHER_LINES_SQL = `
SELECT line_item_type, classification, coalesce(usage_type, '') AS usage_type, coalesce(reason, '') AS reason,
  coalesce(description, '') AS description, min(usage_start) AS first_day, count(*) AS lines,
  sum(unblended_pusd)::HUGEINT AS pusd
FROM bill_lines WHERE billing_period = $1
  AND (model IS NULL OR token_class IS NULL OR line_item_type IN ${NOT_DISCOUNTS})
GROUP BY ALL ORDER BY abs(sum(unblended_pusd)) DESC`;

export const TOTALS_SQL = `
SELECT
  coalesce(sum(unblended_pusd) FILTER (WHERE line_item_type IN ${USAGE_LINE_TYPES}), 0)::HUGEINT AS usage_pusd,
  coalesce(sum(unblended_pusd) FILTER (WHERE ${DISCOUNT} AND usage_type IS NOT NULL AND usage_type <> ''), 0)::HUGEINT AS discount_pusd,
  coalesce(sum(unblended_pusd) FILTER (WHERE line_item_type IN ('Credit', 'Refund')), 0)::HUGEINT AS credit_pusd,
  coalesce(sum(unblended_pusd) FILTER (WHERE line_item_type = 'Tax'), 0)::HUGEINT AS tax_pusd,
  coalesce(sum(unblended_pusd), 0)::HUGEINT AS total_pusd,
  coalesce(sum(net_unblended_pusd) FILTER (WHERE line_item_type IN ${USAGE_LINE_TYPES}), 0)::HUGEINT AS net_column_pusd,
  count(*) FILTER (WHERE net_unblended_pusd IS NOT NULL) AS net_lines,
  min(payer_account) AS payer
FROM bill_lines WHERE billing_period = $1`;

/** The net usage to allocate: every usage line and every discount line that names a usage type. */
const netUsage = (b: string) =>
  `${b}.line_item_type IN ${USAGE_LINE_TYPES} OR (coalesce(${b}.usage_type, '') <> '' AND ${b}.line_item_type NOT IN ${NOT_DISCOUNTS})`;

export const CLEAR_ALLOCATION_SQL = [
  `UPDATE usage SET billed_pusd = NULL WHERE ts >= $2 AND ts < $3 AND billed_pusd IS NOT NULL`,
  `DELETE FROM billed_extra WHERE billing_period = $1`,
];

/**
 * Each group's net amount over its records, weighted by estimated cost (by tokens when the group has no estimate,
 * equally when it has no tokens either); largest remainder so the group's records sum to its amount exactly.
 */
export const ALLOCATE_SQL = `
UPDATE usage SET billed_pusd = a.billed
FROM (
  WITH amounts AS (
    SELECT ${KEY.map((k) => `g.${k}`).join(', ')}, (coalesce(g.usage_pusd, 0) + g.discount_pusd)::HUGEINT AS amount,
      l.est_pusd, l.tokens AS g_tokens
    FROM g_bill g JOIN g_ledger l ON ${on('g', 'l')}
  ), w AS (
    SELECT u.rowid AS rid, ${KEY.map((k) => `a.${k}`).join(', ')}, a.amount,
      CASE WHEN a.est_pusd > 0 THEN coalesce(u.cost_pusd, 0)::HUGEINT
           WHEN a.g_tokens > 0 THEN (u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_5m_tokens + u.cache_write_1h_tokens)::HUGEINT
           ELSE 1::HUGEINT END AS wt
    FROM usage u JOIN amounts a ON CAST(u.ts AS DATE) = a.day AND u.account = a.account AND u.region = a.region
      AND u.model = a.model AND u.scope = a.scope AND u.tier = a.tier
    WHERE u.ts >= $2 AND u.ts < $3 AND u.${LOGGED}
  ), s AS (
    SELECT *, sum(wt) OVER k AS total_wt FROM w WINDOW k AS (PARTITION BY ${KEY.join(', ')})
  ), p AS (
    SELECT rid, ${KEY.join(', ')}, sign(amount) AS sg, abs(amount) AS a,
      (abs(amount) * wt) // total_wt AS base, (abs(amount) * wt) % total_wt AS rem
    FROM s
  ), r AS (
    SELECT rid, sg, base,
      a - sum(base) OVER k AS leftover, row_number() OVER (PARTITION BY ${KEY.join(', ')} ORDER BY rem DESC, rid) AS rk
    FROM p WINDOW k AS (PARTITION BY ${KEY.join(', ')})
  )
  SELECT rid, CAST(sg * (base + CASE WHEN rk <= leftover THEN 1 ELSE 0 END) AS BIGINT) AS billed FROM r
) a
WHERE usage.rowid = a.rid`;

/**
 * A record that billed no token (a throttled or refused call) was billed nothing, whether or not the bill has a line
 * for its group: it carries $0 rather than no billed amount.
 */
export const ZERO_TOKEN_BILLED_SQL = `
UPDATE usage SET billed_pusd = 0
WHERE ts >= $2 AND ts < $3 AND billed_pusd IS NULL AND ${LOGGED}
  AND input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens = 0`;

/**
 * Net usage the records cannot carry (a group with no logged record, a usage type or billing name nobody can map)
 * as billed-only rows, attributed from the bill's own identity and tags.
 */
export const EXTRA_SQL = `
INSERT INTO billed_extra (billing_period, ts, account, region, model, scope, tier, identity_arn, team, "user", feature,
  project, environment, cost_center, application, session, cause, input_tokens, output_tokens, cache_read_tokens,
  cache_write_5m_tokens, cache_write_1h_tokens, billed_pusd)
SELECT $1, CAST(CAST(b.usage_start AS DATE) AS TIMESTAMP), b.account, coalesce(b.region, 'unknown'),
  coalesce(b.model, CASE WHEN b.billing_model IS NOT NULL THEN 'unmapped:' || b.billing_model END,
    'unknown usage type: ' || b.usage_type),
  coalesce(b.scope, 'in-region'), coalesce(b.tier, 'standard'), b.iam_principal,
  coalesce(json_extract_string(b.tags, '$."iamPrincipal/team"'), json_extract_string(b.tags, '$.user_team'), 'unallocated'),
  coalesce(nullif(regexp_extract(coalesce(b.iam_principal, ''), '(?:assumed-role/[^/]+/|:user/)([^/]+)$', 1), ''), 'unallocated'),
  'unallocated', coalesce(json_extract_string(b.tags, '$.user_project'), 'unallocated'), 'unallocated',
  coalesce(json_extract_string(b.tags, '$."iamPrincipal/cost-center"'), json_extract_string(b.tags, '$.user_cost_center'), 'unallocated'),
  coalesce(json_extract_string(b.tags, '$.user_application'), 'unallocated'), 'unallocated',
  CASE WHEN b.model IS NULL OR b.token_class IS NULL THEN 'usage type or billing name not mapped' ELSE 'no logged records' END,
  coalesce(sum(b.tokens) FILTER (WHERE b.token_class = 'input'), 0),
  coalesce(sum(b.tokens) FILTER (WHERE b.token_class = 'output'), 0),
  coalesce(sum(b.tokens) FILTER (WHERE b.token_class = 'cacheRead'), 0),
  coalesce(sum(b.tokens) FILTER (WHERE b.token_class IN ('cacheWrite5m', 'cacheWrite1h')), 0), 0,
  sum(b.unblended_pusd)
FROM bill_lines b
LEFT JOIN g_ledger l ON CAST(b.usage_start AS DATE) = l.day AND b.account = l.account AND b.region = l.region
  AND b.model = l.model AND b.scope = l.scope AND b.tier = l.tier
WHERE b.billing_period = $1 AND (${netUsage('b')}) AND (l.day IS NULL OR b.model IS NULL OR b.token_class IS NULL)
GROUP BY ALL
HAVING sum(b.unblended_pusd) <> 0`;

export const ALLOCATED_SQL = `
SELECT (SELECT coalesce(sum(billed_pusd), 0) FROM usage WHERE ts >= $2 AND ts < $3)::HUGEINT AS records_pusd,
  (SELECT count(*) FROM usage WHERE ts >= $2 AND ts < $3 AND billed_pusd IS NOT NULL) AS records,
  (SELECT count(*) FROM usage WHERE ts >= $2 AND ts < $3 AND ${LOGGED}) AS period_records,
  (SELECT coalesce(sum(billed_pusd), 0) FROM billed_extra WHERE billing_period = $1)::HUGEINT AS extra_pusd`;

export const PERIODS_SQL = `SELECT DISTINCT billing_period FROM bill_lines ORDER BY billing_period`;
