/**
 * SQL for reading a bill: CUR 2.0 (Data Exports, CSV or Parquet) and legacy CUR (CSV, `lineItem/UsageType`-style
 * headers, one column per tag) into one staging shape, the Bedrock rule of bedrock.md §2.4, and the insert.
 */

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** The CUR 2.0 columns the ledger keeps (snake_case); legacy headers are mapped onto them. */
export const BILL_COLUMNS = [
  'bill_billing_entity',
  'bill_billing_period_start_date',
  'bill_payer_account_id',
  'line_item_usage_account_id',
  'line_item_usage_start_date',
  'line_item_usage_end_date',
  'line_item_product_code',
  'line_item_usage_type',
  'line_item_operation',
  'line_item_line_item_type',
  'line_item_resource_id',
  'line_item_line_item_description',
  'line_item_usage_amount',
  'pricing_unit',
  'line_item_unblended_cost',
  'line_item_net_unblended_cost',
  'line_item_currency_code',
  'pricing_public_on_demand_cost',
  'product_product_family',
  'product_servicecode',
  'product_region_code',
  'line_item_iam_principal',
] as const;

/** `UsageStartDate` → `usage_start_date`; `user:cost-center` → `user_cost_center`. */
export function snake(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\W+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** A legacy header (`lineItem/UsageType`, `resourceTags/user:team`, `product/ProductName`) in CUR 2.0 naming. */
export function canonicalHeader(header: string): string {
  const slash = header.indexOf('/');
  return slash < 0 ? header : `${snake(header.slice(0, slash))}_${snake(header.slice(slash + 1))}`;
}

export interface FileColumns {
  readonly name: string;
  readonly type: string;
}

/**
 * One file's rows in the staging shape: every kept column as VARCHAR (NULL when the file lacks it), the three maps
 * as JSON text (CUR 2.0 has them as MAP columns in Parquet and JSON strings in CSV; legacy CUR has a column per
 * product attribute and per tag).
 */
export function stageFileSql(
  reader: string,
  source: string,
  columns: readonly FileColumns[],
  firstLine: number,
): string {
  const byCanonical = new Map(columns.map((c) => [canonicalHeader(c.name), c]));
  const pick = (canonical: string) => {
    const c = byCanonical.get(canonical);
    return c === undefined ? 'NULL' : `CAST(${ident(c.name)} AS VARCHAR)`;
  };
  const mapJson = (canonical: string, prefix: string, keyOf: (name: string) => string) => {
    const whole = byCanonical.get(canonical);
    if (whole !== undefined) {
      return whole.type.startsWith('MAP')
        ? `CAST(to_json(${ident(whole.name)}) AS VARCHAR)`
        : `CASE WHEN json_valid(${ident(whole.name)}) THEN ${ident(whole.name)} END`;
    }
    const kept = new Set<string>(BILL_COLUMNS);
    const parts = columns
      .filter((c) => {
        const k = canonicalHeader(c.name);
        return k.startsWith(prefix) && !kept.has(k);
      })
      .map(
        (c) =>
          `CASE WHEN coalesce(CAST(${ident(c.name)} AS VARCHAR), '') <> '' THEN json_object(${lit(keyOf(canonicalHeader(c.name)))}, CAST(${ident(c.name)} AS VARCHAR)) END`,
      );
    if (parts.length === 0) return 'NULL';
    // json_merge_patch of the present entries; '{}' when the row has none.
    return `CAST(${parts.reduce((acc, p) => `json_merge_patch(${acc}, coalesce(${p}, '{}'))`, `'{}'::JSON`)} AS VARCHAR)`;
  };
  return `
INSERT INTO bill_stage
SELECT ${lit(source)} AS source, row_number() OVER () + ${firstLine - 1} AS source_row,
  ${BILL_COLUMNS.map((c) => `${pick(c)} AS ${c}`).join(',\n  ')},
  ${mapJson('product', 'product_', (k) => k.slice('product_'.length))} AS product,
  ${mapJson('resource_tags', 'resource_tags_', (k) => k.slice('resource_tags_'.length))} AS resource_tags,
  ${mapJson('tags', 'tags_', (k) => k.slice('tags_'.length))} AS tags
FROM ${reader}`;
}

export const STAGE_TABLE_SQL = `
CREATE OR REPLACE TEMP TABLE bill_stage (
  source VARCHAR, source_row INTEGER, ${BILL_COLUMNS.map((c) => `${c} VARCHAR`).join(', ')},
  product VARCHAR, resource_tags VARCHAR, tags VARCHAR
)`;

export const csvReader = (path: string) =>
  `read_csv(${lit(path)}, all_varchar = true, header = true, delim = ',', quote = '"', escape = '"', store_rejects = true)`;
export const parquetReader = (path: string) => `read_parquet(${lit(path)})`;
export const describeSql = (reader: string) => `DESCRIBE SELECT * FROM ${reader}`;
/** The rows DuckDB's CSV reader could not read in one file (its reject tables hold every scan of the session). */
export const csvRejectsSql = (path: string) => `
SELECT e.line, string_agg(DISTINCT e.error_type, ', ') || ' (' || arg_min(e.error_message, e.column_idx) || ')' AS reason,
  any_value(e.csv_line) AS excerpt
FROM reject_errors e JOIN reject_scans s ON s.scan_id = e.scan_id AND s.file_id = e.file_id
WHERE s.file_path = ${lit(path)} GROUP BY e.line ORDER BY e.line`;

const decimal = (e: string) => `TRY_CAST(nullif(trim(${e}), '') AS DECIMAL(38, 12))`;
const picos = (e: string) => `CAST(${decimal(e)} * 1000000000000 AS HUGEINT)`;
const timestamp = (e: string) =>
  `TRY_CAST(replace(replace(nullif(trim(${e}), ''), 'T', ' '), 'Z', '') AS TIMESTAMP)`;

/** The product's name: the map's servicename (CUR 2.0), else its product_name (legacy `product/ProductName`). */
const SERVICENAME = (p: string) =>
  `coalesce(json_extract_string(${p}, '$.servicename'), json_extract_string(${p}, '$.product_name'), '')`;

/**
 * bedrock.md §2.4: product family, the product map's servicename "(Amazon Bedrock Edition)", the product codes, or
 * a usage type in one of the §2.5 grammars.
 */
export const IS_BEDROCK = `(
  product_product_family = 'Amazon Bedrock'
  OR ends_with(${SERVICENAME('product')}, '(Amazon Bedrock Edition)')
  OR line_item_product_code IN ('AmazonBedrock', 'AmazonBedrockService')
  OR regexp_matches(coalesce(line_item_usage_type, ''), '(?i)(input|output)-tokens|token-count|-mantle-|MP:[A-Z0-9]+_(Input|Output|Cache)')
)`;

/** Why a row cannot be kept, or NULL. Checked on Bedrock rows only. */
export const INVALID_REASON = `CASE
  WHEN coalesce(line_item_usage_account_id, '') = '' THEN 'line_item_usage_account_id is empty'
  WHEN ${timestamp('line_item_usage_start_date')} IS NULL THEN 'line_item_usage_start_date is not a timestamp: ' || coalesce(line_item_usage_start_date, 'empty')
  WHEN coalesce(line_item_line_item_type, '') = '' THEN 'line_item_line_item_type is empty'
  WHEN ${decimal('line_item_unblended_cost')} IS NULL THEN 'line_item_unblended_cost is not a decimal: ' || coalesce(line_item_unblended_cost, 'empty')
  WHEN nullif(trim(line_item_net_unblended_cost), '') IS NOT NULL AND ${decimal('line_item_net_unblended_cost')} IS NULL
    THEN 'line_item_net_unblended_cost is not a decimal: ' || line_item_net_unblended_cost
  WHEN nullif(trim(line_item_usage_amount), '') IS NOT NULL AND ${decimal('line_item_usage_amount')} IS NULL
    THEN 'line_item_usage_amount is not a decimal: ' || line_item_usage_amount
END`;

export const STAGE_COUNTS_SQL = `
SELECT count(*) AS rows, count(*) FILTER (WHERE NOT ${IS_BEDROCK}) AS other,
  count(*) FILTER (WHERE ${IS_BEDROCK} AND ${INVALID_REASON} IS NOT NULL) AS invalid
FROM bill_stage`;

export const STAGE_INVALID_SQL = `
SELECT source, source_row, ${INVALID_REASON} AS reason,
  concat_ws(',', line_item_usage_account_id, line_item_usage_start_date, line_item_usage_type, line_item_line_item_type,
    line_item_unblended_cost) AS excerpt
FROM bill_stage WHERE ${IS_BEDROCK} AND ${INVALID_REASON} IS NOT NULL ORDER BY source, source_row`;

/** Billing period of each kept row: the column, else the month of the usage start. */
const PERIOD = `coalesce(nullif(left(bill_billing_period_start_date, 7), ''), strftime(${timestamp('line_item_usage_start_date')}, '%Y-%m'))`;

export const STAGE_PERIODS_SQL = `
SELECT DISTINCT coalesce(bill_payer_account_id, '') AS payer, ${PERIOD} AS period
FROM bill_stage WHERE ${IS_BEDROCK} AND ${INVALID_REASON} IS NULL ORDER BY payer, period`;

/** The distinct facts a classification needs (usage type and what the product map says). */
export const STAGE_KEYS_SQL = `
SELECT DISTINCT coalesce(line_item_usage_type, '') AS usage_type, line_item_line_item_type AS line_item_type,
  ${SERVICENAME('product')} AS servicename,
  coalesce(json_extract_string(product, '$.model'), '') AS product_model,
  coalesce(product_region_code, json_extract_string(product, '$.region'), '') AS region_code,
  coalesce(pricing_unit, '') AS pricing_unit
FROM bill_stage WHERE ${IS_BEDROCK} AND ${INVALID_REASON} IS NULL`;

export const CLASS_TABLE_SQL = (path: string) => `
CREATE OR REPLACE TEMP TABLE bill_classes AS SELECT * FROM read_json(${lit(path)}, format = 'newline_delimited',
  columns = {usage_type: 'VARCHAR', line_item_type: 'VARCHAR', servicename: 'VARCHAR', product_model: 'VARCHAR',
    region_code: 'VARCHAR', pricing_unit: 'VARCHAR', classification: 'VARCHAR', reason: 'VARCHAR', region: 'VARCHAR',
    model: 'VARCHAR', billing_model: 'VARCHAR', token_class: 'VARCHAR', tier: 'VARCHAR', scope: 'VARCHAR',
    long_context: 'BOOLEAN', unit_tokens: 'BIGINT'})`;

/** A payer's billing period is replaced as a whole (several payers' exports can share a ledger). */
export const DELETE_PERIODS_SQL = (periods: readonly { payer: string; period: string }[]) =>
  `DELETE FROM bill_lines WHERE (coalesce(payer_account, ''), billing_period) IN (${periods
    .map((p) => `(${lit(p.payer)}, ${lit(p.period)})`)
    .join(', ')})`;

export const INSERT_BILL_SQL = `
INSERT INTO bill_lines
SELECT ${PERIOD}, s.source, s.source_row, s.bill_billing_entity, s.bill_payer_account_id, s.line_item_usage_account_id,
  ${timestamp('s.line_item_usage_start_date')}, ${timestamp('s.line_item_usage_end_date')}, s.line_item_product_code,
  s.line_item_usage_type, s.line_item_operation, s.line_item_line_item_type, s.line_item_resource_id,
  s.line_item_line_item_description, ${decimal('s.line_item_usage_amount')}, s.pricing_unit,
  ${picos('s.line_item_unblended_cost')}, ${picos('s.line_item_net_unblended_cost')},
  ${picos('s.pricing_public_on_demand_cost')}, s.line_item_currency_code,
  c.classification, c.reason, c.region, c.model, c.billing_model, c.token_class, c.tier, c.scope, c.long_context,
  CASE WHEN c.unit_tokens IS NOT NULL THEN CAST(round(${decimal('s.line_item_usage_amount')} * c.unit_tokens) AS BIGINT) END,
  s.line_item_iam_principal,
  CAST(json_merge_patch(coalesce(s.resource_tags, '{}'), coalesce(s.tags, '{}')) AS VARCHAR), s.product,
  now()::TIMESTAMP
FROM bill_stage s
JOIN bill_classes c ON c.usage_type = coalesce(s.line_item_usage_type, '')
  AND c.line_item_type = s.line_item_line_item_type
  AND c.servicename = ${SERVICENAME('s.product')}
  AND c.product_model = coalesce(json_extract_string(s.product, '$.model'), '')
  AND c.region_code = coalesce(s.product_region_code, json_extract_string(s.product, '$.region'), '')
  AND c.pricing_unit = coalesce(s.pricing_unit, '')
WHERE ${IS_BEDROCK} AND ${INVALID_REASON} IS NULL`;
