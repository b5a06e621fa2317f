/**
 * The object store over S3 (`s3://bucket/prefix`), using the AWS SDK v3. Listing pages through ListObjectsV2;
 * reading is one GetObject whose body is streamed, never buffered. SDK errors become AppErrors that say what an
 * operator must fix (missing bucket or key, a missing IAM permission) or that a retry may help (throttling, 5xx).
 */

import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { AppError, type AwsRequestHandler } from '../core/index.ts';
import { awsClientEnv } from './aws-env.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

export interface S3ObjectStoreOptions {
  /** Used as is when given; the other options only configure the default client. */
  readonly client?: S3Client;
  /** Default `us-east-1`. Buckets in other regions still work: the default client follows region redirects. */
  readonly region?: string;
  /** An S3-compatible endpoint (MinIO, LocalStack, a test fake) instead of AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Through an HTTP proxy (`awsRequestHandler`). */
  readonly requestHandler?: AwsRequestHandler;
}

interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

type Action = 'list' | 'read';

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/**
 * The default client uses the standard credential chain (env, profile, SSO, web identity, container, IMDS). The
 * store holds no credentials itself and never logs; error messages name buckets and keys only.
 */
export function createS3ObjectStore(options: S3ObjectStoreOptions = {}): ObjectStore {
  const client = options.client ?? new S3Client(clientConfig(options));
  return {
    list: (uri, signal) => listObjects(client, parseS3Uri(uri), signal),
    read: (uri, signal) => readObject(client, parseS3Uri(uri), signal),
  };
}

/**
 * Region from `AWS_REGION` / `AWS_DEFAULT_REGION`; endpoint override from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.
 * An overridden endpoint implies path-style addressing, which S3-compatible servers on one host name need.
 */
export function createS3ObjectStoreFromEnv(env: NodeJS.ProcessEnv): ObjectStore {
  const aws = awsClientEnv(env, 'S3');
  return createS3ObjectStore(aws.endpoint === undefined ? aws : { ...aws, forcePathStyle: true });
}

/** `s3://bucket/key-or-prefix`; the prefix may be empty. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(uri);
  const bucket = match?.[1];
  if (bucket === undefined) {
    throw new AppError(
      'sources.invalid_uri',
      `not an S3 URI (expected s3://bucket/prefix): ${uri}`,
    );
  }
  return { bucket, key: match?.[2] ?? '' };
}

function clientConfig(options: S3ObjectStoreOptions): S3ClientConfig {
  return {
    region: options.region ?? 'us-east-1',
    followRegionRedirects: true,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
    ...(options.requestHandler === undefined ? {} : { requestHandler: options.requestHandler }),
  };
}

/**
 * Keys in S3's order (UTF-8 bytes). When the URI names an existing object exactly, only that object is listed
 * (as a file path would be), not also `key.bak` and friends; S3 lists an exact match first, so this costs nothing.
 * Zero-byte "folder" markers (keys ending in `/`) are not objects and are skipped.
 */
async function* listObjects(
  client: S3Client,
  { bucket, key: prefix }: S3Location,
  signal?: AbortSignal,
): AsyncGenerator<ObjectInfo> {
  let token: string | undefined;
  let first = prefix !== '';
  do {
    const command = new ListObjectsV2Command({
      Bucket: bucket,
      ...(prefix === '' ? {} : { Prefix: prefix }),
      ...(token === undefined ? {} : { ContinuationToken: token }),
    });
    const page: ListObjectsV2CommandOutput = await client
      .send(command, withSignal(signal))
      .catch((e: unknown) => {
        throw s3Error(e, { bucket, key: prefix }, 'list', signal);
      });
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? '';
      const info = {
        uri: `s3://${bucket}/${key}`,
        size: object.Size ?? 0,
        version: unquote(object.ETag),
      };
      if (first && key === prefix && !key.endsWith('/')) {
        yield info;
        return;
      }
      first = false;
      if (key !== '' && !key.endsWith('/')) yield info;
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    if (page.IsTruncated === true && token === undefined) {
      throw new AppError(
        'sources.s3_error',
        `S3 listing of s3://${bucket}/${prefix} is truncated without a token`,
      );
    }
  } while (token !== undefined);
}

