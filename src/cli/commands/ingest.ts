/** `tokenledger ingest PATH…`: invocation logs from files, directories or s3:// prefixes into the ledger. */
import { dirname, join } from 'node:path';
import { parseWindowTime } from '../../analyse/index.ts';
import { AppError } from '../../core/index.ts';
import { type IngestOptions, type IngestSummary, ingest } from '../../pipeline/index.ts';
import type { Runtime } from '../../runtime.ts';
import { LOG_FORMATS, type LogFormat } from '../../sources/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, dbPath, EXIT, INGEST, print, withRuntime } from '../context.ts';
import { createProgressBar } from '../progress.ts';

export const INGEST_HELP = `Usage: tokenledger ingest PATH… [--format auto|ndjson|cloudwatch|json] [--json] [--batch N] [--db FILE]
                         [--since 7d|DATE] [--until DATE]

PATH is a file, a directory (walked recursively) or s3://bucket/prefix, in the Bedrock S3 layout
(AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz) or any other;
or cwlogs://LOG_GROUP, the CloudWatch Logs log group Bedrock logs to (cwlogs:///aws/bedrock/x for
a name that starts with /), read with FilterLogEvents hour by hour from --since (default 7d) to
--until (default now), in AWS_REGION. --since/--until also keep only the S3-layout files of those
hours (by their YYYY/MM/DD/HH folder); other files are read whole. A relative --since is a window back
from now, from the start of its hour: 1d is the last 24 hours whenever it runs (reports count days).
Formats are detected per file: gzip or plain NDJSON records, CloudWatch Logs FilterLogEvents
responses and subscription payloads, CloudWatch Logs S3 exports, pretty-printed JSON.
Clean NDJSON files of at least --bulk-min-bytes (default 131072) are read by DuckDB itself
(fast); smaller and irregular ones are parsed row by row, with exact rejects. --row-by-row parses
everything in JS. Work commits every --batch N records (default 10000 row by row, 245760 on the
DuckDB path, which reads --group N files at a time, default 64); a killed run loses at most
one uncommitted batch.
Re-running is safe: finished files are skipped, records are deduplicated on requestId, and an
interrupted run resumes where it stopped.
Memory: DuckDB gets ${INGEST.memoryLimit} (TOKENLEDGER_DUCKDB_MEMORY=1GB gives it more). Records too wide for it
(request metadata near Bedrock's 16 × 256 characters) go again in smaller pieces, and the summary
says so; TOKENLEDGER_LOW_MEMORY=1 trades CPU for less memory.
Exit code: 0 all ingested, 3 some lines rejected (see the rejects file), 1 error, 2 usage error.`;

export async function ingestCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    format: { type: 'string' },
    json: { type: 'boolean' },
    batch: { type: 'string' },
    group: { type: 'string' },
    'bulk-min-bytes': { type: 'string' },
    'row-by-row': { type: 'boolean' },
    since: { type: 'string' },
    until: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, INGEST_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0)
    throw new AppError('cli.usage', `ingest needs at least one PATH\n\n${INGEST_HELP}`);
  const format = (str(flags, 'format') ?? 'auto') as LogFormat;
  if (!LOG_FORMATS.includes(format)) {
    throw new AppError('cli.usage', `--format must be one of ${LOG_FORMATS.join(', ')}`);
  }
  const since = time(str(flags, 'since'), ctx.now(), '--since');
  const until = time(str(flags, 'until'), ctx.now(), '--until');
  if (since !== undefined && until !== undefined && since >= until)
    throw new AppError('cli.usage', '--since must be before --until');
  const summary = await withRuntime(
    ctx,
    flags,
    (rt) =>
      runIngest(ctx, rt, positionals, format, rejectsPath(ctx, dbPath(ctx, flags)), {
        ...(flags.batch === undefined
          ? {}
          : {
              batchLines: Math.max(1, int(flags, 'batch', 0)),
              bulkCommitRows: Math.max(1, int(flags, 'batch', 0)),
            }),
        bulkGroupFiles: Math.max(1, int(flags, 'group', 64)),
        bulkMinBytes: int(flags, 'bulk-min-bytes', 128 * 1024),
        bulk: flags['row-by-row'] !== true,
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
      }),
    INGEST,
  );
  print(ctx, flags.json ? JSON.stringify(summary) : formatSummary(summary));
  return summary.rejected > 0 ? EXIT.partial : EXIT.ok;
}

