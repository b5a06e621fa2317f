/**
 * Bedrock invocation logs read straight from CloudWatch Logs, for accounts that deliver them there only
 * (bedrock.md §1.3): `cwlogs://LOG_GROUP`, with an optional window `?since=ISO&until=ISO` (the CLI's --since and
 * --until; default the last 7 days).
 *
 * A log group and a window list as one object per UTC hour, `cwlogs://LOG_GROUP@2026-11-23T10Z`. Read, an hour is
 * the messages of its events as NDJSON (one invocation record per event), FilterLogEvents pages fetched as they are
 * consumed, so the ingest pipeline parses, rejects, checkpoints and resumes it like a file (line = the event's place
 * in the hour). An hour that ended more than SETTLE_MS ago is settled: its version never changes, so once ingested
 * it is skipped. A later hour's version is the minute it was listed: the next run reads it again, and request-id
 * dedupe makes the overlap free. An hour is never resumed mid-way (`resumable: false`): events of one timestamp may
 * come back in another order, so an interrupted hour is read again from its first event.
 *
 * Only Bedrock's stream (`aws/bedrock/modelinvocations`) is read, so a log group shared with other writers costs
 * no rejects. The port holds no credentials and never logs; errors name the log group and the permission needed.
 */
import { Readable } from 'node:stream';
import {
  CloudWatchLogsClient,
  type CloudWatchLogsClientConfig,
  CloudWatchLogsServiceException,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { AppError, type AwsRequestHandler } from '../core/index.ts';
import { awsClientEnv } from './aws-env.ts';
import { CWLOGS_SCHEME, type ObjectInfo, type ObjectStore } from './object-store.ts';

/** Where Bedrock writes in the log group (bedrock.md §1.3). */
export const BEDROCK_LOG_STREAM = 'aws/bedrock/modelinvocations';
/**
 * Events can reach CloudWatch Logs after their timestamp (Bedrock writes them as calls end, a few minutes at most):
 * an hour counts as complete this long after it ends, and is not read again after that.
 */
export const SETTLE_MS = 60 * 60_000;
export const DEFAULT_WINDOW_MS = 7 * 86_400_000;
const HOUR_MS = 3_600_000;
/** Log group names: letters, digits and `_ - / . #` (CloudWatch Logs' own rule), up to 512. */
const GROUP = /^[\w\-/.#]{1,512}$/;

export interface CloudWatchLogsObjectStoreOptions {
  readonly client?: CloudWatchLogsClient;
  readonly region?: string;
  readonly endpoint?: string;
  /** Through an HTTP proxy (`awsRequestHandler`). */
  readonly requestHandler?: AwsRequestHandler;
  readonly now?: () => number;
}

interface Location {
  readonly group: string;
  /** Listing: the window [since, until). Reading: the hour. */
  readonly since: number;
  readonly until: number;
}

export function createCloudWatchLogsObjectStore(
  options: CloudWatchLogsObjectStoreOptions = {},
): ObjectStore {
  const region = options.region ?? 'us-east-1';
  const config: CloudWatchLogsClientConfig = {
    region,
    // FilterLogEvents has a low per-account rate quota, and ingest opens several hours at once: on throttling, the
    // adaptive mode slows the client down and retries rather than failing the run.
    retryMode: 'adaptive',
    maxAttempts: 10,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.requestHandler === undefined ? {} : { requestHandler: options.requestHandler }),
  };
  const client = options.client ?? new CloudWatchLogsClient(config);
  const now = options.now ?? Date.now;
  return {
    async *list(uri) {
      yield* hours(parseCwLogsUri(uri, now()), now());
    },
    read: async (uri, signal) =>
      Readable.from(events(client, parseCwLogsUri(uri, now()), region, signal)),
  };
}

/** Region from `AWS_REGION` / `AWS_DEFAULT_REGION`; endpoint from `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` / `AWS_ENDPOINT_URL`. */
export function createCloudWatchLogsObjectStoreFromEnv(env: NodeJS.ProcessEnv): ObjectStore {
  return createCloudWatchLogsObjectStore(awsClientEnv(env, 'CLOUDWATCH_LOGS'));
}

const hourName = (t: number) => `${new Date(t).toISOString().slice(0, 13)}Z`;

/**
 * `cwlogs://GROUP[?since=…&until=…]` (a window) or `cwlogs://GROUP@YYYY-MM-DDTHHZ` (one hour). Times are ISO dates
 * or epoch milliseconds.
 */
export function parseCwLogsUri(uri: string, now: number): Location {
  const bad = (why: string) =>
    new AppError(
      'sources.invalid_uri',
      `${why}: ${uri} (expected cwlogs://LOG_GROUP, e.g. cwlogs:///aws/bedrock/invocations)`,
    );
  if (!uri.startsWith(CWLOGS_SCHEME)) throw bad('not a CloudWatch Logs URI');
  const rest = uri.slice(CWLOGS_SCHEME.length);
  const hour = /^(.*)@(\d{4}-\d{2}-\d{2}T\d{2})Z$/.exec(rest);
  if (hour !== null) {
    const group = hour[1] as string;
    const since = Date.parse(`${hour[2]}:00:00Z`);
    if (!GROUP.test(group) || Number.isNaN(since)) throw bad('not a log group hour');
    return { group, since, until: since + HOUR_MS };
  }
  const q = rest.indexOf('?');
  const group = q < 0 ? rest : rest.slice(0, q);
  if (!GROUP.test(group)) throw bad('not a log group name');
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const time = (name: string, fallback: number) => {
    const v = params.get(name);
    if (v === null || v === '') return fallback;
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(t)) throw bad(`${name} is not a time`);
    return t;
  };
  const until = time('until', now);
  const since = time('since', until - DEFAULT_WINDOW_MS);
  if (since >= until) throw bad('since is not before until');
  return { group, since, until };
}

