/** What the gateway's end-to-end tests share: a gateway in front of the fake Bedrock, and what a call should cost. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningGateway, startGateway } from '../../src/cli/commands/gateway.ts';
import type { Logger, Tokens } from '../../src/core/index.ts';
import { createHttpUpstream, newKey } from '../../src/gateway/index.ts';
import { priceOf } from '../../src/price/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { tempDir } from './temp-dir.ts';

export const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
export const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';

export const quiet: Logger = { info() {}, warn() {}, error() {} };

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** `startGateway` on a free localhost port, signing with `creds` towards the fake Bedrock at `upstream`. */
export async function startGatewayOnFake(
  rt: Runtime,
  opts: {
    upstream: string;
    creds: Credentials;
    baseDir: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    writeStallMs?: number;
    now?: () => number;
  },
): Promise<RunningGateway> {
  return startGateway(rt, {
    port: 0,
    host: '127.0.0.1',
    env: opts.env ?? {},
    baseDir: opts.baseDir,
    log: quiet,
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    ...(opts.writeStallMs === undefined ? {} : { writeStallMs: opts.writeStallMs }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
    upstream: await createHttpUpstream({
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

/** A fresh ledger in a temp directory, configured with `gatewayYaml` as the `gateway:` section. */
export async function ledgerWithGateway(
  prefix: string,
  gatewayYaml: string,
): Promise<{ dir: { path: string; remove(): void }; rt: Runtime }> {
  const dir = tempDir(prefix);
  const config = join(dir.path, 'tokenledger.yaml');
  writeFileSync(config, `gateway:\n${gatewayYaml}`);
  const rt = await openRuntime({
    db: join(dir.path, 'ledger.duckdb'),
    configPath: config,
    env: {},
  });
  return { dir, rt };
}

/** Stores a virtual key for `team` / `user` in the ledger; returns its plaintext. */
export async function putKey(rt: Runtime, team: string, user: string): Promise<string> {
  const { key, plaintext } = newKey(
    { name: user, team, user, feature: null, project: null, environment: null },
    Date.now(),
    null,
  );
  await rt.store.gatewayKeys.put([key]);
  return plaintext;
}
