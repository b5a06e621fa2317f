/**
 * `tokenledger gateway`: the Bedrock gateway on a runtime — keys from the ledger, budgets seeded with the ledger's
 * spend, calls priced with the catalog and written to the ledger through the local spool.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { type Logger, proxyFor, withoutCredentials } from '../../core/index.ts';
import {
  type BedrockUpstream,
  createAwsCredentialSource,
  createDualServer,
  createGateway,
  createGovernor,
  createHttpUpstream,
  createSpool,
  type Gateway,
  type GatewayDeps,
  type Governor,
  KeyRing,
  loadRedisCounterStore,
  loadRedisSharedKeys,
  type SpendEntry,
  startKeySync,
  stsEndpoint,
  upstreamEndpoint,
  type VirtualKey,
} from '../../gateway/index.ts';
import { cardCost, type RateCard, rateCard } from '../../price/index.ts';
import { type Runtime, SERVER_THREADS } from '../../runtime.ts';
import { awsRequestHandler } from '../../sources/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, dbPath, EXIT, print, withRuntime } from '../context.ts';
import { createGatewayLedger } from '../gateway-ledger.ts';
import { readTls } from '../tls.ts';

export const GATEWAY_HELP = `Usage: tokenledger gateway [--port 8790] [--host 127.0.0.1] [--db FILE] [--config FILE]

A drop-in Bedrock runtime endpoint (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream; HTTP/1.1 and h2c on one port, or HTTPS with h2 and HTTP/1.1
when gateway.tls names a certificate and key) plus OpenAI chat completions (POST
/v1/chat/completions, GET /v1/models), in front of Bedrock. Callers authenticate with virtual
keys (tokenledger keys create); every call is attributed, checked against budgets, rate limits and
model policy (the gateway: section of tokenledger.yaml), forwarded with SigV4 (standard AWS
credential chain), and recorded in the ledger through a local spool.
  AWS SDK:     AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://HOST:8790 AWS_BEARER_TOKEN_BEDROCK=<key>
  Claude Code: CLAUDE_CODE_USE_BEDROCK=1 ANTHROPIC_BEDROCK_BASE_URL=http://HOST:8790
               AWS_BEARER_TOKEN_BEDROCK=<key>
  OpenAI SDK:  new OpenAI({ baseURL: 'http://HOST:8790/v1', apiKey: '<key>' })
Upstream: Bedrock in AWS_REGION, or gateway.upstream.endpoint / AWS_ENDPOINT_URL_BEDROCK_RUNTIME;
through HTTPS_PROXY (NO_PROXY for hosts reached directly) when the environment names one.
Admin API (keys, budgets) under /admin/ with TOKENLEDGER_ADMIN_TOKEN; Prometheus metrics at
GET /metrics with TOKENLEDGER_METRICS_TOKEN (or the admin token). Stop with Ctrl-C.`;

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly governor: Governor;
  /**
   * Where budget counters live, for the start-up line: `in memory`, or `and keys shared in Redis at <url without
   * password>`.
   */
  readonly counters: string;
  /** Writes what the spool holds to the ledger now (one attempt). */
  flush(): Promise<void>;
  /** Stops accepting calls, lets calls in flight finish, writes the spool to the ledger. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** This ledger's identity for shared counters (made once, kept in the ledger). */
async function ledgerId(rt: Runtime): Promise<string> {
  const key = 'gateway:ledger-id';
  const known = await rt.store.getCheckpoint(key);
  if (known !== undefined) return known;
  const id = randomUUID();
  await rt.store.setCheckpoint(key, id);
  return id;
}

/**
 * Ledger spend of the last 32 days by quarter hour and attribution: what the budgets start from. Not by hour: a
 * budget's day in Asia/Kolkata starts at hh:30Z, and an hour's spend dated at its start missed that day.
 */
async function ledgerSpend(rt: Runtime, now: number): Promise<SpendEntry[]> {
  const { rows } = await rt.store.queryUsage({
    groupBy: ['quarter_hour', 'team', 'user', 'feature', 'project', 'model_id', 'meta:gateway_key'],
    since: now - 32 * DAY_MS,
    where: [],
  });
  return rows.map((r) => ({
    at: Date.parse(String(r.keys.quarter_hour)),
    costPicos: r.costPicos,
    key: r.keys['meta:gateway_key'] ?? null,
    team: r.keys.team ?? null,
    user: r.keys.user ?? null,
    feature: r.keys.feature ?? null,
    project: r.keys.project ?? null,
    model: r.keys.model_id ?? null,
  }));
}

