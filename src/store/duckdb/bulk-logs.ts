/**
 * The DuckDB BulkLogLoader. `stage` reads a group of files with read_json into a temporary table on one of two
 * connections and hands back the keys the pipeline must resolve; `commit` prices, attributes, dedupes and inserts
 * the group in one transaction with its checkpoints. A batch holds its connection from stage to commit, so the next
 * group stages on the other connection while this one commits (each statement alone keeps only one core busy).
 *
 * The resolved maps are kept for the whole run, in an in-memory database attached for it and shared by both
 * connections, and stage hands out only the keys not mapped yet: after the first groups the pipeline resolves
 * almost nothing. A run is the sequence of stages made with the same `metadataKeys` array (the pipeline passes one
 * per ingest); another array starts afresh.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AppError } from '../../core/index.ts';
import { type BulkLogLoader, type BulkMaps, priceKeyId, type StagedBatch } from '../store.ts';
import {
  addBulkMapSql,
  createBulkMapsSql,
  DROP_STAGED_SQL,
  insertSql,
  KEYS_SQL,
  MAP_KINDS,
  OK_VIEW_SQL,
  stageSql,
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

/** Runs tasks one at a time, in call order (a failed task does not stop the next). */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

export function createBulkLogLoader(
  instance: DuckDBInstance,
  tmp: string,
): BulkLogLoader & { close(): void } {
  const pool: DuckDBConnection[] = [];
  const all: DuckDBConnection[] = [];
  const waiting: ((c: DuckDBConnection) => void)[] = [];
  const acquire = async (): Promise<DuckDBConnection> => {
    const free = pool.pop();
    if (free) return free;
    if (all.length < 2) {
      const c = await instance.connect();
      all.push(c);
      return c;
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (c: DuckDBConnection) => {
    const next = waiting.shift();
    if (next) next(c);
    else pool.push(c);
  };
  const committing = serial();
  let n = 0;

  // The run (see above), and the catalog that priced its maps.
  let run: { metadataKeys: readonly string[]; catalogHash: string | null } | null = null;
  let lastCommit: Promise<unknown> = Promise.resolve();
  // The latest commit's map update: stage asks for unmapped keys once it is done (fewer keys resolved twice; a key
  // resolved twice is added once).
  let mapsAdded: Promise<unknown> = Promise.resolve();
  const addMaps = async (conn: DuckDBConnection, maps: BulkMaps) => {
    for (const kind of MAP_KINDS) {
      if (maps[kind].length === 0) continue;
      const file = writeMapFile(tmp, `bulk-${n++}-${kind}`, maps[kind]);
      try {
        await conn.run(addBulkMapSql(kind, file));
      } finally {
        rmSync(file, { force: true });
      }
    }
  };

  return {
    async stage(files, metadataKeys): Promise<StagedBatch> {
      const conn = await acquire();
      // Key lists come back as one JSON text: much cheaper than converting DuckDB rows to JS objects one by one.
      const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
        const reader = await conn.runAndReadAll(
          `SELECT coalesce(to_json(list(x)), '[]')::VARCHAR AS j FROM (${sql}) x`,
        );
        return JSON.parse(String(reader.getRows()[0]?.[0] ?? '[]')) as Record<string, unknown>[];
      };
      const clear = async () => {
        for (const sql of DROP_STAGED_SQL) await conn.run(sql);
      };
      try {
        if (run?.metadataKeys !== metadataKeys) {
          await lastCommit.catch(() => undefined);
          for (const sql of createBulkMapsSql()) await conn.run(sql);
          run = { metadataKeys, catalogHash: null };
        }
        const thisRun = run;
        await conn.run(stageSql(files, metadataKeys));
        await conn.run(OK_VIEW_SQL);
        const invalid = (await rows(KEYS_SQL.invalidFiles)).map((r) => String(r.file));
        const perFile = await rows(KEYS_SQL.files);
        const [summary] = await rows(KEYS_SQL.summary);
        const prices = await rows(KEYS_SQL.prices);
        await mapsAdded.catch(() => undefined);
        const models = await rows(KEYS_SQL.models);
        const newPrices = await rows(KEYS_SQL.newPrices);
        const attributions = await rows(KEYS_SQL.attributions);
        const span = [Number(summary?.lo ?? 0), Number(summary?.hi ?? 0)] as const;
        const repeated = summary?.repeated === true;
        const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
        const priceKey = (r: Record<string, unknown>) => ({
          modelId: String(r.model_id),
          region: String(r.region),
          tier: str(r.tier),
          account: String(r.account),
          day: String(r.day),
        });
        const stage = {
          invalidFiles: invalid,
          files: perFile.map((r) => ({
            file: String(r.file),
            rows: Number(r.rows),
            lines: Number(r.lines),
          })),
          models: models.map((r) => String(r.model_id)),
          priceKeys: newPrices.map(priceKey),
          priceKeyRows: new Map(prices.map((r) => [priceKeyId(priceKey(r)), Number(r.rows)])),
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
          await clear().finally(() => release(conn));
        };
        return {
          ...stage,
          commit: (maps: BulkMaps, checkpoints) => {
            const added = committing(async () => {
              if (run !== thisRun) throw writeFailed(new Error('a batch of an earlier run'));
              thisRun.catalogHash ??= maps.catalogHash;
              if (thisRun.catalogHash !== maps.catalogHash)
                throw writeFailed(new Error('the maps of one run come from two catalogs'));
              await addMaps(conn, maps).catch((e: unknown) => {
                throw writeFailed(e);
              });
            });
            mapsAdded = added;
            const result = committing(async () => {
              try {
                await added;
                const read = stage.files.reduce((a, f) => a + f.rows, 0);
                try {
                  await conn.run('BEGIN TRANSACTION');
                  const inserted = Number(
                    (await conn.run(insertSql(repeated), [maps.catalogHash, span[0], span[1]]))
                      .rowsChanged,
                  );
                  for (const [key, value] of new Map(checkpoints.map((p) => [p.key, p.value]))) {
                    await conn.run(
                      'INSERT OR REPLACE INTO checkpoints VALUES ($1, $2, now()::TIMESTAMP)',
                      [key, value],
                    );
                  }
                  await conn.run('COMMIT');
                  return { read, inserted, duplicates: read - inserted, rejects: 0 };
                } catch (e: unknown) {
                  await conn.run('ROLLBACK').catch(() => undefined);
                  throw writeFailed(e);
                }
              } finally {
                await finish();
              }
            });
            lastCommit = result;
            return result;
          },
          discard: finish,
        };
      } catch (e: unknown) {
        await clear().catch(() => undefined);
        release(conn);
        throw e;
      }
    },
    close() {
      for (const c of all) c.closeSync();
      all.length = 0;
      pool.length = 0;
    },
  };
}

const writeFailed = (e: unknown) =>
  new AppError('store.write_failed', `bulk insert failed: ${(e as Error).message}`, {
    cause: e,
    retryable: true,
  });
