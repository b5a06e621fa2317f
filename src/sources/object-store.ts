/**
 * The port through which sources read files and objects: a local directory tree or an S3 bucket. Sources never
 * call the AWS SDK or `fs` directly for their data, so tests use the local implementation and a fake S3 endpoint.
 */
import { createWriteStream } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ObjectInfo {
  /** Full URI: `s3://bucket/key` or an absolute file path. Stable across runs; used in checkpoints and rejects. */
  readonly uri: string;
  readonly size: number;
  /** Changes when the content changes (S3 ETag, or file mtime + size). */
  readonly version: string;
  /**
   * False when a read may return the same lines in another order (a CloudWatch Logs hour: events of one timestamp):
   * an interrupted read then starts again from the first line, not from the last one committed (dedupe makes that
   * free). Files and S3 objects resume where they stopped.
   */
  readonly resumable?: false;
}

/** CloudWatch Logs log groups as objects (cloudwatch-logs-object-store.ts). */
export const CWLOGS_SCHEME = 'cwlogs://';

export interface ObjectStore {
  /** Every object under the URI (a prefix or a single object), in lexicographic order of URI. */
  list(uri: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** The object's bytes, as stored (still gzip-compressed if the object is). */
  read(uri: string, signal?: AbortSignal): Promise<Readable>;
}

/** Whether an object's URI is a local file (an absolute path), which readers of files (DuckDB) take as it is. */
export const isLocalUri = (uri: string): boolean => isAbsolute(uri);

/**
 * A local file with the object's bytes, as stored, for readers that take only files (DuckDB): a local object's own
 * path, else a copy made in `dir` as `<n><extension>` (the key's extension, `.json.gz` or `.csv`, so that a reader
 * still sees gzip; nothing else of the key, whose characters a reader could take for a glob). The caller deletes
 * `dir`.
 */
export async function localFileOf(
  objects: ObjectStore,
  uri: string,
  dir: string,
  n: number,
  signal?: AbortSignal,
): Promise<string> {
  if (isLocalUri(uri)) return uri;
  const ext = /(\.[A-Za-z0-9]{1,10}){1,2}$/.exec(uri.slice(uri.lastIndexOf('/') + 1))?.[0] ?? '';
  const path = join(dir, `${n}${ext}`);
  await pipeline(
    await objects.read(uri, signal),
    createWriteStream(path),
    signal ? { signal } : {},
  );
  return path;
}
