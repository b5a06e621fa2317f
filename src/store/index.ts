/**
 * store: the Store contract and its implementations (DuckDB embedded). SQL stays in here. Imports core only.
 */
export * from './duckdb/store.ts';
export * from './store.ts';
