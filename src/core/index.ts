/**
 * core: the shared vocabulary (usage record, money, errors, logging). Imports nothing else in src/.
 */
export * from './concurrency.ts';
export * from './errors.ts';
export * from './heap.ts';
export * from './logger.ts';
export * from './money.ts';
export * from './proxy.ts';
export * from './usage-record.ts';
