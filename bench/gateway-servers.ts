/**
 * One server of the gateway benchmark in a process of its own, so its CPU can be read from /proc/<pid>/stat:
 * `gateway-servers.ts ROLE ARGS_JSON` with ROLE `fake` (the fake Bedrock), `minimal` (bench/minimal-proxy.ts) or
 * `tokenledger` (the real gateway: virtual keys, budgets, a rate limit, SigV4 to the upstream, usage recorded in a
 * DuckDB ledger through the spool). Prints `SERVER_READY {…}` once listening; closing stdin (or a line `stop`)
 * shuts it down, after which it prints `SERVER_RESULT {…}` (for tokenledger: what the ledger holds after the
 * spool's final flush) and exits.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startGateway } from '../src/cli/commands/gateway.ts';
import type { Logger } from '../src/core/index.ts';
import { createHttpUpstream, newKey } from '../src/gateway/index.ts';
import { openRuntime, SERVER_THREADS } from '../src/runtime.ts';
import { startFakeBedrock } from '../test/support/fake-bedrock.ts';
import { startMinimalProxy } from './minimal-proxy.ts';

export const READY_PREFIX = 'SERVER_READY ';
export const SERVER_RESULT_PREFIX = 'SERVER_RESULT ';

export type ServerRole = 'fake' | 'minimal' | 'tokenledger';

export interface ServerArgs {
  /** minimal, tokenledger: the fake Bedrock's URL. */
  readonly upstream?: string;
  /** tokenledger: where the ledger, config and spool live. */
  readonly work?: string;
  /** tokenledger: how many virtual keys to create (spread over four teams). */
  readonly keys?: number;
  /** fake: output tokens per answer (19 → 24 events per InvokeModelWithResponseStream). */
  readonly outputTokens?: number;
}

export interface ServerReady {
  readonly url: string;
  readonly pid: number;
  /** tokenledger: plaintext virtual keys for the load generator. */
  readonly keys?: readonly string[];
}

/** Static credentials the gateway signs with; the fake is started without verification, to keep it cheap. */
const CREDS = { accessKeyId: 'AKIDBENCHGATEWAY', secretAccessKey: 'bench-gateway-secret' };

/** Governance that is on but never refuses: the work of checking it is what is measured. */
export const GATEWAY_YAML = (spoolDir: string) => `gateway:
  budgets:
    - name: team-daily
      scope: { team: '*' }
      amountUsd: "1000000"
      period: daily
      softPercent: 80
    - name: key-monthly-rolling
      scope: { key: '*' }
      amountUsd: "1000000"
      period: monthly
      window: rolling
  limits:
    - name: key-rate
      scope: { key: '*' }
      rpm: 100000000
      tpm: 100000000000
  spool:
    dir: ${JSON.stringify(spoolDir)}
`;

const quiet: Logger = { info() {}, warn() {}, error: (m, f) => console.error(m, f ?? '') };

async function start(
  role: ServerRole,
  a: ServerArgs,
): Promise<{ ready: ServerReady; stop: () => Promise<unknown> }> {
  if (role === 'fake') {
    const fake = await startFakeBedrock({ record: false, outputTokens: a.outputTokens ?? 19 });
    return { ready: { url: fake.url, pid: process.pid }, stop: () => fake.close() };
  }
  const upstream = a.upstream ?? '';
  if (role === 'minimal') {
    const proxy = await startMinimalProxy({ upstream });
    return {
      ready: { url: proxy.url, pid: process.pid },
      stop: async () => {
        await proxy.close();
        return proxy.stats;
      },
    };
  }
  const work = a.work ?? '.';
  const configPath = join(work, 'tokenledger.yaml');
  writeFileSync(configPath, GATEWAY_YAML(join(work, 'spool')));
  // As `tokenledger gateway` opens it.
  const rt = await openRuntime({
    db: join(work, 'gateway.duckdb'),
    configPath,
    env: {},
    threads: SERVER_THREADS,
  });
  const plaintexts: string[] = [];
  const keys = [];
  for (let i = 0; i < (a.keys ?? 16); i++) {
    const k = newKey(
      {
        name: `bench-${i}`,
        team: `team-${i % 4}`,
        user: `user-${i}@example.com`,
        feature: 'bench',
        project: null,
        environment: 'bench',
      },
      Date.now(),
      null,
    );
    keys.push(k.key);
    plaintexts.push(k.plaintext);
  }
  await rt.store.gatewayKeys.put(keys);
  const gw = await startGateway(rt, {
    port: 0,
    host: '127.0.0.1',
    env: {},
    baseDir: work,
    log: quiet,
    upstream: await createHttpUpstream({
      endpoint: upstream,
      region: 'us-east-1',
      auth: 'sigv4',
      credentials: { own: async () => CREDS, assumed: async () => CREDS },
    }),
  });
  return {
    ready: { url: gw.url, pid: process.pid, keys: plaintexts },
    stop: async () => {
      const stats = gw.gateway.stats();
      await gw.close();
      const { total } = await rt.store.queryUsage({ groupBy: [], where: [] });
      await rt.close();
      return {
        gateway: stats,
        ledger: {
          requests: total.requests,
          errors: total.errors,
          inputTokens: total.inputTokens,
          outputTokens: total.outputTokens,
          costPicos: total.costPicos,
          unpriced: total.unpricedRequests,
        },
      };
    },
  };
}

async function main(): Promise<void> {
  const [role = '', json = '{}'] = process.argv.slice(2);
  if (role !== 'fake' && role !== 'minimal' && role !== 'tokenledger')
    throw new Error(`unknown server role ${role}`);
  const { ready, stop } = await start(role, JSON.parse(json) as ServerArgs);
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(ready)}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (s: string) => {
      if (s.includes('stop')) resolve();
    });
    process.stdin.on('end', () => resolve());
    process.stdin.on('error', () => resolve());
  });
  const result = await stop();
  process.stdout.write(
    `${SERVER_RESULT_PREFIX}${JSON.stringify(result ?? {}, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
