/** `tokenledger reprice`: recompute stored costs after a catalog, overrides or inference-profile change. */
import { parseTime, shortModel } from '../../analyse/index.ts';
import { AppError, formatUsd, formatUsdHuman, type Picos } from '../../core/index.ts';
import { reprice } from '../../pipeline/index.ts';
import type { RepriceResult } from '../../store/index.ts';
import { parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { renderTable } from '../format.ts';

export const REPRICE_HELP = `Usage: tokenledger reprice [--since 30d|DATE] [--dry-run] [--json] [--db FILE] [--config FILE]

Prices every stored record again with the current catalog, your prices.overrides and your
inferenceProfiles, and updates the records whose cost, price entry or flags change. Records of
models that had no price are priced as soon as an entry exists. Running it again changes nothing.
Prints the before/after difference by model. --dry-run shows it without writing. Attribution
(team, user, …) is kept as stored.`;

export async function repriceCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, REPRICE_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${REPRICE_HELP}`);
  const since = str(flags, 'since');
  const sinceMs = since === undefined ? undefined : parseTime(since, ctx.now(), '--since');
  const dryRun = flags['dry-run'] === true;
  const { result, hash } = await withRuntime(ctx, flags, async (rt) => ({
    result: await reprice(rt, { dryRun, ...(sinceMs === undefined ? {} : { sinceMs }) }),
    hash: rt.catalog.hash,
  }));
  print(
    ctx,
    flags.json === true
      ? repriceJson(result, hash, dryRun)
      : repriceText(result, hash, dryRun, sinceMs),
  );
  return EXIT.ok;
}

function repriceJson(r: RepriceResult, catalogHash: string, dryRun: boolean): string {
  return JSON.stringify({
    dryRun,
    catalogHash,
    records: r.records,
    changed: r.changed,
    byModel: r.byModel.map((m) => ({
      model: m.model,
      records: m.records,
      changed: m.changed,
      beforeUsd: formatUsd(m.before),
      afterUsd: formatUsd(m.after),
      differenceUsd: formatUsd(m.after - m.before),
      unpricedBefore: m.unpricedBefore,
      unpricedAfter: m.unpricedAfter,
    })),
    held: r.held,
  });
}

const signed = (p: Picos) => (p > 0n ? `+${formatUsdHuman(p)}` : formatUsdHuman(p));

function repriceText(
  r: RepriceResult,
  catalogHash: string,
  dryRun: boolean,
  sinceMs: number | undefined,
): string {
  const range = sinceMs === undefined ? '' : ` since ${new Date(sinceMs).toISOString()}`;
  const head = `${dryRun ? 'Would re-price' : 'Re-priced'} ${r.records.toLocaleString('en')} records${range} with catalog ${catalogHash}: ${r.changed.toLocaleString('en')} ${dryRun ? 'would change' : 'changed'}.`;
  const held =
    r.held.length === 0
      ? ''
      : `\n\nKept as stored (their model ids resolved at ingest but not with this configuration — is --config\nmissing, or an inferenceProfiles entry removed?):\n${r.held.map((h) => `  ${h.modelId}: ${h.records.toLocaleString('en')} records`).join('\n')}`;
  if (r.byModel.length === 0)
    return `${head}\nNothing to do: every record already has its current price.${held}`;
  const rows = r.byModel.map((m) => [
    shortModel(m.model),
    m.changed.toLocaleString('en'),
    formatUsdHuman(m.before),
    formatUsdHuman(m.after),
    signed(m.after - m.before),
    m.unpricedBefore === m.unpricedAfter ? '' : `${m.unpricedBefore} → ${m.unpricedAfter}`,
  ]);
  const before = r.byModel.reduce((a, m) => a + m.before, 0n);
  const after = r.byModel.reduce((a, m) => a + m.after, 0n);
  rows.push(['', '', '', '', '', '']);
  rows.push([
    'TOTAL',
    r.changed.toLocaleString('en'),
    formatUsdHuman(before),
    formatUsdHuman(after),
    signed(after - before),
    '',
  ]);
  const table = renderTable(
    ['MODEL', 'CHANGED', 'BEFORE', 'AFTER', 'DIFFERENCE', 'UNPRICED'],
    rows,
    [false, true, true, true, true, true],
  );
  return `${head}\n\n${table}\n\nBefore/after are the stored costs of the models' records in range (USD, list price less your discounts).${held}`;
}
