/**
 * DuckDB's bundled jemalloc keeps freed pages for a while (its default decay) and only returns them when it is next
 * called; during a bulk ingest that retention was ~100 MB of peak RSS. A background purge thread (store.ts turns it
 * on) with a 250 ms dirty decay returns them at no measurable CPU cost (a 0 ms decay saved ~80 MB more but cost
 * ~50 % more CPU). jemalloc reads this variable once, when DuckDB's library loads: store/index.ts imports this module
 * before anything that imports DuckDB (and bench/child.ts does so first). A value the user set wins.
 */
process.env.DUCKDB_JE_MALLOC_CONF ??= 'dirty_decay_ms:250,muzzy_decay_ms:0';
