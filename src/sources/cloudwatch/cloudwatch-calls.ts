/**
 * ListMetrics and GetMetricData through the AWS SDK v3 CloudWatch client (AWS JSON 1.0 on the wire), loaded only
 * by `createCloudWatchMetricsSource` on first use. SDK errors become AppErrors that say what an operator must fix
 * (a missing IAM permission, missing credentials) or that a retry may help (throttling, 5xx, the network).
 */
import {
  CloudWatchClient,
  type CloudWatchClientConfig,
  CloudWatchServiceException,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  ListMetricsCommand,
} from '@aws-sdk/client-cloudwatch';
import { AppError } from '../../core/index.ts';
import { awsClientEnv } from '../aws-env.ts';
import type { CloudWatchCalls, CloudWatchClientOptions } from './fetch.ts';

export interface CloudWatchCallsOptions extends CloudWatchClientOptions {
  readonly region: string;
}

const RETRYABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceeded',
  'LimitExceededFault',
  'InternalServiceError',
  'InternalServiceFault',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

const PERMISSION: Readonly<Record<string, string>> = {
  ListMetrics: 'cloudwatch:ListMetrics',
  GetMetricData: 'cloudwatch:GetMetricData',
};

/**
 * `AWS_ENDPOINT_URL_CLOUDWATCH`, else `AWS_ENDPOINT_URL` (the SDK reads the same from process.env), and the proxy
 * to `region`'s endpoint.
 */
export function clientOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  region: string,
): CloudWatchClientOptions {
  const { endpoint, requestHandler } = awsClientEnv(env, 'CLOUDWATCH', region);
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(requestHandler === undefined ? {} : { requestHandler }),
  };
}

export function createCloudWatchCalls(options: CloudWatchCallsOptions): CloudWatchCalls {
  const config: CloudWatchClientConfig = {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.requestHandler === undefined ? {} : { requestHandler: options.requestHandler }),
  };
  const client = new CloudWatchClient(config);
  const { region } = options;
  return {
    listMetrics: (input, signal) =>
      client.send(new ListMetricsCommand({ ...input }), withSignal(signal)).catch((e: unknown) => {
        throw cloudWatchError(e, 'ListMetrics', region, signal);
      }),
    getMetricData: (input, signal) =>
      client
        .send(
          new GetMetricDataCommand({
            ...input,
            MetricDataQueries:
              input.MetricDataQueries as GetMetricDataCommandInput['MetricDataQueries'],
          }),
          withSignal(signal),
        )
        .catch((e: unknown) => {
          throw cloudWatchError(e, 'GetMetricData', region, signal);
        }),
  };
}

function cloudWatchError(
  e: unknown,
  operation: string,
  region: string,
  signal?: AbortSignal,
): unknown {
  if (signal?.aborted === true || !(e instanceof Error) || e.name === 'AbortError') return e;
  const status = e instanceof CloudWatchServiceException ? e.$metadata.httpStatusCode : undefined;
  const code = e instanceof CloudWatchServiceException ? e.name : errnoCode(e);
  const where = `CloudWatch ${operation} in ${region}`;
  if (code === 'AccessDenied' || code === 'AccessDeniedException' || status === 403) {
    const message = `access denied (${code}) to ${where}: the role needs ${PERMISSION[operation] ?? operation}`;
    return new AppError('sources.cloudwatch_access_denied', message, { cause: e });
  }
  if (code === 'CredentialsProviderError') {
    const message = `no AWS credentials found for ${where} (set AWS_PROFILE, AWS_ACCESS_KEY_ID or a role)`;
    return new AppError('sources.cloudwatch_no_credentials', message, { cause: e });
  }
  if (RETRYABLE_CODES.has(code) || status === 429 || (status !== undefined && status >= 500)) {
    return new AppError('sources.cloudwatch_unavailable', `${where} is unavailable (${code})`, {
      cause: e,
      retryable: true,
    });
  }
  return new AppError('sources.cloudwatch_error', `${where} failed (${code}): ${e.message}`, {
    cause: e,
  });
}

function errnoCode(e: Error): string {
  return 'code' in e && typeof e.code === 'string' ? e.code : e.name;
}

function withSignal(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}
