/**
 * The demo organisation's bill as an AWS Data Exports CUR 2.0 export (CSV, gzip): daily Usage rows built from the
 * metered records, the EDP discount per usage type and day, one credit, a monthly tax line, and non-Bedrock rows
 * a reader must filter out. Money is exact: pico-USD bigints written as decimal strings.
 *
 * Units (bedrock.md §2.5): rows sold by AWS (`AmazonBedrock`, `AmazonBedrockService`) are metered per 1K tokens
 * (`pricing_unit` "1K tokens", `line_item_usage_amount` = tokens / 1000, the rate per 1K tokens); AWS Marketplace
 * `-Units` rows per token (`pricing_unit` "Units", amount = tokens, the rate per token). Either way amount × rate
 * = cost exactly.
 */
import { createHash } from 'node:crypto';
import { formatUsd, type Picos } from '../core/index.ts';
import { TOKEN_CLASSES, type TokenClass } from '../price/index.ts';
import { decimal, percentOf, percentToCent, usdRate } from './decimal.ts';
import { CREDIT_PICOS, EDP_PERCENT, TAX_PERCENT } from './discrepancies.ts';
import type { Meter, UsageCell } from './meter.ts';
import {
  ACCOUNTS,
  APPLICATION_PROFILE,
  DEMO_BUCKET,
  MODELS,
  type ModelKey,
  PAYER_ACCOUNT,
} from './organisation.ts';
import {
  BILLING,
  type BillingSpec,
  featureOf,
  INFERENCE_TYPE,
  marketplaceProductCode,
  marketplaceServicename,
  regionCode,
  usageType,
} from './products.ts';
import { DAY_MS } from './rhythm.ts';

export const CUR_EXPORT = 'tokenledger-demo';

export const CUR_COLUMNS = [
  'bill_billing_entity',
  'bill_billing_period_start_date',
  'bill_billing_period_end_date',
  'bill_payer_account_id',
  'line_item_usage_account_id',
  'line_item_usage_start_date',
  'line_item_usage_end_date',
  'line_item_product_code',
  'line_item_usage_type',
  'line_item_operation',
  'line_item_line_item_type',
  'line_item_resource_id',
  'line_item_legal_entity',
  'line_item_line_item_description',
  'line_item_usage_amount',
  'pricing_unit',
  'line_item_unblended_rate',
  'line_item_unblended_cost',
  'line_item_net_unblended_cost',
  'line_item_currency_code',
  'pricing_public_on_demand_cost',
  'pricing_public_on_demand_rate',
  'product_product_family',
  'product_servicecode',
  'product_region_code',
  'product',
  'resource_tags',
  'tags',
  'line_item_iam_principal',
] as const;
export type CurColumn = (typeof CUR_COLUMNS)[number];

export type LineType = 'Usage' | 'EdpDiscount' | 'Credit' | 'Tax';
const TYPE_ORDER: Readonly<Record<LineType, number>> = {
  Usage: 0,
  EdpDiscount: 1,
  Credit: 2,
  Tax: 3,
};

/** One line item, with its money as pico-USD until it is written. */
export interface Line {
  readonly type: LineType;
  readonly entity: 'AWS' | 'AWS Marketplace';
  readonly account: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly productCode: string;
  readonly usageType: string;
  readonly operation: string;
  readonly resource: string;
  readonly legalEntity: string;
  readonly description: string;
  readonly amount: string;
  readonly unit: string;
  readonly rate: string;
  readonly unblended: Picos;
  readonly net: Picos;
  readonly publicCost: Picos;
  readonly publicRate: string;
  readonly family: string;
  readonly servicecode: string;
  readonly regionCode: string;
  /** JSON objects (CUR 2.0 map columns). */
  readonly product: string;
  readonly resourceTags: string;
  readonly tags: string;
  readonly principal: string;
  /** An Amazon Bedrock line (any seller); a reader finds it by family, product name or usage type. */
  readonly bedrock: boolean;
}

