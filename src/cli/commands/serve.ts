/**
 * `tokenledger serve`: the long-running services on one ledger, in one process (DuckDB has one writer): the Bedrock
 * gateway and the OTLP receiver.
 */
import { resolve } from 'node:path';
import { SERVER_THREADS } from '../../runtime.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, dbPath, EXIT, print, withRuntime } from '../context.ts';
import { type Collector, startCollector } from './collect.ts';
import { startGateway, stderrLogger } from './gateway.ts';

export const SERVE_HELP = `Usage: tokenledger serve [--port 8790] [--otlp-port 4318] [--host 127.0.0.1] [--db FILE] [--config FILE]

Runs the Bedrock gateway (--port; see tokenledger gateway --help) and the OTLP receiver for Claude Code
and OpenTelemetry GenAI apps (--otlp-port; see tokenledger collect --help) together on one ledger.
--otlp-port 0 leaves the receiver off. Stop with Ctrl-C: calls in flight finish and the gateway's
spool is written to the ledger. While it runs it holds the ledger file: manage keys through its
admin API (tokenledger keys … --gateway http://HOST:PORT) and run reports after stopping it.`;

export async function serveCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    port: { type: 'string' },
    'otlp-port': { type: 'string' },
    host: { type: 'string' },
  });
  if (flags.help || positionals.length > 0) {
    print(ctx, SERVE_HELP);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const host = str(flags, 'host') ?? '127.0.0.1';
  await withRuntime(
    ctx,
    flags,
    async (rt) => {
      const gateway = await startGateway(rt, {
        port: int(flags, 'port', rt.config.gateway.port),
        host,
        env: ctx.env,
        baseDir: resolve(dbPath(ctx, flags), '..'),
        log: stderrLogger(ctx),
      });
      const otlpPort = int(flags, 'otlp-port', 4318);
      let collector: Collector | null = null;
      try {
        if (otlpPort !== 0)
          collector = await startCollector(rt, {
            port: otlpPort,
            host,
            token: ctx.env.TOKENLEDGER_OTLP_TOKEN,
          });
      } catch (e: unknown) {
        // The gateway is up (its Redis clients and timers would keep this process alive): stop it first.
        await gateway.close();
        throw e;
      }
      // Listening for the signal before saying so: a supervisor may stop it as soon as it reads the line.
      const stopped = new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      print(
        ctx,
        `Bedrock gateway on ${gateway.url} (OpenAI: ${gateway.url}/v1), budget counters ${gateway.counters}` +
          (collector === null ? '' : `; OTLP/HTTP receiver on ${collector.url}`) +
          '. Ctrl-C stops them.',
      );
      await stopped;
      await Promise.all([gateway.close(), collector?.close()]);
    },
    { threads: SERVER_THREADS },
  );
  return EXIT.ok;
}
