/**
 * The bulk half of the ingest: groups of whole files staged by the store (DuckDB reads them), their distinct keys
 * resolved here with the same normalise/price/attribute code as the row-by-row path, inserted with their
 * checkpoints in the run's transactions. One group stages while the previous one inserts.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError, limiter, makeTempDir, OUT_OF_MEMORY } from '../core/index.ts';
import { isLocalUri, localFileOf, type ObjectInfo } from '../sources/index.ts';
import {
  type BulkLogLoader,
  BulkOutOfMemory,
  priceKeyId,
  type StagedBatch,
} from '../store/index.ts';
import { createBulkResolver } from './bulk-maps.ts';
import { CHECKPOINT_PREFIX } from './checkpoint.ts';
import type { IngestDeps, IngestSummary } from './ingest.ts';

/** Files per bulk statement are bounded by their compressed size (DuckDB holds a group's rows until commit). */
export const BULK_GROUP_BYTES = 4 * 1024 * 1024;
export const BULK_GROUP_FILES = 64;
export const BULK_MIN_BYTES = 128 * 1024;
/**
 * Groups staged ahead of the one inserting (their rows wait in DuckDB, spilled to disk if need be). Remote objects
 * (S3) are copied to a local file first, while earlier groups stage, and the copy is deleted once staged.
 */
export const STAGE_AHEAD = 3;
/**
 * How the files a run had not committed go again when DuckDB ran out of its memory limit (rows much wider than
 * usual: request metadata near Bedrock's 16 × 256 characters): no group staged ahead, one row group per transaction.
 * Measured on 300k records with ~3.5 KB of metadata each under a 200 MB limit: the usual sizes failed, these
 * took 24–27 s and peaked at 430–940 MB of RSS (a 1 GB limit: 14 s, 1.7 GB).
 */
export const LEAN_SIZES = { stageAhead: 0, commitRows: 122_880 } as const;

/**
 * Pauses before a group whose objects the store could not serve for now is read again (the AWS SDK has already
 * retried each request with its own backoff); after the last, the run stops.
 */
const SOURCE_RETRY_MS: readonly number[] = [250, 1000];
/** Remote objects copied at once (S3 GETs in flight). */
export const COPIES_AT_ONCE = 8;
/** Errors of the local file system (not of the object store) when copying. */
const LOCAL_FS_ERRORS = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EACCES',
  'EPERM',
  'EMFILE',
  'ENFILE',
]);

/**
 * The bulk path: groups of files staged by the store, their distinct keys resolved here, inserted with their
 * checkpoints. Returns the files that must go row by row (unreadable or irregular).
 */
export async function ingestBulk(
  bulk: BulkLogLoader,
  deps: IngestDeps,
  eligible: readonly { info: ObjectInfo }[],
  sizes: { readonly groupFiles: number; readonly commitRows?: number | undefined },
  summary: IngestSummary,
  fileDone: () => void,
  signal?: AbortSignal,
): Promise<string[]> {
  const fallback = new Set<string>();
  // Files whose rows (or whose going row by row) are committed, and counted in the summary.
  const durable = new Set<string>();
  const progressed = new Set<string>();
  const carried = { rows: 0 };
  const files = eligible.map((e) => e.info);
  const run = (todo: readonly ObjectInfo[], stageAhead: number, commitRows: number | undefined) =>
    runGroups(
      bulk,
      deps,
      groupsOf(todo, sizes.groupFiles),
      { stageAhead, commitRows },
      { summary, fileDone, fallback, durable, progressed, carried, signal },
    );
  try {
    await run(files, STAGE_AHEAD, sizes.commitRows);
  } catch (e: unknown) {
    if (!isAppError(e) || e.code !== OUT_OF_MEMORY || signal?.aborted) throw e;
    // What the run had not committed was rolled back: those files go again, in smaller pieces.
    const rest = files.filter((f) => !durable.has(f.uri));
    summary.warnings.push(
      `DuckDB ran out of its memory limit on these records (${e.message.replace(/^.*? ran out of memory: /, '')}); ${rest.length} of ${files.length} files went in again with less held in memory (slower). TOKENLEDGER_DUCKDB_MEMORY=512MB (or more) avoids this.`,
    );
    try {
      await run(
        rest,
        LEAN_SIZES.stageAhead,
        Math.min(sizes.commitRows ?? Infinity, LEAN_SIZES.commitRows),
      );
      // The failed run inserted those rows (the second one read them as repeats): counted as a clean run counts them.
      summary.inserted += carried.rows;
      summary.duplicates -= carried.rows;
    } catch (again: unknown) {
      if (!isAppError(again) || again.code !== OUT_OF_MEMORY) throw again;
      // The CLI adds which setting raises the limit, as for any out-of-memory error.
      throw new AppError(
        OUT_OF_MEMORY,
        `${again.message}, even one row group at a time; what was committed is kept`,
        { cause: again },
      );
    }
  }
  return [...fallback];
}