export interface Bill {
  /** Every line, sorted, by billing period `YYYY-MM`. */
  readonly periods: ReadonlyMap<string, readonly Line[]>;
  /** Tax per billing period and the base it was computed on. */
  readonly taxes: readonly { period: string; base: Picos; amount: Picos }[];
  readonly credit: { readonly dayMs: number; readonly account: string; readonly amount: Picos };
}

const AWS_LEGAL_ENTITY = 'Amazon Web Services, Inc.';
const BEDROCK_FAMILY = 'Amazon Bedrock';
const SERVICE_NAME: Readonly<Record<'AmazonBedrock' | 'AmazonBedrockService', string>> = {
  AmazonBedrock: 'Amazon Bedrock',
  AmazonBedrockService: 'Amazon Bedrock Service',
};
const METER_TEXT: Readonly<Record<TokenClass, string>> = {
  input: 'input tokens',
  output: 'output tokens',
  cacheRead: 'cache read input tokens',
  cacheWrite5m: 'cache write input tokens',
  cacheWrite1h: 'cache write 1h input tokens',
};

const MODEL_KEYS: ReadonlyMap<string, ModelKey> = new Map(
  (Object.entries(MODELS) as [ModelKey, { id: string }][]).map(([key, m]) => [m.id, key]),
);

export function billingSpecOf(modelId: string): BillingSpec {
  const key = MODEL_KEYS.get(modelId);
  if (key === undefined) throw new RangeError(`demo: no billing spec for ${modelId}`);
  return BILLING[key];
}

/** A JSON object with sorted keys, as the CUR 2.0 map columns are written here. */
function mapColumn(entries: Readonly<Record<string, string>>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(entries).sort()) sorted[k] = entries[k] ?? '';
  return JSON.stringify(sorted);
}

export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const isoTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;
export const periodOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

function periodBounds(period: string): { start: number; end: number } {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return { start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) };
}

/** Lines of the Bedrock usage the meter saw: one per usage cell and token class with tokens. */
function bedrockUsage(meter: Meter): Line[] {
  const lines: Line[] = [];
  const meters = new Map<string, MeterText>();
  for (const cell of meter.usage.values()) {
    const spec = billingSpecOf(cell.model.base);
    const rates = meter.rates(cell);
    const tags = cellTags(cell);
    TOKEN_CLASSES.forEach((c, i) => {
      const tokens = cell.tokens[i] ?? 0;
      if (tokens === 0) return;
      const rate = rates[c];
      const id = `${spec.name}|${c}|${cell.model.scope}|${cell.tier}|${cell.longContext}|${cell.region}|${rate}`;
      let text = meters.get(id);
      if (text === undefined) {
        text = meterText(cell, spec, c, rate);
        meters.set(id, text);
      }
      lines.push(usageLine(cell, spec, text, tokens, rate, tags));
    });
  }
  return lines;
}

/** `resource_tags` (`user_<key>`) and `tags` (resource tags as they are, `iamPrincipal/<key>`) of a cell. */
function cellTags(cell: UsageCell): { resourceTags: string; tags: string } {
  const resourceTags: Record<string, string> = {};
  const tags: Record<string, string> = {};
  if (cell.resource !== null) {
    for (const [k, v] of Object.entries(APPLICATION_PROFILE.tags as Record<string, string>)) {
      resourceTags[`user_${k.replace(/\W/g, '_')}`] = v;
      tags[k] = v;
    }
  }
  if (cell.team !== null) tags['iamPrincipal/team'] = cell.team;
  return { resourceTags: mapColumn(resourceTags), tags: mapColumn(tags) };
}

/** What rows of one model, token class, scope, tier, Region and rate share: the names and the product map. */
interface MeterText {
  readonly usageType: string;
  readonly productCode: string;
  readonly description: string;
  readonly perUnit: string;
  readonly product: string;
}

