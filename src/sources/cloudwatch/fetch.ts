/**
 * The metrics port and how it reads CloudWatch: ListMetrics discovers every `AWS/Bedrock` series (so both
 * cache-metric spellings and every `+priority`/`+flex` ModelId are found, as they exist), GetMetricData reads
 * them in batches of ≤ 500 queries, following NextToken. The result carries the points and the exact file form
 * (parse.ts) they were read from, so a saved fetch re-reads to the same points offline.
 *
 * Not queried: series with dimensions besides ModelId (image models' ImageSize/BucketedStepSize), which would
 * collide on a point's key. ListMetrics only lists series with data in the last two weeks (a CloudWatch rule).
 */
import { AppError, type AwsRequestHandler } from '../../core/index.ts';
import type {
  MessageJson,
  MetricDataDocument,
  MetricDataQueryJson,
  MetricDataResultJson,
} from './file-form.ts';
import {
  BEDROCK_NAMESPACE,
  LATENCY_METRICS,
  type MetricPoint,
  type MetricReject,
  splitModelId,
} from './metric-point.ts';
import { readMetricDocuments } from './parse.ts';

export interface MetricsFetchOptions {
  readonly region: string;
  /** Recorded as the document's AccountId and on every point; CloudWatch is read with the caller's credentials. */
  readonly account?: string | undefined;
  readonly start: Date;
  readonly end: Date;
  /** 1, 5, 10, 20, 30 or a multiple of 60 (CloudWatch's rule). */
  readonly periodSeconds: number;
  /** Only these models (with or without a tier suffix); account-level metrics (log delivery) are always read. */
  readonly modelIds?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface MetricsFetchResult {
  readonly points: MetricPoint[];
  /** What CloudWatch reported as incomplete or failed (result StatusCodes, messages); empty when all is well. */
  readonly rejects: MetricReject[];
  /** The file form of what was fetched: save it as JSON and `parseMetricData` reads back the same points. */
  readonly document: MetricDataDocument[];
}

/** The port: metrics for one Region and time range. */
export interface MetricsSource {
  fetch(options: MetricsFetchOptions): Promise<MetricsFetchResult>;
}

/** The two CloudWatch operations the source needs, shaped as the AWS SDK v3 client returns them. */
export interface CloudWatchCalls {
  listMetrics(input: ListMetricsInput, signal?: AbortSignal): Promise<ListMetricsPage>;
  getMetricData(input: GetMetricDataInput, signal?: AbortSignal): Promise<GetMetricDataPage>;
}

export interface ListMetricsInput {
  readonly Namespace: string;
  readonly NextToken?: string;
}

export interface ListMetricsPage {
  readonly Metrics?: readonly ListedMetric[] | undefined;
  readonly NextToken?: string | undefined;
}

export interface ListedMetric {
  readonly Namespace?: string | undefined;
  readonly MetricName?: string | undefined;
  readonly Dimensions?:
    | readonly { readonly Name?: string | undefined; readonly Value?: string | undefined }[]
    | undefined;
}

export interface GetMetricDataInput {
  readonly MetricDataQueries: readonly MetricDataQueryJson[];
  readonly StartTime: Date;
  readonly EndTime: Date;
  readonly ScanBy: 'TimestampAscending';
  readonly NextToken?: string;
}

export interface GetMetricDataPage {
  readonly MetricDataResults?: readonly ResultPage[] | undefined;
  readonly Messages?: readonly MessagePage[] | undefined;
  readonly NextToken?: string | undefined;
}

interface ResultPage {
  readonly Id?: string | undefined;
  readonly Label?: string | undefined;
  readonly Timestamps?: readonly Date[] | undefined;
  readonly Values?: readonly number[] | undefined;
  readonly StatusCode?: string | undefined;
  readonly Messages?: readonly MessagePage[] | undefined;
}

interface MessagePage {
  readonly Code?: string | undefined;
  readonly Value?: string | undefined;
}

/** GetMetricData's limit on queries per request. */
export const MAX_QUERIES_PER_REQUEST = 500;

/** The CloudWatch client options a caller (a test, the CLI) may set; everything else is the SDK's default. */
export interface CloudWatchClientOptions {
  readonly endpoint?: string | undefined;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly maxAttempts?: number;
  /** Through an HTTP proxy (`awsRequestHandler`). */
  readonly requestHandler?: AwsRequestHandler;
}

/**
 * The CloudWatch-backed source. The AWS SDK is imported on first fetch (it costs ~0.5 s to load); one client per
 * Region, with the standard credential chain. Endpoint: `options.endpoint`, else `AWS_ENDPOINT_URL_CLOUDWATCH`,
 * else `AWS_ENDPOINT_URL` from `env`.
 */
export function createCloudWatchMetricsSource(
  env: NodeJS.ProcessEnv,
  options: CloudWatchClientOptions = {},
): MetricsSource {
  const clients = new Map<string, Promise<CloudWatchCalls>>();
  return createMetricsSource((region) => {
    let calls = clients.get(region);
    if (calls === undefined) {
      calls = import('./cloudwatch-calls.ts').then((m) =>
        m.createCloudWatchCalls({ ...m.clientOptionsFromEnv(env, region), ...options, region }),
      );
      clients.set(region, calls);
    }
    return calls;
  });
}

/** The fetch logic over any implementation of the two calls. */
export function createMetricsSource(
  callsFor: (region: string) => CloudWatchCalls | Promise<CloudWatchCalls>,
): MetricsSource {
  return {
    async fetch(options) {
      validate(options);
      const calls = await callsFor(options.region);
      const listed = await listMetrics(calls, options.signal);
      const queries = buildQueries(selectMetrics(listed, options.modelIds), options.periodSeconds);
      const document: MetricDataDocument[] = [];
      for (let i = 0; i < queries.length; i += MAX_QUERIES_PER_REQUEST) {
        const batch = queries.slice(i, i + MAX_QUERIES_PER_REQUEST);
        document.push(await fetchBatch(calls, batch, options));
      }
      const { points, rejects } = readMetricDocuments(document, `cloudwatch:${options.region}`);
      return { points, rejects, document };
    },
  };
}

function validate({ region, start, end, periodSeconds }: MetricsFetchOptions): void {
  const bad = (message: string) => new AppError('sources.invalid_argument', message);
  if (region.trim() === '') throw bad('no Region to read CloudWatch metrics from');
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
    throw bad('the metrics time range has an invalid date');
  }
  if (start.getTime() >= end.getTime()) {
    throw bad(
      `the metrics time range is empty: ${start.toISOString()} is not before ${end.toISOString()}`,
    );
  }
  const highResolution = [1, 5, 10, 20, 30].includes(periodSeconds);
  if (
    !Number.isSafeInteger(periodSeconds) ||
    periodSeconds <= 0 ||
    (!highResolution && periodSeconds % 60 !== 0)
  ) {
    throw bad(
      `period ${periodSeconds} s is not one CloudWatch accepts (1, 5, 10, 20, 30 or a multiple of 60)`,
    );
  }
}

