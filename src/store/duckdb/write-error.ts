/**
 * A failed DuckDB write as the store reports it. Running out of the memory limit gets its own code, and only the
 * first line of DuckDB's message: the rest is DuckDB's own advice (SET threads…, SET memory_limit…), which a
 * tokenledger user acts on through TOKENLEDGER_DUCKDB_MEMORY instead (the CLI says so).
 */
import { AppError, OUT_OF_MEMORY } from '../../core/index.ts';

/** `what` failed: "writing a batch", "bulk insert"… */
export function writeError(what: string, e: unknown): AppError {
  const message = (e as Error).message;
  return /^Out of Memory Error/.test(message)
    ? new AppError(OUT_OF_MEMORY, `${what} ran out of memory: ${message.split('\n')[0]}`, {
        cause: e,
      })
    : new AppError('store.write_failed', `${what} failed: ${message}`, {
        cause: e,
        retryable: true,
      });
}
