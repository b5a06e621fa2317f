/**
 * The main job: objects → records → normalise → price → attribute → store, in batches, resumable per object.
 * A checkpoint per object (its version and the last committed line) is written in the same transaction as the
 * batch, so a killed run resumes exactly; a finished object is skipped unless its content changed; request-id
 * dedupe in the store makes any overlap harmless. The next batch is parsed while the store writes the last one.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Attributor } from '../attribute/index.ts';
import { isAppError, makeTempDir, type Reject } from '../core/index.ts';
import type { Normaliser } from '../normalise/index.ts';
import type { Catalog } from '../price/index.ts';
import {
  CWLOGS_SCHEME,
  isLocalUri,
  type LogBody,
  type LogFormat,
  layoutHour,
  listLogObjects,
  type ObjectInfo,
  type ObjectStore,
  type OtherInput,
  openLogObject,
  readLogObject,
} from '../sources/index.ts';
import { type Store, UsageEncoder, type WriteResult } from '../store/index.ts';
import {
  CHECKPOINT_PREFIX,
  type Checkpoint,
  checkpointFormat,
  parseCheckpoint,
  sameFormat,
} from './checkpoint.ts';
import { BULK_GROUP_FILES, BULK_MIN_BYTES, ingestBulk } from './ingest-bulk.ts';
import { createRowEncoder } from './row-encoder.ts';

const HOUR_MS = 3_600_000;

export interface IngestDeps {
  readonly store: Store;
  readonly objects: ObjectStore;
  readonly catalog: Catalog;
  readonly normaliser: Normaliser;
  readonly attributor: Attributor;
}

export interface IngestProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly records: number;
  readonly filesDone: number;
  readonly filesTotal: number;
}

export interface IngestOptions {
  readonly paths: readonly string[];
  readonly format: LogFormat;
  /** Where rejected lines are appended as NDJSON (created only if something is rejected). */
  readonly rejectsFile: string;
  readonly batchLines?: number;
  readonly onProgress?: (p: IngestProgress) => void;
  /** Let the store read whole local NDJSON files natively when it can (default true); false forces row by row. */
  readonly bulk?: boolean;
  /** Files the bulk path reads at a time (default 64, and at most 4 MB of them). */
  readonly bulkGroupFiles?: number;
  /** Records per commit on the bulk path (default: the store's, about two row groups). */
  readonly bulkCommitRows?: number;
  /**
   * Smallest object the bulk path takes (default 128 KiB). DuckDB spends ~5 ms per file however small, so many
   * tiny files are faster row by row; large ones are several times faster in DuckDB.
   */
  readonly bulkMinBytes?: number;
  /**
   * Only these hours (epoch ms, [since, until)): a `cwlogs://` log group's hours, and the objects of Bedrock's S3
   * layout by their `YYYY/MM/DD/HH` folder; objects outside that layout are read whole.
   */
  readonly since?: number;
  readonly until?: number;
  readonly signal?: AbortSignal;
}

export interface IngestSummary {
  /** Objects read or skipped: files, S3 objects and CloudWatch Logs hours (`logHours` of them). */
  files: number;
  /** Of `files`, the hours of `cwlogs://` log groups (each listed and read as one object). */
  logHours: number;
  filesSkipped: number;
  read: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  unpriced: number;
  bytes: number;
  rejectsFile: string | null;
  /** Files DuckDB read natively (the bulk path); the others were parsed row by row. */
  bulkFiles: number;
  /** What slowed the run without losing anything (e.g. copies that TMPDIR could not take), once each. */
  warnings: string[];
  /** Files that are another input tokenledger reads (CUR, CloudWatch metrics, OTLP): skipped whole, not rejected. */
  otherInputs: (OtherInput & { readonly uri: string })[];
}

/** The summary of a run over these objects, before any is read. */
export function startSummary(objects: readonly { readonly uri: string }[]): IngestSummary {
  return {
    files: objects.length,
    logHours: objects.filter((o) => o.uri.startsWith(CWLOGS_SCHEME)).length,
    filesSkipped: 0,
    read: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    unpriced: 0,
    bytes: 0,
    rejectsFile: null,
    bulkFiles: 0,
    warnings: [],
    otherInputs: [],
  };
}

/** A `cwlogs://` path with the window as its query (the log group lists those hours); other paths as given. */
function withWindow(path: string, since?: number, until?: number): string {
  if (!path.startsWith(CWLOGS_SCHEME) || (since === undefined && until === undefined)) return path;
  const window = new URLSearchParams();
  if (since !== undefined) window.set('since', new Date(since).toISOString());
  if (until !== undefined) window.set('until', new Date(until).toISOString());
  return `${path.split('?')[0]}?${window}`;
}

