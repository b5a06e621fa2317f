/**
 * One plain-TCP port that serves HTTP/1.1 (node:http) and cleartext HTTP/2 with prior knowledge (h2c, node:http2
 * compat API). The AWS SDK v3 Bedrock client speaks h2c to a plain `http://` endpoint while Claude Code, curl and the
 * OpenAI SDK speak HTTP/1.1, so the gateway must accept both on the same port. With `tls`, the port is TLS instead,
 * and the protocol is the one the client chose by ALPN (`h2`, else HTTP/1.1), as the AWS SDK does against `https://`.
 *
 * Each connection's first bytes are compared with the HTTP/2 connection preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`),
 * then the socket itself — no wrapper, so both protocols keep node's native read path — is handed to node:http or
 * node:http2 together with the bytes already read: node:http gets them fed to its parser synchronously, node:http2
 * finds them unshifted into the socket's buffer. (A JS Duplex that replays the preface also works but costs h2c
 * about 50 % more CPU per request.)
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import tls from 'node:tls';

/** What a handler may rely on in both `http.IncomingMessage` and `http2.Http2ServerRequest`. */
export interface DualRequest extends Readable {
  readonly method?: string | undefined;
  /** Path and query, as sent (`:path` under HTTP/2). */
  readonly url?: string | undefined;
  /** Lower-case names. Under HTTP/2 the pseudo-headers (`:authority`…) are present too and `host` may be absent. */
  readonly headers: IncomingHttpHeaders;
  /** `'1.1'` or `'2.0'`. */
  readonly httpVersion: string;
  /**
   * The connection, for reading (`remoteAddress`…) under both protocols. Under HTTP/2 it is node's guarded proxy:
   * end or destroy the exchange through `res`, never through the socket.
   */
  readonly socket: net.Socket;
}

/** What a handler may rely on in both `http.ServerResponse` and `http2.Http2ServerResponse`. */
export interface DualResponse extends Writable {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  getHeader(name: string): number | string | string[] | undefined;
  removeHeader(name: string): void;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | string[]): unknown;
}

export type DualHandler = (req: DualRequest, res: DualResponse) => void;

export interface DualServerOptions {
  /** HTTP/1.1: the request head must arrive within this (slowloris guard). Default 20 s. */
  readonly headersTimeoutMs?: number;
  /** HTTP/1.1: the whole request (head and body) must arrive within this. Default 120 s. Responses are not limited. */
  readonly requestTimeoutMs?: number;
  /** HTTP/1.1: an idle keep-alive connection is closed after this. Default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /** HTTP/2: a session with no open stream for this long is closed with GOAWAY. Default 60 s. */
  readonly http2IdleTimeoutMs?: number;
  /** A connection that has not sent its first bytes within this is dropped. Default 10 s. */
  readonly firstBytesTimeoutMs?: number;
  /** Largest request head (HTTP/1.1) or header list (HTTP/2), in bytes. Default 16 KiB. */
  readonly maxHeaderSize?: number;
  /** HTTP/2 concurrent streams per session. Default 256. */
  readonly maxConcurrentStreams?: number;
  /** Serve TLS (PEM certificate chain and private key) instead of plain TCP. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Told about every connection-level error; the server itself never throws or crashes on one. */
  readonly onError?: (error: Error, where: 'socket' | 'tls' | 'http1' | 'http2') => void;
}

