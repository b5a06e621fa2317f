/**
 * The OTLP/HTTP receiver (telemetry.md §3): `POST /v1/{logs,metrics,traces}` with JSON or protobuf bodies, optionally
 * gzip/deflate, handed to an `OtlpSink` as one decompressed batch. It is a Hono app value; `toNodeListener` serves it
 * from `node:http` without an adapter package. Errors map once, in `onError`, to the statuses the OTLP spec gives
 * clients for deciding whether to retry; bad input never crashes it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { AppError, errorMessage, isAppError, type Logger } from '../../core/index.ts';

export type OtlpSignal = 'logs' | 'metrics' | 'traces';
export type OtlpEncoding = 'json' | 'protobuf';

export interface OtlpBatch {
  readonly signal: OtlpSignal;
  readonly encoding: OtlpEncoding;
  /** The request body after decompression: an `Export*ServiceRequest` in `encoding`, never empty. */
  readonly body: Uint8Array;
  /** Identity headers only (see `captureIdentityHeaders`), names lower-cased. Never `Authorization`. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the request arrived, epoch ms, from the receiver's clock. */
  readonly receivedAt: number;
}

export interface OtlpSink {
  /**
   * Decodes and stores one batch; called once per non-empty request, concurrently for concurrent requests. Returns
   * how many items it rejected (→ a 200 `partial_success`, which clients must not retry). Throw an `AppError` with
   * code `otlp.malformed` for a body that cannot be decoded (→ 400) or a retryable `AppError` when storing failed
   * for now (→ 503 + Retry-After); anything else becomes a 500 that reveals nothing.
   */
  accept(batch: OtlpBatch): Promise<{ rejected: number; message?: string }>;
}

export interface OtlpReceiverOptions {
  readonly sink: OtlpSink;
  /** When set, every request needs `Authorization: Bearer <token>` (compared in constant time). */
  readonly bearerToken?: string;
  /** Limit on the compressed and on the decompressed body, bytes; default 16 MiB. */
  readonly maxBodyBytes?: number;
  readonly now?: () => number;
  /** Receives unexpected (500) errors. Never given the token or a request body. */
  readonly log?: Logger;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const OTLP_MALFORMED = 'otlp.malformed';
const RETRY_AFTER_SECONDS = 5;
const SIGNALS: readonly OtlpSignal[] = ['logs', 'metrics', 'traces'];
const REJECTED_FIELD = {
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
  traces: 'rejectedSpans',
} as const;
const CONTENT_TYPE = { json: 'application/json', protobuf: 'application/x-protobuf' } as const;
type Coding = 'identity' | 'gzip' | 'deflate';

export function createOtlpReceiver(options: OtlpReceiverOptions): Hono {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const now = options.now ?? Date.now;
  const expected = options.bearerToken === undefined ? null : sha256(options.bearerToken);
  const app = new Hono();
  for (const signal of SIGNALS) {
    const path = `/v1/${signal}`;
    app.post(path, async (c) => {
      const receivedAt = now();
      const request = c.req.raw;
      if (expected !== null) checkBearer(request.headers.get('authorization'), expected);
      const encoding = encodingOf(request.headers.get('content-type'));
      if (encoding === null) throw new AppError('otlp.unsupported_media_type', UNSUPPORTED_TYPE);
      const body = await readBody(
        request,
        codingOf(request.headers.get('content-encoding')),
        limit,
      );
      if (body.byteLength === 0) return exportResponse(signal, encoding, 0, undefined);
      const headers = captureIdentityHeaders(request.headers);
      const result = await options.sink.accept({ signal, encoding, body, headers, receivedAt });
      return exportResponse(signal, encoding, result.rejected, result.message);
    });
    app.all(path, (c) =>
      statusResponse(c.req.header('content-type'), 405, 'only POST is allowed', { allow: 'POST' }),
    );
  }
  app.notFound((c) => statusResponse(c.req.header('content-type'), 404, 'not found'));
  app.onError((e, c) => {
    const contentType = c.req.header('content-type');
    if (!isAppError(e)) {
      options.log?.error('otlp receiver: unexpected error', {
        path: c.req.path,
        error: errorMessage(e),
      });
      return statusResponse(contentType, 500, 'internal error');
    }
    switch (e.code) {
      case 'otlp.unauthorized':
        return statusResponse(contentType, 401, e.message, { 'www-authenticate': 'Bearer' });
      case 'otlp.unsupported_media_type':
        return statusResponse(contentType, 415, e.message, { 'accept-encoding': 'gzip, deflate' });
      case 'otlp.too_large':
        // The rest of the body is unread: end the connection after this response instead of keeping it alive.
        return statusResponse(contentType, 413, e.message, { connection: 'close' });
      case OTLP_MALFORMED:
        return statusResponse(contentType, 400, e.message);
    }
    if (e.retryable) {
      return statusResponse(contentType, 503, 'temporarily unavailable, retry later', {
        'retry-after': String(RETRY_AFTER_SECONDS),
      });
    }
    options.log?.error('otlp receiver: sink error', {
      path: c.req.path,
      code: e.code,
      error: e.message,
    });
    return statusResponse(contentType, 500, 'internal error');
  });
  return app;
}

const UNSUPPORTED_TYPE = 'Content-Type must be application/json or application/x-protobuf';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Hashing both sides makes the comparison constant-time whatever the lengths. */
function checkBearer(header: string | null, expected: Buffer): void {
  const match = header === null ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const token = match?.[1];
  if (token === undefined || !timingSafeEqual(sha256(token), expected)) {
    throw new AppError('otlp.unauthorized', 'missing or invalid bearer token');
  }
}

/** `application/json; charset=utf-8` → json. Parameters are ignored; OTLP JSON is UTF-8. */
function encodingOf(contentType: string | null): OtlpEncoding | null {
  if (contentType === null) return null;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === CONTENT_TYPE.json) return 'json';
  if (type === CONTENT_TYPE.protobuf) return 'protobuf';
  return null;
}

