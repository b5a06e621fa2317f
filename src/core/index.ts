/**
 * core: the shared vocabulary (usage record, money, errors, logging) and a few process helpers (V8 heap flags, whole
 * writes to a file descriptor). Imports nothing else in src/.
 */
export * from './concurrency.ts';
export * from './errors.ts';
export * from './heap.ts';
export * from './logger.ts';
export * from './money.ts';
export * from './proxy.ts';
export * from './temp-dir.ts';
export * from './usage-record.ts';
export * from './write-all.ts';
