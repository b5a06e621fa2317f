/**
 * A fake CloudWatch endpoint speaking what the AWS SDK v3 client (`@aws-sdk/client-cloudwatch`) sends today:
 * AWS JSON 1.0 — `POST /`, `Content-Type: application/x-amz-json-1.0`,
 * `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, timestamps as epoch seconds — with the
 * awsQueryCompatible error form (`__type` in the body plus `x-amzn-query-error: <Code>;<Sender|Receiver>`).
 * It answers ListMetrics and GetMetricData over the series it is given, with pagination, aggregating raw samples
 * (one per call, as Bedrock publishes them) into Sum, SampleCount, Average, Minimum or Maximum per period.
 * Requests must be SigV4-signed for the `monitoring` service (checked, not verified); the Region is read from the
 * signature's credential scope, so series can live in one Region. Anything it does not implement answers 501
 * rather than something wrong — including another wire protocol, should a future client switch to CBOR.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSample {
  readonly at: number | Date;
  readonly value: number;
}

export interface FakeSeries {
  /** Every Region when absent. */
  readonly region?: string;
  /** Default `AWS/Bedrock`. */
  readonly namespace?: string;
  readonly metricName: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly samples: readonly FakeSample[];
}

export type FakeFailure = 'AccessDenied' | 'Throttling' | 'InternalError';

export interface FakeCloudWatchOptions {
  readonly series: readonly FakeSeries[];
  /** Metrics per ListMetrics page (real: 500). */
  readonly listPageSize?: number;
  /** Datapoints per GetMetricData page (real: 100,800). */
  readonly maxDatapointsPerPage?: number;
  /** Regions in which every request fails this way. */
  readonly failures?: Readonly<Record<string, FakeFailure>>;
}

export interface FakeRequest {
  readonly operation: string;
  readonly region: string;
  /** The `x-amzn-query-mode: true` header the query-compatible client sends. */
  readonly queryMode: boolean;
  readonly body: Record<string, unknown>;
}

export interface FakeCloudWatch {
  readonly endpoint: string;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;

const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const JSON_1_0 = 'application/x-amz-json-1.0';
const STATS = new Set(['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum']);
const HIGH_RESOLUTION_PERIODS = new Set([1, 5, 10, 20, 30]);

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) =>
  new ApiError(
    400,
    'com.amazonaws.cloudwatch#InvalidParameterValueException',
    'InvalidParameterValue',
    message,
  );
const notImplemented = (message: string) =>
  new ApiError(
    501,
    'NotImplemented',
    'NotImplemented',
    `${message} is not implemented by fake-cloudwatch`,
  );

const FAILURES: Readonly<Record<FakeFailure, (operation: string) => ApiError>> = {
  AccessDenied: (operation) =>
    new ApiError(
      400,
      'com.amazon.coral.service#AccessDeniedException',
      'AccessDenied',
      `User: arn:aws:iam::123456789012:user/fake is not authorized to perform: cloudwatch:${operation} because no identity-based policy allows the cloudwatch:${operation} action`,
    ),
  Throttling: () =>
    new ApiError(
      400,
      'com.amazon.coral.availability#ThrottlingException',
      'Throttling',
      'Rate exceeded',
    ),
  InternalError: () =>
    new ApiError(
      500,
      'com.amazonaws.cloudwatch#InternalServiceFault',
      'InternalServiceError',
      'Internal service error',
    ),
};