function codingOf(contentEncoding: string | null): Coding {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return 'identity';
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  throw new AppError('otlp.unsupported_media_type', `unsupported Content-Encoding "${coding}"`);
}

function tooLarge(limit: number): AppError {
  return new AppError('otlp.too_large', `request body exceeds ${limit} bytes`);
}

/**
 * Reads the body as it streams, counting compressed bytes and, after the decompressor, decompressed bytes; the
 * first byte over `limit` on either side cancels the stream. So memory stays bounded without a Content-Length and
 * a gzip bomb stops after `limit` bytes of output.
 */
async function readBody(request: Request, coding: Coding, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  if (request.body === null) return new Uint8Array(0);
  let over = false;
  let stream: ReadableStream<Uint8Array> = request.body;
  if (coding !== 'identity') {
    let compressed = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        compressed += chunk.byteLength;
        if (compressed > limit) {
          over = true;
          controller.error(tooLarge(limit));
        } else controller.enqueue(chunk);
      },
    });
    stream = stream.pipeThrough(counter).pipeThrough(new DecompressionStream(coding));
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        over = true;
        reader.cancel().catch(ignore);
        break;
      }
      chunks.push(value);
    }
  } catch (e: unknown) {
    if (over) throw tooLarge(limit);
    const what =
      coding === 'identity' ? 'could not read the request body' : `invalid ${coding} body`;
    throw new AppError(OTLP_MALFORMED, what, { cause: e });
  }
  if (over) throw tooLarge(limit);
  return concat(chunks, total);
}

/** Cancelling a stream that already failed rejects; the failure has been handled where it was read. */
function ignore(): void {}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Headers that carry who sent the telemetry (the AWS guidance's `otelHeadersHelper` set, telemetry.md §5). */
const IDENTITY_HEADER =
  /^(?:user-agent|x-claude-code-session-id|x-user-[a-z0-9-]+|x-team(?:-[a-z0-9-]+)?|x-organization[a-z0-9-]*|x-department|x-cost-center|x-location|x-role|x-manager|x-project|x-tag-[a-z0-9-]+)$/;
/** Never captured even when the name matches above (`x-user-token`, `x-team-api-key`, …). */
const SECRET_HEADER = /auth|token|secret|passw|cookie|key|signature|credential/;
const MAX_HEADER_VALUE = 1024;

export function captureIdentityHeaders(headers: Headers): Record<string, string> {
  const captured: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (
      value.length > MAX_HEADER_VALUE ||
      !IDENTITY_HEADER.test(name) ||
      SECRET_HEADER.test(name)
    ) {
      return;
    }
    captured[name] = value;
  });
  return captured;
}

function exportResponse(
  signal: OtlpSignal,
  encoding: OtlpEncoding,
  rejectedCount: number,
  message: string | undefined,
): Response {
  const rejected = Number.isSafeInteger(rejectedCount) && rejectedCount > 0 ? rejectedCount : 0;
  const partial = rejected > 0 || (message !== undefined && message !== '');
  if (encoding === 'protobuf') {
    const body = partial ? encodePartialSuccess(rejected, message ?? '') : new Uint8Array(0);
    return new Response(body, { status: 200, headers: { 'content-type': CONTENT_TYPE.protobuf } });
  }
  const json: Record<string, unknown> = {};
  if (partial) {
    const fields: Record<string, string> = {};
    if (rejected > 0) fields[REJECTED_FIELD[signal]] = String(rejected); // int64 → decimal string in proto3 JSON
    if (message) fields.errorMessage = message;
    json.partialSuccess = fields;
  }
  return new Response(JSON.stringify(json), {
    status: 200,
    headers: { 'content-type': CONTENT_TYPE.json },
  });
}

