/**
 * The Bedrock upstream port: one signed HTTP call to bedrock-runtime. The real implementation speaks HTTP/1.1 with
 * keep-alive (HTTPS to AWS, plain HTTP to a local endpoint) and signs with SigV4 from the standard credential chain,
 * or per team with an assumed role whose session is named after the user (so CloudTrail and CUR's IAM-principal
 * allocation see the person). Tests point it at a local fake with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { type Credentials, createSigV4Signer, type SigV4Signer } from './sigv4.ts';

export interface UpstreamRequest {
  readonly method: 'POST' | 'GET';
  /** Already encoded, e.g. `/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse`. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Cancels the call (the request, or the answer still being read). */
  readonly cancel: Cancel;
  /** Sign as this assumed role and session (per-team roles), else the gateway's own credentials. */
  readonly role?: { readonly arn: string; readonly sessionName: string };
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: UpstreamBody;
}

export interface BedrockUpstream {
  readonly region: string;
  send(req: UpstreamRequest): Promise<UpstreamResponse>;
  close(): void;
}

/**
 * One call's cancellation: what an AbortController does for it, at a fraction of the cost (an AbortController,
 * its signal and http.request's listener on it were ~7 µs of every call). One listener; cancelling twice is a no-op.
 */
export class Cancel {
  #reason: string | null = null;
  #listener: ((reason: string) => void) | null = null;
  get reason(): string | null {
    return this.#reason;
  }
  /** Runs `fn` on cancellation (at once if already cancelled); replaces an earlier listener. */
  onCancel(fn: (reason: string) => void): void {
    if (this.#reason !== null) fn(this.#reason);
    else this.#listener = fn;
  }
  cancel(reason: string): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    const fn = this.#listener;
    this.#listener = null;
    fn?.(reason);
  }
}

/** Where credentials come from: the standard chain for the gateway, STS AssumeRole for per-team roles. */
export interface CredentialSource {
  own(): Promise<Credentials>;
  assumed(roleArn: string, sessionName: string): Promise<Credentials>;
}

export interface HttpUpstreamOptions {
  readonly endpoint: string;
  readonly region: string;
  /** `sigv4` (default) signs every call; `none` forwards unsigned (a trusted on-premises proxy signs). */
  readonly auth: 'sigv4' | 'none';
  readonly credentials: CredentialSource;
  readonly maxSockets?: number;
  /** An HTTP proxy to reach the endpoint through (CONNECT tunnel; credentials in the URL are sent as Basic). */
  readonly proxy?: URL | null;
}

/** The endpoint AWS SDKs would use: config, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL`, else AWS. */
export function upstreamEndpoint(
  configured: string | undefined,
  region: string,
  env: NodeJS.ProcessEnv,
): string {
  const e = configured ?? env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? env.AWS_ENDPOINT_URL;
  return (e ?? `https://bedrock-runtime.${region}.amazonaws.com`).replace(/\/+$/, '');
}

/** Async because undici is loaded here, when a gateway starts (other commands do not pay its ~13 MB). */
export async function createHttpUpstream(opts: HttpUpstreamOptions): Promise<BedrockUpstream> {
  const { Pool, ProxyAgent } = await import('undici');
  const url = new URL(opts.endpoint);
  // One origin, kept-alive connections. The gateway's own idle timer ends slow calls (one owner of timeouts), so
  // undici's header and body timeouts are off.
  const pooling = { connections: opts.maxSockets ?? 256, headersTimeout: 0, bodyTimeout: 0 };
  const pool = opts.proxy
    ? new ProxyAgent({ uri: opts.proxy.href, ...pooling })
    : new Pool(url.origin, pooling);
  const basePath = url.pathname === '/' ? '' : url.pathname;
  const signers = new Map<string, SigV4Signer>();
  const signerFor = (role: UpstreamRequest['role']): SigV4Signer => {
    const id = role === undefined ? '' : `${role.arn}\u0000${role.sessionName}`;
    let s = signers.get(id);
    if (s === undefined) {
      s = createSigV4Signer({
        region: opts.region,
        service: 'bedrock',
        credentials:
          role === undefined
            ? () => opts.credentials.own()
            : () => opts.credentials.assumed(role.arn, role.sessionName),
      });
      if (signers.size > 10_000) signers.clear();
      signers.set(id, s);
    }
    return s;
  };

  return {
    region: opts.region,
    async send(req) {
      const path = basePath + req.path;
      const headers: Record<string, string> = {};
      for (const name in req.headers) headers[name] = req.headers[name] as string;
      headers.host = url.host;
      headers['content-length'] = String(req.body.length);
      if (opts.auth === 'sigv4') {
        // The signature headers go straight into the request's headers (read first, then written).
        await signerFor(req.role).sign(
          { method: req.method, host: url.host, path, headers, body: req.body },
          headers,
        );
      }
      return await new Promise<UpstreamResponse>((resolve, reject) => {
        if (req.cancel.reason !== null) {
          reject(new Error(`cancelled: ${req.cancel.reason}`));
          return;
        }
        pool.dispatch(
          { origin: url.origin, method: req.method, path, headers, body: req.body },
          new AnswerHandler(req.cancel, resolve, reject),
        );
      });
    },
    close() {
      // Calls still in flight fail (their callers record them as errors); a second close is a no-op.
      pool.destroy().catch(() => undefined);
    },
  };
}

