/**
 * demo: generates a fictional organisation's Amazon Bedrock model invocation logs (gzip NDJSON in the real S3
 * layout, offloaded bodies, permission-check markers) and the tokenledger.yaml to ingest them with.
 * Deterministic from a seed and an end date. Imports only node:* and core.
 */
export type { DemoConfig, DemoRule } from './config-file.ts';
export { type DemoOptions, type DemoResult, generateDemo } from './generate.ts';
/** The bucket named in offloaded-body paths (`s3://<bucket>/AWSLogs/…`); locally it is the `logsRoot` folder. */
export { DEMO_BUCKET } from './organisation.ts';