async function readObject(
  client: S3Client,
  location: S3Location,
  signal?: AbortSignal,
): Promise<Readable> {
  const uri = `s3://${location.bucket}/${location.key}`;
  if (location.key === '')
    throw new AppError('sources.invalid_uri', `S3 URI names no object: ${uri}`);
  const command = new GetObjectCommand({ Bucket: location.bucket, Key: location.key });
  const output = await client.send(command, withSignal(signal)).catch((e: unknown) => {
    throw s3Error(e, location, 'read', signal);
  });
  // In Node the body is an http.IncomingMessage (or the SDK's checksum-validating stream around it).
  if (output.Body instanceof Readable) return cutNamed(output.Body, uri, signal);
  throw new AppError('sources.s3_error', `S3 returned no readable body for ${uri}`);
}

/**
 * The body, with a connection cut while it is read (a reset, routine on long S3 reads) as a retryable error that
 * names the object, instead of Node's bare "aborted".
 */
function cutNamed(body: Readable, uri: string, signal?: AbortSignal): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (e: unknown) {
      if (signal?.aborted === true || e instanceof AppError || (e as Error).name === 'AbortError')
        throw e;
      throw new AppError(
        'sources.s3_unavailable',
        `the connection to S3 was cut while reading ${uri} (${(e as Error).message}): run the ingest again, it resumes`,
        { cause: e, retryable: true },
      );
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

function s3Error(
  e: unknown,
  { bucket, key }: S3Location,
  action: Action,
  signal?: AbortSignal,
): unknown {
  if (signal?.aborted === true || !(e instanceof Error) || e.name === 'AbortError') return e;
  const uri = `s3://${bucket}/${key}`;
  if (!(e instanceof S3ServiceException) && '$metadata' in e) {
    // Another AWS service answered (STS assuming the profile's role, SSO): the credentials failed, not the bucket.
    const message = `obtaining AWS credentials to ${action} ${uri} failed (${e.name}): ${e.message}`;
    return new AppError('sources.s3_no_credentials', message, { cause: e });
  }
  const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
  const code = e instanceof S3ServiceException ? e.name : errnoCode(e);
  if (code === 'NoSuchBucket') {
    return new AppError('sources.not_found', `S3 bucket ${bucket} does not exist`, { cause: e });
  }
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
    // Read after it was listed: the object went in between (deleted, expired by a lifecycle rule).
    if (action === 'read')
      return new AppError('sources.gone', `S3 object ${uri} was listed but is gone`, { cause: e });
    return new AppError('sources.not_found', `no S3 object at ${uri}`, { cause: e });
  }
  if (code === 'AccessDenied' || status === 403) {
    const permission = action === 'list' ? 's3:ListBucket' : 's3:GetObject';
    const message = `access denied (${code}) to ${action} ${uri} in S3 bucket ${bucket}: the role needs ${permission} on it`;
    return new AppError('sources.s3_access_denied', message, { cause: e });
  }
  if (code === 'CredentialsProviderError') {
    const message = `no AWS credentials found to ${action} ${uri} (set AWS_PROFILE, AWS_ACCESS_KEY_ID or a role)`;
    return new AppError('sources.s3_no_credentials', message, { cause: e });
  }
  if (RETRYABLE_CODES.has(code) || status === 429 || (status !== undefined && status >= 500)) {
    return new AppError(
      'sources.s3_unavailable',
      `S3 is unavailable to ${action} ${uri} (${code})`,
      {
        cause: e,
        retryable: true,
      },
    );
  }
  return new AppError('sources.s3_error', `S3 ${action} of ${uri} failed (${code}): ${e.message}`, {
    cause: e,
  });
}

function errnoCode(e: Error): string {
  return 'code' in e && typeof e.code === 'string' ? e.code : e.name;
}

function withSignal(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"(.*)"$/, '$1');
}
