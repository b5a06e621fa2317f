/**
 * pipeline: runs sources through normalise → price → attribute → store. Imports core, sources, normalise, price,
 * attribute, store.
 */
export * from './ingest.ts';
export * from './ingest-cur.ts';
export * from './ingest-metrics.ts';
export * from './otlp-sink.ts';
export * from './reprice.ts';
export * from './row-encoder.ts';
