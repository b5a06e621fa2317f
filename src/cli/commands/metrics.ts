/** `tokenledger metrics`: what CloudWatch says about usage, per model — the derived ratios and log-delivery gaps. */
import { parseTime } from '../../analyse/index.ts';
import { AppError } from '../../core/index.ts';
import {
  deriveMetrics,
  isDeliveryFailureMetric,
  type MetricPoint,
  type MetricTier,
} from '../../sources/index.ts';
import type { MetricRow } from '../../store/index.ts';
import { parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { compact, renderTable } from '../format.ts';

export const METRICS_HELP = `Usage: tokenledger metrics [--since 7d|DATE] [--until DATE] [--by model|region|day] [--json] [--db FILE]

From the CloudWatch AWS/Bedrock metrics in the ledger (tokenledger ingest-metrics): invocations,
tokens per invocation, output/input ratio, cache hit rate, client/server error and throttle rates
per model id as called (priority and flex tiers apart), and the log deliveries that failed — each
one a gap in the invocation logs.`;

export async function metricsCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    by: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, METRICS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${METRICS_HELP}`);
  const by = str(flags, 'by') ?? 'model';
  if (!['model', 'region', 'day'].includes(by))
    throw new AppError('cli.usage', '--by must be model, region or day');
  const now = ctx.now();
  const from = parseTime(str(flags, 'since') ?? '7d', now, '--since');
  const until = str(flags, 'until');
  const to = until === undefined ? now : parseTime(until, now, '--until');
  const rows = await withRuntime(ctx, flags, (rt) => rt.store.metrics.points(from, to));
  // Grouping by folding the other keys: derive groups by Region × model × tier × day.
  const points = rows.map((r) =>
    pointOf(r, {
      region: by === 'region' ? r.region : 'all',
      modelId:
        by === 'model' ? (r.modelId === '' ? null : r.modelId) : r.modelId === '' ? null : '*',
      tier: (by === 'model' ? r.tier : 'standard') as MetricTier,
      at: by === 'day' ? r.at : from,
    }),
  );
  const d = deriveMetrics(points);
  const deliveryFailures = deliveryFailuresOf(rows);
  const groups = d.groups.filter((g) => g.modelId !== null);
  if (flags.json === true) {
    const json = (v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
    print(
      ctx,
      JSON.stringify({ groups, overall: d.overall, deliveryFailures, notes: d.notes }, (_k, v) =>
        json(v),
      ),
    );
    return EXIT.ok;
  }
  if (rows.length === 0) {
    print(
      ctx,
      'No CloudWatch metrics in this range: tokenledger ingest-metrics FILE… or --fetch --region R.',
    );
    return EXIT.ok;
  }
  const key = (g: (typeof groups)[number]) =>
    by === 'model'
      ? `${g.modelId}${g.tier === 'standard' ? '' : ` +${g.tier}`}`
      : by === 'region'
        ? g.region
        : g.day;
  const cells = (g: typeof d.overall) => [
    compact(g.invocations),
    compact(g.inputTokens + g.outputTokens + g.cacheReadTokens + g.cacheWriteTokens),
    g.tokensPerInvocation ?? '-',
    g.outputInputRatio ?? '-',
    percent(g.cacheHitRate),
    percent(g.clientErrorRate),
    percent(g.serverErrorRate),
    percent(g.throttleRate),
  ];
  const table = renderTable(
    [
      by.toUpperCase(),
      'INVOCATIONS',
      'TOKENS',
      'TOK/INV',
      'OUT/IN',
      'CACHE HIT',
      '4XX',
      '5XX',
      'THROTTLED',
    ],
    [...groups.map((g) => [key(g), ...cells(g)]), [], ['TOTAL', ...cells(d.overall)]],
    [false, true, true, true, true, true, true, true, true],
    120,
  );
  const out = [table];
  if (deliveryFailures.length > 0) {
    out.push('', 'Invocation-log deliveries that failed (the ledger is missing these calls):');
    for (const f of deliveryFailures) out.push(`  ${f.day} ${f.region} ${f.metric}: ${f.failures}`);
  }
  print(ctx, out.join('\n'));
  return EXIT.ok;
}

/** A rate as a decimal string ("0.0020") shown as a percentage ("0.20%"), exactly: the point moves two places. */
export function percent(rate: string | null): string {
  if (rate === null) return '-';
  const m = /^(\d+)(?:\.(\d*))?$/.exec(rate);
  if (m === null) return rate;
  const digits = `${m[2] ?? ''}00`;
  return `${Number(`${m[1]}${digits.slice(0, 2)}`)}${digits.length > 4 ? `.${digits.slice(2, -2)}` : ''}%`;
}

/**
 * Failed log deliveries by the day and Region they happened, whatever `--by` folds the other points into (folded,
 * they were dated at the range's start and lost their Region).
 */
export function deliveryFailuresOf(rows: readonly MetricRow[]) {
  return deriveMetrics(
    rows
      .filter((r) => isDeliveryFailureMetric(r.metric))
      .map((r) => pointOf(r, { region: r.region, modelId: null, tier: 'standard', at: r.at })),
  ).deliveryFailures;
}

/** A stored point as `deriveMetrics` takes it, with the keys a grouping folds given. */
function pointOf(
  r: MetricRow,
  keys: Pick<MetricPoint, 'region' | 'modelId' | 'tier' | 'at'>,
): MetricPoint {
  return {
    namespace: r.namespace,
    metric: r.metric,
    account: r.account === '' ? null : r.account,
    stat: r.stat,
    periodSeconds: r.periodSeconds,
    value: r.value,
    ...keys,
  };
}