export async function ingest(deps: IngestDeps, opts: IngestOptions): Promise<IngestSummary> {
  // The row-by-row path's batches wait for the store in files of this folder (made when first needed).
  let dir: string | undefined;
  let n = 0;
  const batchFile = () => {
    dir ??= makeTempDir('tokenledger-ingest-');
    return join(dir, `batch-${n++}.ndjson`);
  };
  try {
    return await ingestObjects(deps, opts, batchFile);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

async function ingestObjects(
  deps: IngestDeps,
  opts: IngestOptions,
  batchFile: () => string,
): Promise<IngestSummary> {
  const objects: ObjectInfo[] = [];
  const inWindow = (uri: string) => {
    const hour = layoutHour(uri);
    return (
      hour === null ||
      ((opts.since === undefined || hour + HOUR_MS > opts.since) &&
        (opts.until === undefined || hour < opts.until))
    );
  };
  /** Paths given that hold no log object (in the window): a typo in a scheduled job must not stay green unseen. */
  const empty: string[] = [];
  for (const [i, path] of opts.paths.map((p) => withWindow(p, opts.since, opts.until)).entries()) {
    const before = objects.length;
    for await (const info of listLogObjects(deps.objects, path, opts.signal))
      if (inWindow(info.uri)) objects.push(info);
    if (objects.length === before) empty.push(opts.paths[i] as string);
  }
  const bytesTotal = objects.reduce((n, o) => n + o.size, 0);
  const summary = startSummary(objects);
  for (const path of empty)
    summary.warnings.push(
      `${path} holds no invocation-log files${opts.since !== undefined || opts.until !== undefined ? ' in the --since/--until window' : ''}: check the path (S3 prefixes are case-sensitive)`,
    );
  let filesDone = 0;
  const progress = () =>
    opts.onProgress?.({
      bytesDone: summary.bytes,
      bytesTotal,
      records: summary.read,
      filesDone,
      filesTotal: objects.length,
    });

  // Records of many small files share one store write; each file's checkpoint rides with the write that holds its
  // last record, so a commit never claims lines it does not contain. Each record is encoded as its ledger row as it
  // is read (`createRowEncoder`: what its caller, model and day share is worked out once), so a batch waiting for
  // the store is rows of text, not records.
  const batchLines = opts.batchLines ?? 10_000;
  const rowEncoder = createRowEncoder(deps);
  const newPending = (): Pending => ({ rows: new UsageEncoder(), rejects: [], checkpoints: [] });
  let pending = newPending();
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    const batch = pending;
    pending = newPending();
    await inFlight; // one write at a time, in order
    const encoded = batch.rows.finish(batchFile());
    inFlight = deps.store
      .writeEncodedUsage({ ...encoded, rejects: batch.rejects, checkpoints: batch.checkpoints })
      .then((r: WriteResult) => {
        summary.inserted += r.inserted;
        summary.duplicates += r.duplicates;
      });
    // A failed write is thrown where it is awaited (the next flush, or the end). Until then it must not count as an
    // unhandled rejection, which ended the process with a stack trace instead of the CLI's error.
    inFlight.catch(() => undefined);
    if (batch.rejects.length > 0) writeRejects(opts.rejectsFile, batch.rejects, summary);
  };
  /** A forced format is remembered with each checkpoint (`sameFormat`). */
  const forced = checkpointFormat(opts.format);
  const checkpoint = (key: string, cp: Checkpoint) =>
    pending.checkpoints.push({ key, value: JSON.stringify(cp) });

  const saved = await deps.store.checkpoints(CHECKPOINT_PREFIX);
  let todo: { info: ObjectInfo; afterLine: number }[] = [];
  for (const info of objects) {
    const cp = parseCheckpoint(saved.get(`${CHECKPOINT_PREFIX}${info.uri}`));
    const same = cp !== null && cp.version === info.version && sameFormat(cp, opts.format);
    if (cp?.done && same) {
      summary.filesSkipped++;
      summary.bytes += info.size;
      filesDone++;
    } else {
      todo.push({
        info,
        afterLine: cp && same && info.resumable !== false ? cp.line : 0,
      });
    }
  }
  progress();

  const bulk = deps.store.bulkLogs;
  if (bulk && opts.bulk !== false && (opts.format === 'auto' || opts.format === 'ndjson')) {
    // Whole files the store can read natively (S3 objects through a local copy); the rest, and any file it finds
    // irregular, go row by row.
    const minBytes = opts.bulkMinBytes ?? BULK_MIN_BYTES;
    const eligible = todo.filter(
      (t) => t.afterLine === 0 && t.info.size >= minBytes && !globLike(t.info.uri),
    );
    const groupFiles = Math.max(1, opts.bulkGroupFiles ?? BULK_GROUP_FILES);
    const fallback = await ingestBulk(
      bulk,
      deps,
      eligible,
      { groupFiles, commitRows: opts.bulkCommitRows },
      summary,
      () => {
        filesDone++;
        progress();
      },
      opts.signal,
    );
    const rowByRow = new Set([
      ...fallback,
      ...todo.filter((t) => !eligible.includes(t)).map((t) => t.info.uri),
    ]);
    todo = todo.filter((t) => rowByRow.has(t.info.uri));
  }

  const onBytes = (n: number) => {
    summary.bytes += n;
  };
  // Objects are opened PREFETCH ahead: with many small objects (the S3 layout), latency overlaps parsing.
  const bodies: Promise<LogBody>[] = [];
  const open = (i: number) => {
    const next = todo[i];
    if (next === undefined || bodies[i] !== undefined) return;
    const body = openLogObject(deps.objects, next.info, onBytes, opts.signal);
    body.catch(() => undefined); // awaited (and reported) by readLogObject
    bodies[i] = body;
  };
  for (let i = 0; i < todo.length; i++) {
    // Up to PREFETCH objects ahead, and no more than PREFETCH_BYTES of them: memory stays flat on big objects.
    let ahead = 0;
    for (let j = i + 1; j < todo.length && j <= i + PREFETCH && ahead <= PREFETCH_BYTES; j++) {
      ahead += (todo[j] as (typeof todo)[number]).info.size;
      if (ahead <= PREFETCH_BYTES || j === i + 1) open(j);
    }
    open(i);
    const { info, afterLine } = todo[i] as (typeof todo)[number];
    const body = bodies[i] as Promise<LogBody>;
    delete bodies[i];
    const key = `${CHECKPOINT_PREFIX}${info.uri}`;
    const batches = readLogObject(deps.objects, info, {
      body,
      format: opts.format,
      afterLine,
      batchLines,
      onBytes,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let lastLine = afterLine;
    let otherInput: OtherInput | undefined;
    try {
      for await (const batch of batches) {
        if (batch.otherInput !== undefined) {
          otherInput = batch.otherInput;
          break;
        }
        for (const item of batch.items) {
          if ('reject' in item) {
            pending.rejects.push(item.reject);
            summary.rejected++;
            continue;
          }
          const { row, picos } = rowEncoder.encode(item.usage);
          if (picos === null) summary.unpriced++;
          pending.rows.addRow(item.usage, row);
          summary.read++;
        }
        lastLine = batch.lastLine;
        checkpoint(key, { version: info.version, line: lastLine, done: false, ...forced });
        if (pending.rows.records + pending.rejects.length >= batchLines) await flush();
        progress();
      }
    } catch (e: unknown) {
      // Listed, then gone before it was read (a lifecycle rule expired it, a rotation removed it): nothing to read,
      // said in the summary, and not marked done (should it come back, a later run reads it).
      if (!isAppError(e) || e.code !== 'sources.gone') throw e;
      summary.warnings.push(`${e.message}: skipped`);
      filesDone++;
      progress();
      continue;
    }
    // Another input's file is named in the summary on every run, not marked done.
    if (otherInput === undefined)
      checkpoint(key, { version: info.version, line: lastLine, done: true, ...forced });
    else summary.otherInputs.push({ uri: info.uri, ...otherInput });
    filesDone++;
    progress();
  }
  await flush();
  await inFlight;
  // Calls whose Claude Code api_request events arrived first take their session and user now.
  await deps.store.telemetry.enrich();
  return summary;
}

const PREFETCH = 8;
const PREFETCH_BYTES = 4 * 1024 * 1024;

interface Pending {
  rows: UsageEncoder;
  rejects: Reject[];
  checkpoints: { key: string; value: string }[];
}

function writeRejects(file: string, rejects: readonly Reject[], summary: IngestSummary): void {
  summary.rejectsFile = file;
  appendRejects(file, rejects);
}

/** Appends rejects to an NDJSON file (created with its folder on first use): file, line, reason, excerpt. */
export function appendRejects(file: string, rejects: readonly Reject[]): void {
  if (rejects.length === 0) return;
  mkdirSync(dirname(file), { recursive: true });
  const lines = rejects.map((r) =>
    JSON.stringify({
      file: r.source.uri,
      line: r.source.line,
      reason: r.reason,
      excerpt: r.excerpt,
    }),
  );
  appendFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * A local path DuckDB would read as a glob pattern (`[ab]`, `*`, `?`, `{a,b}`): it could name another file, whose
 * records would be stored under this one's name. Such a file is read row by row. (S3 objects are read through a
 * copy under a plain name.)
 */
function globLike(uri: string): boolean {
  return isLocalUri(uri) && /[*?[\]{}]/.test(uri);
}
