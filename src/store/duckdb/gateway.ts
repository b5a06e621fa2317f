/** The DuckDB GatewayKeyStore: virtual keys, hashed (the plaintext is never stored). */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { Limiter } from '../../core/index.ts';
import type { GatewayKeyRow, GatewayKeyStore } from '../store.ts';
import { inTransaction } from './transaction.ts';

export const GATEWAY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS gateway_keys (
    id VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL, name VARCHAR NOT NULL, team VARCHAR, "user" VARCHAR,
    feature VARCHAR, project VARCHAR, environment VARCHAR, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP,
    revoked_at TIMESTAMP, replaced_by VARCHAR
  )`,
];

const ms = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * `transactions` serialises the transactions every writer runs on this one connection (a key saved while a batch of
 * usage was being inserted began a transaction inside the insert's, and failed with a 500).
 */
export function createGatewayKeyStore(
  conn: DuckDBConnection,
  transactions: Limiter,
  /** The store's connection for reads, outside any writer's transaction. */
  reads: DuckDBConnection = conn,
): GatewayKeyStore {
  return {
    put: (keys) => transactions(() => putKeys(conn, keys)),

    async list(): Promise<GatewayKeyRow[]> {
      const rows = (
        await reads.runAndReadAll(
          `SELECT id, hash, name, team, "user", feature, project, environment, epoch_ms(created_at) AS created,
             epoch_ms(expires_at) AS expires, epoch_ms(revoked_at) AS revoked, replaced_by
           FROM gateway_keys ORDER BY created_at, id`,
        )
      ).getRowObjectsJS();
      return rows.map((r) => ({
        id: String(r.id),
        hash: String(r.hash),
        name: String(r.name),
        team: str(r.team),
        user: str(r.user),
        feature: str(r.feature),
        project: str(r.project),
        environment: str(r.environment),
        createdAt: Number(r.created),
        expiresAt: ms(r.expires),
        revokedAt: ms(r.revoked),
        replacedBy: str(r.replaced_by),
      }));
    },
  };
}

async function putKeys(
  conn: DuckDBConnection,
  keys: Parameters<GatewayKeyStore['put']>[0],
): Promise<void> {
  if (keys.length === 0) return;
  await inTransaction(conn, async () => {
    for (const k of keys)
      await conn.run(
        `INSERT OR REPLACE INTO gateway_keys VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
           epoch_ms($9::BIGINT), epoch_ms($10::BIGINT), epoch_ms($11::BIGINT), $12)`,
        [
          k.id,
          k.hash,
          k.name,
          k.team,
          k.user,
          k.feature,
          k.project,
          k.environment,
          k.createdAt,
          k.expiresAt,
          k.revokedAt,
          k.replacedBy,
        ] as DuckDBValue[],
      );
  });
}