/** The window's hours, oldest first, each with the version that decides whether it is read again. */
function* hours({ group, since, until }: Location, now: number): Generator<ObjectInfo> {
  for (let h = Math.floor(since / HOUR_MS) * HOUR_MS; h < until; h += HOUR_MS) {
    const settled = h + HOUR_MS + SETTLE_MS <= now;
    yield {
      uri: `${CWLOGS_SCHEME}${group}@${hourName(h)}`,
      size: 0,
      version: settled
        ? 'settled'
        : `open@${new Date(Math.floor(now / 60_000) * 60_000).toISOString()}`,
      resumable: false,
    };
  }
}

/** The hour's messages, one per line, page by page (a page holds up to 10,000 events or 1 MB). */
async function* events(
  client: CloudWatchLogsClient,
  { group, since, until }: Location,
  region: string,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  let token: string | undefined;
  do {
    const page = await client
      .send(
        new FilterLogEventsCommand({
          logGroupName: group,
          logStreamNamePrefix: BEDROCK_LOG_STREAM,
          startTime: since,
          // Inclusive: the hour's last millisecond.
          endTime: until - 1,
          ...(token === undefined ? {} : { nextToken: token }),
        }),
        signal === undefined ? {} : { abortSignal: signal },
      )
      .catch((e: unknown) => {
        throw logsError(e, group, region, signal);
      });
    const lines = (page.events ?? []).map((ev) => `${(ev.message ?? '').replace(/\n+$/, '')}\n`);
    if (lines.length > 0) yield Buffer.from(lines.join(''));
    token = page.nextToken;
  } while (token !== undefined);
}

function logsError(e: unknown, group: string, region: string, signal?: AbortSignal): unknown {
  if (signal?.aborted === true || !(e instanceof Error) || e.name === 'AbortError') return e;
  const code = e.name;
  const status =
    e instanceof CloudWatchLogsServiceException ? e.$metadata.httpStatusCode : undefined;
  if (code === 'ResourceNotFoundException')
    return new AppError(
      'sources.not_found',
      `CloudWatch Logs log group ${group} does not exist in ${region} (set AWS_REGION to its Region)`,
      { cause: e },
    );
  if (code === 'AccessDeniedException' || status === 403)
    return new AppError(
      'sources.cwlogs_access_denied',
      `access denied (${code}) to CloudWatch Logs log group ${group}: the role needs logs:FilterLogEvents on it`,
      { cause: e },
    );
  if (code === 'CredentialsProviderError')
    return new AppError(
      'sources.cwlogs_no_credentials',
      `no AWS credentials found to read log group ${group} (set AWS_PROFILE, AWS_ACCESS_KEY_ID or a role)`,
      { cause: e },
    );
  if (
    code === 'ThrottlingException' ||
    code === 'ServiceUnavailableException' ||
    status === 429 ||
    (status !== undefined && status >= 500)
  )
    return new AppError(
      'sources.cwlogs_unavailable',
      `CloudWatch Logs is unavailable to read log group ${group} (${code})`,
      { cause: e, retryable: true },
    );
  return new AppError(
    'sources.cwlogs_error',
    `reading CloudWatch Logs log group ${group} failed (${code}): ${e.message}`,
    { cause: e },
  );
}