async function listMetrics(calls: CloudWatchCalls, signal?: AbortSignal): Promise<ListedMetric[]> {
  const metrics: ListedMetric[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await calls.listMetrics(
      token === undefined
        ? { Namespace: BEDROCK_NAMESPACE }
        : { Namespace: BEDROCK_NAMESPACE, NextToken: token },
      signal,
    );
    metrics.push(...(page.Metrics ?? []));
    token = nextToken(page.NextToken, seen, 'ListMetrics');
  } while (token !== undefined);
  return metrics;
}

function nextToken(
  token: string | undefined,
  seen: Set<string>,
  operation: string,
): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (seen.has(token)) {
    throw new AppError(
      'sources.cloudwatch_error',
      `CloudWatch ${operation} returned the same NextToken twice`,
    );
  }
  seen.add(token);
  return token;
}

interface Selected {
  readonly name: string;
  readonly modelId: string | null;
}

/** Bedrock series keyed by ModelId alone (or account-level), filtered by model, deduplicated and sorted. */
function selectMetrics(listed: readonly ListedMetric[], modelIds?: readonly string[]): Selected[] {
  const wanted = modelIds === undefined ? undefined : new Set(modelIds);
  const out = new Map<string, Selected>();
  for (const m of listed) {
    if (m.Namespace !== BEDROCK_NAMESPACE || m.MetricName === undefined || m.MetricName === '')
      continue;
    const dims = m.Dimensions ?? [];
    if (dims.length > 1 || dims.some((d) => d.Name !== 'ModelId' || d.Value === undefined))
      continue;
    const modelId = dims[0]?.Value ?? null;
    if (modelId !== null && wanted !== undefined && !wanted.has(modelId)) {
      const split = splitModelId(modelId);
      if ('error' in split || !wanted.has(split.modelId)) continue;
    }
    out.set(`${m.MetricName}\u0000${modelId ?? ''}`, { name: m.MetricName, modelId });
  }
  return [...out.values()].sort(
    (a, b) => compare(a.name, b.name) || compare(a.modelId ?? '', b.modelId ?? ''),
  );
}

