/** `tokenledger ingest-metrics`: CloudWatch AWS/Bedrock metrics from saved files or fetched live. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseTime } from '../../analyse/index.ts';
import { AppError } from '../../core/index.ts';
import {
  appendRejects,
  fetchMetrics,
  ingestMetricFiles,
  type MetricsIngestSummary,
} from '../../pipeline/index.ts';
import { createCloudWatchMetricsSource } from '../../sources/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, dbPath, EXIT, print, withRuntime } from '../context.ts';
import { rejectsPath } from './ingest.ts';

export const INGEST_METRICS_HELP = `Usage: tokenledger ingest-metrics PATH… [--region R] [--account ID] [--json]
       tokenledger ingest-metrics --fetch --region R [--account ID] [--since 7d] [--period 3600] [--save FILE]

CloudWatch AWS/Bedrock metrics (tokens, invocations, errors, throttles, log-delivery failures) for
reconcile's coverage check: an hour where CloudWatch counted more tokens than the ledger logged is a
logging gap. PATH: saved GetMetricData documents — the request (--cli-input-json) and the response
in one JSON object, with "Region" and "AccountId" added (or --region/--account). --fetch reads them
live with the standard AWS credential chain (ListMetrics + GetMetricData; AWS_ENDPOINT_URL_CLOUDWATCH
honoured) and --save writes what was fetched in that file form. Re-ingesting is a no-op.`;

export async function ingestMetricsCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    region: { type: 'string' },
    account: { type: 'string' },
    fetch: { type: 'boolean' },
    since: { type: 'string' },
    period: { type: 'string' },
    save: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, INGEST_METRICS_HELP);
    return EXIT.ok;
  }
  const region = str(flags, 'region');
  const account = str(flags, 'account');
  const defaults = {
    ...(region !== undefined ? { region } : {}),
    ...(account !== undefined ? { account } : {}),
  };
  let summary: MetricsIngestSummary;
  if (flags.fetch === true) {
    if (region === undefined) throw new AppError('cli.usage', '--fetch needs --region');
    if (positionals.length > 0) throw new AppError('cli.usage', '--fetch takes no PATH');
    const now = ctx.now();
    const start = parseTime(str(flags, 'since') ?? '7d', now, '--since');
    const fetched = await withRuntime(ctx, flags, (rt) =>
      fetchMetrics(rt, createCloudWatchMetricsSource(ctx.env), {
        region,
        account,
        start: new Date(start),
        end: new Date(now),
        periodSeconds: int(flags, 'period', 3600),
      }),
    );
    const save = str(flags, 'save');
    if (save !== undefined)
      writeFileSync(resolve(ctx.cwd, save), `${JSON.stringify(fetched.document)}\n`);
    summary = fetched;
  } else {
    if (positionals.length === 0)
      throw new AppError(
        'cli.usage',
        `ingest-metrics needs a PATH or --fetch\n\n${INGEST_METRICS_HELP}`,
      );
    summary = await withRuntime(ctx, flags, (rt) => ingestMetricFiles(rt, positionals, defaults));
  }
  const rejectsFile = rejectsPath(ctx, dbPath(ctx, flags)).replace('/ingest-', '/ingest-metrics-');
  appendRejects(rejectsFile, summary.rejects);
  const file = summary.rejects.length > 0 ? rejectsFile : null;
  print(
    ctx,
    flags.json === true
      ? JSON.stringify({
          files: summary.files,
          points: summary.points,
          written: summary.written,
          rejects: summary.rejects.length,
          rejectsFile: file,
        })
      : `Read ${summary.points.toLocaleString('en')} datapoints${summary.files > 0 ? ` from ${summary.files} file(s)` : ''}; ${summary.written.toLocaleString('en')} stored (a datapoint seen before replaces itself).` +
          (file ? `\n${summary.rejects.length} rejected → ${file}` : ''),
  );
  return summary.rejects.length > 0 ? EXIT.partial : EXIT.ok;
}
