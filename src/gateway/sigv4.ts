/**
 * AWS Signature Version 4 for forwarded requests, on node:crypto. Byte-for-byte the signature `@smithy/signature-v4`
 * (what the AWS SDK uses) computes, at a tenth of its CPU: the derived signing key is cached per (day, secret) and
 * resolved credentials are reused until shortly before they expire.
 *
 * Paths are signed as sent on the wire and encoded once more, as SigV4 requires for every service but S3: a model id
 * `anthropic.claude-v2:1` travels as `/model/anthropic.claude-v2%3A1/invoke` and is signed as
 * `/model/anthropic.claude-v2%253A1/invoke`; an ARN's `/` travels as `%2F` and is signed as `%252F`.
 */
import { createHmac, hash } from 'node:crypto';

/** The shape of the AWS SDK's `AwsCredentialIdentity` (assignable both ways), so its providers plug in directly. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export interface SigV4SignerOptions {
  readonly region: string;
  /** The signing name: `bedrock` for bedrock-runtime (the SDK's signing name), not the endpoint prefix. */
  readonly service: string;
  /** Called on first use and again when the credentials are within `refreshBeforeMs` of `expiration`. */
  readonly credentials: () => Promise<Credentials>;
  /** Epoch milliseconds; the signing time. Default `Date.now`. */
  readonly clock?: () => number;
  /** Default 5 minutes, as the AWS SDK. */
  readonly refreshBeforeMs?: number;
}

export type SignableHeaders = Readonly<
  Record<string, string | number | readonly string[] | undefined>
>;

export interface SignableRequest {
  readonly method: string;
  /** Absolute URL; its host (with a non-default port) and path+query are signed. Or give `host` and `path`. */
  readonly url?: string | URL;
  readonly host?: string;
  /** Path and optional `?query` exactly as sent on the wire (already percent-encoded once). */
  readonly path?: string;
  /** Headers that will be sent; all are signed except the ones SigV4 never signs (user-agent, connection…). */
  readonly headers?: SignableHeaders;
  readonly body?: Uint8Array | string | null;
}

/** The headers to add to the request: `authorization`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`. */
export type SignedHeaders = Record<string, string>;

export interface SigV4Signer {
  /** The signature headers, written into `into` when given (the request's own header object, say) and returned. */
  sign(request: SignableRequest, into?: SignedHeaders): Promise<SignedHeaders>;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Headers SigV4 never signs (as @smithy/signature-v4), and the ones the signer itself produces. */
const UNSIGNED = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
  'x-amz-date',
  'date',
]);

/** RFC 3986 encoding as SigV4 wants it: `encodeURIComponent` plus `!'()*`. */
function escapeUri(value: string): string {
  const encoded = encodeURIComponent(value);
  return SUB_DELIMS.test(encoded) ? encoded.replace(SUB_DELIMS_G, hexEscape) : encoded;
}
const SUB_DELIMS = /[!'()*]/;
const SUB_DELIMS_G = /[!'()*]/g;
const hexEscape = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

/** The canonical URI: `.`/`..`/empty segments resolved, then every segment encoded again (non-S3 services). */
export function canonicalPath(rawPath: string): string {
  if (rawPath === '' || rawPath === '/') return '/';
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(escapeUri(segment));
  }
  const lead = rawPath.startsWith('/') ? '/' : '';
  const trail = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `${lead}${segments.join('/')}${trail}`;
}

/** The canonical query: pairs decoded, re-encoded, sorted by key then value. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([escapeUri(decode(key)), escapeUri(decode(value))]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not valid percent-encoding: sign it as it is
  }
}

/** Header value normalisation: CR/LF become spaces, runs of spaces/tabs one space, one edge space removed. */
function canonicalValue(value: string): string {
  let clean = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      c === 9 ||
      c === 10 ||
      c === 13 ||
      (c === 32 && (i === 0 || value.charCodeAt(i - 1) === 32))
    ) {
      clean = false;
      break;
    }
  }
  if (clean && value.charCodeAt(value.length - 1) !== 32) return value;
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

function headerString(value: string | number | readonly string[]): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.join(',');
}

/** One-shot hashing (node ≥ 20.12): no Hash object per call. */
function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
}

let lastSecond = Number.NaN;
let lastAmzDate = '';
/** `20260102T030405Z` for an epoch-millisecond time (the last second's string is reused). */
function amzDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
    lastAmzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    lastSecond = second;
  }
  return lastAmzDate;
}

