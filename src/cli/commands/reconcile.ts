/** `tokenledger reconcile [--month YYYY-MM]`: the ledger against the bill, with causes, then billed dollars allocated. */
import { type Reconciliation, runReconciliation, shortModel } from '../../analyse/index.ts';
import { AppError, formatUsd, formatUsdHuman, type Picos } from '../../core/index.ts';
import { parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { renderTable } from '../format.ts';

export const RECONCILE_HELP = `Usage: tokenledger reconcile [--month YYYY-MM] [--dry-run] [--json] [--db FILE]

Puts the bill (tokenledger ingest-cur) next to the ledger's estimates for one billing period
(default: the latest) at day × account × Region × model × scope × tier, shows billed vs
estimated, the variance and its likely cause (negotiated discount, credits, tax, Regions without
invocation logging, hours of missing logs, batch usage, prices that differ from the catalog), and
then allocates the bill's net usage dollars to the records in proportion to their estimated cost,
exact to the cent, so that \`tokenledger report --cost billed\` shows invoice dollars by team,
user, feature or session. Billed usage no record carries (no logs) is reported under the bill's
own attribution (IAM principal, iamPrincipal/* and resource tags). --dry-run allocates nothing.`;

export async function reconcileCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    month: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, RECONCILE_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${RECONCILE_HELP}`);
  const r = await withRuntime(ctx, flags, (rt) =>
    runReconciliation(rt.store, str(flags, 'month'), { allocate: flags['dry-run'] !== true }),
  );
  print(ctx, flags.json === true ? reconcileJson(r) : reconcileText(r));
  return EXIT.ok;
}

const d = (p: Picos) => formatUsd(p);

function reconcileJson(r: Reconciliation): string {
  const { data } = r;
  return JSON.stringify({
    month: data.period,
    payer: data.payer,
    totals: Object.fromEntries(Object.entries(data.totals).map(([k, v]) => [`${k}Usd`, d(v)])),
    allocation: data.allocation && {
      toRecordsUsd: d(data.allocation.toRecords),
      records: data.allocation.records,
      periodRecords: data.allocation.periodRecords,
      billedOnlyUsd: d(data.allocation.billedOnly),
      totalUsd: d(data.allocation.toRecords + data.allocation.billedOnly),
    },
    rows: r.rows.map((g) => ({
      account: g.account,
      region: g.region,
      model: g.model,
      scope: g.scope,
      tier: g.tier,
      billedUsd: d(g.billedUsage + g.discount),
      listBilledUsd: d(g.billedUsage),
      estimatedUsd: d(g.estimated),
      varianceUsd: d(g.variance),
      records: g.records,
      billedTokens: g.billedTokens === null ? null : g.billedTokens.toString(),
      loggedTokens: g.loggedTokens.toString(),
      cause: g.cause,
    })),
    findings: r.findings.map((f) => ({
      kind: f.kind,
      message: f.message,
      amountUsd: f.amount === null ? null : d(f.amount),
    })),
  });
}

function reconcileText(r: Reconciliation): string {
  const { data } = r;
  const t = data.totals;
  const h = formatUsdHuman;
  const out = [
    `Reconciliation ${data.period}${data.payer ? ` (payer ${data.payer})` : ''}`,
    `  bill: usage ${h(t.usage)}, discounts ${h(t.discount)}, credits ${h(t.credit)}, tax ${h(t.tax)} → total ${h(t.total)}`,
  ];
  const estimated = r.rows.reduce((a, g) => a + g.estimated, 0n);
  out.push(`  ledger estimate (list price, your overrides): ${h(estimated)}`);
  const rows = r.rows
    .slice(0, 25)
    .map((g) => [
      g.account,
      g.region,
      shortModel(g.model),
      g.tier === 'standard' ? g.scope : `${g.scope} ${g.tier}`,
      h(g.billedUsage + g.discount),
      h(g.estimated),
      h(g.variance),
      g.cause,
    ]);
  out.push(
    '',
    renderTable(
      ['ACCOUNT', 'REGION', 'MODEL', 'SCOPE', 'BILLED', 'ESTIMATED', 'VARIANCE', 'LIKELY CAUSE'],
      rows,
      [false, false, false, false, true, true, true, false],
      160,
    ),
  );
  if (r.rows.length > 25) out.push(`  … ${r.rows.length - 25} more rows (--json for all)`);
  if (r.findings.length > 0) {
    out.push('', 'Findings');
    for (const f of r.findings) out.push(`  - ${f.message}`);
  }
  const a = data.allocation;
  if (a === null) {
    out.push('', 'Dry run: nothing allocated.');
  } else {
    out.push(
      '',
      `Allocated ${h(a.toRecords + a.billedOnly)} of net usage (usage + discounts, exactly ${formatUsd(t.usage + t.discount)}): ` +
        `${h(a.toRecords)} to ${a.records.toLocaleString('en')} of ${a.periodRecords.toLocaleString('en')} records, ` +
        `${h(a.billedOnly)} billed-only (no logs). Credits and tax are not allocated.`,
      'See it by team: tokenledger report --cost billed --by team',
    );
  }
  return out.join('\n');
}
