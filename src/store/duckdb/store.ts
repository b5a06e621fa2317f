/**
 * The embedded store: one DuckDB file. Batches are written as NDJSON to a temporary file and loaded with
 * `read_json` (columnar, parsed natively, off the JS thread) — row-by-row appends from JS are 3× slower
 * (performance.md). Dedupe is an anti-join on request_id restricted to the batch's time window, so it stays cheap
 * on a large ledger (DuckDB zone maps skip the rest).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { AppError, limiter, makeTempDir } from '../../core/index.ts';
import type {
  BulkRun,
  Store,
  StoredRecord,
  UnpricedModel,
  UsageQuery,
  UsageResult,
  UsageRow,
  WriteBatch,
  WriteResult,
} from '../store.ts';
import { createBillStore } from './bill.ts';
import { createBulkLogLoader } from './bulk-logs.ts';
import { createGatewayKeyStore, GATEWAY_MIGRATIONS } from './gateway.ts';
import { createMetricsStore } from './metrics.ts';
import { distinctValuesSql, usageSql, whereClause } from './query-sql.ts';
import { createReconciler } from './reconcile.ts';
import { createRepricer } from './reprice.ts';
import { encodeUsage, INSERT_COLUMNS, KEY, READ_COLUMNS, SELECT_COLUMNS } from './row-codec.ts';
import { BILL_MIGRATIONS, METRICS_MIGRATIONS, MIGRATIONS, TELEMETRY_MIGRATIONS } from './schema.ts';
import { createTelemetryStore } from './telemetry.ts';
import { inTransaction } from './transaction.ts';
import { writeError } from './write-error.ts';

export {
  encodeRow,
  encodeUsage,
  PER_CALL_COLUMNS,
  RowTemplate,
  type ScannedRows,
  scanRows,
  UsageEncoder,
} from './row-codec.ts';

export interface DuckDbStoreOptions {
  /** A file path, or ':memory:'. */
  readonly path: string;
  readonly readOnly?: boolean;
  /** DuckDB's memory limit, e.g. '512MB'. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** WAL size that triggers a checkpoint; default 128MB, about one row group of usage records. */
  readonly checkpointThreshold?: string;
  /**
   * Return freed memory to the system after every large free (DuckDB's `allocator_bulk_deallocation_flush_threshold`,
   * 16 MiB instead of 512 MiB; what it catches is mostly read_json's 32 MiB buffer, freed after each file). Measured
   * with `tokenledger ingest` of 1M records: peak RSS 429–451 vs 490–506 MB, ~10 % more CPU (the pages handed back
   * are faulted in again); 100k records: 364–374 vs 403–410 MB.
   */
  readonly lowMemory?: boolean;
}

/** The DuckDB configuration a store opens with. */
export function duckDbConfig(options: DuckDbStoreOptions): Record<string, string> {
  // Checkpoints rewrite and compress row groups; DuckDB's default (every 16 MB of WAL) made bulk ingest three
  // times slower as the ledger grew (each one rewrote the same partial row group). One checkpoint per ~row group keeps
  // it flat.
  const config: Record<string, string> = {
    threads: String(options.threads ?? 2),
    checkpoint_threshold: options.checkpointThreshold ?? '128MB',
    // Freed memory goes back to the OS soon after a task ends rather than when DuckDB next allocates (allocator.ts).
    allocator_background_threads: 'true',
    allocator_flush_threshold: '4MB',
    // Rows have no meaningful order (every query that needs one says ORDER BY); keeping insertion order made
    // INSERT … SELECT and COPY buffer for it: ~8 % more CPU in a bulk ingest (15.5 vs 16.7 CPU-s for 1M records).
    preserve_insertion_order: 'false',
  };
  if (options.lowMemory) config.allocator_bulk_deallocation_flush_threshold = '16MiB';
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.readOnly) config.access_mode = 'READ_ONLY';
  return config;
}

