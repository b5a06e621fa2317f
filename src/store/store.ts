/**
 * The Store contract (one contract suite: store.contract.ts). Implementations: DuckDB (embedded default).
 * - writeUsage is idempotent on requestId: a record already stored (from any source) is counted as a duplicate,
 *   never written twice. Records, rejects and the checkpoint of one call commit together or not at all, so a
 *   killed ingest resumes exactly where its last commit ended.
 * - Money is pico-USD bigint in and out.
 */
import {
  AppError,
  type AttributedRecord,
  DIMENSIONS,
  OUT_OF_MEMORY,
  type Picos,
  type Reject,
} from '../core/index.ts';

export interface WriteBatch {
  readonly records: readonly AttributedRecord[];
  readonly rejects: readonly Reject[];
  /** Saved in the same transaction as the records (a later value for the same key replaces an earlier one). */
  readonly checkpoints: readonly { readonly key: string; readonly value: string }[];
}

/**
 * Usage records already encoded in the store's row format (`encodeUsage`, or the gateway's rows as it spooled them),
 * waiting in a file that `Store.writeEncodedUsage` loads and then deletes.
 */
export interface EncodedUsage {
  /** Null when no record was given. */
  readonly file: string | null;
  /** Records encoded, in-batch repeats of a request id included. */
  readonly records: number;
  /** Rows in the file: the first copy of each request id (by source, then line). */
  readonly rows: number;
  /** Epoch ms of the earliest and latest row (dedupe looks around this span: `writeEncodedUsage`). */
  readonly minTs: number;
  readonly maxTs: number;
}

export interface WriteResult {
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejects: number;
}

/** Group-by keys a report may use. `meta:<key>` groups by any request-metadata key. */
export const FIXED_GROUP_KEYS = [
  ...DIMENSIONS,
  'model',
  'model_id',
  'profile',
  'scope',
  'tier',
  'region',
  'inference_region',
  'account',
  'operation',
  'identity',
  'error_code',
  'status',
  // One row per call: `report --by request_id --limit 10` lists the costliest calls (then `explain` one).
  'request_id',
  'quarter_hour',
  'hour',
  'day',
  'week',
  'month',
] as const;
export type FixedGroupKey = (typeof FIXED_GROUP_KEYS)[number];
export type GroupKey = FixedGroupKey | `meta:${string}`;

export interface UsageQuery {
  readonly groupBy: readonly GroupKey[];
  /** Inclusive lower bound, epoch ms. */
  readonly since?: number;
  /** Exclusive upper bound, epoch ms. */
  readonly until?: number;
  readonly where: readonly { readonly key: GroupKey; readonly value: string }[];
  readonly limit?: number;
  /**
   * `list` (default): the ledger's estimates. `billed`: the bill's dollars as `reconcile` allocated them, plus the
   * billed usage no record carries (attributed from the bill); records no reconciled bill covers count as unpriced.
   */
  readonly cost?: 'list' | 'billed';
}

export interface UsageRow {
  readonly keys: Readonly<Record<string, string | null>>;
  readonly requests: number;
  readonly errors: number;
  readonly inputTokens: bigint;
  readonly outputTokens: bigint;
  readonly cacheReadTokens: bigint;
  readonly cacheWriteTokens: bigint;
  /** Sum over priced records. */
  readonly costPicos: Picos;
  /** Records in the group with no price (flag `unpriced`): their tokens are counted, their cost is not. */
  readonly unpricedRequests: number;
}

export interface UsageResult {
  readonly rows: readonly UsageRow[];
  readonly total: UsageRow;
}

export interface UnpricedModel {
  readonly modelId: string;
  readonly model: string;
  readonly region: string;
  readonly requests: number;
  readonly tokens: bigint;
}

export interface StoredRecord {
  readonly [column: string]: unknown;
}

export interface StoredReject {
  readonly uri: string;
  readonly line: number;
  readonly reason: string;
  readonly excerpt: string;
}

