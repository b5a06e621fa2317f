/**
 * The Bedrock upstream port: one signed HTTP call to bedrock-runtime. The real implementation speaks HTTP/1.1 with
 * keep-alive (HTTPS to AWS, plain HTTP to a local endpoint) and signs with SigV4 from the standard credential chain,
 * or per team with an assumed role whose session is named after the user (so CloudTrail and CUR's IAM-principal
 * allocation see the person). Tests point it at a local fake with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
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
  readonly body: Readable;
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

export function createHttpUpstream(opts: HttpUpstreamOptions): BedrockUpstream {
  const url = new URL(opts.endpoint);
  const secure = url.protocol === 'https:';
  const agentOpts = {
    keepAlive: true,
    maxSockets: opts.maxSockets ?? 256,
    scheduling: 'lifo' as const,
  };
  const agent = secure ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  const send = secure ? httpsRequest : httpRequest;
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
        const r = send(
          {
            protocol: url.protocol,
            hostname: url.hostname,
            port: url.port,
            method: req.method,
            path,
            headers,
            agent,
          },
          (res) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res }),
        );
        r.on('error', reject);
        // Destroying the request also ends an answer being read: its body stream errors.
        req.cancel.onCancel((reason) => r.destroy(new Error(`cancelled: ${reason}`)));
        r.end(req.body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
