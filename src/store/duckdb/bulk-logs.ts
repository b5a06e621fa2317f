/**
 * The DuckDB BulkLogLoader: stage files with read_json on one of two connections, hand back the distinct keys,
 * insert with the resolved maps. With two connections one batch stages while the previous one commits, which keeps
 * both cores busy (each statement alone leaves one mostly idle).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AppError } from '../../core/index.ts';
import { type BulkLogLoader, type BulkMaps, priceKeyId, type StagedBatch } from '../store.ts';
import {
  insertSql,
  KEYS_SQL,
  mapTablesSql,
  OK_VIEW_SQL,
  REPEATED_IDS_SQL,
  rowsSql,
} from './bulk-logs.sql.ts';

/** Writes map rows as NDJSON for DuckDB's read_json (small files: one row per distinct key). */
export function writeMapFile(dir: string, name: string, items: readonly object[]): string {
  const file = join(dir, `${name}.ndjson`);
  writeFileSync(
    file,
    items.length === 0 ? '' : `${items.map((i) => JSON.stringify(i)).join('\n')}\n`,
  );
  return file;
}

export function createBulkLogLoader(
  instance: DuckDBInstance,
  tmp: string,
): BulkLogLoader & { close(): void } {
  const pool: DuckDBConnection[] = [];
  const waiting: ((c: DuckDBConnection) => void)[] = [];
  let created = 0;
  let n = 0;
  const acquire = async (): Promise<DuckDBConnection> => {
    const free = pool.pop();
    if (free) return free;
    if (created < 2) {
      created++;
      return instance.connect();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (c: DuckDBConnection) => {
    const next = waiting.shift();
    if (next) next(c);
    else pool.push(c);
  };
  const writeNdjson = (name: string, items: readonly object[]) =>
    writeMapFile(tmp, `bulk-${n++}-${name}`, items);
  const clear = async (conn: DuckDBConnection) => {
    await conn.run('DROP VIEW IF EXISTS bulk_ok');
    await conn.run('DROP TABLE IF EXISTS bulk_rows');
  };

  return {
    async stage(files, metadataKeys): Promise<StagedBatch> {
      const conn = await acquire();
      const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
      try {
        await conn.run(rowsSql(files, metadataKeys));
        await conn.run(OK_VIEW_SQL);
        const invalid = await rows(KEYS_SQL.invalidFiles);
        const models = await rows(KEYS_SQL.models);
        const prices = await rows(KEYS_SQL.prices);
        const attributions = await rows(KEYS_SQL.attributions);
        const perFile = await rows(KEYS_SQL.files);
        const [bounds] = await rows('SELECT min(ts) AS lo, max(ts) AS hi FROM bulk_ok');
        const span = [Number(bounds?.lo ?? 0), Number(bounds?.hi ?? 0)];
        const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
        const priceKeys = prices.map((r) => ({
          modelId: String(r.model_id),
          region: String(r.region),
          tier: str(r.tier),
          account: String(r.account),
          day: String(r.day),
          rows: Number(r.rows),
        }));
        const stage = {
          invalidFiles: invalid.map((r) => String(r.file)),
          files: perFile.map((r) => ({
            file: String(r.file),
            rows: Number(r.rows),
            lines: Number(r.lines),
          })),
          models: models.map((r) => String(r.model_id)),
          priceKeys,
          priceKeyRows: new Map(priceKeys.map((k) => [priceKeyId(k), k.rows])),
          attributionKeys: attributions.map((r) => ({
            identityArn: str(r.identity_arn),
            mdKey: str(r.md_key),
            aip: str(r.aip),
          })),
        };
        let done = false;
        const finish = async () => {
          if (done) return;
          done = true;
          await clear(conn).finally(() => release(conn));
        };
        return {
          ...stage,
          async commit(maps: BulkMaps, checkpoints) {
            const mapFiles = [
              writeNdjson('models', maps.models),
              writeNdjson('prices', maps.prices),
              writeNdjson('attr', maps.attributions),
            ] as const;
            try {
              await conn.run('BEGIN TRANSACTION');
              for (const sql of mapTablesSql(...mapFiles)) await conn.run(sql);
              const [repeated] = await rows(REPEATED_IDS_SQL);
              const result = await conn.run(insertSql(Number(repeated?.n ?? 0) > 0), [
                maps.catalogHash,
                span[0] as number,
                span[1] as number,
              ]);
              for (const [key, value] of new Map(checkpoints.map((c) => [c.key, c.value]))) {
                await conn.run(
                  'INSERT OR REPLACE INTO checkpoints VALUES ($1, $2, now()::TIMESTAMP)',
                  [key, value],
                );
              }
              await conn.run('COMMIT');
              const read = stage.files.reduce((a, f) => a + f.rows, 0);
              const inserted = Number(result.rowsChanged);
              return { read, inserted, duplicates: read - inserted, rejects: 0 };
            } catch (e: unknown) {
              await conn.run('ROLLBACK').catch(() => undefined);
              throw new AppError(
                'store.write_failed',
                `bulk insert failed: ${(e as Error).message}`,
                {
                  cause: e,
                  retryable: true,
                },
              );
            } finally {
              await finish();
            }
          },
          discard: finish,
        };
      } catch (e: unknown) {
        await clear(conn).catch(() => undefined);
        release(conn);
        throw e;
      }
    },
    close() {
      for (const c of pool) c.closeSync();
      pool.length = 0;
    },
  };
}
