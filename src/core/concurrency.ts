/** Bounded concurrency for the tasks of one resource (a DuckDB connection, S3 GETs). */

/**
 * Runs at most `n` tasks at once, in call order; a failed task does not stop the next. `limiter(1)` serialises: one
 * connection's statements, one sink's read-compute-write.
 */
/** Runs a task when its turn comes (`limiter`). */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function limiter(n: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((go) => waiting.push(go)); // a finishing task hands over its slot
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next !== undefined) next();
      else active--;
    }
  };
}
