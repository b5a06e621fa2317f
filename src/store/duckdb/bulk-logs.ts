/**
 * The DuckDB BulkLogLoader. A run has two connections: `stage` reads a group of files with read_json, on the staging
 * connection, into a table of an in-memory database attached for the group, and hands back the keys the pipeline
 * must resolve; `insert` prices, attributes, dedupes and inserts the group's valid rows on the writing connection, in
 * a transaction that spans groups. The next group stages while this one inserts (each statement alone keeps only one
 * core busy).
 *
 * Why a long transaction: a transaction that appends a full row group (122,880 rows) or more writes it compressed
 * to the database file as it goes, and its commit logs only where it went. Group-sized transactions wrote every row
 * to the WAL and again at the checkpoint, which measured twice the cost of the insert itself. Staging stays outside
 * that transaction because an error (a malformed file, which then goes row by row) aborts the transaction it
 * happens in.
 *
 * The resolved maps are temporary tables of the writing connection, kept for the run; stage hands out only the keys
 * no earlier group of the run was given (the staging connection keeps those), so after the first groups the
 * pipeline resolves almost nothing.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { limiter, OUT_OF_MEMORY } from '../../core/index.ts';
import {
  type BulkFile,
  type BulkLogLoader,
  type BulkMaps,
  BulkOutOfMemory,
  type BulkRun,
  type PriceKey,
  priceKeyId,
  type StagedBatch,
} from '../store.ts';
import {
  addBulkMapSql,
  attachStagedSql,
  CREATE_HANDED_SQL,
  compressStagedSql,
  createBulkMapsSql,
  DROP_STAGED_SQL,
  groupMapsSql,
  insertSql,
  KEYS_SQL,
  keepValidSql,
  MAP_KINDS,
  markHandedSql,
  NEW_ATTRIBUTION_KEYS_QUERY,
  NEW_ATTRIBUTION_KEYS_SQL,
  okViewSql,
  stageSql,
  unhandSql,
} from './bulk-logs.sql.ts';
import { writeError } from './write-error.ts';

/** Writes map rows as NDJSON for DuckDB's read_json (small files: one row per distinct key). */
export function writeMapFile(dir: string, name: string, items: readonly object[]): string {
  const file = join(dir, `${name}.ndjson`);
  writeFileSync(
    file,
    items.length === 0 ? '' : `${items.map((i) => JSON.stringify(i)).join('\n')}\n`,
  );
  return file;
}

/**
 * Rows per transaction of a run: two row groups. Fewer write more of every group through the WAL; more measured no
 * faster and, under a 200 MB memory limit, sometimes ran out of memory. An interrupted run redoes at most
 * this many rows.
 */
export const BULK_COMMIT_ROWS = 2 * 122_880;

