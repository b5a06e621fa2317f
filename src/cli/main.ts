#!/usr/bin/env node
/**
 * The tokenledger command line. The only place that reads argv and process.env and maps errors to exit codes.
 */
import { readFileSync } from 'node:fs';
import { isAppError, OUT_OF_MEMORY, smallYoungGeneration } from '../core/index.ts';
import type { CliContext } from './context.ts';
import { EXIT } from './exit.ts';

type Command = (ctx: CliContext) => Promise<number>;

/**
 * Each command's module, loaded when that command runs: a command pays only for the modules it uses (`help` took
 * ~0.27 s and ~100 MB when every command was imported up front).
 */
/** Errors that are the caller's mistake in how the command was written: exit 2, like a bad option. */
const USAGE_ERRORS: ReadonlySet<string> = new Set([
  'cli.usage',
  'sources.invalid_uri',
  'sources.unsupported_uri',
]);

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  ingest: async () => (await import('./commands/ingest.ts')).ingestCommand,
  'ingest-cur': async () => (await import('./commands/ingest-cur.ts')).ingestCurCommand,
  'ingest-metrics': async () => (await import('./commands/ingest-metrics.ts')).ingestMetricsCommand,
  reconcile: async () => (await import('./commands/reconcile.ts')).reconcileCommand,
  metrics: async () => (await import('./commands/metrics.ts')).metricsCommand,
  collect: async () => (await import('./commands/collect.ts')).collectCommand,
  sessions: async () => (await import('./commands/sessions.ts')).sessionsCommand,
  gateway: async () => (await import('./commands/gateway.ts')).gatewayCommand,
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  keys: async () => (await import('./commands/keys.ts')).keysCommand,
  tools: async () => (await import('./commands/tools.ts')).toolsCommand,
  report: async () => (await import('./commands/report.ts')).reportCommand,
  explain: async () => (await import('./commands/explain.ts')).explainCommand,
  prices: async () => (await import('./commands/prices.ts')).pricesCommand,
  reprice: async () => (await import('./commands/reprice.ts')).repriceCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  start: async () => (await import('./commands/start.ts')).startCommand,
};

/** The package's version (package.json sits two levels up, from src/cli and from dist/cli alike). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export const HELP = `tokenledger — where every Bedrock token-dollar goes

Usage: tokenledger <command> [options]      (every command takes --db FILE and --config FILE)

  ingest PATH…     read invocation logs (files, folders, s3://bucket/prefix) into the ledger
  ingest-cur PATH… read the bill: CUR 2.0 / legacy CUR exports (folders or s3://)
  ingest-metrics … CloudWatch AWS/Bedrock metrics (saved files, or --fetch --region R)
  metrics          CloudWatch's view: tokens per invocation, cache hit, error and throttle rates
  reconcile        the bill against the ledger, causes, billed dollars allocated to records
  report           spend by team, user, model, day… (--by, --since, --where, --cost, --format)
  explain ID       how one request was normalised, attributed and priced
  collect          OTLP/HTTP receiver for Claude Code and OpenTelemetry GenAI apps (port 4318)
  sessions         the costliest Claude Code / GenAI sessions, from that telemetry
  tools            Claude Code's tools: calls, success, durations, accept rates, apportioned cost
  gateway          the Bedrock gateway: virtual keys, budgets, rate limits, recording (port 8790)
  keys …           the gateway's virtual keys: create, list, rotate, revoke
  serve            the gateway and the OTLP receiver together, on one ledger
  prices …         the price catalog: list, show MODEL, check, missing, import FILE…
  reprice          recompute stored costs after a price, override or profile change
  demo             generate and ingest a realistic demo organisation
  start            demo if the ledger is empty, then the spend report (what npm start runs)

The ledger is a DuckDB file: --db, else $TOKENLEDGER_DB, else ./tokenledger.duckdb.
Config: --config, else $TOKENLEDGER_CONFIG, else ./tokenledger.yaml, else the demo's beside the ledger.
Run \`tokenledger <command> --help\` for a command's options; \`tokenledger --version\` for the version.`;

export async function main(ctx: CliContext): Promise<number> {
  const [name, ...rest] = ctx.argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    ctx.stdout.write(`tokenledger ${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    ctx.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    ctx.stderr.write(`tokenledger: unknown command "${name}"\n\n${HELP}\n`);
    return EXIT.usage;
  }
  try {
    const command = await load();
    return await command({ ...ctx, argv: rest });
  } catch (e: unknown) {
    if (isAppError(e)) {
      ctx.stderr.write(`tokenledger ${name}: ${e.message}\n`);
      if (e.code === OUT_OF_MEMORY)
        ctx.stderr.write(
          `  DuckDB's memory limit is what ran out: set TOKENLEDGER_DUCKDB_MEMORY (e.g. 1GB) and run it again.\n`,
        );
      if (e.code === 'cli.interrupted') return EXIT.interrupted;
      return USAGE_ERRORS.has(e.code) || e.code.startsWith('analyse.bad_')
        ? EXIT.usage
        : EXIT.error;
    }
    ctx.stderr.write(
      `tokenledger ${name}: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`,
    );
    return EXIT.error;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/tokenledger')) {
  // Before the command's modules load (core/heap.ts): ingest's peak memory must not grow with its input.
  if (process.argv[2] === 'ingest') smallYoungGeneration();
  const code = await main({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.env.INIT_CWD ?? process.cwd(), // npm run sets cwd to the package root
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => Date.now(),
  });
  process.exitCode = code;
}
