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
export function drained(res: GatewayResponse): Promise<void> {
  // Closed already: neither event will come.
  if (gone(res)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
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

/** The whole body, refusing (before reading it) a declared length over the limit and stopping at the limit. */
export function readBody(req: GatewayRequest, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLarge());
  return readAll(req, limit);
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
}

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