export interface Store {
  migrate(): Promise<void>;
  writeUsage(batch: WriteBatch): Promise<WriteResult>;
  /**
   * `writeUsage` for records encoded elsewhere (`encodeUsage`); the file is deleted, written or not. Dedupe looks
   * `dedupeMarginMs` either side of the batch's span (default a day, as `writeUsage`): a writer whose duplicates
   * can only be close in time (the gateway: a replayed spool batch has the same times; the invocation log of the
   * same call is stamped with its start) narrows it, so that a busy day's ledger is not scanned for every batch.
   */
  writeEncodedUsage(
    /** With the rejects and checkpoints to commit with the rows, as `writeUsage`'s. */
    batch: EncodedUsage & Partial<Pick<WriteBatch, 'rejects' | 'checkpoints'>>,
    options?: {
      readonly dedupeMarginMs?: number;
      /**
       * The batch's own source (`gateway`), when its rows can repeat only as exact copies of rows from it (a
       * replayed spool batch: same times). Rows of that source are then looked for within the batch's own span only,
       * and rows of other sources within the margin only when the ledger may hold some there (the store keeps the
       * latest time of other sources' rows): the margin's window grows with the call rate, and scanning it for
       * every batch did (28 → 56 ms per 5,000 rows with 1M rows in it).
       */
      readonly ownSource?: string;
    },
  ): Promise<WriteResult>;
  /**
   * Groups (at most `limit`) and the total over everything the filters select. Groups come by cost descending; with a
   * time key (hour, day, week, month) among them, in time order first (a time series reads in order), and a limit
   * keeps the latest periods. A time key in `where` compares as its rows show it (`2026-03`, `2026-03-02T10:00Z`).
   */
  queryUsage(query: UsageQuery): Promise<UsageResult>;
  /** Up to `limit` distinct values of a dimension (as text, nulls left out, sorted) in what the filters select. */
  distinctValues(
    key: GroupKey,
    query: Omit<UsageQuery, 'groupBy'>,
    limit: number,
  ): Promise<readonly string[]>;
  unpricedModels(query: Omit<UsageQuery, 'groupBy'>): Promise<readonly UnpricedModel[]>;
  getRecord(requestId: string): Promise<StoredRecord | null>;
  getCheckpoint(key: string): Promise<string | undefined>;
  /** Every checkpoint whose key starts with the prefix. */
  checkpoints(prefix: string): Promise<ReadonlyMap<string, string>>;
  setCheckpoint(key: string, value: string): Promise<void>;
  rejects(limit: number): Promise<readonly StoredReject[]>;
  /** Re-prices stored records with maps the pipeline resolves (see Repricer). */
  readonly reprice: Repricer;
  /** The bill (CUR): staged by the store, classified by the pipeline (see BillStore). */
  readonly bill: BillStore;
  readonly reconciler: Reconciler;
  readonly metrics: MetricsStore;
  readonly telemetry: TelemetryStore;
  /** The gateway's virtual keys (hashed). */
  readonly gatewayKeys: GatewayKeyStore;
  close(): Promise<void>;
  /** Present when the store can load invocation-log files natively (see BulkLogLoader). */
  readonly bulkLogs?: BulkLogLoader;
}

/**
 * Optional capability of stores that can read invocation-log NDJSON files natively (DuckDB): the pipeline resolves
 * the distinct keys (model ids, price keys, identities) with the same normalise/price/attribute code as the
 * row-by-row path and the store joins and inserts. Files with any row the row-by-row parser would treat
 * differently are returned in `invalidFiles` and must take the row-by-row path.
 */
export interface BulkLogLoader {
  /**
   * Starts a run (one ingest): `metadataKeys` are the request-metadata keys attribution reads (rows are grouped by
   * their values only). `commitRows`: rows after which the run commits (default: the store's). One run at a time: a
   * second waits until the first has finished or aborted.
   */
  start(
    metadataKeys: readonly string[],
    options?: { readonly commitRows?: number },
  ): Promise<BulkRun>;
}

/**
 * A run stages groups of files and inserts them, one group at a time, in staging order (request-id dedupe sees
 * every earlier group). The next group may be staged while the previous one inserts. Inserts go into transactions
 * that span many groups (large transactions write compressed row groups instead of a WAL of every row) and commit
 * with their checkpoints, so an interrupted run resumes after its last commit.
 */
export interface BulkRun {
  /** Stages a group; its keys are those not yet given to this run. */
  stage(files: readonly BulkFile[]): Promise<StagedBatch>;
  /** Commits what is inserted and ends the run. */
  finish(): Promise<void>;
  /** Rolls back what is not committed yet and ends the run (a no-op once it has ended). */
  abort(): Promise<void>;
}

