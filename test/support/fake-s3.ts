/**
 * A fake S3 endpoint over a local directory: each subdirectory of `root` is a bucket, each file below it an object
 * keyed by its relative path. Path-style only (`forcePathStyle: true`). It answers ListObjectsV2, GetObject and
 * HeadObject with the XML and headers real S3 sends, accepts SigV4-signed requests without checking signatures,
 * and answers 501 to anything whose semantics it does not implement (rather than answering something wrong).
 * Bucket `forbidden` always answers 403 AccessDenied; bucket `unavailable` always answers 503 SlowDown.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FakeS3Options {
  readonly root: string;
  /** The most keys one ListObjectsV2 page returns, whatever `max-keys` asks for (real S3: 1000). */
  readonly pageSize?: number;
}

export interface FakeS3 {
  readonly endpoint: string;
  /** `METHOD /path?query` of every request received, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

interface StoredObject {
  readonly key: string;
  readonly file: string;
  readonly stats: Stats;
}

type Response = http.ServerResponse;

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

export async function startFakeS3(options: FakeS3Options): Promise<FakeS3> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    handle(options, req, res).catch((e: unknown) => {
      sendError(req, res, 500, 'InternalError', e instanceof Error ? e.message : String(e));
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

async function handle(
  options: FakeS3Options,
  req: http.IncomingMessage,
  res: Response,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake-s3');
  const { bucket, key } = splitPath(url.pathname);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendError(
      req,
      res,
      405,
      'MethodNotAllowed',
      `${req.method} is not implemented by fake-s3`,
    );
  }
  if (bucket === '')
    return sendError(req, res, 501, 'NotImplemented', 'ListBuckets is not implemented');
  if (bucket === 'forbidden') return sendError(req, res, 403, 'AccessDenied', 'Access Denied');
  if (bucket === 'unavailable') {
    return sendError(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
  }
  const bucketDir = path.join(options.root, bucket);
  const bucketStats = /^[a-z0-9][a-z0-9.-]*$/.test(bucket)
    ? await statOrUndefined(bucketDir)
    : undefined;
  if (!bucketStats?.isDirectory()) {
    return sendError(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist', {
      BucketName: bucket,
    });
  }
  if (key === '') return listObjectsV2(options, bucket, bucketDir, url.searchParams, req, res);
  return getObject(bucketDir, key, req, res);
}

function splitPath(pathname: string): { bucket: string; key: string } {
  const rest = pathname.slice(1);
  const slash = rest.indexOf('/');
  if (slash === -1) return { bucket: decodeURIComponent(rest), key: '' };
  return {
    bucket: decodeURIComponent(rest.slice(0, slash)),
    key: decodeURIComponent(rest.slice(slash + 1)),
  };
}

async function listObjectsV2(
  options: FakeS3Options,
  bucket: string,
  bucketDir: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
  res: Response,
): Promise<void> {
  if (query.get('list-type') !== '2') {
    return sendError(
      req,
      res,
      501,
      'NotImplemented',
      'only ListObjectsV2 (list-type=2) is implemented',
    );
  }
  for (const unsupported of ['delimiter', 'encoding-type', 'fetch-owner']) {
    if (query.has(unsupported)) {
      return sendError(req, res, 501, 'NotImplemented', `${unsupported} is not implemented`);
    }
  }
  const maxKeysParam = query.get('max-keys');
  const maxKeys = maxKeysParam === null ? 1000 : Number(maxKeysParam);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    return sendError(
      req,
      res,
      400,
      'InvalidArgument',
      'Provided max-keys not an integer or within integer range',
    );
  }
  const token = query.get('continuation-token');
  const after = token === null ? (query.get('start-after') ?? '') : decodeToken(token);
  if (after === undefined) {
    return sendError(
      req,
      res,
      400,
      'InvalidArgument',
      'The continuation token provided is incorrect',
    );
  }
  const prefix = query.get('prefix') ?? '';
  const matching = (await walkBucket(bucketDir)).filter(
    (o) => o.key.startsWith(prefix) && compareKeys(o.key, after) > 0,
  );
  const page = matching.slice(0, Math.min(maxKeys, options.pageSize ?? 1000, 1000));
  const last = page.at(-1);
  const truncated = page.length < matching.length && last !== undefined;
  const contents = await Promise.all(page.map(contentsXml));
  const xml = [
    `${XML_DECL}<ListBucketResult xmlns="${XMLNS}">`,
    `<Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix>`,
    token === null ? '' : `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`,
    query.has('start-after')
      ? `<StartAfter>${escapeXml(query.get('start-after') ?? '')}</StartAfter>`
      : '',
    `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>`,
    `<IsTruncated>${truncated}</IsTruncated>`,
    ...contents,
    truncated ? `<NextContinuationToken>${encodeToken(last.key)}</NextContinuationToken>` : '',
    '</ListBucketResult>',
  ].join('');
  res.writeHead(200, { 'Content-Type': 'application/xml', 'x-amz-request-id': requestId() });
  res.end(req.method === 'HEAD' ? undefined : xml);
}

async function contentsXml(o: StoredObject): Promise<string> {
  const etag = etagOf(await readFile(o.file));
  return (
    `<Contents><Key>${escapeXml(o.key)}</Key><LastModified>${o.stats.mtime.toISOString()}</LastModified>` +
    `<ETag>${escapeXml(etag)}</ETag><Size>${o.stats.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`
  );
}

async function getObject(
  bucketDir: string,
  key: string,
  req: http.IncomingMessage,
  res: Response,
): Promise<void> {
  if (req.headers.range !== undefined) {
    return sendError(req, res, 501, 'NotImplemented', 'Range requests are not implemented');
  }
  const file = path.resolve(bucketDir, ...key.split('/'));
  const inside = file.startsWith(bucketDir + path.sep);
  const stats = inside ? await statOrUndefined(file) : undefined;
  if (!stats?.isFile()) {
    return sendError(req, res, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
  }
  const bytes = await readFile(file);
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': bytes.length,
    ETag: etagOf(bytes),
    'Last-Modified': stats.mtime.toUTCString(),
    'Accept-Ranges': 'bytes',
    'x-amz-request-id': requestId(),
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Every file under the bucket directory, in S3's key order (UTF-8 bytes). */
async function walkBucket(bucketDir: string): Promise<StoredObject[]> {
  const found: StoredObject[] = [];
  const visit = async (dir: string, keyPrefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await visit(file, `${keyPrefix}${entry.name}/`);
      else if (entry.isFile())
        found.push({ key: keyPrefix + entry.name, file, stats: await stat(file) });
    }
  };
  await visit(bucketDir, '');
  return found.sort((a, b) => compareKeys(a.key, b.key));
}

function sendError(
  req: http.IncomingMessage,
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const id = requestId();
  const fields = Object.entries(extra).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`);
  const xml =
    `${XML_DECL}<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${fields.join('')}` +
    `<RequestId>${id}</RequestId><HostId>fake-s3</HostId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'x-amz-request-id': id });
  // Like S3, HEAD errors carry no body (the SDK then names the error after the status, e.g. NotFound).
  res.end(req.method === 'HEAD' ? undefined : xml);
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

function encodeToken(key: string): string {
  return Buffer.from(`fake-s3:${key}`).toString('base64');
}

function decodeToken(token: string): string | undefined {
  const decoded = Buffer.from(token, 'base64').toString();
  return decoded.startsWith('fake-s3:') ? decoded.slice('fake-s3:'.length) : undefined;
}

function requestId(): string {
  return randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase();
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}
