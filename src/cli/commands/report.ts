/** `tokenledger report`: spend grouped by any dimension, as a table, CSV or JSON. */
import {
  columnName,
  DECISION_COUNTERS,
  isTelemetryReport,
  keysJson,
  REPORT_COUNTERS,
  type Report,
  type ReportRequest,
  runReport,
  runTelemetryReport,
  type TelemetryReport,
  telemetryReportNotes,
} from '../../analyse/index.ts';
import { AppError } from '../../core/index.ts';
import type { EditDecisionRow, GroupKey } from '../../store/index.ts';
import { int, list, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import {
  compact,
  csv,
  outputFormat,
  renderTable,
  reportCsv,
  reportJson,
  reportTable,
} from '../format.ts';

export const REPORT_HELP = `Usage: tokenledger report [--by DIM,…] [--since 7d|DATE] [--until DATE] [--where DIM=VALUE]…
                          [--cost list|billed] [--format table|csv|json] [--limit N] [--db FILE]

DIM: team user feature project environment cost_center application session (or any other
request-metadata key), model model_id profile scope tier region inference_region account
operation identity error_code status request_id (one row per call: the costliest first),
quarter_hour hour day week month.
Telemetry DIM (what \`tokenledger collect\` received): tool language query_source terminal version
prompt. Asking for one runs the report over telemetry: Claude Code / GenAI API request events,
priced as the ledger prices their calls (a call matched to an invocation-log record costs that
record's cost; the others are priced from their tokens with the catalog, never at Claude Code's
own cost_usd). They combine with session user model team feature
project environment cost_center application hour day week month and OTEL_RESOURCE_ATTRIBUTES keys,
not with ledger-only dimensions (account, region, …) or --cost billed. A request-metadata key of
the same name: --by meta:tool. --by tool apportions: each prompt's (prompt.id) requests, tokens
and cost are split evenly over that prompt's tool calls in whole units (pico-USD), the remainder
one each to the earliest calls, so the shares add up exactly; prompts without tool calls are
"(no tool)". --by language counts code-edit decisions (accept/reject) per language, without cost:
that metric carries no prompt id.
--since/--until take 24h, 7d, 2w, 3m or a date (2026-01-31) / ISO time; --until is exclusive.
--where can be repeated: values of one DIM are alternatives (--where team=a --where team=b is
either team), different DIMs all apply.
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
  const format = outputFormat(str(flags, 'format'), false);
  const by = list(flags, 'by')
    .flatMap((b) => b.split(','))
    .filter((b) => b.length > 0);
  const since = str(flags, 'since');
  const until = str(flags, 'until');
  const limitFlag = str(flags, 'limit') === undefined ? undefined : int(flags, 'limit', 0);
  const request: ReportRequest = {
    by,
    where: list(flags, 'where'),
    ...(str(flags, 'cost') !== undefined ? { cost: str(flags, 'cost') as string } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(limitFlag !== undefined ? { limit: limitFlag } : {}),
  };
  if (isTelemetryReport(request)) {
    const report = await withRuntime(ctx, flags, (rt) =>
      runTelemetryReport(rt.store, request, ctx.now()),
    );
    print(ctx, renderTelemetryReport(report, format));
    return EXIT.ok;
  }
  const report = await withRuntime(ctx, flags, (rt) => runReport(rt.store, request, ctx.now()));
  print(
    ctx,
    format === 'json'
      ? reportJson(report)
      : format === 'csv'
        ? reportCsv(report)
        : reportTable(report),
  );
  // On stderr, so that CSV and JSON stay clean when redirected.
  for (const note of report.notes) ctx.stderr.write(`Note: ${note}\n`);
  return EXIT.ok;
}

/** A decision row has none of the report counters: they are null there, so CSV and JSON keep one shape. */
const NULL_COUNTERS = Object.fromEntries(REPORT_COUNTERS.map((k) => [k, null]));

function decisionJson(row: EditDecisionRow): Record<string, string | number | null> {
  const decided = row.accepts + row.rejects;
  return {
    ...keysJson(row.keys),
    ...NULL_COUNTERS,
    decisions: Number(row.decisions),
    accepts: Number(row.accepts),
    rejects: Number(row.rejects),
    accept_rate: decided === 0n ? null : Number(row.accepts) / Number(decided),
  };
}

/** The same formats as the ledger report: group keys plus the same counters (null where telemetry has none). */
export function renderTelemetryReport(report: TelemetryReport, format: string): string {
  const keys = report.query.groupBy;
  const r = report.result;
  if (r.measure === 'requests') {
    // The ledger report's renderers read the keys as column names only.
    const asReport: Report = {
      query: { groupBy: keys as readonly string[] as readonly GroupKey[], where: [] },
      rows: r.rows,
      total: r.total,
      unpriced: [],
      notes: [],
    };
    if (format === 'json') return reportJson(asReport);
    if (format === 'csv') return reportCsv(asReport);
    return [reportTable(asReport), '', ...telemetryReportNotes(report)].join('\n');
  }
  if (format === 'json') return JSON.stringify(r.rows.map(decisionJson), null, 2);
  if (format === 'csv') {
    return csv(r.rows.map(decisionJson), [
      ...keys.map(columnName),
      ...REPORT_COUNTERS,
      ...DECISION_COUNTERS,
    ]);
  }
  const rate = (row: EditDecisionRow) => {
    const decided = row.accepts + row.rejects;
    return decided === 0n ? '-' : `${((Number(row.accepts) / Number(decided)) * 100).toFixed(1)}%`;
  };
  const cells = (row: EditDecisionRow) => [
    compact(row.decisions),
    compact(row.accepts),
    compact(row.rejects),
    rate(row),
  ];
  const headers = [
    ...keys.map((k) => columnName(k).toUpperCase()),
    'DECISIONS',
    'ACCEPTED',
    'REJECTED',
    'ACCEPT RATE',
  ];
  const rows = r.rows.map((row) => [...keys.map((k) => row.keys[k] ?? '(none)'), ...cells(row)]);
  rows.push(headers.map(() => ''));
  rows.push([...keys.map((_, i) => (i === 0 ? 'TOTAL' : '')), ...cells(r.total)]);
  return [
    renderTable(
      headers,
      rows,
      headers.map((_, i) => i >= keys.length),
    ),
    '',
    ...telemetryReportNotes(report),
  ].join('\n');
}