/** Canonical paths of recent request paths: a gateway sends a handful of distinct model paths. */
const canonicalPaths = new Map<string, string>();
function canonicalPathCached(rawPath: string): string {
  let c = canonicalPaths.get(rawPath);
  if (c === undefined) {
    c = canonicalPath(rawPath);
    if (canonicalPaths.size >= 1024) canonicalPaths.clear();
    canonicalPaths.set(rawPath, c);
  }
  return c;
}

interface Target {
  readonly host: string;
  readonly path: string;
  readonly query: string;
}

function targetOf(request: SignableRequest): Target {
  if (request.url !== undefined) {
    const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
    return { host: url.host, path: url.pathname, query: url.search.slice(1) };
  }
  const raw = request.path ?? '/';
  const q = raw.indexOf('?');
  return {
    host: request.host ?? '',
    path: q < 0 ? raw : raw.slice(0, q),
    query: q < 0 ? '' : raw.slice(q + 1),
  };
}

export function createSigV4Signer(options: SigV4SignerOptions): SigV4Signer {
  const { region, service } = options;
  const clock = options.clock ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  let credentials: Credentials | null = null;
  let refreshing: Promise<Credentials> | null = null;
  /** `${shortDate}\n${secret}` → derived key; a handful of entries at most (day change, rotated secrets). */
  const keys = new Map<string, Buffer>();

  const fresh = (c: Credentials, now: number): boolean =>
    c.expiration === undefined || c.expiration.getTime() - refreshBeforeMs > now;

  async function resolveCredentials(now: number): Promise<Credentials> {
    if (credentials !== null && fresh(credentials, now)) return credentials;
    if (refreshing === null) {
      refreshing = options.credentials().then(
        (c) => {
          credentials = c;
          refreshing = null;
          return c;
        },
        (e: unknown) => {
          refreshing = null;
          throw e;
        },
      );
    }
    return refreshing;
  }

  function signingKey(shortDate: string, secret: string): Buffer {
    const cacheKey = `${shortDate}\n${secret}`;
    let key = keys.get(cacheKey);
    if (key === undefined) {
      if (keys.size >= 8) keys.clear();
      const kDate = createHmac('sha256', `AWS4${secret}`).update(shortDate).digest();
      const kRegion = createHmac('sha256', kDate).update(region).digest();
      const kService = createHmac('sha256', kRegion).update(service).digest();
      key = createHmac('sha256', kService).update('aws4_request').digest();
      keys.set(cacheKey, key);
    }
    return key;
  }

  async function sign(request: SignableRequest, into?: SignedHeaders): Promise<SignedHeaders> {
    const now = clock();
    const creds = await resolveCredentials(now);
    const longDate = amzDate(now);
    const shortDate = longDate.slice(0, 8);
    const target = targetOf(request);

    const canonical = new Map<string, string>();
    let payloadHash: string | null = null;
    const headers = request.headers ?? {};
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      if (lower === 'x-amz-content-sha256') payloadHash = headerString(value);
      if (UNSIGNED.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) continue;
      canonical.set(lower, canonicalValue(headerString(value)));
    }
    if (!canonical.has('host')) canonical.set('host', target.host);
    const out: SignedHeaders = into ?? {};
    out['x-amz-date'] = longDate;
    canonical.set('x-amz-date', longDate);
    if (creds.sessionToken !== undefined && creds.sessionToken !== '') {
      out['x-amz-security-token'] = creds.sessionToken;
      canonical.set('x-amz-security-token', creds.sessionToken);
    }
    if (payloadHash === null) {
      const body = request.body;
      payloadHash =
        body === undefined || body === null || body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
      out['x-amz-content-sha256'] = payloadHash;
      canonical.set('x-amz-content-sha256', payloadHash);
    }

    const names = [...canonical.keys()].sort();
    let headerBlock = '';
    for (const name of names) headerBlock += `${name}:${canonical.get(name)}\n`;
    const signedNames = names.join(';');
    const canonicalRequest = `${request.method}\n${canonicalPathCached(target.path)}\n${canonicalQuery(target.query)}\n${headerBlock}\n${signedNames}\n${payloadHash}`;
    const scope = `${shortDate}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', signingKey(shortDate, creds.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    out.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${signature}`;
    return out;
  }

  return { sign };
}
