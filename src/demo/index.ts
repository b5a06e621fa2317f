/**
 * demo: generates a fictional organisation's Amazon Bedrock model invocation logs (gzip NDJSON in the real S3
 * layout, offloaded bodies, permission-check markers), the tokenledger.yaml to ingest them with, the same usage as
 * AWS bills it (a CUR 2.0 export) and meters it (CloudWatch `AWS/Bedrock` metrics), on request the OTLP telemetry its
 * Claude Code developers send about the same calls (OTLP/JSON export files), and `demo-truth.json`: the known
 * differences between them. Deterministic from a seed and an end date. Imports core, and normalise and price to put
 * list prices on the bill.
 */
export type { DemoConfig, DemoRule } from './config-file.ts';
export { CUR_COLUMNS } from './cur.ts';
export { type DemoOptions, type DemoResult, generateDemo } from './generate.ts';
/** The bucket named in offloaded-body paths (`s3://<bucket>/AWSLogs/…`); locally it is the `root` folder. */
export { DEMO_BUCKET } from './organisation.ts';
export {
  OTLP_DIR,
  PILOT_TEAMS,
  type SessionTruth,
  TELEMETRY_DAYS,
} from './otlp.ts';
