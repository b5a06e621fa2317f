/** What the gateway's end-to-end tests share: a gateway in front of the fake Bedrock, and what a call should cost. */
import { type RunningGateway, startGateway } from '../../src/cli/commands/gateway.ts';
import type { Logger, Tokens } from '../../src/core/index.ts';
import { createHttpUpstream } from '../../src/gateway/index.ts';
import { priceOf } from '../../src/price/index.ts';
import type { Runtime } from '../../src/runtime.ts';

export const quiet: Logger = { info() {}, warn() {}, error() {} };

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** `startGateway` on a free localhost port, signing with `creds` towards the fake Bedrock at `upstream`. */
export function startGatewayOnFake(
  rt: Runtime,
  opts: {
    upstream: string;
    creds: Credentials;
    baseDir: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
  },
): Promise<RunningGateway> {
  return startGateway(rt, {
    port: 0,
    host: '127.0.0.1',
    env: opts.env ?? {},
    baseDir: opts.baseDir,
    log: quiet,
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    upstream: createHttpUpstream({
      endpoint: opts.upstream,
      region: 'us-east-1',
      auth: 'sigv4',
      credentials: { own: async () => opts.creds, assumed: async () => opts.creds },
    }),
  });
}

/** The list price (pico-USD) of what Bedrock billed for one gateway call, as the catalog prices it. */
export function listPriceOf(
  rt: Runtime,
  call: { requestId: string; operation: string; modelId: string; tokens: Tokens },
): bigint | null {
  return priceOf(
    rt.normaliser.normalise({
      requestId: call.requestId,
      occurredAt: Date.now(),
      accountId: 'gateway',
      region: 'us-east-1',
      inferenceRegion: null,
      operation: call.operation,
      modelId: call.modelId,
      identityArn: null,
      requestMetadata: {},
      tokens: call.tokens,
      cacheTtlKnown: true,
      tier: 'standard',
      latencyMs: null,
      firstByteMs: null,
      errorCode: null,
      source: { uri: 'x', line: 0 },
    }),
    rt.catalog,
  ).cost.picos;
}
