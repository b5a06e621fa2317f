/**
 * The Store contract (one contract suite: store.contract.ts). Implementations: DuckDB (embedded default).
 * - writeUsage is idempotent on requestId: a record already stored (from any source) is counted as a duplicate,
 *   never written twice. Records, rejects and the checkpoint of one call commit together or not at all, so a
 *   killed ingest resumes exactly where its last commit ended.
 * - Money is pico-USD bigint in and out.
 */
import type { AttributedRecord, Picos, Reject } from '../core/index.ts';

export interface WriteBatch {
  readonly records: readonly AttributedRecord[];
  readonly rejects: readonly Reject[];
  /** Saved in the same transaction as the records (a later value for the same key replaces an earlier one). */
  readonly checkpoints: readonly { readonly key: string; readonly value: string }[];
}

export interface WriteResult {
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejects: number;
}

/** Group-by keys a report may use. `meta:<key>` groups by any request-metadata key. */
export const FIXED_GROUP_KEYS = [
  'team',
  'user',
  'feature',
  'project',
  'environment',
  'cost_center',
  'application',
  'session',
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
  queryUsage(query: UsageQuery): Promise<readonly UsageRow[]>;
  unpricedModels(query: Omit<UsageQuery, 'groupBy'>): Promise<readonly UnpricedModel[]>;
  getRecord(requestId: string): Promise<StoredRecord | null>;
  getCheckpoint(key: string): Promise<string | undefined>;
  /** Every checkpoint whose key starts with the prefix. */
  checkpoints(prefix: string): Promise<ReadonlyMap<string, string>>;
  setCheckpoint(key: string, value: string): Promise<void>;
  rejects(limit: number): Promise<readonly StoredReject[]>;
  close(): Promise<void>;
}