/**
 * A file of a bulk group: the local file the store reads, and where it came from (file path or s3:// URI), which its
 * rows are recorded under (`source`, the batch's file lists). The same unless the file is a local copy.
 */
export interface BulkFile {
  readonly path: string;
  readonly source: string;
}

export interface BulkInsertResult extends WriteResult {
  readonly read: number;
  /**
   * The run committed after this group's last row: this group and every group inserted before it are durable. A
   * failed insert (or commit) rolls back what was inserted since the run's last commit.
   */
  readonly committed: boolean;
  /**
   * The run committed while inserting this group (after its last row, or between two of its parts): every group
   * inserted before it is durable.
   */
  readonly committedEarlier: boolean;
  /** Rows of this group a commit has made durable (all of them when `committed`). */
  readonly committedRows: number;
}

/** A bulk insert that ran out of memory; the run is rolled back to its last commit. */
export class BulkOutOfMemory extends AppError {
  /**
   * What a commit between two parts of the failed group made durable before the failure: the groups inserted before
   * it (`committedEarlier`), and `committedRows` of its own, which are in the ledger though the group is not.
   */
  readonly committed: Pick<BulkInsertResult, 'committedEarlier' | 'committedRows'>;
  constructor(
    message: string,
    committed: Pick<BulkInsertResult, 'committedEarlier' | 'committedRows'>,
    cause: unknown,
  ) {
    super(OUT_OF_MEMORY, message, { cause });
    this.committed = committed;
  }
}

export interface StagedBatch extends BulkStage {
  /**
   * Inserts the valid files' rows with the resolved maps and saves the checkpoints, in the run's transaction: durable
   * at the run's next commit (at the latest when it finishes).
   */
  insert(maps: BulkMaps, checkpoints: WriteBatch['checkpoints']): Promise<BulkInsertResult>;
  /**
   * Drops the batch without writing; its keys go back to be handed out again. Batches staged after it were not given
   * those keys: discard them too (and stage them again), else their insert fails for want of a map.
   */
  discard(): Promise<void>;
}

/**
 * Telemetry does not say which Region served a call: the receiver prices API-request events in this Region, and a
 * client-only ledger row says so (so that `reprice` prices it the same way). An event that names no AWS account is
 * priced, and stored, under this account.
 */
export const TELEMETRY_REGION = 'us-east-1';
export const TELEMETRY_UNKNOWN_ACCOUNT = 'unknown';

/** Identifies a price key the same way on both sides of the bulk path. */
export const priceKeyId = (k: PriceKey): string =>
  `${k.modelId}\u0000${k.region}\u0000${k.tier ?? ''}\u0000${k.account}\u0000${k.day}`;

/** What a record's price depends on besides its tokens: the rate card is the same for every record of a key. */
export interface PriceKey {
  readonly modelId: string;
  readonly region: string;
  /** null: the log did not say (priced as standard, flagged). */
  readonly tier: string | null;
  /** Discounts can be per account. */
  readonly account: string;
  /** UTC day, YYYY-MM-DD: prices change at most daily. */
  readonly day: string;
}

export interface BulkStage {
  readonly invalidFiles: readonly string[];
  /** Rows of the valid files per price key, to count unpriced rows without another scan. */
  readonly priceKeyRows: ReadonlyMap<string, number>;
  readonly files: readonly {
    readonly file: string;
    readonly rows: number;
    readonly lines: number;
  }[];
  readonly models: readonly string[];
  readonly priceKeys: readonly PriceKey[];
  readonly attributionKeys: readonly {
    readonly identityArn: string | null;
    /** JSON array of the values of `metadataKeys` (null where absent), or null without request metadata. */
    readonly mdKey: string | null;
    /** The model id when it is an application inference profile (whose tags attribute), else null. */
    readonly aip: string | null;
  }[];
}

export interface BulkModelRow {
  readonly model_id: string;
  readonly model: string;
  readonly profile: string | null;
  readonly scope: string;
  readonly geo: string | null;
  readonly model_form: string;
  readonly unresolved: boolean;
}

type RateColumn = `${'r' | 'lc'}_${'in' | 'out' | 'read' | 'w5' | 'w1'}`;

