import { rmSync } from 'node:fs';
/**
 * The DuckDB BillStore: DuckDB reads each CUR file (CSV with its own reject table, or Parquet), maps its columns onto
 * one staging shape, keeps Bedrock rows, and hands back the distinct usage-type keys; the pipeline classifies them
 * and the commit replaces the files' billing periods in one transaction.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { AppError, type Limiter, type Reject } from '../../core/index.ts';
import type { BillClass, BillStage, BillStore } from '../store.ts';
import {
  CLASS_TABLE_SQL,
  csvReader,
  csvRejectsSql,
  DELETE_PERIODS_SQL,
  describeSql,
  type FileColumns,
  INSERT_BILL_SQL,
  parquetReader,
  STAGE_COUNTS_SQL,
  STAGE_INVALID_SQL,
  STAGE_KEYS_SQL,
  STAGE_PERIODS_SQL,
  STAGE_TABLE_SQL,
  stageFileSql,
} from './bill.sql.ts';
import { writeMapFile } from './bulk-logs.ts';
import { inTransaction } from './transaction.ts';

export function createBillStore(
  conn: DuckDBConnection,
  tmp: string,
  transactions: Limiter,
): BillStore {
  let n = 0;
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    async stage(files): Promise<BillStage> {
      await conn.run(STAGE_TABLE_SQL);
      const rejects: Reject[] = [];
      for (const f of files) {
        const reader = f.format === 'parquet' ? parquetReader(f.path) : csvReader(f.path);
        try {
          const columns = (await rows(describeSql(reader))).map(
            (c): FileColumns => ({ name: str(c.column_name), type: str(c.column_type) }),
          );
          if (!columns.some((c) => /usage_?type$/i.test(c.name.replace('/', '_')))) {
            throw new Error('no line_item_usage_type / lineItem/UsageType column: not a CUR file');
          }
          // CSV rows are named by file line (the header is line 1); Parquet rows by row number.
          await conn.run(stageFileSql(reader, f.source, columns, f.format === 'csv' ? 2 : 1));
          if (f.format === 'csv') {
            for (const r of await rows(csvRejectsSql(f.path))) {
              rejects.push({
                source: { uri: f.source, line: Number(r.line) },
                reason: `malformed CSV row: ${str(r.reason)}`,
                excerpt: str(r.excerpt).slice(0, 300),
              });
            }
          }
        } catch (e: unknown) {
          throw new AppError('source.cur_unreadable', `${f.source}: ${(e as Error).message}`, {
            cause: e,
          });
        }
      }
      for (const r of await rows(STAGE_INVALID_SQL)) {
        rejects.push({
          source: { uri: str(r.source), line: Number(r.source_row) },
          reason: str(r.reason),
          excerpt: str(r.excerpt).slice(0, 300),
        });
      }
      rejects.sort((a, b) =>
        a.source.uri === b.source.uri
          ? a.source.line - b.source.line
          : a.source.uri < b.source.uri
            ? -1
            : 1,
      );
      const [counts] = await rows(STAGE_COUNTS_SQL);
      const periods = (await rows(STAGE_PERIODS_SQL)).map((r) => ({
        payer: str(r.payer),
        period: str(r.period),
      }));
      const keys = (await rows(STAGE_KEYS_SQL)).map((r) => ({
        usageType: str(r.usage_type),
        lineItemType: str(r.line_item_type),
        servicename: str(r.servicename),
        productModel: str(r.product_model),
        regionCode: str(r.region_code),
        pricingUnit: str(r.pricing_unit),
      }));
      const drop = () => conn.run('DROP TABLE IF EXISTS bill_stage');
      return {
        rows: Number(counts?.rows ?? 0),
        otherRows: Number(counts?.other ?? 0),
        rejects,
        periods,
        keys,
        async commit(classes: readonly BillClass[]) {
          const file = writeMapFile(
            tmp,
            `bill-${n++}-classes`,
            classes.map((c) => ({
              usage_type: c.usageType,
              line_item_type: c.lineItemType,
              servicename: c.servicename,
              product_model: c.productModel,
              region_code: c.regionCode,
              pricing_unit: c.pricingUnit,
              classification: c.classification,
              reason: c.reason,
              region: c.region,
              model: c.model,
              billing_model: c.billingModel,
              token_class: c.tokenClass,
              tier: c.tier,
              scope: c.scope,
              long_context: c.longContext,
              unit_tokens: c.unitTokens,
            })),
          );
          // Taking its turn with the store's other writers on this connection (store.ts).
          return transactions(async () => {
            try {
              return await inTransaction(conn, async () => {
                await conn.run(CLASS_TABLE_SQL(file));
                const replaced =
                  periods.length === 0
                    ? 0
                    : Number((await conn.run(DELETE_PERIODS_SQL(periods))).rowsChanged);
                const inserted = Number((await conn.run(INSERT_BILL_SQL)).rowsChanged);
                for (const r of rejects) {
                  await conn.run(
                    'INSERT OR IGNORE INTO bill_rejects VALUES ($1, $2, $3, $4, now()::TIMESTAMP)',
                    [r.source.uri, r.source.line, r.reason, r.excerpt],
                  );
                }
                return { inserted, replaced };
              });
            } catch (e: unknown) {
              throw new AppError(
                'store.write_failed',
                `bill insert failed: ${(e as Error).message}`,
                {
                  cause: e,
                },
              );
            } finally {
              rmSync(file, { force: true });
              await drop().catch(() => undefined);
            }
          });
        },
        discard: async () => {
          await drop();
        },
      };
    },
  };
}
