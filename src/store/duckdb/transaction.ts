/**
 * One transaction on a connection the store's writers share. The caller holds the store's turn (its `transactions`
 * limiter, store.ts): a transaction begun while another is open on the same connection fails, and a ROLLBACK would
 * undo both.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Runs `fn` between BEGIN and COMMIT; ROLLBACK instead when `fn` throws (the error is rethrown), or when `commit` is
 * false (a dry run: `fn`'s result, none of its writes).
 */
export async function inTransaction<T>(
  conn: DuckDBConnection,
  fn: () => Promise<T>,
  commit = true,
): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const result = await fn();
    await conn.run(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (e: unknown) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
