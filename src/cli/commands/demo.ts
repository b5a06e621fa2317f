/** `tokenledger demo`: a realistic organisation's invocation logs, written as real files and ingested like real data. */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Reconciliation, runReconciliation } from '../../analyse/index.ts';
import { AppError, formatUsdHuman } from '../../core/index.ts';
import { generateDemo, OTLP_DIR } from '../../demo/index.ts';
import { type IngestSummary, ingestCur, ingestMetricFiles } from '../../pipeline/index.ts';
import type { Runtime } from '../../runtime.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, DEMO_DIR, dbPath, EXIT, INGEST, print, withRuntime } from '../context.ts';
import { startCollector } from './collect.ts';
import { formatSummary, rejectsPath, runIngest } from './ingest.ts';

export const DEMO_HELP = `Usage: tokenledger demo [--days N] [--seed N] [--out DIR] [--db FILE]

Generates N days (default 30, ending now) of Bedrock model-invocation logs for a made-up organisation
in the exact S3 layout under DIR (default: .tokenledger-demo next to the database), with the
tokenledger.yaml it needs (application inference profile, team rules), then ingests them through
the same code path as real logs. The organisation's bill (a CUR 2.0 export with a negotiated
discount, a credit and tax) and CloudWatch metrics are written beside them, ingested and reconciled;
demo-truth.json lists the differences planted between them (missing log hours, a Region without
logging, batch, priority). The pilot teams' Claude Code OTLP telemetry (DIR/otlp, the last 7 days)
is sent to the OTLP receiver, as \`tokenledger collect\` would receive it: \`tokenledger sessions\`.`;

export interface DemoRun {
  readonly summary: IngestSummary;
  readonly logsRoot: string;
  readonly configPath: string;
  /** The demo's bill and metrics, ingested and reconciled (every month billed). */
  readonly bill: { readonly months: readonly Reconciliation[] };
  /** The Claude Code telemetry sent to the receiver, or null when the demo has none. */
  readonly telemetry: TelemetrySent | null;
}

export interface TelemetrySent {
  /** OTLP/JSON export files POSTed (`-logs.json` to /v1/logs, `-metrics.json` to /v1/metrics). */
  readonly files: number;
  readonly bytes: number;
  /** Log records and data points the receiver answered as rejected (partial success). */
  readonly rejected: number;
}

const OTLP_FILE = /^\d+-(logs|metrics)\.json$/;

/**
 * Sends OTLP/JSON export files (`<root>/<yyyy-mm-dd>/<nnnn>-logs.json`, `-metrics.json`, in name order) to the OTLP
 * receiver `tokenledger collect` serves, started on 127.0.0.1 over `rt` for the duration: the telemetry takes the
 * path real Claude Code exports take (HTTP, decode, price, store, join to the ledger's records by request id).
 * Idempotent: a second run stores nothing new. Null when `root` does not exist.
 */
