/** `tokenledger ingest-cur PATH…`: the bill (CUR 2.0 / legacy CUR) into the ledger. */
import { AppError } from '../../core/index.ts';
import { appendRejects, type CurIngestSummary, ingestCur } from '../../pipeline/index.ts';
import { parse } from '../args.ts';
import { type CliContext, dbPath, EXIT, print, withRuntime } from '../context.ts';
import { rejectsPath } from './ingest.ts';

export const INGEST_CUR_HELP = `Usage: tokenledger ingest-cur PATH… [--json] [--db FILE]

Reads AWS Cost and Usage Reports for Amazon Bedrock: CUR 2.0 (Data Exports, CSV, gzip CSV or
Parquet) and legacy CUR (CSV with lineItem/… columns), from folders or s3://bucket/prefix. Give
the export's root: each billing period's current delivery is read (the Manifest's assembly for
legacy CUR, the last version folder for CUR 2.0), and it replaces what the ledger held for that
payer and period — re-running is safe. Rows of other services are skipped; malformed rows are
rejected with file:line and reason; usage types no grammar reads are kept and listed.
Then: tokenledger reconcile.`;

export async function ingestCurCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, { json: { type: 'boolean' } });
  if (flags.help) {
    print(ctx, INGEST_CUR_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0)
    throw new AppError('cli.usage', `ingest-cur needs a PATH\n\n${INGEST_CUR_HELP}`);
  const rejectsFile = rejectsPath(ctx, dbPath(ctx, flags)).replace('/ingest-', '/ingest-cur-');
  const summary = await withRuntime(ctx, flags, (rt) => ingestCur(rt, positionals));
  appendRejects(rejectsFile, summary.rejects);
  const file = summary.rejects.length > 0 ? rejectsFile : null;
  if (flags.json === true) {
    print(ctx, JSON.stringify({ ...summary, rejects: summary.rejects.length, rejectsFile: file }));
  } else {
    print(ctx, formatCurSummary(summary, file));
  }
  return summary.rejects.length > 0 || summary.warnings.length > 0 ? EXIT.partial : EXIT.ok;
}

export function formatCurSummary(s: CurIngestSummary, rejectsFile: string | null): string {
  const n = (v: number) => v.toLocaleString('en').padStart(10);
  const periods = s.periods
    .map((p) => `${p.period}${p.payer ? ` (payer ${p.payer})` : ''}`)
    .join(', ');
  const out = [
    `Read ${s.files} CUR file(s): ${periods || 'no Bedrock usage'}`,
    `  rows        ${n(s.rows)}`,
    `  Bedrock     ${n(s.inserted)}  line items stored${s.replaced > 0 ? ` (replacing ${s.replaced.toLocaleString('en')} of an earlier delivery)` : ''}`,
    `  other       ${n(s.otherRows)}  (other services, skipped)`,
    `  rejected    ${n(s.rejects.length)}${rejectsFile ? `  → ${rejectsFile}` : ''}`,
  ];
  if (s.unknownUsageTypes.length > 0) {
    out.push(
      '',
      'Usage types no grammar reads (kept in the bill as billed-only, listed by `reconcile`):',
    );
    for (const u of s.unknownUsageTypes.slice(0, 10)) out.push(`  ${u.usageType}: ${u.reason}`);
  }
  if (s.unmappedModels.length > 0)
    out.push(
      '',
      `Billing names not mapped to a model id (billed-only until mapped): ${s.unmappedModels.join(', ')}`,
    );
  if (s.warnings.length > 0) out.push('', ...s.warnings.map((w) => `Warning: ${w}`));
  return out.join('\n');
}
