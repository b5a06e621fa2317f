import { rmSync } from 'node:fs';
/** The DuckDB Repricer: stored records joined with freshly resolved maps, updated only where the price changed. */
import type { DuckDBConnection } from '@duckdb/node-api';
import { AppError, type Limiter } from '../../core/index.ts';
import type { RepriceResult, Repricer } from '../store.ts';
import {
  mapTablesSql,
  REPRICE_HELD_SQL,
  REPRICE_KEYS_SQL,
  REPRICE_SUMMARY_SQL,
  REPRICE_UPDATE_SQL,
  REPRICED_SQL,
} from './bulk-logs.sql.ts';
import { writeMapFile } from './bulk-logs.ts';
import { inTransaction } from './transaction.ts';

export function createRepricer(
  conn: DuckDBConnection,
  tmp: string,
  transactions: Limiter,
): Repricer {
  let n = 0;
  const rows = async (sql: string, params: (string | number)[] = []) =>
    (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  return {
    async keys(sinceMs) {
      const models = await rows(REPRICE_KEYS_SQL.models, [sinceMs]);
      const prices = await rows(REPRICE_KEYS_SQL.prices, [sinceMs]);
      return {
        models: models.map((r) => String(r.model_id)),
        priceKeys: prices.map((r) => ({
          modelId: String(r.model_id),
          region: String(r.region),
          tier: String(r.tier),
          account: String(r.account),
          day: String(r.day),
        })),
      };
    },

    // Taking its turn with the store's other writers on this connection (store.ts).
    apply: (maps, sinceMs, options) => transactions(() => apply(maps, sinceMs, options)),
  };

  async function apply(
    maps: Parameters<Repricer['apply']>[0],
    sinceMs: Parameters<Repricer['apply']>[1],
    { dryRun }: Parameters<Repricer['apply']>[2],
  ): Promise<RepriceResult> {
    const run = n++;
    const files = [
      writeMapFile(tmp, `reprice-${run}-models`, maps.models),
      writeMapFile(tmp, `reprice-${run}-prices`, maps.prices),
    ] as const;
    try {
      return await inTransaction(
        conn,
        async () => {
          for (const sql of mapTablesSql(...files)) await conn.run(sql);
          await conn.run(REPRICED_SQL, [sinceMs]);
          const [count] = await rows(
            'SELECT count(*) AS n, count(*) FILTER (changed) AS changed FROM repriced',
          );
          const byModel = (await rows(REPRICE_SUMMARY_SQL)).map((r) => ({
            model: String(r.model),
            records: Number(r.records),
            changed: Number(r.changed),
            before: BigInt(r.before as bigint),
            after: BigInt(r.after as bigint),
            unpricedBefore: Number(r.unpriced_before),
            unpricedAfter: Number(r.unpriced_after),
          }));
          const held = (await rows(REPRICE_HELD_SQL)).map((r) => ({
            modelId: String(r.model_id),
            records: Number(r.records),
          }));
          if (!dryRun) await conn.run(REPRICE_UPDATE_SQL, [maps.catalogHash]);
          return {
            records: Number(count?.n ?? 0),
            changed: Number(count?.changed ?? 0),
            byModel,
            held,
          };
        },
        !dryRun,
      );
    } catch (e: unknown) {
      throw new AppError('store.write_failed', `reprice failed: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      await conn.run('DROP TABLE IF EXISTS repriced').catch(() => undefined);
      for (const f of files) rmSync(f, { force: true });
    }
  }
}
