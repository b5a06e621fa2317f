/**
 * sources: read foreign formats into RawUsage (or Rejects) through the ObjectStore port. Imports core only.
 */
export { awsRequestHandler } from './aws-env.ts';
export * from './cloudwatch/index.ts';
export type { LogBody } from './invocation-logs/lines.ts';
export * from './invocation-logs/read.ts';
export * from './invocation-logs/records.ts';
export * from './lazy-object-stores.ts';
export * from './local-object-store.ts';
export * from './object-store.ts';
export * from './object-store-router.ts';
export * from './otlp/index.ts';