function meterText(cell: UsageCell, spec: BillingSpec, c: TokenClass, rate: Picos): MeterText {
  const region = regionCode(cell.region);
  const type = usageType(spec, {
    region: cell.region,
    tokenClass: c,
    scope: cell.model.scope,
    tier: cell.tier,
    longContext: cell.longContext,
  });
  const servicename =
    spec.seller.kind === 'aws'
      ? SERVICE_NAME[spec.seller.productCode]
      : marketplaceServicename(spec);
  const aws = spec.seller.kind === 'aws';
  const perUnit = aws ? usdRate(rate * 1000n) : usdRate(rate);
  const scope = cell.model.scope === 'in-region' ? '' : ` (cross-Region ${cell.model.scope})`;
  const tier = cell.tier === 'standard' ? '' : ` ${cell.tier} tier`;
  return {
    usageType: type,
    productCode:
      spec.seller.kind === 'aws' ? spec.seller.productCode : marketplaceProductCode(servicename),
    description: aws
      ? `$${perUnit} per 1K ${METER_TEXT[c]} for ${spec.model}${scope}${tier} in ${region.name}`
      : `${servicename} ${type.slice(type.indexOf('_') + 1, -'-Units'.length)} units`,
    perUnit,
    product: mapColumn({
      feature: featureOf(cell.tier),
      inference_type: INFERENCE_TYPE[c],
      model: spec.model,
      product_name: servicename,
      provider: spec.provider,
      region: cell.region,
      servicename,
    }),
  };
}

function usageLine(
  cell: UsageCell,
  spec: BillingSpec,
  text: MeterText,
  tokens: number,
  rate: Picos,
  tags: { resourceTags: string; tags: string },
): Line {
  const unblended = BigInt(tokens) * rate;
  const aws = spec.seller.kind === 'aws';
  const discount = aws ? percentOf(unblended, EDP_PERCENT) : 0n;
  return {
    type: 'Usage',
    entity: aws ? 'AWS' : 'AWS Marketplace',
    account: cell.account,
    startMs: cell.dayMs,
    endMs: cell.dayMs + DAY_MS,
    productCode: text.productCode,
    usageType: text.usageType,
    operation: cell.streaming ? 'InvokeModelStreamingInference' : 'InvokeModelInference',
    resource: cell.resource ?? '',
    legalEntity: spec.seller.kind === 'aws' ? AWS_LEGAL_ENTITY : spec.seller.legalEntity,
    description: text.description,
    amount: aws ? decimal(BigInt(tokens), 3) : String(tokens),
    unit: aws ? '1K tokens' : 'Units',
    rate: text.perUnit,
    unblended,
    net: unblended - discount,
    publicCost: unblended,
    publicRate: text.perUnit,
    family: BEDROCK_FAMILY,
    servicecode: aws ? text.productCode : '',
    regionCode: cell.region,
    product: text.product,
    resourceTags: tags.resourceTags,
    tags: tags.tags,
    principal: cell.principal,
    bedrock: true,
  };
}

interface Other {
  readonly account: string;
  readonly region: string;
  readonly productCode: 'AmazonEC2' | 'AmazonS3';
  readonly usageType: string;
  readonly operation: string;
  readonly family: string;
  readonly unit: string;
  /** Units per day in thousandths, from the day's index in the period. */
  readonly milli: (day: number) => bigint;
  /** USD per unit. */
  readonly rate: string;
  readonly resource: string;
  readonly description: string;
}