/** One query per series: `Sum` for counts, `Average` for the latency metrics. Ids `m0`, `m1`, … */
function buildQueries(selected: readonly Selected[], period: number): MetricDataQueryJson[] {
  return selected.map((s, i) => ({
    Id: `m${i}`,
    Label: s.modelId === null ? s.name : `${s.name} ${s.modelId}`,
    MetricStat: {
      Metric: {
        Namespace: BEDROCK_NAMESPACE,
        MetricName: s.name,
        ...(s.modelId === null ? {} : { Dimensions: [{ Name: 'ModelId', Value: s.modelId }] }),
      },
      Period: period,
      Stat: LATENCY_METRICS.has(s.name) ? 'Average' : 'Sum',
    },
  }));
}

interface MergedResult {
  Id: string;
  Label?: string;
  Timestamps: string[];
  Values: number[];
  StatusCode?: string;
  Messages?: MessageJson[];
}

/** One request's pages, merged per query Id into one document of the file form. */
async function fetchBatch(
  calls: CloudWatchCalls,
  queries: readonly MetricDataQueryJson[],
  { region, account, start, end, signal }: MetricsFetchOptions,
): Promise<MetricDataDocument> {
  const results = new Map<string, MergedResult>();
  const messages: MessageJson[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const input = {
      MetricDataQueries: queries,
      StartTime: start,
      EndTime: end,
      ScanBy: 'TimestampAscending' as const,
    };
    const page = await calls.getMetricData(
      token === undefined ? input : { ...input, NextToken: token },
      signal,
    );
    // A result that is partial on a page with a NextToken goes on in the next page, which is read.
    const followed = page.NextToken !== undefined && page.NextToken !== '';
    for (const r of page.MetricDataResults ?? []) {
      const id = r.Id ?? '';
      const merged = results.get(id) ?? { Id: id, Timestamps: [], Values: [] };
      if (r.Label !== undefined) merged.Label = r.Label;
      for (const t of r.Timestamps ?? []) merged.Timestamps.push(t.toISOString());
      merged.Values.push(...(r.Values ?? []));
      if (r.StatusCode !== undefined) {
        merged.StatusCode = r.StatusCode === 'PartialData' && followed ? 'Complete' : r.StatusCode;
      }
      if (r.Messages !== undefined && r.Messages.length > 0) {
        merged.Messages = [...(merged.Messages ?? []), ...r.Messages.map(message)];
      }
      results.set(id, merged);
    }
    messages.push(...(page.Messages ?? []).map(message));
    token = nextToken(page.NextToken, seen, 'GetMetricData');
  } while (token !== undefined);
  return {
    Region: region,
    ...(account === undefined ? {} : { AccountId: account }),
    StartTime: start.toISOString(),
    EndTime: end.toISOString(),
    ScanBy: 'TimestampAscending',
    MetricDataQueries: queries,
    MetricDataResults: [...results.values()] satisfies MetricDataResultJson[],
    ...(messages.length === 0 ? {} : { Messages: messages }),
  };
}

function message(m: MessagePage): MessageJson {
  return {
    ...(m.Code === undefined ? {} : { Code: m.Code }),
    ...(m.Value === undefined ? {} : { Value: m.Value }),
  };
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
