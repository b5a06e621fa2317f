/** The DuckDB BulkLogLoader: stage files with read_json, hand back distinct keys, insert with the resolved maps. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { AppError } from '../../core/index.ts';
import type { BulkLogLoader, BulkMaps, BulkStage } from '../store.ts';
import { INSERT_SQL, KEYS_SQL, mapTablesSql, OK_VIEW_SQL, rowsSql } from './bulk-logs.sql.ts';

export function createBulkLogLoader(conn: DuckDBConnection, tmp: string): BulkLogLoader {
  const rows = async (sql: string, params: DuckDBValue[] = []) =>
    (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
  let span: { min: number; max: number } = { min: 0, max: 0 };
  let n = 0;
  const writeNdjson = (name: string, items: readonly object[]) => {
    const file = join(tmp, `bulk-${n++}-${name}.ndjson`);
    writeFileSync(
      file,
      items.length === 0 ? '' : `${items.map((i) => JSON.stringify(i)).join('\n')}\n`,
    );
    return file;
  };
  return {
    async stage(files, metadataKeys): Promise<BulkStage> {
      await conn.run(rowsSql(files, metadataKeys));
      await conn.run(OK_VIEW_SQL);
      const [invalid, models, prices, attributions, perFile, bounds] = await Promise.all([
        rows(KEYS_SQL.invalidFiles),
        rows(KEYS_SQL.models),
        rows(KEYS_SQL.prices),
        rows(KEYS_SQL.attributions),
        rows(KEYS_SQL.files),
        rows('SELECT min(ts) AS lo, max(ts) AS hi FROM bulk_ok'),
      ]);
      span = { min: Number(bounds[0]?.lo ?? 0), max: Number(bounds[0]?.hi ?? 0) };
      const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
      return {
        invalidFiles: invalid.map((r) => String(r.file)),
        files: perFile.map((r) => ({
          file: String(r.file),
          rows: Number(r.rows),
          lines: Number(r.lines),
        })),
        models: models.map((r) => String(r.model_id)),
        priceKeys: prices.map((r) => ({
          modelId: String(r.model_id),
          region: String(r.region),
          tier: str(r.tier),
          day: String(r.day),
        })),
        attributionKeys: attributions.map((r) => ({
          identityArn: str(r.identity_arn),
          mdKey: str(r.md_key),
          aip: str(r.aip),
        })),
      };
    },

    async commit(maps: BulkMaps, checkpoints) {
      const files = [
        writeNdjson('models', maps.models),
        writeNdjson('prices', maps.prices),
        writeNdjson('attr', maps.attributions),
      ];
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const sql of mapTablesSql(files[0] as string, files[1] as string, files[2] as string))
          await conn.run(sql);
        const [counts] = await rows(
          `SELECT count(*) AS n, count(*) FILTER (WHERE p.unpriced) AS unpriced FROM bulk_ok r
           JOIN bulk_prices p ON p.model_id = r.model_id AND p.region = r.region AND p.tier IS NOT DISTINCT FROM r.tier
             AND p.day = strftime(epoch_ms(r.ts), '%Y-%m-%d')`,
        );
        const result = await conn.run(INSERT_SQL, [maps.catalogHash, span.min, span.max]);
        const latest = new Map(checkpoints.map((c) => [c.key, c.value]));
        for (const [key, value] of latest) {
          await conn.run('INSERT OR REPLACE INTO checkpoints VALUES ($1, $2, now()::TIMESTAMP)', [
            key,
            value,
          ]);
        }
        await conn.run('COMMIT');
        const read = Number(counts?.n ?? 0);
        const inserted = Number(result.rowsChanged);
        return {
          inserted,
          duplicates: read - inserted,
          rejects: 0,
          unpriced: Number(counts?.unpriced ?? 0),
        };
      } catch (e: unknown) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw new AppError('store.write_failed', `bulk insert failed: ${(e as Error).message}`, {
          cause: e,
          retryable: true,
        });
      }
    },

    async clear() {
      await conn.run('DROP VIEW IF EXISTS bulk_ok');
      await conn.run('DROP TABLE IF EXISTS bulk_rows');
      await conn.run('DROP TABLE IF EXISTS bulk_stage');
    },
  };
}