const EC2 = 'Amazon Elastic Compute Cloud';
const S3 = 'Amazon Simple Storage Service';
/** The organisation's other AWS spend: EC2 behind the apps, and the S3 bucket the invocation logs land in. */
const OTHER_USAGE: readonly Other[] = [
  {
    account: ACCOUNTS.prod,
    region: 'us-east-1',
    productCode: 'AmazonEC2',
    usageType: 'USE1-BoxUsage:m6i.large',
    operation: 'RunInstances',
    family: 'Compute Instance',
    unit: 'Hrs',
    milli: () => 96_000n,
    rate: '0.096',
    resource: '',
    description: '$0.096 per On Demand Linux m6i.large Instance Hour',
  },
  {
    account: ACCOUNTS.prod,
    region: 'us-east-1',
    productCode: 'AmazonS3',
    usageType: 'USE1-TimedStorage-ByteHrs',
    operation: 'StandardStorage',
    family: 'Storage',
    unit: 'GB-Mo',
    milli: (day) => 4_000n + 25n * BigInt(day),
    rate: '0.023',
    resource: DEMO_BUCKET,
    description: '$0.023 per GB - first 50 TB / month of storage used',
  },
  {
    account: ACCOUNTS.prod,
    region: 'us-east-1',
    productCode: 'AmazonS3',
    usageType: 'USE1-Requests-Tier1',
    operation: 'PutObject',
    family: 'API Request',
    unit: 'Requests',
    milli: (day) => (9_000n + 40n * BigInt(day)) * 1000n,
    rate: '0.000005',
    resource: DEMO_BUCKET,
    description: '$0.005 per 1,000 PUT, COPY, POST, or LIST requests',
  },
  {
    account: ACCOUNTS.ci,
    region: 'us-west-2',
    productCode: 'AmazonEC2',
    usageType: 'USW2-BoxUsage:c6i.2xlarge',
    operation: 'RunInstances',
    family: 'Compute Instance',
    unit: 'Hrs',
    milli: () => 24_000n,
    rate: '0.34',
    resource: '',
    description: '$0.34 per On Demand Linux c6i.2xlarge Instance Hour',
  },
  {
    account: ACCOUNTS.sandbox,
    region: 'us-west-2',
    productCode: 'AmazonEC2',
    usageType: 'USW2-BoxUsage:g5.xlarge',
    operation: 'RunInstances',
    family: 'Compute Instance',
    unit: 'Hrs',
    milli: (day) => BigInt(6_000 + (day % 5) * 1_500),
    rate: '1.006',
    resource: '',
    description: '$1.006 per On Demand Linux g5.xlarge Instance Hour',
  },
];

function otherUsage(firstDayMs: number, endMs: number): Line[] {
  const lines: Line[] = [];
  for (let dayMs = firstDayMs, day = 0; dayMs < endMs; dayMs += DAY_MS, day++) {
    for (const o of OTHER_USAGE) {
      const milli = o.milli(day);
      const rate = usdPicos(o.rate);
      const unblended = (milli * rate) / 1000n;
      const name = o.productCode === 'AmazonEC2' ? EC2 : S3;
      lines.push({
        type: 'Usage',
        entity: 'AWS',
        account: o.account,
        startMs: dayMs,
        endMs: dayMs + DAY_MS,
        productCode: o.productCode,
        usageType: o.usageType,
        operation: o.operation,
        resource: o.resource,
        legalEntity: AWS_LEGAL_ENTITY,
        description: o.description,
        amount: decimal(milli, 3),
        unit: o.unit,
        rate: o.rate,
        unblended,
        net: unblended - percentOf(unblended, EDP_PERCENT),
        publicCost: unblended,
        publicRate: o.rate,
        family: o.family,
        servicecode: o.productCode,
        regionCode: o.region,
        product: mapColumn({ product_name: name, region: o.region, servicename: name }),
        resourceTags: '{}',
        tags: '{}',
        principal: '',
        bedrock: false,
      });
    }
  }
  return lines;
}

const usdPicos = (usd: string): Picos => {
  const [whole = '0', frac = ''] = usd.split('.');
  return BigInt(whole) * 1_000_000_000_000n + BigInt(frac.padEnd(12, '0'));
};

/** The EDP per (day, account, usage type, operation): the sum of its Usage lines' discounts, as a negative line. */
function edpLines(usage: readonly Line[]): Line[] {
  const groups = new Map<string, { first: Line; discount: Picos }>();
  for (const line of usage) {
    if (line.entity !== 'AWS') continue;
    const id = `${line.startMs}|${line.account}|${line.usageType}|${line.operation}`;
    const g = groups.get(id);
    const discount = line.unblended - line.net;
    if (g === undefined) groups.set(id, { first: line, discount });
    else g.discount += discount;
  }
  return [...groups.values()].map(({ first, discount }) => ({
    ...first,
    type: 'EdpDiscount' as const,
    resource: '',
    description: `Enterprise Discount Program discount (${EDP_PERCENT}%)`,
    amount: '0',
    rate: '',
    unblended: -discount,
    // The usage lines' net cost already has the discount; counting it again here would subtract it twice.
    net: 0n,
    publicCost: 0n,
    publicRate: '',
    resourceTags: '{}',
    tags: '{}',
    principal: '',
  }));
}

