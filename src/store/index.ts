/**
 * store: the Store contract and its implementations (DuckDB embedded). SQL stays in here. Imports core only.
 */
// First: the allocator's environment must be set before DuckDB's library loads.
import './duckdb/allocator.ts';

export * from './duckdb/store.ts';
export * from './store.ts';
