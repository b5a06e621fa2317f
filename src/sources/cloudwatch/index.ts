/**
 * The CloudWatch `AWS/Bedrock` metrics source: the file form (saved GetMetricData requests + responses) and its
 * parser, what the metrics say about usage and log gaps, and the `MetricsSource` port with its CloudWatch
 * implementation (the AWS SDK is loaded on first fetch).
 */
export * from './derive.ts';
export * from './fetch.ts';
export type * from './file-form.ts';
export * from './metric-point.ts';
export * from './parse.ts';