/** Files in groups of at most `groupFiles` and BULK_GROUP_BYTES (one file alone may be larger). */
function groupsOf(files: readonly ObjectInfo[], groupFiles: number): ObjectInfo[][] {
  const groups: ObjectInfo[][] = [];
  let group: ObjectInfo[] = [];
  let bytes = 0;
  for (const info of files) {
    if (group.length > 0 && (bytes + info.size > BULK_GROUP_BYTES || group.length >= groupFiles)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(info);
    bytes += info.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

interface RunState {
  readonly summary: IngestSummary;
  readonly fileDone: () => void;
  /** Files that go row by row (unreadable or irregular). */
  readonly fallback: Set<string>;
  readonly durable: Set<string>;
  /** Files the progress has counted. */
  readonly progressed: Set<string>;
  /** Rows a failed run committed without counting them (see `runGroups`). */
  readonly carried: { rows: number };
  readonly signal: AbortSignal | undefined;
}

/**
 * One bulk run over `groups`. What a group adds to the summary is counted once the run has committed it: a run that
 * fails rolls back its uncommitted groups, which then count nowhere.
 */
async function runGroups(
  bulk: BulkLogLoader,
  deps: IngestDeps,
  groups: readonly ObjectInfo[][],
  sizes: { readonly stageAhead: number; readonly commitRows: number | undefined },
  state: RunState,
): Promise<void> {
  const { summary, fileDone, fallback, durable, progressed, signal } = state;
  const resolveMaps = createBulkResolver(deps);
  // Which price keys were unpriced, to count their rows in later groups too.
  const unpriced = new Set<string>();
  // The summary's share of the groups inserted since the run's last commit, and how many of their rows a commit
  // made durable all the same (a group can span a commit).
  let uncommitted: (() => void)[] = [];
  let durableRows = 0;
  const commit = () => {
    for (const count of uncommitted) count();
    uncommitted = [];
    durableRows = 0;
  };
  const insertStaged = async (batch: StagedBatch, files: readonly ObjectInfo[]): Promise<void> => {
    const invalid = new Set(batch.invalidFiles);
    const lines = new Map(batch.files.map((f) => [f.file, f.lines]));
    const checkpoints = files
      .filter((f) => !invalid.has(f.uri))
      .map((f) => ({
        key: `${CHECKPOINT_PREFIX}${f.uri}`,
        value: JSON.stringify({ version: f.version, line: lines.get(f.uri) ?? 0, done: true }),
      }));
    const maps = resolveMaps(batch);
    const result = await batch.insert(maps, checkpoints);
    for (const p of maps.prices)
      if (p.unpriced)
        unpriced.add(
          priceKeyId({
            modelId: p.model_id,
            region: p.region,
            tier: p.tier,
            account: p.account,
            day: p.day,
          }),
        );
    let unpricedRows = 0;
    for (const [key, rows] of batch.priceKeyRows) if (unpriced.has(key)) unpricedRows += rows;
    // Progress moves as groups insert (once per file, should the file go again after a rollback).
    for (const f of files)
      if (!invalid.has(f.uri) && !progressed.has(f.uri)) {
        progressed.add(f.uri);
        fileDone();
      }
    // A commit while this group inserted made the groups before it durable.
    if (result.committedEarlier) commit();
    uncommitted.push(() => {
      summary.read += result.read;
      summary.inserted += result.inserted;
      summary.duplicates += result.duplicates;
      summary.unpriced += unpricedRows;
      for (const f of files) {
        durable.add(f.uri);
        if (invalid.has(f.uri)) {
          fallback.add(f.uri);
          continue;
        }
        summary.bytes += f.size;
        summary.bulkFiles++;
      }
    });
    if (result.committed) commit();
    else durableRows += result.committedRows;
  };

  // Local copies of remote objects (S3), made while earlier groups stage, at most COPIES_AT_ONCE at a time; a group's
  // copies are deleted once it is staged, or as soon as one of them fails. The directory is made up front, so a
  // TMPDIR that cannot be written stops the run with its error instead of sending everything row by row.
  const copies = groups.some((g) => g.some((f) => !isLocalUri(f.uri)))
    ? makeTempDir('tokenledger-ingest-')
    : null;
  const run = await bulk
    .start(
      [...deps.attributor.metadataKeys],
      sizes.commitRows === undefined ? {} : { commitRows: sizes.commitRows },
    )
    .catch((e: unknown) => {
      if (copies !== null) rmSync(copies, { recursive: true, force: true });
      throw e;
    });
  let copied = 0;
  const slots = limiter(COPIES_AT_ONCE);
  const localFiles = async (files: readonly ObjectInfo[]): Promise<string[]> => {
    const made = await Promise.allSettled(
      files.map((f) =>
        isLocalUri(f.uri) || copies === null
          ? Promise.resolve(f.uri)
          : slots(() => localFileOf(deps.objects, f.uri, copies, copied++, signal)),
      ),
    );
    const failed = made.find((r) => r.status === 'rejected');
    if (failed === undefined) return made.map((r) => (r as PromiseFulfilledResult<string>).value);
    // A local cause (a full or read-only TMPDIR) is worth saying: the files still go in, row by row, ~3× slower.
    const code = (failed.reason as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined && LOCAL_FS_ERRORS.has(code)) {
      const warning = `copying S3 objects to ${copies} failed (${code}): those files were copied again or read row by row (slower)`;
      if (!summary.warnings.includes(warning)) summary.warnings.push(warning);
    }
    for (const [i, r] of made.entries())
      if (r.status === 'fulfilled' && r.value !== files[i]?.uri) rmSync(r.value, { force: true });
    throw failed.reason;
  };
  // Groups stage in the order asked (a group's keys are those no earlier group was given), whenever their copies are
  // done. A group that cannot be copied or read stages as null (it is split, its culprit goes row by row); an
  // aborted run rejects.
  const inOrder = limiter(1);
  const tryStage = (files: readonly ObjectInfo[], attempt = 0): Promise<StagedBatch | null> => {
    const paths = localFiles(files);
    paths.catch(() => undefined); // awaited below, in turn
    return inOrder(async () => {
      signal?.throwIfAborted();
      const local = await paths;
      try {
        return await run.stage(files.map((f, i) => ({ path: local[i] as string, source: f.uri })));
      } finally {
        // The copies (a local file is staged where it is).
        for (const [i, f] of files.entries())
          if (local[i] !== f.uri) rmSync(local[i] as string, { force: true });
      }
    }).catch(async (e: unknown) => {
      if (signal?.aborted) throw e;
      // An object listed, then gone before it was read: the group is split until it is alone, then it goes row by
      // row, which skips it with a warning.
      if (isAppError(e) && e.code === 'sources.gone') return null;
      // The object store failed, not a file: splitting would only fetch every object again, more often, before the
      // same error. Refused for good (access denied, no such object, no credentials): the run stops. Unavailable
      // (throttled, a connection cut): the group is read again after a pause, and a store still unavailable stops
      // the run, which resumes where it was.
      if (isAppError(e) && e.code.startsWith('sources.')) {
        const pause = SOURCE_RETRY_MS[attempt];
        if (!e.retryable || pause === undefined) throw e;
        await sleep(pause, undefined, signal === undefined ? {} : { signal });
        return tryStage(files, attempt + 1);
      }
      return null;
    });
  };
  // DuckDB could not read a group (malformed JSON, a truncated gzip, memory…): halve it until the culprit file is
  // alone; that file goes row by row.
  const split = async (files: readonly ObjectInfo[]): Promise<void> => {
    if (files.length === 1) {
      fallback.add((files[0] as ObjectInfo).uri);
      durable.add((files[0] as ObjectInfo).uri);
      return;
    }
    const half = Math.ceil(files.length / 2);
    for (const part of [files.slice(0, half), files.slice(half)]) {
      const batch = await tryStage(part);
      if (batch) await insertStaged(batch, part);
      else await split(part);
    }
  };

  try {
    // Groups stage up to STAGE_AHEAD ahead of the insert, so that the staging connection keeps busy while an insert
    // writes a row group; inserts stay in order.
    const staged = new Map<number, Promise<StagedBatch | null>>();
    try {
      for (let i = 0; i < groups.length; i++) {
        for (let k = i; k <= i + sizes.stageAhead && k < groups.length; k++)
          if (!staged.has(k)) staged.set(k, tryStage(groups[k] as ObjectInfo[]));
        const files = groups[i] as ObjectInfo[];
        const batch = await staged.get(i);
        staged.delete(i);
        if (batch) {
          await insertStaged(batch, files);
          continue;
        }
        // The groups staged ahead were handed keys this group needs too, and would insert after it: take them back
        // (they are staged again after the split), latest first.
        for (const k of [...staged.keys()].reverse()) {
          await (await staged.get(k))?.discard();
          staged.delete(k);
        }
        await split(files);
      }
    } catch (e: unknown) {
      // Every group staged ahead is settled (an abort rejects them all: none may be left unhandled), and those
      // staged are discarded.
      for (const r of await Promise.allSettled(staged.values()))
        if (r.status === 'fulfilled') await r.value?.discard();
      throw e;
    }
    // The run's last transaction: what the summary counts is durable from here.
    await run.finish();
    commit();
  } catch (e: unknown) {
    await run.abort();
    // A commit between two parts of the failed group made the groups before it durable, and some of its rows.
    if (e instanceof BulkOutOfMemory && e.committed.committedEarlier) commit();
    // Rows of the rolled-back groups that a commit had made durable: the next run finds them as repeats.
    state.carried.rows +=
      durableRows + (e instanceof BulkOutOfMemory ? e.committed.committedRows : 0);
    throw e;
  } finally {
    if (copies !== null) rmSync(copies, { recursive: true, force: true });
  }
}