export function createBulkLogLoader(
  instance: DuckDBInstance,
  tmp: string,
): BulkLogLoader & { close(): Promise<void> } {
  let conns: { stage: DuckDBConnection; write: DuckDBConnection } | null = null;
  /**
   * Detaches of staged groups' databases under way on the staging connection. Waited for before a run ends and
   * before the connections close: closing a DuckDB connection while a statement runs on it deadlocks (the statement
   * ends by destroying the connection's context, whose lock it holds).
   */
  const detaching = new Set<Promise<unknown>>();
  // One run at a time: the next start waits for the previous run's end.
  let running: Promise<void> = Promise.resolve();
  let n = 0;

  return {
    async start(metadataKeys, options = {}): Promise<BulkRun> {
      const commitRows = options.commitRows ?? BULK_COMMIT_ROWS;
      let ended!: () => void;
      const previous = running;
      running = new Promise((resolve) => {
        ended = resolve;
      });
      await previous;
      let stageConn: DuckDBConnection;
      let writeConn: DuckDBConnection;
      try {
        conns ??= { stage: await instance.connect(), write: await instance.connect() };
        ({ stage: stageConn, write: writeConn } = conns);
        for (const sql of createBulkMapsSql()) await writeConn.run(sql);
        await stageConn.run(CREATE_HANDED_SQL);
      } catch (e: unknown) {
        ended();
        throw e;
      }

      // The catalog that priced the run's maps.
      let catalogHash: string | null = null;
      let inTransaction = false;
      let uncommitted = 0;
      let over = false;
      // Model ids and price keys handed out, with the stage that did (see CREATE_HANDED_SQL).
      const handed = { models: new Map<string, number>(), prices: new Map<string, number>() };
      // Databases of staged groups not inserted yet (detached on the staging connection once done with).
      const pending = new Set<string>();
      const inserting = limiter(1);
      // Stages run one at a time on the staging connection, in call order.
      const staging = limiter(1);
      const drop = (db: string) => {
        if (!pending.delete(db)) return;
        const detach = staging(() => stageConn.run(`DETACH DATABASE IF EXISTS ${db}`)).catch(
          () => undefined,
        );
        detaching.add(detach);
        void detach.finally(() => detaching.delete(detach));
      };
      const end = async (sql: 'COMMIT' | 'ROLLBACK') => {
        if (over) return;
        over = true;
        try {
          if (inTransaction) await writeConn.run(sql);
        } catch (e: unknown) {
          // A failed COMMIT rolls the transaction back: like a failed insert, for the caller.
          throw writeError(
            sql === 'COMMIT' ? 'committing the bulk insert' : 'rolling back the bulk insert',
            e,
          );
        } finally {
          inTransaction = false;
          for (const f of pending) drop(f);
          // The next run, or close(), must not use the staging connection while a detach still runs on it.
          await Promise.all(detaching);
          ended();
        }
      };
      const addMaps = async (maps: BulkMaps) => {
        for (const kind of MAP_KINDS) {
          if (maps[kind].length === 0) continue;
          const file = writeMapFile(tmp, `bulk-${n++}-${kind}`, maps[kind]);
          try {
            await writeConn.run(addBulkMapSql(kind, file));
          } finally {
            rmSync(file, { force: true });
          }
        }
      };

      const stage = (groupFiles: readonly BulkFile[]): Promise<StagedBatch> =>
        staging(() => stageGroup(groupFiles));
      const stageGroup = async (groupFiles: readonly BulkFile[]): Promise<StagedBatch> => {
        if (over) throw new Error('bulk run already ended');
        // Key lists come back as one JSON text: much cheaper than converting DuckDB rows to JS objects one by one.
        const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
          const reader = await stageConn.runAndReadAll(
            `SELECT coalesce(to_json(list(x)), '[]')::VARCHAR AS j FROM (${sql}) x`,
          );
          return JSON.parse(String(reader.getRows()[0]?.[0] ?? '[]')) as Record<string, unknown>[];
        };
        const seq = n++;
        const staged = `bulk_g${seq}`;
        try {
          await stageConn.run(attachStagedSql(staged));
          pending.add(staged);
          await stageConn.run(stageSql(staged, groupFiles, metadataKeys));
          // Staged rows name their file by its index in the group.
          const sources = groupFiles.map((f) => f.source);
          const invalidIndexes = (await rows(KEYS_SQL.invalidFiles(staged))).map((r) =>
            Number(r.file),
          );
          if (invalidIndexes.length > 0)
            for (const sql of keepValidSql(staged, invalidIndexes)) await stageConn.run(sql);
          const invalid = invalidIndexes.map((i) => sources[i] as string);
          const sourceOf = (r: Record<string, unknown>) => sources[Number(r.file)] as string;
          // Only memory is at stake: a group that could not be compressed inserts as made.
          await stageConn.run(compressStagedSql(staged)).catch(() => undefined);
          await stageConn.run(okViewSql(staged));
          const perFile = await rows(KEYS_SQL.files);
          const [summary] = await rows(KEYS_SQL.summary);
          const prices = await rows(KEYS_SQL.prices);
          await stageConn.run(NEW_ATTRIBUTION_KEYS_SQL);
          const attributions = await rows(NEW_ATTRIBUTION_KEYS_QUERY);
          await stageConn.run(markHandedSql(seq));
          const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
          const priceKey = (r: Record<string, unknown>): PriceKey => ({
            modelId: String(r.model_id),
            region: String(r.region),
            tier: str(r.tier),
            account: String(r.account),
            day: String(r.day),
          });
          // Model ids and price keys not handed out yet (marked below, the stage having succeeded).
          const priceKeys = prices.map(priceKey);
          const models = [...new Set(priceKeys.map((k) => k.modelId))].filter(
            (m) => !handed.models.has(m),
          );
          const newPrices = priceKeys.filter((k) => !handed.prices.has(priceKeyId(k)));
          for (const m of models) handed.models.set(m, seq);
          for (const k of newPrices) handed.prices.set(priceKeyId(k), seq);
          const stageInfo = {
            invalidFiles: invalid,
            files: perFile.map((r) => ({
              file: sourceOf(r),
              rows: Number(r.rows),
              lines: Number(r.lines),
            })),
            models,
            priceKeys: newPrices,
            priceKeyRows: new Map(
              prices.map((r, i) => [priceKeyId(priceKeys[i] as PriceKey), Number(r.rows)]),
            ),
            attributionKeys: attributions.map((r) => ({
              identityArn: str(r.identity_arn),
              mdKey: str(r.md_key),
              aip: str(r.aip),
            })),
          };
          const span = [Number(summary?.lo ?? 0), Number(summary?.hi ?? 0)] as const;
          const repeated = summary?.repeated === true;
          const read = stageInfo.files.reduce((a, f) => a + f.rows, 0);
          let done = false;
          const release = () => {
            if (done) return false;
            done = true;
            return true;
          };
          return {
            ...stageInfo,
            insert: (maps, checkpoints) => {
              if (!release()) throw new Error('bulk batch already inserted or discarded');
              return inserting(async () => {
                if (over) throw new Error('bulk run already ended');
                // Whether a commit came during this group (a group can span one), and its rows that commit took.
                let committedEarlier = false;
                let committedRows = 0;
                try {
                  catalogHash ??= maps.catalogHash;
                  if (catalogHash !== maps.catalogHash)
                    throw new Error('the maps of one run come from two catalogs');
                  // Transactions end at exactly `commitRows` inserted rows, a whole number of row groups: a
                  // transaction that ends mid row group leaves a partial one, which the next checkpoint merges
                  // with its neighbours (measured: 3.3 s more at 1M rows). A group that crosses the boundary is
                  // inserted in parts.
                  const parts: { from: number; to: number | null }[] = [];
                  let from = 0;
                  for (let room = commitRows - uncommitted; read - from > room; room = commitRows) {
                    parts.push({ from, to: from + room });
                    from += room;
                  }
                  parts.push({ from, to: null });
                  let inserted = 0;
                  let committed = false;
                  for (const [i, part] of parts.entries()) {
                    if (!inTransaction) {
                      await writeConn.run('BEGIN TRANSACTION');
                      inTransaction = true;
                    }
                    // Temporary tables: the maps stay once added, whichever transaction added them.
                    if (i === 0) {
                      await addMaps(maps);
                      for (const sql of groupMapsSql(staged)) await writeConn.run(sql);
                    }
                    const n = Number(
                      (
                        await writeConn.run(
                          insertSql(staged, sources, repeated, parts.length === 1 ? null : part),
                          [maps.catalogHash, span[0], span[1]],
                        )
                      ).rowsChanged,
                    );
                    inserted += n;
                    uncommitted += n;
                    // The files are done with the group's last part.
                    if (i === parts.length - 1) await setCheckpoints(writeConn, checkpoints);
                    if (uncommitted >= commitRows || (part.to !== null && i < parts.length - 1)) {
                      await writeConn.run('COMMIT');
                      inTransaction = false;
                      uncommitted = 0;
                      committed = i === parts.length - 1;
                      committedEarlier = true;
                      committedRows = inserted;
                    }
                  }
                  drop(staged);
                  const duplicates = read - inserted;
                  return {
                    read,
                    inserted,
                    duplicates,
                    rejects: 0,
                    committed,
                    committedEarlier,
                    committedRows,
                  };
                } catch (e: unknown) {
                  // The transaction is aborted: the run is over (its uncommitted groups are rolled back).
                  await end('ROLLBACK').catch(() => undefined);
                  throw writeFailed(e, { committedEarlier, committedRows });
                }
              });
            },
            // Takes its keys back: the groups staged after it, which were not given them, must be discarded too.
            discard: async () => {
              if (!release()) return;
              drop(staged);
              if (over) return;
              for (const keys of [handed.models, handed.prices])
                for (const [k, s] of keys) if (s === seq) keys.delete(k);
              await staging(() => stageConn.run(unhandSql(seq)));
            },
          };
        } catch (e: unknown) {
          drop(staged);
          throw e;
        } finally {
          for (const sql of DROP_STAGED_SQL) await stageConn.run(sql).catch(() => undefined);
        }
      };

      return {
        stage,
        // After the inserts under way (a failed one has ended the run).
        finish: () => inserting(() => end('COMMIT')),
        abort: () => inserting(() => end('ROLLBACK')),
      };
    },
    async close() {
      await Promise.all(detaching);
      if (conns) {
        conns.stage.closeSync();
        conns.write.closeSync();
      }
      conns = null;
    },
  };
}

/**
 * A group's file checkpoints in one statement (one per file measured ~3 ms each: 0.3 s of a 1M-record ingest). A key
 * given twice keeps its last value; one statement must not replace the same key twice.
 */
async function setCheckpoints(
  conn: DuckDBConnection,
  checkpoints: readonly { readonly key: string; readonly value: string }[],
): Promise<void> {
  const latest = [...new Map(checkpoints.map((p) => [p.key, p.value]))];
  if (latest.length === 0) return;
  await conn.run(
    `INSERT OR REPLACE INTO checkpoints VALUES ${latest
      .map((_, i) => `($${2 * i + 1}, $${2 * i + 2}, now()::TIMESTAMP)`)
      .join(', ')}`,
    latest.flat(),
  );
}

/** The store's write error; an out-of-memory one also says what a commit made durable before it (BulkOutOfMemory). */
function writeFailed(e: unknown, committed: ConstructorParameters<typeof BulkOutOfMemory>[1]) {
  const error = writeError('bulk insert', e);
  return error.code === OUT_OF_MEMORY ? new BulkOutOfMemory(error.message, committed, e) : error;
}
