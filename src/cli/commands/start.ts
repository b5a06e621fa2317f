/**
 * `npm start`: the main job on the embedded default. With an empty ledger it builds the demo organisation first;
 * then it shows where the money went.
 */
import { runReport } from '../../analyse/index.ts';
import { AppError, formatUsdHuman } from '../../core/index.ts';
import { parse } from '../args.ts';
import { type CliContext, dbPath, EXIT, print, withRuntime } from '../context.ts';
import { reportTable } from '../format.ts';
import { formatBillSummary, formatTelemetrySummary, runDemo } from './demo.ts';
import { formatSummary } from './ingest.ts';

export const START_HELP = `Usage: tokenledger start [--db FILE] [--config FILE]

What \`npm start\` runs. With an empty ledger it first builds the demo organisation (\`tokenledger demo
--days 30 --seed 42\`: invocation logs, Claude Code telemetry, CloudWatch metrics and a bill, ingested
as real data); then it prints the spend of the last 30 days by team and the top models.`;

export async function startCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {});
  if (flags.help) {
    print(ctx, START_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${START_HELP}`);
  const db = dbPath(ctx, flags);
  const empty = await withRuntime(ctx, flags, async (rt) => {
    const { total } = await rt.store.queryUsage({ groupBy: [], where: [] });
    return total.requests === 0;
  });
  if (empty) {
    print(ctx, `The ledger ${db} is empty: building the demo organisation (tokenledger demo).`);
    const run = await runDemo(ctx, db, { days: 30, seed: 42 });
    print(ctx, `${formatSummary(run.summary)}\n`);
    const telemetry = formatTelemetrySummary(run.telemetry);
    if (telemetry) print(ctx, `${telemetry}\n`);
    const bill = formatBillSummary(run.bill);
    if (bill) print(ctx, `${bill}\n`);
  }
  await withRuntime(ctx, flags, async (rt) => {
    const now = ctx.now();
    const byTeam = await runReport(rt.store, { by: ['team'], since: '30d', where: [] }, now);
    print(
      ctx,
      `Spend by team, last 30 days (list price, USD) — ${formatUsdHuman(byTeam.total.costPicos)} in total\n`,
    );
    print(ctx, `${reportTable(byTeam)}\n`);
    const byModel = await runReport(
      rt.store,
      { by: ['model', 'scope'], since: '30d', where: [], limit: 12 },
      now,
    );
    print(ctx, 'Top models, last 30 days\n');
    print(ctx, `${reportTable(byModel)}\n`);
  });
  print(
    ctx,
    [
      `Ledger: ${db}`,
      'Try:  npm run tokenledger -- report --by team,user --since 7d --limit 20',
      '      npm run tokenledger -- report --by request_id --since 7d --limit 5   (the costliest calls: explain ID)',
      '      npm run tokenledger -- reconcile            (the bill against the ledger, with causes)',
      '      npm run tokenledger -- report --cost billed --by team --since 30d',
      '      npm run tokenledger -- report --by day --where team=search --format csv',
      '      npm run tokenledger -- sessions            (Claude Code sessions, from the pilot teams’ OTLP telemetry)',
      '      npm run tokenledger -- report --by session,user --where team=security --since 7d',
      '      npm run tokenledger -- ingest s3://your-bucket/AWSLogs/   (a local folder, or cwlogs://LOG_GROUP)',
    ].join('\n'),
  );
  return EXIT.ok;
}