export async function startGateway(
  rt: Runtime,
  opts: {
    port: number;
    host: string;
    env: NodeJS.ProcessEnv;
    /** Where relative spool paths live (beside the ledger). */
    baseDir: string;
    log: Logger;
    now?: () => number;
    timeoutMs?: number;
    /** How long a streaming client may read nothing before it is cut (default 30 s). */
    writeStallMs?: number;
    upstream?: BedrockUpstream;
  },
): Promise<RunningGateway> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const cfg = rt.config.gateway;
  const region =
    cfg.upstream.region ?? opts.env.AWS_REGION ?? opts.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = upstreamEndpoint(cfg.upstream.endpoint, region, opts.env);
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as the AWS CLI and curl read them (the AWS SDK for JavaScript does not).
  const proxy = proxyFor(endpoint, opts.env);
  if (opts.upstream === undefined && proxy !== null)
    opts.log.info('Bedrock is reached through a proxy', { proxy: withoutCredentials(proxy.href) });
  const upstream =
    opts.upstream ??
    (await createHttpUpstream({
      endpoint,
      region,
      auth: 'sigv4',
      proxy,
      credentials: createAwsCredentialSource({
        region,
        stsEndpoint: stsEndpoint(cfg.upstream.stsEndpoint, opts.env),
        log: opts.log,
        requestHandler: (url) => awsRequestHandler(url, opts.env),
      }),
    }));
  // First, so that an unusable certificate stops the start before anything is opened.
  const tls =
    cfg.tls === undefined ? undefined : readTls('gateway.tls', cfg.tls, rt.origin.configPath);
  const redisUrl = opts.env.TOKENLEDGER_REDIS_URL ?? cfg.counters.redis;
  let redisLogged = Number.NEGATIVE_INFINITY;
  // The Redis client is loaded only when counters are shared.
  const shared =
    redisUrl === undefined
      ? null
      : await loadRedisCounterStore().then((m) =>
          m.createRedisCounterStore({
            url: redisUrl,
            prefix: cfg.counters.prefix,
            // The client reports every reconnection attempt: one line a minute is enough.
            onError: (e) => {
              if (now() - redisLogged < 60_000) return;
              redisLogged = now();
              opts.log.warn('budget counters (Redis) unavailable', { error: e.message });
            },
          }),
        );
  const governor = createGovernor(cfg, {
    clock: now,
    log: opts.log,
    upstreamTimeoutMs: timeoutMs,
    ...(shared === null ? {} : { store: shared }),
  });
  const spoolDir = isAbsolute(cfg.spool.dir) ? cfg.spool.dir : join(opts.baseDir, cfg.spool.dir);
  // Each call is encoded as its ledger row on the event loop; the spool keeps the rows and hands batches to the store.
  const ledger = createGatewayLedger(rt, opts.log);
  const spool = createSpool<string>({
    dir: spoolDir,
    batchSize: cfg.spool.batchSize,
    flushMs: cfg.spool.flushMs,
    deliverMs: cfg.spool.deliverMs,
    onStoreDown: cfg.spool.onStoreDown,
    log: opts.log,
    serialize: (row) => row,
    writeLines: (lines, count) => ledger.writeLines(lines, count),
  });
  // Calls an earlier process spooled but did not deliver (it crashed, or the store was down) go to the ledger first:
  // they were spent.
  if (spool.stats().pendingRecords > 0) await spool.flush();
  // Budgets start from the ledger's spend. Shared counters already hold what the replicas spent since they were
  // seeded, so each ledger adds its spend once: a marker per ledger, in the same Redis (a Redis that lost its data
  // lost the marker too, and is seeded again).
  // The same spend names the models the gateway served lately, which /v1/models offers.
  const spend = await ledgerSpend(rt, now());
  if (shared === null || (await shared.claim(`seeded:${await ledgerId(rt)}`)))
    await governor.load(spend);
  const keys = new KeyRing(await rt.store.gatewayKeys.list());
  // By the team of the key that was served (the ledger's team is the attribution's, which rules may change).
  // Calls that cost something: a made-up model id Bedrock refused bills nothing and is not offered.
  const byTeam = new Map<string | null, string[]>();
  for (const { key: id, model, costPicos } of spend) {
    const key = id ? keys.get(id) : undefined;
    if (key === undefined || !model || costPicos <= 0n) continue;
    const models = byTeam.get(key.team) ?? [];
    if (!models.includes(model)) models.push(model);
    byTeam.set(key.team, models);
  }
  const knownModels = { all: [...new Set(cfg.downgrade.map((d) => d.to))], byTeam };
  const saveKeys = (k: readonly VirtualKey[]) => rt.store.gatewayKeys.put(k);
  // Replicas that share counters share their keys too (same Redis and prefix): a key created or revoked through
  // any replica holds on all of them.
  const sharedKeys =
    redisUrl === undefined
      ? null
      : await loadRedisSharedKeys().then((m) => {
          const secret = opts.env.TOKENLEDGER_KEYS_SECRET;
          if (secret === undefined || secret === '')
            opts.log.warn(
              'shared keys are not signed: whoever can write to the Redis could add a key; set TOKENLEDGER_KEYS_SECRET (the same on every replica)',
            );
          return m.createRedisSharedKeys({
            url: redisUrl,
            prefix: cfg.counters.prefix,
            ...(secret ? { secret } : {}),
          });
        });
  const keySync =
    sharedKeys === null
      ? null
      : await startKeySync({
          ring: keys,
          shared: sharedKeys,
          save: saveKeys,
          log: opts.log,
          clock: now,
        });
  const accountId = opts.env.TOKENLEDGER_GATEWAY_ACCOUNT ?? 'gateway';
  const gateway = createGateway({
    options: {
      accountId,
      maxBodyBytes: 20 * 1024 * 1024,
      timeoutMs,
      ...(opts.writeStallMs === undefined ? {} : { writeStallMs: opts.writeStallMs }),
      reservation: cfg.reservation,
      adminToken: opts.env.TOKENLEDGER_ADMIN_TOKEN ?? null,
      metricsToken: opts.env.TOKENLEDGER_METRICS_TOKEN ?? null,
      roles: cfg.upstream.roles,
      drainClosedStreams: cfg.drainClosedStreams,
    },
    keys,
    saveKeys,
    ...(keySync === null ? {} : { shareKeys: (k: readonly VirtualKey[]) => keySync.publish(k) }),
    governor,
    upstream,
    record: (raw) => {
      const { row, picos } = ledger.encode(raw);
      spool.append(row);
      return picos;
    },
    recorded: () => spool.written(),
    canServe: () => spool.canServe(),
    worstCaseOf: worstCasePricer(rt, upstream.region, accountId, now),
    now,
    knownModels,
    health: () => ({
      spool: spool.stats(),
      ...(keySync === null ? {} : { sharedKeys: keySync.stats() }),
    }),
  });
  const server = createDualServer(gateway.handle, tls === undefined ? {} : { tls });
  const release = async () => {
    gateway.close();
    await spool.close();
    ledger.close();
    upstream.close();
    await keySync?.close();
    await sharedKeys?.close();
    await shared?.close();
  };
  try {
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(opts.port, opts.host, () => res());
    });
  } catch (e: unknown) {
    // A port in use: close what was opened, or its clients and timers would keep the process alive.
    await release();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${opts.host}:${port}`,
    port,
    gateway,
    governor,
    counters:
      redisUrl === undefined
        ? 'in memory'
        : `and keys shared in Redis at ${withoutCredentials(redisUrl)}`,
    flush: () => spool.flush(),
    async close() {
      await new Promise<void>((res) => {
        server.close(() => res());
        server.closeIdleConnections();
      });
      // Calls whose client left run on (a JSON answer awaited, a stream read for its usage): their records too, for
      // at most the upstream timeout (a stream still sending would renew its idle timer for as long as it lasts).
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        gateway.settled(),
        new Promise<void>((res) => {
          bound = setTimeout(res, timeoutMs);
        }),
      ]);
      clearTimeout(bound);
      await release();
    },
  };
}

/**
 * The gateway's worst-case pricing: one rate card per model and tier (the catalog entry in force, its long-context
 * rates and the account's discounts), looked up again after a minute so that a price or discount taking effect is
 * seen, then `cardCost` — the formula every record is priced with — at the dearest input-side rate.
 */
export function worstCasePricer(
  rt: Runtime,
  region: string,
  accountId: string,
  now: () => number,
): GatewayDeps['worstCaseOf'] {
  const cards = new Map<string, { card: RateCard; until: number }>();
  const ZERO = { input: 0, output: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
  return (modelId, tier, inputTokens, maxOut) => {
    const at = now();
    const key = `${tier}\u0000${modelId}`;
    let cached = cards.get(key);
    if (cached === undefined || at >= cached.until) {
      if (cards.size >= 1024) cards.clear();
      const card = rateCard(
        rt.normaliser.modelRef(modelId),
        region,
        tier,
        at,
        rt.catalog,
        accountId,
      );
      cached = { card, until: at + 60_000 };
      cards.set(key, cached);
    }
    const asInput = cardCost(cached.card, { ...ZERO, input: inputTokens, output: maxOut });
    if (asInput === null) return null;
    const asWrite = cardCost(cached.card, { ...ZERO, cacheWrite1h: inputTokens, output: maxOut });
    return asWrite !== null && asWrite > asInput ? asWrite : asInput;
  };
}

export async function gatewayCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    port: { type: 'string' },
    host: { type: 'string' },
  });
  if (flags.help || positionals.length > 0) {
    print(ctx, GATEWAY_HELP);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  await withRuntime(
    ctx,
    flags,
    async (rt) => {
      const running = await startGateway(rt, {
        port: int(flags, 'port', rt.config.gateway.port),
        host: str(flags, 'host') ?? '127.0.0.1',
        env: ctx.env,
        baseDir: resolve(dbPath(ctx, flags), '..'),
        log: stderrLogger(ctx),
      });
      // Listening for the signal before saying so: a supervisor may stop it as soon as it reads the line.
      const stopped = new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      print(
        ctx,
        `Bedrock gateway on ${running.url} (OpenAI: ${running.url}/v1), budget counters ${running.counters}. Ctrl-C stops it.`,
      );
      await stopped;
      await running.close();
    },
    { threads: SERVER_THREADS },
  );
  return EXIT.ok;
}

/** One line per event on stderr: `level message {fields}`. Fields never carry keys or bodies. */
export function stderrLogger(ctx: CliContext): Logger {
  const line = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) =>
    ctx.stderr.write(
      `${new Date(ctx.now()).toISOString()} ${level} ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}\n`,
    );
  return { info: line('info'), warn: line('warn'), error: line('error') };
}