/**
 * One call's answer, from undici's dispatch: the status and headers resolve `send`, the bytes go to the body. No
 * node stream is made per call (undici's `request()` and node:http's client each cost ~5-10 µs more per call, most
 * of it in streams).
 */
class AnswerHandler implements Dispatcher.DispatchHandler {
  #body: AnswerBody | null = null;
  readonly #cancel: Cancel;
  readonly #resolve: (r: UpstreamResponse) => void;
  readonly #reject: (e: Error) => void;
  constructor(cancel: Cancel, resolve: (r: UpstreamResponse) => void, reject: (e: Error) => void) {
    this.#cancel = cancel;
    this.#resolve = resolve;
    this.#reject = reject;
    // Cancelled while queued for a connection: `send` rejects now, and the request is aborted once dispatched.
    cancel.onCancel((reason) => reject(new Error(`cancelled: ${reason}`)));
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    const reason = this.#cancel.reason;
    if (reason !== null) controller.abort(new Error(`cancelled: ${reason}`));
    else this.#cancel.onCancel((r) => controller.abort(new Error(`cancelled: ${r}`)));
  }
  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx answers (none from Bedrock) come before the real one.
    if (statusCode < 200) return;
    this.#body = new AnswerBody(controller);
    this.#resolve({ status: statusCode, headers, body: this.#body });
  }
  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }
  onResponseEnd(): void {
    this.#body?.end();
  }
  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#body === null) this.#reject(error);
    else this.#body.fail(error);
  }
}

/** Chunks held before the connection is paused, when nobody takes them (read whole, nothing is held back). */
const HIGH_WATER_CHUNKS = 16;

/** A chunk reader of `each`: a promise it returns holds the next chunks (and pauses the connection) until settled. */
export type ChunkReader = (chunk: Buffer) => undefined | Promise<unknown>;

/** An answer's bytes as they arrive: read whole (`all`) or chunk by chunk (`each`), once. */
export interface UpstreamBody {
  /** True once every byte of the answer arrived. */
  readonly ended: boolean;
  /** The whole answer; rejects if it is cut or the call is cancelled. */
  all(): Promise<Buffer>;
  /**
   * Hands every chunk to `read`, in order, as it arrives (no promise or generator step per chunk: a stream has
   * dozens). Resolves at the end of the answer; rejects when it is cut or cancelled, after the chunks that came, or
   * when `read` throws or its promise rejects.
   */
  each(read: ChunkReader): Promise<void>;
}

class AnswerBody implements UpstreamBody {
  #chunks: Buffer[] = [];
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  /** Read whole: nothing to pause for. */
  #all = false;
  /** `each`: its reader, whether a promise the reader returned is pending, and how `each` ends. */
  #read: ChunkReader | null = null;
  #busy = false;
  #done: { resolve(): void; reject(e: unknown): void } | null = null;
  readonly #controller: Dispatcher.DispatchController;
  constructor(controller: Dispatcher.DispatchController) {
    this.#controller = controller;
  }
  get ended(): boolean {
    return this.#ended;
  }
  push(chunk: Buffer): void {
    if (this.#read !== null && !this.#busy && this.#chunks.length === 0) {
      this.#deliver(chunk);
      return;
    }
    this.#chunks.push(chunk);
    if (this.#wake !== null) this.#signal();
    else if (this.#chunks.length >= HIGH_WATER_CHUNKS && !this.#all) this.#controller.pause();
  }
  end(): void {
    this.#ended = true;
    this.#signal();
    if (this.#read !== null) this.#pump();
  }
  fail(error: Error): void {
    this.#error = error;
    this.#signal();
    if (this.#read !== null) this.#pump();
  }
  async all(): Promise<Buffer> {
    this.#all = true;
    if (this.#controller.paused) this.#controller.resume();
    while (!this.#ended) {
      if (this.#error !== null) throw this.#error;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }
  each(read: ChunkReader): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#read = read;
      this.#done = { resolve, reject };
      this.#pump();
    });
  }
  /** Gives `chunk` to the reader; a promise it returns holds the rest back until it settles. */
  #deliver(chunk: Buffer): void {
    let held: Promise<unknown> | undefined;
    try {
      held = (this.#read as ChunkReader)(chunk);
    } catch (e: unknown) {
      this.#finish(e);
      return;
    }
    if (held === undefined) return;
    this.#busy = true;
    if (!this.#controller.paused) this.#controller.pause();
    held.then(
      () => {
        this.#busy = false;
        this.#pump();
      },
      (e: unknown) => this.#finish(e),
    );
  }
  /** Delivers what is held, then resumes the connection, or ends `each` when the answer has. */
  #pump(): void {
    let i = 0;
    while (!this.#busy && this.#done !== null && i < this.#chunks.length)
      this.#deliver(this.#chunks[i++] as Buffer);
    if (i > 0) this.#chunks = this.#chunks.slice(i);
    if (this.#busy || this.#done === null) return;
    if (this.#chunks.length > 0) return;
    if (this.#error !== null) this.#finish(this.#error);
    else if (this.#ended) this.#finish(null);
    else if (this.#controller.paused) this.#controller.resume();
  }
  #finish(error: unknown): void {
    const done = this.#done;
    if (done === null) return;
    this.#done = null;
    this.#read = null;
    if (error === null) done.resolve();
    else done.reject(error);
  }
  #signal(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