const time = (text: string | undefined, now: number, flag: string) =>
  text === undefined ? undefined : parseWindowTime(text, now, flag);

export function rejectsPath(ctx: CliContext, db: string): string {
  const stamp = new Date(ctx.now()).toISOString().replace(/[:.]/g, '-');
  return join(dirname(db), 'tokenledger-rejects', `ingest-${stamp}.jsonl`);
}

export async function runIngest(
  ctx: CliContext,
  rt: Runtime,
  paths: readonly string[],
  format: LogFormat,
  rejectsFile: string,
  tuning: Pick<
    IngestOptions,
    'batchLines' | 'bulkCommitRows' | 'bulkGroupFiles' | 'bulkMinBytes' | 'bulk' | 'since' | 'until'
  > = {},
): Promise<IngestSummary> {
  const bar = createProgressBar(ctx.stderr, ctx.now);
  // Ctrl-C or a scheduler's SIGTERM stops the run through its signal, so that what it holds is cleaned up (its
  // working files in TMPDIR); what it committed stays, and the next run resumes after it. A second signal kills.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await ingest(
      {
        store: rt.store,
        objects: rt.objects,
        catalog: rt.catalog,
        normaliser: rt.normaliser,
        attributor: rt.attributor,
      },
      { paths, format, rejectsFile, ...tuning, onProgress: bar.update, signal: stop.signal },
    );
  } catch (e: unknown) {
    if (!stop.signal.aborted) throw e;
    throw new AppError(
      'cli.interrupted',
      'interrupted: what was committed stays in the ledger, and the next run resumes after it',
      { cause: e },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar.done();
  }
}

export function formatSummary(s: IngestSummary): string {
  const n = (v: number) => v.toLocaleString('en-US').padStart(12);
  const count = (v: number, one: string, many: string) =>
    `${v.toLocaleString('en-US')} ${v === 1 ? one : many}`;
  const files = s.files - s.logHours;
  const what =
    s.logHours === 0
      ? count(files, 'file', 'files')
      : files === 0
        ? count(s.logHours, 'CloudWatch Logs hour', 'CloudWatch Logs hours')
        : `${count(files, 'file', 'files')} and ${count(s.logHours, 'CloudWatch Logs hour', 'CloudWatch Logs hours')}`;
  const lines = [
    `Ingested ${what} (${s.filesSkipped.toLocaleString('en-US')} unchanged since last run, skipped), ${(s.bytes / 1e6).toFixed(1)} MB`,
    `  read       ${n(s.read)} records`,
    `  inserted   ${n(s.inserted)}`,
    `  duplicates ${n(s.duplicates)}  (already in the ledger: same requestId)`,
    `  rejected   ${n(s.rejected)}${s.rejectsFile ? `  → ${s.rejectsFile}` : ''}`,
  ];
  if (s.unpriced > 0) {
    lines.push(
      `  unpriced   ${n(s.unpriced)}  read with no catalog price: tokens kept, cost not in totals (\`report\`)`,
    );
  }
  if (s.otherInputs.length > 0) {
    lines.push(`  not logs   ${n(s.otherInputs.length)}  files of other inputs, skipped whole:`);
    const byKind = new Map<
      string,
      { first: IngestSummary['otherInputs'][number]; files: number }
    >();
    for (const o of s.otherInputs) {
      const k = byKind.get(o.kind);
      if (k === undefined) byKind.set(o.kind, { first: o, files: 1 });
      else k.files++;
    }
    for (const { first, files } of byKind.values()) {
      const example = files === 1 ? first.uri : `e.g. ${first.uri}`;
      lines.push(`${' '.repeat(13)}${n(files)}  ${first.what} → ${first.use}  (${example})`);
    }
  }
  for (const w of s.warnings) lines.push(`  note: ${w}`);
  return lines.join('\n');
}