/** The listening server plus the connection controls node:http has and node:net lacks. */
export interface DualServer extends net.Server {
  /** Closes idle HTTP/1.1 keep-alive connections and sends GOAWAY to HTTP/2 sessions (open streams finish). */
  closeIdleConnections(): void;
  /** Destroys every connection now, requests in flight included. */
  closeAllConnections(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

type Verdict = 'h1' | 'h2' | 'more';

/** HTTP/2 when the bytes are the whole preface; HTTP/1.1 as soon as one byte differs from it. */
function classify(head: Buffer): Verdict {
  const n = Math.min(head.length, PREFACE.length);
  for (let i = 0; i < n; i++) if (head[i] !== PREFACE[i]) return 'h1';
  return head.length >= PREFACE.length ? 'h2' : 'more';
}

const noop = (): void => {};

/** Plain status line for a request node:http could not parse; nothing else is ever written on such a socket. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

function createHttp1(
  handler: DualHandler,
  options: DualServerOptions,
  report: Report,
): http.Server {
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  const server = http.createServer(
    {
      headersTimeout,
      // How often the head/request timeouts are checked (node's default is every 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 2))),
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      maxHeaderSize: options.maxHeaderSize ?? 16_384,
    },
    handler,
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
    report(error, 'http1');
    const code = error.code;
    if (code !== 'ECONNRESET' && socket.writable && socket.bytesWritten === 0) {
      const status = clientErrorStatus(code);
      socket.write(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    }
    socket.destroy();
  });
  // This server never listens itself; 'listening' is what starts node's connection tracking, which enforces the
  // head/request timeouts and lets closeIdleConnections() find idle keep-alive sockets.
  server.emit('listening');
  return server;
}

function createHttp2(
  handler: DualHandler,
  options: DualServerOptions,
  report: Report,
  sessions: Set<http2.ServerHttp2Session>,
): http2.Http2Server {
  const server = http2.createServer(
    {
      maxSessionMemory: 32,
      settings: {
        maxConcurrentStreams: options.maxConcurrentStreams ?? 256,
        maxHeaderListSize: options.maxHeaderSize ?? 16_384,
      },
    },
    handler,
  );
  const idleMs = options.http2IdleTimeoutMs ?? 60_000;
  server.on('sessionError', (error: Error) => report(error, 'http2'));
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('error', noop); // reported through 'sessionError'
    let open = 0;
    const idle = (): NodeJS.Timeout => setTimeout(() => session.close(), idleMs).unref();
    let timer: NodeJS.Timeout | null = idle();
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      open++;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      stream.once('close', () => {
        open--;
        if (open === 0 && !session.closed && !session.destroyed) {
          timer = idle();
        }
      });
    });
    session.once('close', () => {
      sessions.delete(session);
      if (timer !== null) clearTimeout(timer);
    });
  });
  return server;
}

type Report = (error: Error, where: 'socket' | 'tls' | 'http1' | 'http2') => void;

/**
 * A `net.Server` (call `.listen()` on it) whose connections are served by `handler` over HTTP/1.1 or h2c. The
 * handler receives node's own request/response objects (no wrapper on the hot path); type them as the common
 * `DualRequest`/`DualResponse`, or narrow with `req.httpVersion === '2.0'`.
 */
export function createDualServer(
  handler: DualHandler,
  options: DualServerOptions = {},
): DualServer {
  const onError = options.onError;
  const report: Report = (error, where) => {
    if (onError !== undefined) onError(error, where);
  };
  const sockets = new Set<net.Socket>();
  /** Connections whose protocol is not known yet: closed at once by `closeIdleConnections`. */
  const sniffing = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const h1 = createHttp1(handler, options, report);
  const h2 = createHttp2(handler, options, report, sessions);
  const firstBytesMs = options.firstBytesTimeoutMs ?? 10_000;
  const onSocketError = (error: Error): void => report(error, 'socket');

  /** TLS connections whose handshake has not ended, by peer address (the TLS socket is made from the TCP one). */
  const handshaking = new Map<string, net.Socket>();
  const peer = (socket: net.Socket): string => `${socket.remoteAddress}:${socket.remotePort}`;
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', onSocketError); // stays for the socket's life: an error is reported, never thrown
  };
  const server = options.tls
    ? // TLS: the handshake has chosen the protocol (ALPN); the handshake itself must end within firstBytesMs.
      tls
        .createServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ALPNProtocols: ['h2', 'http/1.1'],
            handshakeTimeout: firstBytesMs,
            noDelay: true,
          },
          (socket) => {
            handshaking.delete(peer(socket));
            track(socket);
            if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
            else h1.emit('connection', socket);
          },
        )
        .on('connection', (raw: net.Socket) => {
          // Until its handshake ends a connection is only this TCP socket: closed by close(), like a silent one.
          track(raw);
          const key = peer(raw);
          handshaking.set(key, raw);
          raw.once('close', () => {
            if (handshaking.get(key) === raw) handshaking.delete(key);
          });
        })
        .on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
          report(error, 'tls');
          socket.destroy();
        })
    : net.createServer({ noDelay: true }, (socket) => {
        track(socket);
        sniffing.add(socket);
        socket.once('close', () => sniffing.delete(socket));
        const onSilent = (): void => {
          socket.destroy();
        };
        socket.setTimeout(firstBytesMs);
        socket.once('timeout', onSilent);
        let head: Buffer | null = null;
        const onData = (chunk: Buffer): void => {
          head = head === null ? chunk : Buffer.concat([head, chunk]);
          const verdict = classify(head);
          if (verdict === 'more') return;
          socket.removeListener('data', onData);
          socket.setTimeout(0);
          socket.removeListener('timeout', onSilent); // a later socket timeout belongs to node:http, not to us
          sniffing.delete(socket);
          if (verdict === 'h1') {
            h1.emit('connection', socket);
            // node:http now reads the native handle itself; hand it the sniffed bytes before any newer ones.
            socket.emit('data', head);
          } else {
            // node:http2 also reads the native handle, but first feeds itself what is buffered on the JS side
            // (node ≥ 15, nodejs/node#35475), on the next tick, before any newer bytes can arrive.
            socket.pause();
            socket.unshift(head);
            h2.emit('connection', socket);
          }
        };
        socket.on('data', onData);
      });

  const close = server.close.bind(server);
  const dual = Object.assign(server, {
    closeIdleConnections(): void {
      h1.closeIdleConnections();
      for (const socket of sniffing) socket.destroy();
      for (const socket of handshaking.values()) socket.destroy();
      for (const session of sessions) if (!session.closed) session.close();
    },
    closeAllConnections(): void {
      for (const socket of sockets) socket.destroy();
    },
  });
  dual.close = (callback?: (err?: Error) => void): DualServer => {
    close(callback);
    h1.close(); // stops its timeout checker and closes idle keep-alive sockets
    dual.closeIdleConnections();
    return dual;
  };
  return dual;
}