/** Rates in pico-USD per token as decimal strings (null: no rate for that class). */
export type BulkPriceRow = { readonly [K in RateColumn]: string | null } & {
  readonly model_id: string;
  readonly region: string;
  readonly tier: string | null;
  readonly account: string;
  readonly day: string;
  readonly price_id: string | null;
  readonly tier_unknown: boolean;
  readonly unpriced: boolean;
  readonly early: boolean;
  readonly regional: boolean;
  readonly override: boolean;
  readonly lc_threshold: number | null;
  /** The compounded discount factor num/den (null: no discount). */
  readonly disc_num: string | null;
  readonly disc_den: string | null;
};

export interface BulkAttributionRow {
  readonly identity_arn: string | null;
  readonly md_key: string | null;
  readonly aip: string | null;
  readonly team: string;
  readonly user: string;
  readonly feature: string;
  readonly project: string;
  readonly environment: string;
  readonly cost_center: string;
  readonly application: string;
  readonly session: string;
  readonly attribution: string;
}

/**
 * Recomputes stored costs after a catalog, override or configuration change: the store lists the distinct keys of
 * the records in range, the pipeline resolves them with the current normaliser and catalog, the store applies them.
 * Only records whose price changes are written, so a second run changes nothing.
 */
export interface Repricer {
  keys(sinceMs: number): Promise<{ models: readonly string[]; priceKeys: readonly PriceKey[] }>;
  apply(
    maps: Omit<BulkMaps, 'attributions'>,
    sinceMs: number,
    options: { readonly dryRun: boolean },
  ): Promise<RepriceResult>;
}

export interface RepriceResult {
  /** Records in range. */
  readonly records: number;
  readonly changed: number;
  /** Models with at least one changed record, biggest difference first. */
  readonly byModel: readonly {
    readonly model: string;
    readonly records: number;
    readonly changed: number;
    readonly before: Picos;
    readonly after: Picos;
    readonly unpricedBefore: number;
    readonly unpricedAfter: number;
  }[];
  /**
   * Model ids that resolved when stored but do not with the current configuration (an application inference
   * profile missing from it): their records are left as stored, never made unpriced.
   */
  readonly held: readonly { readonly modelId: string; readonly records: number }[];
}

export interface BulkMaps {
  readonly catalogHash: string;
  readonly models: readonly BulkModelRow[];
  readonly prices: readonly BulkPriceRow[];
  readonly attributions: readonly BulkAttributionRow[];
}

/** One CUR data file, already local (the pipeline downloads S3 objects first). */
export interface BillFile {
  readonly path: string;
  /** Where it came from (file path or s3:// URI): named in rejects and stored on every line. */
  readonly source: string;
  readonly format: 'csv' | 'parquet';
}

/** The facts of a Bedrock bill line that decide its classification (the pipeline reads the usage-type grammar). */
export interface BillKey {
  readonly usageType: string;
  readonly lineItemType: string;
  readonly servicename: string;
  readonly productModel: string;
  readonly regionCode: string;
  readonly pricingUnit: string;
}

export interface BillClass extends BillKey {
  /** `tokens`: a per-token usage line; `unknown`: a usage type no grammar reads (kept, counted, shown); `other`. */
  readonly classification: 'tokens' | 'unknown' | 'other';
  readonly reason: string | null;
  readonly region: string | null;
  readonly model: string | null;
  readonly billingModel: string | null;
  readonly tokenClass: string | null;
  readonly tier: string | null;
  readonly scope: string | null;
  readonly longContext: boolean | null;
  /** Tokens per unit of usage_amount (1000 for "1K tokens"); null when the unit is unknown. */
  readonly unitTokens: number | null;
}

export interface BillStage {
  readonly rows: number;
  /** Rows of other services (not Bedrock): read and left out. */
  readonly otherRows: number;
  readonly rejects: readonly Reject[];
  /** Payer accounts' billing periods (YYYY-MM) the files hold: each replaces its stored version on commit. */
  readonly periods: readonly { readonly payer: string; readonly period: string }[];
  readonly keys: readonly BillKey[];
  commit(
    classes: readonly BillClass[],
  ): Promise<{ readonly inserted: number; readonly replaced: number }>;
  discard(): Promise<void>;
}

export interface BillStore {
  stage(files: readonly BillFile[]): Promise<BillStage>;
}