function adjustment(
  type: 'Credit' | 'Tax',
  account: string,
  startMs: number,
  endMs: number,
  amount: Picos,
  description: string,
): Line {
  return {
    type,
    entity: 'AWS',
    account,
    startMs,
    endMs,
    productCode: 'AmazonBedrock',
    usageType: '',
    operation: '',
    resource: '',
    legalEntity: AWS_LEGAL_ENTITY,
    description,
    amount: '0',
    unit: '',
    rate: '',
    unblended: amount,
    net: amount,
    publicCost: type === 'Tax' ? amount : 0n,
    publicRate: '',
    family: '',
    servicecode: 'AmazonBedrock',
    regionCode: '',
    product: mapColumn({ product_name: 'Amazon Bedrock', servicename: 'Amazon Bedrock' }),
    resourceTags: '{}',
    tags: '{}',
    principal: '',
    bedrock: true,
  };
}

/** Every line of the bill for the period [startMs, endMs), by billing period. */
export function buildBill(meter: Meter, startMs: number, endMs: number): Bill {
  const firstDayMs = Math.floor(startMs / DAY_MS) * DAY_MS;
  const usage = [...bedrockUsage(meter), ...otherUsage(firstDayMs, endMs)];
  const lines = [...usage, ...edpLines(usage)];

  const creditDay = Math.floor((endMs - 1) / DAY_MS) * DAY_MS;
  const credit = { dayMs: creditDay, account: ACCOUNTS.prod, amount: CREDIT_PICOS };
  lines.push(
    adjustment(
      'Credit',
      credit.account,
      creditDay,
      creditDay + DAY_MS,
      CREDIT_PICOS,
      'AWS Promotional Credit - Amazon Bedrock',
    ),
  );

  const byPeriod = new Map<string, Line[]>();
  for (const line of lines) {
    const p = periodOf(line.startMs);
    const list = byPeriod.get(p);
    if (list) list.push(line);
    else byPeriod.set(p, [line]);
  }
  const taxes: { period: string; base: Picos; amount: Picos }[] = [];
  for (const [period, list] of [...byPeriod].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let base = 0n;
    for (const l of list) if (l.type === 'Usage' && l.bedrock && l.entity === 'AWS') base += l.net;
    const amount = percentToCent(base, TAX_PERCENT);
    const { start, end } = periodBounds(period);
    taxes.push({ period, base, amount });
    list.push(
      adjustment(
        'Tax',
        PAYER_ACCOUNT,
        start,
        end,
        amount,
        `Tax for product code AmazonBedrock (${TAX_PERCENT}%)`,
      ),
    );
  }
  const periods = new Map<string, Line[]>();
  for (const [period, list] of [...byPeriod].sort(([a], [b]) => (a < b ? -1 : 1))) {
    periods.set(period, sortLines(list));
  }
  return { periods, taxes, credit };
}