const DAY_MS = 86_400_000;
export async function createDuckDbStore(options: DuckDbStoreOptions): Promise<Store> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(options.path, duckDbConfig(options));
  } catch (e: unknown) {
    const message = (e as Error).message;
    const locked = /lock/i.test(message);
    throw new AppError(
      locked ? 'store.locked' : 'store.open_failed',
      locked
        ? `${options.path} is in use by another tokenledger process (DuckDB allows one writer: a running \`tokenledger serve\`, gateway, collect or ingest). Stop it (Ctrl-C: a server writes what it holds first) and run this again, or report on a copy of the file (--db COPY); manage gateway keys while it runs with \`tokenledger keys … --gateway URL\`.`
        : `cannot open ${options.path}: ${message}`,
      { cause: e },
    );
  }
  const conn = await instance.connect();
  // Reads go on a connection of their own: on `conn` a report asked while a batch was being written ran inside that
  // batch's transaction (it saw its uncommitted rows, and failed with it: "Current transaction is aborted").
  const reads = await instance.connect();
  // Writers that share `conn` (usage batches, keys, telemetry, from concurrent requests of a server) take turns:
  // a transaction begun while another is open on the same connection fails, and a ROLLBACK would undo both.
  const transactions = limiter(1);
  const tmp = makeTempDir('tokenledger-');
  let batchNo = 0;
  const bulkLogs = createBulkLogLoader(instance, tmp);
  const reprice = createRepricer(conn, tmp, transactions);
  const bill = createBillStore(conn, tmp, transactions);
  const reconciler = createReconciler(conn, transactions);
  const metrics = createMetricsStore(conn, tmp);
  const telemetry = createTelemetryStore(conn, tmp, transactions);
  const gatewayKeys = createGatewayKeyStore(conn, transactions, reads);
  let closed = false;

  const rows = async (sql: string, params: unknown[] = []) =>
    (await reads.runAndReadAll(sql, params as DuckDBValue[])).getRowObjectsJS();

  /**
   * For `writeEncodedUsage(…, { ownSource })`: the latest time of the ledger's rows from other sources, per own
   * source, or unknown. Forgotten by every other write of usage rows, and not trusted while a bulk run is writing.
   */
  const latestOther = new Map<string, number>();
  let bulkRuns = 0;
  const otherSourcesAfter = async (ownSource: string, ms: number): Promise<boolean> => {
    if (bulkRuns > 0) return true;
    let latest = latestOther.get(ownSource);
    if (latest === undefined) {
      const [r] = await rows(
        'SELECT coalesce(epoch_ms(max(ts)), -1) AS latest FROM usage WHERE source <> $1',
        [ownSource],
      );
      latest = Number(r?.latest ?? -1);
      if (bulkRuns > 0) return true;
      latestOther.set(ownSource, latest);
    }
    return latest >= ms;
  };

  /**
   * One transaction, in the store's turn: the encoded rows not stored yet (by request id, `marginMs` either side),
   * the batch's rejects and checkpoints.
   */
  const insertEncoded = (
    encoded: Parameters<Store['writeEncodedUsage']>[0],
    marginMs: number,
    ownSource?: string,
  ): Promise<WriteResult> =>
    transactions(async () => {
      const rejects = encoded.rejects ?? [];
      const checkpoints = encoded.checkpoints ?? [];
      const { file } = encoded;
      try {
        return await inTransaction(conn, async () => {
          let inserted = 0;
          if (file !== null) {
            const lo = encoded.minTs - marginMs;
            const hi = encoded.maxTs + marginMs;
            const existing = (from: string, to: string, others: string) =>
              `NOT EXISTS (SELECT 1 FROM usage u WHERE u.request_id = s.${KEY.requestId}
             AND u.ts BETWEEN epoch_ms(${from}::BIGINT) AND epoch_ms(${to}::BIGINT)${others})`;
            let where: string;
            let params: unknown[];
            if (ownSource === undefined) {
              latestOther.clear();
              where = existing('$2', '$3', '');
              params = [file, lo, hi];
            } else {
              for (const own of latestOther.keys()) if (own !== ownSource) latestOther.delete(own);
              where = existing('$2', '$3', '');
              params = [file, encoded.minTs, encoded.maxTs];
              if (await otherSourcesAfter(ownSource, lo)) {
                where += ` AND ${existing('$4', '$5', ' AND u.source <> $6')}`;
                params.push(lo, hi, ownSource);
              }
            }
            const result = await conn.run(
              `INSERT INTO usage (${INSERT_COLUMNS}, ingested_at)
           SELECT ${SELECT_COLUMNS}, now()::TIMESTAMP
           FROM read_json($1, format = 'newline_delimited', columns = ${READ_COLUMNS}) s
           WHERE ${where}`,
              params as DuckDBValue[],
            );
            inserted = Number(result.rowsChanged);
          }
          await insertValues(conn, 'INSERT OR IGNORE INTO rejects', 5, rejects, (r) => [
            r.source.uri,
            r.source.line,
            r.reason,
            r.excerpt,
          ]);
          const latest = new Map(checkpoints.map((c) => [c.key, c.value]));
          await insertValues(
            conn,
            'INSERT OR REPLACE INTO checkpoints',
            3,
            [...latest],
            ([k, v]) => [k, v],
          );
          return { inserted, duplicates: encoded.records - inserted, rejects: rejects.length };
        });
      } catch (e: unknown) {
        throw writeError('writing a batch', e);
      } finally {
        if (file !== null) rmSync(file, { force: true });
      }
    });

  return {
    // A bulk run writes usage rows on its own connections: while one runs, and once it has, the latest time of
    // other sources' rows is not known (writeEncodedUsage's ownSource then looks the whole margin through).
    bulkLogs: {
      async start(...args) {
        bulkRuns++;
        latestOther.clear();
        let run: BulkRun;
        try {
          run = await bulkLogs.start(...args);
        } catch (e: unknown) {
          bulkRuns--;
          throw e;
        }
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          latestOther.clear();
          bulkRuns--;
        };
        return {
          stage: (files) => run.stage(files),
          finish: () => run.finish().finally(end),
          abort: () => run.abort().finally(end),
        };
      },
    },
    reprice,
    bill,
    reconciler,
    metrics,
    telemetry,
    gatewayKeys,

    async migrate() {
      for (const sql of [
        ...MIGRATIONS,
        ...BILL_MIGRATIONS,
        ...METRICS_MIGRATIONS,
        ...TELEMETRY_MIGRATIONS,
        ...GATEWAY_MIGRATIONS,
      ])
        await conn.run(sql);
    },

    writeUsage: (batch: WriteBatch) =>
      insertEncoded(
        {
          ...encodeUsage(batch.records, join(tmp, `batch-${batchNo++}.ndjson`)),
          rejects: batch.rejects,
          checkpoints: batch.checkpoints,
        },
        DAY_MS,
      ),

    writeEncodedUsage: (batch, options) =>
      insertEncoded(batch, options?.dedupeMarginMs ?? DAY_MS, options?.ownSource),

    async queryUsage(query: UsageQuery): Promise<UsageResult> {
      const params: unknown[] = [];
      const sql = usageSql(query, params);
      const all = (await rows(sql, params)).map((r) => {
        const keys: Record<string, string | null> = {};
        query.groupBy.forEach((k, i) => {
          const v = r[`k${i}`];
          keys[k] = v === null || v === undefined ? null : String(v);
        });
        return {
          keys,
          requests: Number(r.requests ?? 0),
          errors: Number(r.errors ?? 0),
          inputTokens: big(r.input_tokens),
          outputTokens: big(r.output_tokens),
          cacheReadTokens: big(r.cache_read_tokens),
          cacheWriteTokens: big(r.cache_write_tokens),
          costPicos: big(r.cost_pusd),
          unpricedRequests: Number(r.unpriced ?? 0),
          isTotal: r.is_total === true,
        };
      });
      const total = all.find((r) => r.isTotal);
      const strip = ({ isTotal: _, ...row }: UsageRow & { isTotal: boolean }): UsageRow => row;
      return {
        rows: all.filter((r) => !r.isTotal).map(strip),
        total: total ? { ...strip(total), keys: {} } : EMPTY_ROW,
      };
    },

    async unpricedModels(query): Promise<readonly UnpricedModel[]> {
      const params: unknown[] = [];
      const where = whereClause(query, params);
      const sql = `SELECT model_id, model, region, count(*) AS requests,
          sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)::HUGEINT AS tokens
        FROM usage ${where ? `${where} AND` : 'WHERE'} cost_pusd IS NULL
        GROUP BY ALL ORDER BY requests DESC`;
      return (await rows(sql, params)).map((r) => ({
        modelId: String(r.model_id),
        model: String(r.model),
        region: String(r.region),
        requests: Number(r.requests),
        tokens: big(r.tokens),
      }));
    },

    async distinctValues(key, query, limit) {
      const params: unknown[] = [];
      const found = await rows(distinctValuesSql(key, query, limit, params), params);
      return found.map((r) => String(r.v));
    },

    async getRecord(requestId: string): Promise<StoredRecord | null> {
      const found = await rows(`SELECT * FROM usage WHERE request_id = $1 LIMIT 1`, [requestId]);
      return found[0] ?? null;
    },

    async getCheckpoint(key: string) {
      const found = await rows(`SELECT value FROM checkpoints WHERE key = $1`, [key]);
      const v = found[0]?.value;
      return typeof v === 'string' ? v : undefined;
    },

    async checkpoints(prefix: string) {
      const found = await rows(`SELECT key, value FROM checkpoints WHERE starts_with(key, $1)`, [
        prefix,
      ]);
      return new Map(found.map((r) => [String(r.key), String(r.value)]));
    },

    async setCheckpoint(key: string, value: string) {
      // In the writers' turn: written while another's transaction was open, it was part of it (and of its rollback).
      await transactions(() =>
        conn.run(`INSERT OR REPLACE INTO checkpoints VALUES ($1, $2, now()::TIMESTAMP)`, [
          key,
          value,
        ]),
      );
    },

    async rejects(limit: number) {
      const found = await rows(
        `SELECT source, line, reason, excerpt FROM rejects ORDER BY rejected_at DESC, source, line LIMIT ${Math.trunc(limit)}`,
      );
      return found.map((r) => ({
        uri: String(r.source),
        line: Number(r.line),
        reason: String(r.reason),
        excerpt: String(r.excerpt),
      }));
    },

    async close() {
      if (closed) return;
      closed = true;
      await bulkLogs.close();
      reads.closeSync();
      conn.closeSync();
      instance.closeSync();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** One multi-row INSERT … VALUES per call; the last column of each row is now(). */
async function insertValues<T>(
  conn: DuckDBConnection,
  head: string,
  width: number,
  items: readonly T[],
  values: (item: T) => DuckDBValue[],
): Promise<void> {
  const CHUNK = 500;
  for (let i = 0; i < items.length; i += CHUNK) {
    const params: DuckDBValue[] = [];
    const tuples: string[] = [];
    for (const item of items.slice(i, i + CHUNK)) {
      const v = values(item);
      const base = params.length;
      params.push(...v);
      tuples.push(
        `(${v.map((_, j) => `$${base + j + 1}`).join(', ')}${width > v.length ? ', now()::TIMESTAMP' : ''})`,
      );
    }
    await conn.run(`${head} VALUES ${tuples.join(', ')}`, params);
  }
}

const EMPTY_ROW: UsageRow = {
  keys: {},
  requests: 0,
  errors: 0,
  inputTokens: 0n,
  outputTokens: 0n,
  cacheReadTokens: 0n,
  cacheWriteTokens: 0n,
  costPicos: 0n,
  unpricedRequests: 0,
};

function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  return 0n;
}