export interface ReconcileGroup {
  readonly account: string;
  readonly region: string;
  readonly model: string;
  readonly scope: string;
  readonly tier: string;
  /** Usage lines (unblended) and the discount lines of the same usage types (negative). */
  readonly billedUsage: Picos;
  readonly discount: Picos;
  readonly estimated: Picos;
  readonly records: number;
  /** null when the bill's pricing unit does not say how many tokens a unit is. */
  readonly billedTokens: bigint | null;
  readonly loggedTokens: bigint;
  /** 1-hour cache writes on each side: logs without bodies show no split (priced as 5-minute writes). */
  readonly billed1hTokens: bigint;
  readonly logged1hTokens: bigint;
  /** Records whose cache TTL the log did not show, and records with no price. */
  readonly ttlUnknown: number;
  readonly unpriced: number;
  readonly daysBilledNotLogged: number;
  readonly daysLoggedNotBilled: number;
  /** Days with records whose billed tokens exceed the logged ones. */
  readonly shortDays: readonly string[];
}

export interface ReconcileData {
  readonly period: string;
  readonly payer: string | null;
  readonly totals: {
    readonly usage: Picos;
    readonly discount: Picos;
    readonly credit: Picos;
    readonly tax: Picos;
    readonly total: Picos;
  };
  readonly groups: readonly ReconcileGroup[];
  /** Lines that belong to no model group: credits, tax, refunds, unknown usage types, unmapped models. */
  readonly other: readonly {
    readonly lineItemType: string;
    readonly classification: string;
    readonly usageType: string;
    readonly reason: string;
    readonly description: string;
    readonly firstDay: number;
    readonly lines: number;
    readonly amount: Picos;
  }[];
  /** Hours with no records for an account and Region while the hours around them have many. */
  readonly quietHours: readonly {
    readonly account: string;
    readonly region: string;
    readonly hour: number;
  }[];
  readonly allocation: {
    readonly toRecords: Picos;
    readonly records: number;
    readonly periodRecords: number;
    readonly billedOnly: Picos;
  } | null;
}

/** A billing period 'YYYY-MM' as its UTC bounds [fromMs, toMs); null when the text is not a month. */
export function periodBounds(
  period: string,
): { readonly fromMs: number; readonly toMs: number } | null {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (m === null) return null;
  const [y, mo] = [Number(m[1]), Number(m[2])];
  return { fromMs: Date.UTC(y, mo - 1, 1), toMs: Date.UTC(y, mo, 1) };
}

/** Ledger and bill side by side, and the allocation of billed dollars to records (see reconcile.sql.ts). */
export interface Reconciler {
  periods(): Promise<readonly string[]>;
  reconcile(period: string, options: { readonly allocate: boolean }): Promise<ReconcileData>;
}

/** A CloudWatch datapoint as stored (the store imports nothing from sources). */
export interface MetricRow {
  readonly region: string;
  /** '' when the source did not say which account. */
  readonly account: string;
  readonly namespace: string;
  readonly metric: string;
  /** '' for account-level metrics (log delivery). */
  readonly modelId: string;
  readonly tier: string;
  readonly stat: string;
  readonly periodSeconds: number;
  readonly at: number;
  readonly value: number;
  readonly source: string;
}

/** An hour in which CloudWatch counted more tokens for an account, Region and model id than the ledger logged. */
export interface CoverageGap {
  readonly account: string;
  readonly region: string;
  readonly modelId: string;
  readonly hour: number;
  readonly metricTokens: bigint;
  readonly loggedTokens: bigint;
}

export interface MetricsStore {
  /** Idempotent: a datapoint seen again replaces itself. */
  write(rows: readonly MetricRow[]): Promise<{ readonly written: number }>;
  /** The stored datapoints with a period start in [from, to). */
  points(from: number, to: number): Promise<readonly MetricRow[]>;
  /** Hourly CloudWatch token sums against the ledger's, and log-delivery failures, in [from, to). */
  coverage(
    from: number,
    to: number,
  ): Promise<{
    readonly gaps: readonly CoverageGap[];
    readonly deliveryFailures: readonly {
      readonly account: string;
      readonly region: string;
      readonly hour: number;
      readonly failures: number;
    }[];
    /** Whether any token metric covers the range at all (no metrics: no coverage check). */
    readonly covered: boolean;
  }>;
}