export async function sendDemoTelemetry(
  rt: Runtime,
  root: string,
  now: () => number,
): Promise<TelemetrySent | null> {
  if (!existsSync(root)) return null;
  const files: { path: string; signal: string }[] = [];
  for (const day of (await readdir(root)).sort()) {
    for (const name of (await readdir(join(root, day))).sort()) {
      const m = OTLP_FILE.exec(name);
      if (m?.[1] !== undefined) files.push({ path: join(root, day, name), signal: m[1] });
    }
  }
  const collector = await startCollector(rt, { port: 0, host: '127.0.0.1', now });
  const sent = { files: 0, bytes: 0, rejected: 0 };
  const post = async (file: { path: string; signal: string }) => {
    const body = await readFile(file.path);
    const res = await fetch(`${collector.url}/v1/${file.signal}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.json().catch(() => ({}))) as {
      message?: string;
      partialSuccess?: Record<string, unknown>;
    };
    if (!res.ok) {
      throw new AppError(
        'demo.telemetry_failed',
        `the OTLP receiver answered ${res.status} to ${file.path}: ${answer.message ?? res.statusText}`,
      );
    }
    const partial = answer.partialSuccess ?? {};
    sent.rejected += Number(partial.rejectedLogRecords ?? partial.rejectedDataPoints ?? 0);
    sent.files++;
    sent.bytes += body.byteLength;
  };
  try {
    // Two requests in flight, as two exporters would send: one is decoded while the other's batch is stored.
    let next = 0;
    const lane = async () => {
      try {
        for (let file = files[next++]; file !== undefined; file = files[next++]) await post(file);
      } catch (e: unknown) {
        next = files.length;
        throw e;
      }
    };
    await Promise.all([lane(), lane()]);
  } finally {
    await collector.close();
  }
  return sent;
}

/** Logs, then the telemetry of the same calls (which joins the logs' records), on one runtime. */
async function ingestLogsAndTelemetry(
  ctx: CliContext,
  db: string,
  paths: { logsRoot: string; otlpRoot: string; configPath: string },
): Promise<{ summary: IngestSummary; telemetry: TelemetrySent | null }> {
  return withRuntime(
    ctx,
    { db },
    async (rt) => {
      const summary = await runIngest(ctx, rt, [paths.logsRoot], 'auto', rejectsPath(ctx, db));
      return { summary, telemetry: await sendDemoTelemetry(rt, paths.otlpRoot, ctx.now) };
    },
    { configPath: paths.configPath, ...INGEST },
  );
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
    { configPath, ...INGEST },
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
    const otlpRoot = join(outDir, OTLP_DIR);
    const { summary, telemetry } = await ingestLogsAndTelemetry(ctx, db, {
      logsRoot,
      otlpRoot,
      configPath,
    });
    return {
      summary,
      logsRoot,
      configPath,
      bill: await ingestBill(ctx, db, outDir, configPath),
      telemetry,
    };
  }
  ctx.stderr.write(
    `Generating ${opts.days} days of invocation logs for the demo organisation in ${outDir} …\n`,
  );
  const demo = await generateDemo({
    outDir,
    days: opts.days,
    seed: opts.seed,
    end: new Date(ctx.now()),
    telemetry: true,
  });
  ctx.stderr.write(
    `  ${demo.records.toLocaleString('en-US')} records in ${demo.files.toLocaleString('en-US')} files (${(demo.bytes / 1e6).toFixed(1)} MB gzip). Ingesting …\n`,
  );
  const t = demo.telemetry;
  if (t !== null) {
    ctx.stderr.write(
      `  Then the pilot teams' Claude Code telemetry: ${t.sessions.toLocaleString('en-US')} sessions, ${t.logRecords.toLocaleString('en-US')} events and ${t.points.toLocaleString('en-US')} metric points in ${t.files} OTLP/JSON files, sent to the OTLP receiver …\n`,
    );
  }
  const { summary, telemetry } = await ingestLogsAndTelemetry(ctx, db, {
    logsRoot: demo.logsRoot,
    otlpRoot: t?.root ?? join(outDir, OTLP_DIR),
    configPath: demo.configPath,
  });
  ctx.stderr.write('  Reading its bill (CUR 2.0) and CloudWatch metrics, reconciling …\n');
  return {
    summary,
    logsRoot: demo.logsRoot,
    configPath: demo.configPath,
    bill: await ingestBill(ctx, db, outDir, demo.configPath),
    telemetry,
  };
}

/** What the OTLP receiver took of the demo's Claude Code telemetry; '' when there was none. */
export function formatTelemetrySummary(t: TelemetrySent | null): string {
  if (t === null || t.files === 0) return '';
  const rejected = t.rejected > 0 ? `, ${t.rejected} items rejected` : '';
  return `Claude Code telemetry: ${t.files} OTLP/JSON files (${(t.bytes / 1e6).toFixed(1)} MB) taken by the OTLP receiver${rejected}; see tokenledger sessions`;
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
  const telemetry = formatTelemetrySummary(run.telemetry);
  if (telemetry) print(ctx, telemetry);
  const bill = formatBillSummary(run.bill);
  if (bill) print(ctx, `\n${bill}`);
  print(
    ctx,
    `\nLogs: ${run.logsRoot}\nConfig used: ${run.configPath}\nNext: tokenledger report --by team,model --since 30d\n      tokenledger sessions   (Claude Code sessions from the telemetry)`,
  );
  return EXIT.ok;
}
