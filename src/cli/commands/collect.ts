/** `tokenledger collect`: the OTLP/HTTP receiver for Claude Code and OpenTelemetry GenAI apps, alone. */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createOtlpSink } from '../../pipeline/index.ts';
import type { Runtime } from '../../runtime.ts';
import { createOtlpReceiver, toNodeListener } from '../../sources/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { readTls } from '../tls.ts';

export const COLLECT_HELP = `Usage: tokenledger collect [--port 4318] [--host 127.0.0.1] [--db FILE] [--config FILE]

An OTLP/HTTP endpoint (POST /v1/logs, /v1/metrics, /v1/traces; JSON or protobuf, gzip) for
Claude Code and OpenTelemetry GenAI apps. Point them at it:
  export CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp
  export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:4318
  export OTEL_RESOURCE_ATTRIBUTES="team=search,cost_center=CC-42,user.email=ana@example.com"
API-request costs are recomputed from their tokens with the catalog (Claude Code's cost_usd is
kept only for comparison). otlp.tls in tokenledger.yaml (cert, key) serves HTTPS. With TOKENLEDGER_OTLP_TOKEN
set, requests need "Authorization: Bearer <token>" (OTEL_EXPORTER_OTLP_HEADERS). Stop with Ctrl-C.
The ledger file is held open while it runs: run reports after stopping it, or on a copy.`;

export interface Collector {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the receiver on a runtime that stays open until `close`. */
export async function startCollector(
  rt: Runtime,
  opts: { port: number; host: string; token?: string | undefined; now?: () => number },
): Promise<Collector> {
  const app = createOtlpReceiver({
    sink: createOtlpSink(rt),
    ...(opts.token ? { bearerToken: opts.token } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const tls =
    rt.config.otlp.tls === undefined
      ? undefined
      : readTls('otlp.tls', rt.config.otlp.tls, rt.origin.configPath);
  const listener = toNodeListener(app);
  const server: Server =
    tls === undefined ? createServer(listener) : createHttpsServer(tls, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function collectCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    port: { type: 'string' },
    host: { type: 'string' },
  });
  if (flags.help || positionals.length > 0) {
    print(ctx, COLLECT_HELP);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  await withRuntime(ctx, flags, async (rt) => {
    const collector = await startCollector(rt, {
      port: int(flags, 'port', 4318),
      host: str(flags, 'host') ?? '127.0.0.1',
      token: ctx.env.TOKENLEDGER_OTLP_TOKEN,
    });
    print(
      ctx,
      `OTLP/HTTP receiver on ${collector.url} (POST /v1/logs, /v1/metrics, /v1/traces). Ctrl-C stops it.`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await collector.close();
  });
  return EXIT.ok;
}