/** One application-telemetry event as stored (Claude Code event or GenAI usage). */
export interface TelemetryEventRow {
  readonly eventKey: string;
  readonly at: number;
  /**
   * `claude_code` (events) | `genai` (spans) | `genai_metric` (one interval of a `gen_ai.client.token.usage` stream,
   * standing for the calls it counted).
   */
  readonly source: string;
  readonly kind: string;
  readonly event: string;
  readonly sessionId: string | null;
  readonly promptId: string | null;
  readonly userId: string | null;
  readonly userEmail: string | null;
  /** JSON: each identity attribute with where it came from (record, resource, header). */
  readonly identity: string;
  /** JSON: attribution dimensions (team, department, cost_center …). */
  readonly dimensions: string;
  /**
   * The AWS account the call ran in, when the telemetry says (`cloud.account.id`, 12 digits): only server-side
   * records of this account cover the call (duckdb/telemetry-match.ts). Null when it does not (Claude Code).
   */
  readonly account: string | null;
  readonly model: string | null;
  /** The canonical model the catalog priced, when any. */
  readonly modelBase: string | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly cacheReadTokens: number | null;
  readonly cacheWrite5mTokens: number | null;
  readonly cacheWrite1hTokens: number | null;
  /** Recomputed from the tokens with the catalog (null: no price). */
  readonly costPicos: bigint | null;
  /** The catalog entry, the ledger's flags (comma-separated) and the catalog that priced it (null: no model). */
  readonly priceId: string | null;
  readonly priceFlags: string | null;
  readonly catalogHash: string | null;
  /** What the client reported, for comparison only. */
  readonly costReportedUsd: string | null;
  readonly durationMs: number | null;
  readonly requestId: string | null;
  readonly toolName: string | null;
  readonly decision: string | null;
  readonly success: boolean | null;
  readonly terminal: string | null;
  readonly version: string | null;
  readonly querySource: string | null;
  /** JSON of the other attributes. */
  readonly attributes: string;
  readonly receivedAt: number;
}

export interface TelemetryMetricRow {
  readonly pointKey: string;
  readonly at: number;
  readonly from: number;
  readonly metric: string;
  readonly type: string | null;
  readonly model: string | null;
  /** Exact decimal string (counts, tokens, USD, seconds). */
  readonly value: string;
  readonly sessionId: string | null;
  readonly userId: string | null;
  readonly userEmail: string | null;
  readonly dimensions: string;
  readonly terminal: string | null;
  readonly version: string | null;
  readonly receivedAt: number;
  /** JSON of the point's own attributes (code_edit_tool.decision: tool_name, decision, source, language). */
  readonly attributes: string;
}

/**
 * The last point of one cumulative metric stream (its identity apart from the start time, `seriesIdentity` in
 * sources/otlp/cumulative.ts): the OTLP sink's cumulative → delta state, stored with the rows it produced so that a
 * receiver restart (or a failed write) neither counts a running total again nor loses an increase.
 */
