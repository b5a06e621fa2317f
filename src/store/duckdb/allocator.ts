/**
 * DuckDB's bundled jemalloc keeps freed pages for a while (its default decay) and only returns them when it is next
 * called; during a bulk ingest that retention was ~100 MB of peak RSS. A background purge thread (store.ts turns it
 * on) returns them after a 20 ms dirty decay, and one arena instead of jemalloc's default of four per CPU keeps the
 * threads (DuckDB's, its purge thread, the event loop's calls in) from each holding free pages of their own: 1M
 * records peaked at 418–440 MB against 474–515 MB with the 250 ms decay and default arenas used before (nine
 * and seven runs), at the same speed within noise; reports on a 10M-record ledger took the same time. A 0 ms decay
 * saved ~20 MB more but cost ~40 % more wall time. jemalloc reads this variable once, when DuckDB's library loads:
 * store/index.ts imports this module before anything that imports DuckDB (and bench/child.ts does so first). A value
 * the user set wins.
 */
process.env.DUCKDB_JE_MALLOC_CONF ??= 'narenas:1,dirty_decay_ms:20,muzzy_decay_ms:0';