/** The HTTP → gRPC code mapping of the Collector's OTLP receiver, plus 405/413/415/500 which it leaves Unknown. */
const GRPC_CODE: Readonly<Record<number, number>> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  404: 12, // UNIMPLEMENTED
  405: 12,
  413: 8, // RESOURCE_EXHAUSTED (gRPC's code for an oversized message)
  415: 3,
  500: 13, // INTERNAL
  503: 14, // UNAVAILABLE
};

/** A `google.rpc.Status` body in the request's encoding (JSON when the request's type is unknown). */
function statusResponse(
  requestContentType: string | undefined,
  status: number,
  message: string,
  extraHeaders: Record<string, string> = {},
): Response {
  const code = GRPC_CODE[status] ?? 2; // UNKNOWN
  const encoding = encodingOf(requestContentType ?? null) ?? 'json';
  const body =
    encoding === 'json' ? JSON.stringify({ code, message }) : encodeStatus(code, message);
  return new Response(body, {
    status,
    headers: { 'content-type': CONTENT_TYPE[encoding], ...extraHeaders },
  });
}

// Protobuf encoding of the two response messages (telemetry.md §3.4): hand-written, they are two fields deep.

const utf8 = new TextEncoder();

function varint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function lengthDelimited(field: number, bytes: ArrayLike<number>, out: number[]): void {
  out.push((field << 3) | 2);
  varint(bytes.length, out);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i] as number);
}

/** Export*ServiceResponse { 1: Export*PartialSuccess { 1: int64 rejected_*, 2: string error_message } }. */
export function encodePartialSuccess(
  rejected: number,
  errorMessage: string,
): Uint8Array<ArrayBuffer> {
  const inner: number[] = [];
  if (rejected > 0) {
    inner.push((1 << 3) | 0);
    varint(rejected, inner);
  }
  if (errorMessage !== '') lengthDelimited(2, utf8.encode(errorMessage), inner);
  const out: number[] = [];
  lengthDelimited(1, inner, out);
  return Uint8Array.from(out);
}

/** google.rpc.Status { 1: int32 code, 2: string message } (no details). */
export function encodeStatus(code: number, message: string): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  if (code !== 0) {
    out.push((1 << 3) | 0);
    varint(code, out);
  }
  if (message !== '') lengthDelimited(2, utf8.encode(message), out);
  return Uint8Array.from(out);
}

// node:http ⇄ web Request/Response, so the CLI can serve the app without an adapter package.

interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/** A listener for `http.createServer`: every request gets a response; nothing it receives can throw out of it. */
export function toNodeListener(app: FetchApp): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void serveOne(app, req, res);
  };
}

async function serveOne(app: FetchApp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    let response: Response;
    try {
      response = await app.fetch(toWebRequest(req));
    } catch {
      response = new Response('bad request', { status: 400, headers: { connection: 'close' } });
    }
    await writeWebResponse(res, response);
  } catch (e: unknown) {
    res.destroy(e instanceof Error ? e : new Error(String(e)));
  }
}

/** The request with its body streamed (never buffered here), so the app's limits apply as bytes arrive. */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2)
    headers.append(raw[i] as string, raw[i + 1] as string);
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers });
  return new Request(url, { method, headers, body: nodeBody(req), duplex: 'half' });
}

/**
 * Pull-based: the socket is paused while the consumer is not reading. Cancelling (the app stopped reading, e.g. at
 * the size limit) drains the rest unbuffered instead of destroying the socket, so the client still gets the response.
 */
function nodeBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (finished) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once('end', () => {
        if (!finished) controller.close();
        finished = true;
      });
      const fail = (e: Error) => {
        if (!finished) controller.error(e);
        finished = true;
      };
      req.once('error', fail);
      // A client that disconnects mid-body may end the request with 'close' alone.
      req.once('close', () => fail(new Error('request closed before its body ended')));
      req.pause();
    },
    pull() {
      req.resume();
    },
    cancel() {
      finished = true;
      req.resume();
    },
  });
}

export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.byteLength);
  res.writeHead(response.status, headers);
  res.end(body);
}