export interface TelemetryStreamRow {
  readonly series: string;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** Exact decimal strings: the running totals at `timeUnixNano` (a histogram's count and sum). */
  readonly values: readonly string[];
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly user: string | null;
  readonly first: number;
  readonly last: number;
  readonly requests: number;
  readonly tokens: bigint;
  readonly costPicos: bigint;
  readonly unpricedRequests: number;
  readonly costReportedUsd: string | null;
  readonly toolCalls: number;
  readonly commits: bigint;
  readonly pullRequests: bigint;
  /** tool_decision events: accepted and rejected. */
  readonly toolAccepts: number;
  readonly toolRejects: number;
  /** `claude_code.active_time.total` (user + cli) in whole ms; null when the session sent none. */
  readonly activeMs: number | null;
  readonly activeUserMs: number | null;
  readonly activeCliMs: number | null;
  /** Wall duration (first to last event) less active time, never below 0; null without active time. */
  readonly idleMs: number | null;
  /** Cost ÷ commits, ÷ pull requests, × 3,600,000 ÷ active ms; rounded half up to a pico-USD; null when ÷ 0. */
  readonly costPerCommitPicos: bigint | null;
  readonly costPerPullRequestPicos: bigint | null;
  readonly costPerActiveHourPicos: bigint | null;
}

/** Per developer (`user.email`, else `user.id`; null: no identity): the sessions report rolled up. */
export interface UserSummary {
  readonly user: string | null;
  readonly sessions: number;
  readonly requests: number;
  readonly tokens: bigint;
  readonly costPicos: bigint;
  readonly unpricedRequests: number;
  readonly toolCalls: number;
  readonly toolAccepts: number;
  readonly toolRejects: number;
  /** accepts ÷ (accepts + rejects); null without decisions. */
  readonly toolAcceptRate: number | null;
  readonly commits: bigint;
  readonly pullRequests: bigint;
  readonly activeMs: number | null;
  readonly costPerCommitPicos: bigint | null;
  readonly costPerPullRequestPicos: bigint | null;
  readonly costPerActiveHourPicos: bigint | null;
}

/** Accept and reject counts of tool_decision events from one `source` (config, hook, user_permanent, …). */
export interface DecisionCounts {
  readonly accept: number;
  readonly reject: number;
}

/**
 * One tool (and user, with `byUser`). Calls, success and durations from tool_result events, decisions from
 * tool_decision events, both in the range; requests and cost are those of the API requests in the range
 * apportioned to the tool calls of their prompt (see `TelemetryReportQuery`). `(no tool)`: prompts without tools.
 */
export interface ToolSummary {
  readonly tool: string;
  readonly user: string | null;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  /** successes ÷ (calls whose outcome is known); null when none is. */
  readonly successRate: number | null;
  readonly meanDurationMs: number | null;
  /** Interpolated 95th percentile. */
  readonly p95DurationMs: number | null;
  readonly accepts: number;
  readonly rejects: number;
  readonly acceptRate: number | null;
  /** By decision source; `(unknown)` when the event did not say. */
  readonly bySource: Readonly<Record<string, DecisionCounts>>;
  readonly requests: number;
  readonly costPicos: bigint;
  readonly unpricedRequests: number;
}

/** Dimensions a report over application telemetry can group by. `meta:<key>`: an attribution attribute. */
export const TELEMETRY_GROUP_KEYS = [
  'tool',
  'language',
  'query_source',
  'terminal',
  'version',
  'prompt',
  'session',
  'user',
  'model',
  'team',
  'feature',
  'project',
  'environment',
  'cost_center',
  'application',
  'hour',
  'day',
  'week',
  'month',
] as const;
export type TelemetryGroupKey = (typeof TELEMETRY_GROUP_KEYS)[number] | `meta:${string}`;

export interface TelemetryUsageQuery {
  readonly groupBy: readonly TelemetryGroupKey[];
  /** Inclusive lower bound, epoch ms. */
  readonly since?: number;
  /** Exclusive upper bound, epoch ms. */
  readonly until?: number;
  readonly where: readonly { readonly key: TelemetryGroupKey; readonly value: string }[];
  readonly limit?: number;
}

/** Code-edit permission decisions (`claude_code.code_edit_tool.decision` points) of one group. */
export interface EditDecisionRow {
  readonly keys: Readonly<Record<string, string | null>>;
  readonly decisions: bigint;
  readonly accepts: bigint;
  readonly rejects: bigint;
}

/**
 * `requests`: API request and error events (by tool: apportioned). `edit_decisions` (grouped by language): the
 * code-edit decision metric, which carries a session but no prompt, so no tokens or cost can be tied to it.
 */
export type TelemetryUsageResult =
  | {
      readonly measure: 'requests';
      readonly rows: readonly UsageRow[];
      readonly total: UsageRow;
      readonly unpriced: readonly {
        readonly model: string;
        readonly requests: number;
        readonly tokens: bigint;
      }[];
    }
  | {
      readonly measure: 'edit_decisions';
      readonly rows: readonly EditDecisionRow[];
      readonly total: EditDecisionRow;
    };

interface TelemetryScope {
  /** [from, to), epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Only this developer (`user.email`, else `user.id`). */
  readonly user?: string;
}

/**
 * The reports over application telemetry; everything is aggregated in the store. Cost apportioning (tools and
 * `groupBy` tool): each prompt's (`prompt.id`) API-request cost — and its requests, errors and tokens — is split
 * evenly over that prompt's tool_result events in whole units (pico-USD): every call gets the quotient and the
 * first `remainder` calls in time order get one more, so a prompt's shares add up to its cost exactly (the largest
 * remainder method; all remainders tie, time breaks the tie). Prompts without tool calls, and requests without a
 * prompt id, go to `(no tool)`.
 */
export type TelemetryReportQuery =
  | ({ readonly kind: 'sessions'; readonly limit: number } & TelemetryScope)
  | ({ readonly kind: 'users' } & TelemetryScope)
  | ({ readonly kind: 'tools'; readonly byUser: boolean } & TelemetryScope)
  | ({ readonly kind: 'usage' } & TelemetryUsageQuery);

export interface TelemetryReportResults {
  readonly sessions: readonly SessionSummary[];
  readonly users: readonly UserSummary[];
  readonly tools: readonly ToolSummary[];
  readonly usage: TelemetryUsageResult;
}

export interface TelemetryStore {
  /**
   * Idempotent on the event and point keys: returns how many were new. `streams` (cumulative stream state, upserted
   * by series and start time) is written in the same transaction: all or nothing.
   */
  write(
    events: readonly TelemetryEventRow[],
    metrics: readonly TelemetryMetricRow[],
    streams?: readonly TelemetryStreamRow[],
  ): Promise<{
    readonly events: number;
    readonly metrics: number;
  }>;
  /**
   * The stored cumulative streams whose last point is at or after `sinceMs` (epoch ms); older ones are deleted (a
   * stream idle that long is taken as ended).
   */
  streams(sinceMs: number): Promise<readonly TelemetryStreamRow[]>;
  /**
   * Top sessions by cost in [from, to) (= `telemetryReport({ kind: 'sessions', … })`): a call matched to a
   * server-side record costs what the record costs, any other its recomputed cost.
   */
  sessions(from: number, to: number, limit: number): Promise<readonly SessionSummary[]>;
  /**
   * Claude Code sessions in [from, to) that sent metrics but no API-request event (its logs exporter off): the
   * session reports, built on those events, cannot list them.
   */
  metricOnlySessions(from: number, to: number): Promise<number>;
  /** Sessions, developers, tools, or usage grouped by telemetry dimensions (see `TelemetryReportQuery`). */
  telemetryReport<Q extends TelemetryReportQuery>(
    query: Q,
  ): Promise<TelemetryReportResults[Q['kind']]>;
  /**
   * One ledger for calls seen by the client and the server (architecture §2; rules in duckdb/telemetry-match.ts).
   * Each API-request event is matched to the server-side record of the same call — exactly on the request id
   * (Claude Code sends Bedrock's x-amzn-RequestId), else by fingerprint (canonical model, the four token counts,
   * time within a window; one to one, nearest first) — and the record's `unallocated` dimensions take the event's
   * session, user and attribution attributes (rule `telemetry.<attribute>@<match>`); the call counts once. An
   * unmatched event counts as its own ledger row (source `telemetry`, request id `otel:<event key>`) only where no
   * server-side record of that model (of the event's AWS account, when it names one) covers the hour; the row goes
   * when a record arrives. Idempotent and
   * independent of arrival order: a run writes only the differences from the state the stored data implies. Call it
   * after every ingest with no scope (re-matches the events near whatever server-side records or events arrived since
   * the last such run, whoever wrote them; every event the first time) and after every receive with the batch's event
   * times (events within about an hour of them are re-matched; a range covering everything re-matches everything).
   * Counts are over the events looked at.
   */
  enrich(scope?: { readonly fromMs: number; readonly toMs: number }): Promise<{
    /** API-request events looked at. */
    readonly events: number;
    readonly requestId: number;
    readonly fingerprint: number;
    /** Fingerprint matches where the event or the record had another candidate (the nearest won). */
    readonly ambiguous: number;
    /** Unmatched, in an hour server-side records cover: not counted again. */
    readonly covered: number;
    /** Counted as client-only ledger rows. */
    readonly clientOnly: number;
    readonly noModel: number;
    /** Server-side records whose dimensions or rules changed in this run. */
    readonly enriched: number;
    readonly clientRowsAdded: number;
    readonly clientRowsRemoved: number;
  }>;
}

/** A gateway virtual key as stored: the SHA-256 of the key, never the key. Times are epoch ms. */
export interface GatewayKeyRow {
  readonly id: string;
  readonly hash: string;
  readonly name: string;
  readonly team: string | null;
  readonly user: string | null;
  readonly feature: string | null;
  readonly project: string | null;
  readonly environment: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly replacedBy: string | null;
}

export interface GatewayKeyStore {
  /** Inserts or replaces (by id) the keys, in one transaction. */
  put(keys: readonly GatewayKeyRow[]): Promise<void>;
  list(): Promise<readonly GatewayKeyRow[]>;
}
