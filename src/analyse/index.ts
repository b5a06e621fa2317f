/**
 * analyse: reports over the stored ledger (queries → view models). Imports core and store.
 */

export * from './model-name.ts';
export * from './reconcile.ts';
export * from './report.ts';
export * from './telemetry-report.ts';
export * from './time-range.ts';