function sortLines(lines: Line[]): Line[] {
  const keyed = lines.map((l) => ({
    l,
    k: [
      String(l.startMs).padStart(15, '0'),
      TYPE_ORDER[l.type],
      l.account,
      l.productCode,
      l.usageType,
      l.operation,
      l.principal,
      l.resource,
    ].join('|'),
  }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.l);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV fields of the strings many rows share (maps, descriptions, dates), escaped once. */
class FieldCache {
  private readonly fields = new Map<string, string>();
  private readonly times = new Map<number, string>();
  field(text: string): string {
    let out = this.fields.get(text);
    if (out === undefined) {
      out = csvField(text);
      this.fields.set(text, out);
    }
    return out;
  }
  time(ms: number): string {
    let out = this.times.get(ms);
    if (out === undefined) {
      out = isoTime(ms);
      this.times.set(ms, out);
    }
    return out;
  }
}

/**
 * One CSV row, fields in CUR_COLUMNS order. Fields many rows share are escaped once (FieldCache); numbers, dates,
 * codes and usage types never need quoting.
 */
function row(line: Line, period: string, cache: FieldCache): string {
  const { start, end } = periodBounds(period);
  const f = (text: string) => cache.field(text);
  return [
    line.entity,
    cache.time(start),
    cache.time(end),
    PAYER_ACCOUNT,
    line.account,
    cache.time(line.startMs),
    cache.time(line.endMs),
    line.productCode,
    line.usageType,
    line.operation,
    line.type,
    csvField(line.resource),
    f(line.legalEntity),
    f(line.description),
    line.amount,
    line.unit,
    line.rate,
    formatUsd(line.unblended),
    formatUsd(line.net),
    'USD',
    formatUsd(line.publicCost),
    line.publicRate,
    f(line.family),
    line.servicecode,
    line.regionCode,
    f(line.product),
    f(line.resourceTags),
    f(line.tags),
    csvField(line.principal),
  ].join(',');
}

/** The CSV text of one billing period's data file. */
export function curCsv(period: string, lines: readonly Line[]): string {
  const out = [CUR_COLUMNS.join(',')];
  const cache = new FieldCache();
  for (const line of lines) out.push(row(line, period, cache));
  return `${out.join('\n')}\n`;
}

/** Where Data Exports puts a period's data file and manifest, relative to the bucket root. */
export function curKeys(period: string): { data: string; manifest: string } {
  const base = `cur/${CUR_EXPORT}`;
  return {
    data: `${base}/data/BILLING_PERIOD=${period}/${CUR_EXPORT}-00001.csv.gz`,
    manifest: `${base}/metadata/BILLING_PERIOD=${period}/${CUR_EXPORT}-Manifest.json`,
  };
}

const COLUMN_TYPES: Readonly<Partial<Record<CurColumn, string>>> = {
  bill_billing_period_start_date: 'timestamp',
  bill_billing_period_end_date: 'timestamp',
  line_item_usage_start_date: 'timestamp',
  line_item_usage_end_date: 'timestamp',
  line_item_usage_amount: 'double',
  line_item_unblended_rate: 'string',
  line_item_unblended_cost: 'double',
  line_item_net_unblended_cost: 'double',
  pricing_public_on_demand_cost: 'double',
  product: 'map<string,string>',
  resource_tags: 'map<string,string>',
  tags: 'map<string,string>',
};

/** A small Manifest.json in the shape Data Exports writes beside each billing period. */
export function curManifest(period: string, csv: string, rows: number): string {
  const digest = createHash('sha256').update(csv).digest('hex');
  const executionId = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
  const { start, end } = periodBounds(period);
  const manifest = {
    exportArn: `arn:aws:bcm-data-exports:us-east-1:${PAYER_ACCOUNT}:export/${CUR_EXPORT}-7d4e1c2a-5b8f-4e3a-9c61-2f0a8d3b6e17`,
    exportName: CUR_EXPORT,
    executionId,
    billingPeriod: { start: isoTime(start), end: isoTime(end) },
    query: {
      table: 'COST_AND_USAGE_REPORT',
      tableConfigurations: {
        TIME_GRANULARITY: 'DAILY',
        INCLUDE_RESOURCES: 'TRUE',
        INCLUDE_IAM_PRINCIPAL_DATA: 'TRUE',
        INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY: 'TRUE',
        INCLUDE_SPLIT_COST_ALLOCATION_DATA: 'FALSE',
      },
    },
    format: 'TEXT_OR_CSV',
    compression: 'GZIP',
    dataFiles: [`s3://${DEMO_BUCKET}/${curKeys(period).data}`],
    recordCount: rows,
    columns: CUR_COLUMNS.map((name) => ({ name, type: COLUMN_TYPES[name] ?? 'string' })),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
