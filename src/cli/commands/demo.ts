/** `tokenledger demo`: a realistic organisation's invocation logs, written as real files and ingested like real data. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Reconciliation, runReconciliation } from '../../analyse/index.ts';
import { formatUsdHuman } from '../../core/index.ts';
import { generateDemo } from '../../demo/index.ts';
import { type IngestSummary, ingestCur, ingestMetricFiles } from '../../pipeline/index.ts';
import { int, parse, str } from '../args.ts';
import {
  type CliContext,
  DEMO_DIR,
  dbPath,
  EXIT,
  INGEST_MEMORY,
  INGEST_THREADS,
  print,
  withRuntime,
} from '../context.ts';
import { formatSummary, rejectsPath, runIngest } from './ingest.ts';

export const DEMO_HELP = `Usage: tokenledger demo [--days N] [--seed N] [--out DIR] [--db FILE]

Generates N days (default 30, ending now) of Bedrock model-invocation logs for a made-up organisation
in the exact S3 layout under DIR (default: .tokenledger-demo next to the database), with the
tokenledger.yaml it needs (application inference profile, team rules), then ingests them through
the same code path as real logs. The organisation's bill (a CUR 2.0 export with a negotiated
discount, a credit and tax) and CloudWatch metrics are written beside them, ingested and reconciled;
demo-truth.json lists the differences planted between them (missing log hours, a Region without
logging, batch, priority).`;

export interface DemoRun {
  readonly summary: IngestSummary;
  readonly logsRoot: string;
  readonly configPath: string;
  /** The demo's bill and metrics, ingested and reconciled (every month billed). */
  readonly bill: { readonly months: readonly Reconciliation[] };
}

/** The demo's CUR export and CloudWatch metrics into the ledger, then every billed month reconciled. */
async function ingestBill(ctx: CliContext, db: string, outDir: string, configPath: string) {
  return withRuntime(
    ctx,
    { db },
    async (rt) => {
      const cur = join(outDir, 'cur');
      const metrics = join(outDir, 'cloudwatch');
      if (!existsSync(cur)) return { months: [] };
      await ingestCur(rt, [cur]);
      if (existsSync(metrics)) await ingestMetricFiles(rt, [metrics], {});
      const months: Reconciliation[] = [];
      for (const month of await rt.store.reconciler.periods())
        months.push(await runReconciliation(rt.store, month, { allocate: true }));
      return { months };
    },
    { configPath, memoryLimit: INGEST_MEMORY, threads: INGEST_THREADS },
  );
}

export async function runDemo(
  ctx: CliContext,
  db: string,
  opts: { days: number; seed: number; out?: string },
): Promise<DemoRun> {
  const outDir = resolve(opts.out ?? join(dirname(db), DEMO_DIR));
  if (existsSync(join(outDir, 'AWSLogs'))) {
    // Demo logs already exist: ingest them again (a no-op for what the ledger has) rather than add a second,
    // overlapping organisation.
    ctx.stderr.write(
      `Demo logs already in ${outDir}; ingesting them (use --out DIR for a new set).\n`,
    );
    const configPath = join(outDir, 'tokenledger.yaml');
    const logsRoot = join(outDir, 'AWSLogs');
    const summary = await withRuntime(
      ctx,
      { db },
      (rt) => runIngest(ctx, rt, [logsRoot], 'auto', rejectsPath(ctx, db)),
      { configPath, memoryLimit: INGEST_MEMORY, threads: INGEST_THREADS },
    );
    return { summary, logsRoot, configPath, bill: await ingestBill(ctx, db, outDir, configPath) };
  }
  ctx.stderr.write(
    `Generating ${opts.days} days of invocation logs for the demo organisation in ${outDir} …\n`,
  );
  const demo = await generateDemo({
    outDir,
    days: opts.days,
    seed: opts.seed,
    end: new Date(ctx.now()),
  });
  ctx.stderr.write(
    `  ${demo.records.toLocaleString('en-US')} records in ${demo.files.toLocaleString('en-US')} files (${(demo.bytes / 1e6).toFixed(1)} MB gzip). Ingesting …\n`,
  );
  const flags = { db };
  const summary = await withRuntime(
    ctx,
    flags,
    (rt) => runIngest(ctx, rt, [demo.logsRoot], 'auto', rejectsPath(ctx, db)),
    { configPath: demo.configPath, memoryLimit: INGEST_MEMORY, threads: INGEST_THREADS },
  );
  ctx.stderr.write('  Reading its bill (CUR 2.0) and CloudWatch metrics, reconciling …\n');
  return {
    summary,
    logsRoot: demo.logsRoot,
    configPath: demo.configPath,
    bill: await ingestBill(ctx, db, outDir, demo.configPath),
  };
}

/** One line per reconciled month: what the bill says and what the ledger estimated. */
export function formatBillSummary(bill: DemoRun['bill']): string {
  if (bill.months.length === 0) return '';
  const lines = bill.months.map((r) => {
    const t = r.data.totals;
    const est = r.rows.reduce((a, g) => a + g.estimated, 0n);
    return `  ${r.data.period}: billed ${formatUsdHuman(t.usage + t.discount)} net usage (discounts ${formatUsdHuman(t.discount)}, credits ${formatUsdHuman(t.credit)}, tax ${formatUsdHuman(t.tax)}); ledger estimate ${formatUsdHuman(est)}; ${r.findings.length} findings`;
  });
  return [
    'The bill, reconciled (tokenledger reconcile --month YYYY-MM for the details):',
    ...lines,
  ].join('\n');
}

export async function demoCommand(ctx: CliContext): Promise<number> {
  const { flags } = parse(ctx.argv, {
    days: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, DEMO_HELP);
    return EXIT.ok;
  }
  const out = str(flags, 'out');
  const run = await runDemo(ctx, dbPath(ctx, flags), {
    days: int(flags, 'days', 30),
    seed: int(flags, 'seed', 42),
    ...(out !== undefined ? { out } : {}),
  });
  print(ctx, formatSummary(run.summary));
  const bill = formatBillSummary(run.bill);
  if (bill) print(ctx, `\n${bill}`);
  print(
    ctx,
    `\nLogs: ${run.logsRoot}\nConfig used: ${run.configPath}\nNext: tokenledger report --by team,model --since 30d`,
  );
  return EXIT.ok;
}