export async function startFakeCloudWatch(options: FakeCloudWatchOptions): Promise<FakeCloudWatch> {
  const requests: FakeRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = handle(options, requests, req, Buffer.concat(chunks).toString('utf8'));
        send(res, 200, body);
      } catch (e: unknown) {
        const error =
          e instanceof ApiError
            ? e
            : new ApiError(
                500,
                'com.amazonaws.cloudwatch#InternalServiceFault',
                'InternalServiceError',
                String(e),
              );
        const fault = error.status >= 500 ? 'Receiver' : 'Sender';
        send(
          res,
          error.status,
          { __type: error.type, message: error.message },
          {
            'x-amzn-query-error': `${error.queryCode};${fault}`,
          },
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_1_0,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function handle(
  options: FakeCloudWatchOptions,
  requests: FakeRequest[],
  req: http.IncomingMessage,
  text: string,
): unknown {
  if (req.method !== 'POST' || (req.url ?? '/') !== '/')
    throw notImplemented(`${req.method} ${req.url}`);
  const contentType = req.headers['content-type'] ?? '';
  if (contentType !== JSON_1_0)
    throw notImplemented(`Content-Type ${contentType} (only ${JSON_1_0})`);
  const target = String(req.headers['x-amz-target'] ?? '');
  if (!target.startsWith(TARGET_PREFIX)) throw notImplemented(`X-Amz-Target ${target}`);
  const operation = target.slice(TARGET_PREFIX.length);
  const scope =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/monitoring\/aws4_request,/.exec(
      req.headers.authorization ?? '',
    );
  const region = scope?.[1];
  if (region === undefined) {
    throw new ApiError(
      403,
      'com.amazon.coral.service#MissingAuthenticationTokenException',
      'MissingAuthenticationToken',
      'Request is missing a SigV4 signature for the monitoring service',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw new ApiError(
      400,
      'com.amazon.coral.service#SerializationException',
      'SerializationException',
      'bad JSON',
    );
  }
  if (!isObj(body))
    throw new ApiError(
      400,
      'com.amazon.coral.service#SerializationException',
      'SerializationException',
      'not an object',
    );
  requests.push({
    operation,
    region,
    queryMode: req.headers['x-amzn-query-mode'] === 'true',
    body,
  });
  const failure = options.failures?.[region];
  if (failure !== undefined) throw FAILURES[failure](operation);
  const series = options.series.filter((s) => s.region === undefined || s.region === region);
  if (operation === 'ListMetrics') return listMetrics(series, body, options.listPageSize ?? 500);
  if (operation === 'GetMetricData') {
    return getMetricData(series, body, options.maxDatapointsPerPage ?? 100_800);
  }
  throw notImplemented(operation);
}

function listMetrics(series: readonly FakeSeries[], body: Obj, pageSize: number): unknown {
  for (const key of ['RecentlyActive', 'IncludeLinkedAccounts', 'OwningAccount']) {
    if (body[key] !== undefined) throw notImplemented(`ListMetrics ${key}`);
  }
  const filters = Array.isArray(body.Dimensions) ? (body.Dimensions as Obj[]) : [];
  const seen = new Set<string>();
  const metrics = series
    .filter(
      (s) =>
        (body.Namespace === undefined || body.Namespace === namespaceOf(s)) &&
        (body.MetricName === undefined || body.MetricName === s.metricName) &&
        filters.every((f) => {
          const value = s.dimensions?.[String(f.Name)];
          return value !== undefined && (f.Value === undefined || f.Value === value);
        }),
    )
    .map((s) => ({
      Namespace: namespaceOf(s),
      MetricName: s.metricName,
      Dimensions: Object.entries(s.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
    }))
    .filter((m) => {
      const key = JSON.stringify(m);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const offset = readToken(body.NextToken, 'list');
  const page = metrics.slice(offset, offset + pageSize);
  const next = offset + pageSize < metrics.length ? token('list', offset + pageSize) : undefined;
  return { Metrics: page, ...(next === undefined ? {} : { NextToken: next }) };
}

interface Query {
  readonly id: string;
  readonly label: string;
  readonly datapoints: readonly (readonly [number, number])[];
}

function getMetricData(series: readonly FakeSeries[], body: Obj, pageSize: number): unknown {
  for (const key of ['MaxDatapoints', 'LabelOptions']) {
    if (body[key] !== undefined) throw notImplemented(`GetMetricData ${key}`);
  }
  const { MetricDataQueries: raw, StartTime: start, EndTime: end } = body;
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('MetricDataQueries must not be empty');
  if (raw.length > 500) {
    throw new ApiError(
      400,
      'com.amazonaws.cloudwatch#ValidationException',
      'ValidationError',
      `The collection MetricDataQueries must not have a size greater than 500.`,
    );
  }
  if (typeof start !== 'number' || typeof end !== 'number' || start >= end) {
    throw invalid('StartTime must be a time (epoch seconds) before EndTime');
  }
  const ascending = body.ScanBy === 'TimestampAscending';
  if (body.ScanBy !== undefined && !ascending && body.ScanBy !== 'TimestampDescending') {
    throw invalid(`ScanBy ${String(body.ScanBy)}`);
  }
  const ids = new Set<string>();
  const queries = raw.map((q: unknown): Query => {
    if (!isObj(q) || typeof q.Id !== 'string' || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) {
      throw invalid('each query needs an Id starting with a lowercase letter');
    }
    if (ids.has(q.Id)) throw invalid(`duplicate query Id ${q.Id}`);
    ids.add(q.Id);
    if (q.Expression !== undefined) throw notImplemented('metric math (Expression)');
    if (q.AccountId !== undefined) throw notImplemented('cross-account queries (AccountId)');
    const stat = q.MetricStat;
    if (!isObj(stat) || !isObj(stat.Metric)) throw invalid(`query ${q.Id} has no MetricStat`);
    if (stat.Unit !== undefined) throw notImplemented('MetricStat.Unit');
    const period = stat.Period;
    if (
      typeof period !== 'number' ||
      !Number.isInteger(period) ||
      period <= 0 ||
      (!HIGH_RESOLUTION_PERIODS.has(period) && period % 60 !== 0)
    ) {
      throw invalid(
        `query ${q.Id}: Period ${String(period)} is not 1, 5, 10, 20, 30 or a multiple of 60`,
      );
    }
    if (typeof stat.Stat !== 'string' || !STATS.has(stat.Stat)) {
      throw notImplemented(`statistic ${String(stat.Stat)}`);
    }
    const matching = series.filter((s) => sameMetric(s, stat.Metric as Obj));
    const points = aggregate(matching, stat.Stat, period * 1000, start * 1000, end * 1000);
    points.sort((a, b) => (ascending ? a[0] - b[0] : b[0] - a[0]));
    const label = typeof q.Label === 'string' ? q.Label : String((stat.Metric as Obj).MetricName);
    return { id: q.Id, label, datapoints: points };
  });
  const hash = createHash('sha256')
    .update(JSON.stringify({ ...body, NextToken: undefined }))
    .digest('hex')
    .slice(0, 16);
  const offset = readToken(body.NextToken, hash);
  const total = queries.reduce((n, q) => n + q.datapoints.length, 0);
  const results: Obj[] = [];
  let position = 0;
  for (const q of queries) {
    // This page holds the query's datapoints [from, to); a query without any is answered on the first page.
    const from = Math.max(offset - position, 0);
    const to = Math.max(from, Math.min(offset + pageSize - position, q.datapoints.length));
    position += q.datapoints.length;
    const empty = q.datapoints.length === 0 && offset === 0;
    if (from === to && !empty) continue;
    const slice = q.datapoints.slice(from, to);
    results.push({
      Id: q.id,
      Label: q.label,
      Timestamps: slice.map(([at]) => at / 1000),
      Values: slice.map(([, v]) => v),
      StatusCode: to < q.datapoints.length ? 'PartialData' : 'Complete',
    });
  }
  const next = offset + pageSize < total ? token(hash, offset + pageSize) : undefined;
  return {
    MetricDataResults: results,
    Messages: [],
    ...(next === undefined ? {} : { NextToken: next }),
  };
}

function sameMetric(s: FakeSeries, metric: Obj): boolean {
  if (metric.Namespace !== namespaceOf(s) || metric.MetricName !== s.metricName) return false;
  const wanted = Array.isArray(metric.Dimensions) ? (metric.Dimensions as Obj[]) : [];
  const have = Object.entries(s.dimensions ?? {});
  return (
    wanted.length === have.length && wanted.every((d) => s.dimensions?.[String(d.Name)] === d.Value)
  );
}

/** Samples in [start, end) bucketed by period (aligned to the epoch) and reduced by the statistic. */
function aggregate(
  matching: readonly FakeSeries[],
  stat: string,
  periodMs: number,
  startMs: number,
  endMs: number,
): [number, number][] {
  const buckets = new Map<number, number[]>();
  for (const s of matching) {
    for (const sample of s.samples) {
      const at = sample.at instanceof Date ? sample.at.getTime() : sample.at;
      if (at < startMs || at >= endMs) continue;
      const bucket = at - (at % periodMs);
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), sample.value]);
    }
  }
  return [...buckets].map(([at, values]): [number, number] => {
    const sum = values.reduce((a, b) => a + b, 0);
    if (stat === 'Sum') return [at, sum];
    if (stat === 'SampleCount') return [at, values.length];
    if (stat === 'Average') return [at, sum / values.length];
    if (stat === 'Minimum') return [at, Math.min(...values)];
    return [at, Math.max(...values)];
  });
}

function namespaceOf(s: FakeSeries): string {
  return s.namespace ?? 'AWS/Bedrock';
}

function token(scope: string, offset: number): string {
  return Buffer.from(`fake-cloudwatch:${scope}:${offset}`).toString('base64');
}

/** The offset a NextToken encodes (0 when none); a token of another request is refused, as CloudWatch does. */
function readToken(value: unknown, scope: string): number {
  if (value === undefined || value === null) return 0;
  const match = /^fake-cloudwatch:([^:]+):(\d+)$/.exec(
    Buffer.from(String(value), 'base64').toString(),
  );
  if (match?.[1] !== scope) {
    throw new ApiError(
      400,
      'com.amazonaws.cloudwatch#InvalidNextToken',
      'InvalidNextToken',
      'The service returned an error with Error Code InvalidNextToken',
    );
  }
  return Number(match[2]);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
