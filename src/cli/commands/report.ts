/** `tokenledger report`: spend grouped by any dimension, as a table, CSV or JSON. */
import { runReport } from '../../analyse/index.ts';
import { AppError } from '../../core/index.ts';
import { int, list, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { reportCsv, reportJson, reportTable } from '../format.ts';

export const REPORT_HELP = `Usage: tokenledger report [--by DIM,…] [--since 7d|DATE] [--until DATE] [--where DIM=VALUE]…
                          [--cost list|billed] [--format table|csv|json] [--limit N] [--db FILE]

DIM: team user feature project environment cost_center application session (or any other
request-metadata key), model model_id profile scope tier region inference_region account
operation identity error_code status, hour day week month.
--since/--until take 24h, 7d, 2w, 3m or a date (2026-01-31) / ISO time; --until is exclusive.
--cost list (default): list-price estimates in USD (less your prices.overrides discounts); requests of
unpriced models are counted and listed. --cost billed: invoice dollars as \`tokenledger reconcile\`
allocated them, with billed usage that has no logs under the bill's own attribution.`;

export async function reportCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    by: { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    where: { type: 'string', multiple: true },
    format: { type: 'string' },
    limit: { type: 'string' },
    cost: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, REPORT_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${REPORT_HELP}`);
  const format = str(flags, 'format') ?? 'table';
  if (!['table', 'csv', 'json'].includes(format))
    throw new AppError('cli.usage', '--format must be table, csv or json');
  const by = list(flags, 'by')
    .flatMap((b) => b.split(','))
    .filter((b) => b.length > 0);
  const since = str(flags, 'since');
  const until = str(flags, 'until');
  const limitFlag = str(flags, 'limit') === undefined ? undefined : int(flags, 'limit', 0);
  const report = await withRuntime(ctx, flags, (rt) =>
    runReport(
      rt.store,
      {
        by,
        where: list(flags, 'where'),
        ...(str(flags, 'cost') !== undefined ? { cost: str(flags, 'cost') as string } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(limitFlag !== undefined ? { limit: limitFlag } : {}),
      },
      ctx.now(),
    ),
  );
  print(
    ctx,
    format === 'json'
      ? reportJson(report)
      : format === 'csv'
        ? reportCsv(report)
        : reportTable(report),
  );
  return EXIT.ok;
}
