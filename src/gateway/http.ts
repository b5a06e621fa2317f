/**
 * Plumbing shared by the gateway's routes, for both node:http and node:http2's compatibility API: reading a bounded
 * body, and answering errors the way Bedrock does (`x-amzn-ErrorType` + `{"message"}`, which the AWS SDK turns into
 * the named exception class) or the way OpenAI does.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What `readAll` needs of a stream: node's Readable, IncomingMessage and Http2ServerRequest all have it. */
export interface ByteStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  destroy(error?: Error): unknown;
}

/** What the gateway needs of a request: node:http's IncomingMessage and http2's Http2ServerRequest both fit. */
export interface GatewayRequest extends ByteStream {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
}

/** node:http's ServerResponse and http2's Http2ServerResponse both fit. */
export interface GatewayResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  /** Headers as an object, or as a flat name/value list (node:http and the http2 compat API take both). */
  writeHead(status: number, headers?: Record<string, string | string[]> | string[]): unknown;
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

/**
 * Resolves when the response can take more (drain) or is gone (close), leaving neither listener behind: a slow
 * client of a long stream backs up many times, and a `close` listener per time would pile up on the response.
 */
export function drained(res: GatewayResponse, stallMs?: number): Promise<void> {
  // Closed already: neither event will come.
  if (gone(res)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // A client that reads nothing for `stallMs` is cut: its close then settles this.
    const stall =
      stallMs === undefined
        ? null
        : setTimeout(() => res.destroy(new Error('the client stopped reading')), stallMs);
    const done = () => {
      if (stall !== null) clearTimeout(stall);
      res.removeListener('drain', done);
      res.removeListener('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * The response's connection is gone (its `close` may have fired before anyone listened): node:http's ServerResponse
 * says so in `destroyed` (and `closed`), the http2 compat response in its stream's `destroyed`.
 */
export function gone(res: GatewayResponse): boolean {
  const r = res as GatewayResponse & {
    destroyed?: boolean;
    closed?: boolean;
    stream?: { destroyed?: boolean };
  };
  return r.destroyed === true || r.closed === true || r.stream?.destroyed === true;
}

export class BodyTooLarge extends Error {}
/** The body did not arrive in time; the request was destroyed (no answer can be sent). */
export class BodyTimeout extends Error {}

/**
 * How long a request body may take to arrive: node:http's `requestTimeout` bounds HTTP/1.1 requests, but nothing
 * bounds an HTTP/2 stream's, so a client could hold a stream (and what it sent, up to the size limit) for good.
 */
export const BODY_TIMEOUT_MS = 120_000;

/**
 * The whole body, refusing (before reading it) a declared length over the limit, stopping at the limit, and (an
 * HTTP/2 request) destroying the request when it has not all come within `timeoutMs`.
 */
export function readBody(
  req: GatewayRequest,
  limit: number,
  timeoutMs = BODY_TIMEOUT_MS,
): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLarge());
  // HTTP/1.1: node's requestTimeout bounds the request already (no timer per call on that path).
  if ((req as { stream?: unknown }).stream === undefined) return readAll(req, limit);
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new BodyTimeout());
      req.destroy();
    }, timeoutMs);
    readAll(req, limit).then(
      (body) => {
        clearTimeout(timer);
        resolve(body);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Everything a stream sends, as one Buffer, read with plain 'data'/'end' listeners: an async iterator (`for await`)
 * left ~2.7 KB of garbage per call on the gateway's hot path. Rejects on an error, on a close before the end, and
 * past `limit` bytes (with `BodyTooLarge`, destroying the stream as an abandoned `for await` would).
 */
export function readAll(stream: ByteStream, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = () => {
      settled = true;
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        stream.destroy();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      if (settled) return;
      cleanup();
      reject(new Error('the stream closed before its end'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

export function sendJson(
  res: GatewayResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
  stopUnreadBody(res);
}

/**
 * An answer sent before the request's body was read (a refusal: no key, too large, fail-closed). HTTP/1.1 discards
 * an unread body itself, within its request timeout; on HTTP/2 nothing did, so a client that never ended its body
 * kept the stream (and a graceful shutdown waited on it) for good. The rest of the body is read and dropped, and a
 * stream still open `UNREAD_BODY_MS` later is reset.
 */
function stopUnreadBody(res: GatewayResponse): void {
  const r = res as unknown as {
    req?: { complete?: boolean; resume(): unknown };
    stream?: {
      destroyed: boolean;
      close(code: number): void;
      once(e: 'close', f: () => void): unknown;
    };
  };
  const { req, stream } = r;
  if (req === undefined || req.complete !== false || stream === undefined) return;
  req.resume();
  // The stream's own close (the compat request emits 'close' as soon as the answer is out).
  const timer = setTimeout(() => {
    if (!stream.destroyed) stream.close(H2_CANCEL);
  }, UNREAD_BODY_MS);
  stream.once('close', () => clearTimeout(timer));
}
const H2_CANCEL = 8;
const UNREAD_BODY_MS = 10_000;

/** A Bedrock-style error: the AWS SDK reads the exception name from `x-amzn-ErrorType`. */
export function bedrockError(
  res: GatewayResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): void {
  sendJson(res, status, JSON.stringify({ message, ...extra }), {
    'x-amzn-errortype': type,
    ...headers,
  });
}

/** Header values we echo or forward: one line, printable, bounded (no header injection). */
export function safeHeaderValue(v: unknown, max = 1024): string | null {
  if (typeof v !== 'string' || v.length > max) return null;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return null;
  }
  return v;
}
