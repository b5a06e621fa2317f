/**
 * The bill: CUR 2.0 (Data Exports) and legacy CUR files from folders or S3 → Bedrock bill lines. A billing period is
 * replaced as a whole by each ingest that contains it (AWS re-delivers a month until it is final), so re-ingesting
 * is a no-op and a newer delivery wins. Of several deliveries of one period under one path, only the current one is
 * read: the one its manifest names, else the last version folder.
 */
import { rmSync } from 'node:fs';
import { AppError, makeTempDir, type Reject } from '../core/index.ts';
import { localFileOf, type ObjectInfo, type ObjectStore } from '../sources/index.ts';
import type { BillFile, Store } from '../store/index.ts';
import { classifyBillKey } from './bill-classes.ts';

export interface CurIngestSummary {
  readonly files: number;
  readonly rows: number;
  readonly otherRows: number;
  readonly inserted: number;
  /** Lines of the same billing periods that the new delivery replaced. */
  readonly replaced: number;
  readonly periods: readonly { readonly payer: string; readonly period: string }[];
  readonly rejects: readonly Reject[];
  /** Usage types no grammar reads: kept in the bill as `unknown`, listed here. */
  readonly unknownUsageTypes: readonly { readonly usageType: string; readonly reason: string }[];
  readonly unmappedModels: readonly string[];
}

const DATA_FILE = /\.(csv|csv\.gz|csv\.zst|parquet)$/i;
/** A billing period's folder: CUR 2.0's partition (seen in upper and lower case), legacy CUR's date range. */
const PERIOD_DIR = /^(BILLING_PERIOD=\d{4}-\d{2}|\d{8}-\d{8})$/i;
/** `<export>-Manifest.json` (CUR 2.0, legacy CUR), or plain `Manifest.json`. */
const MANIFEST = /(^|-)Manifest\.json$/;

/** The folder of a file's billing period, and the path below it (version or assembly folders, then the name). */
function periodOf(uri: string): { dir: string; rest: string[] } | null {
  const parts = uri.split('/');
  for (let i = parts.length - 2; i >= 0; i--) {
    if (PERIOD_DIR.test(parts[i] ?? '')) {
      return { dir: parts.slice(0, i + 1).join('/'), rest: parts.slice(i + 1) };
    }
  }
  return null;
}

/**
 * The period folder a manifest speaks for: its own (legacy CUR), or for CUR 2.0's
 * `<export>/metadata/BILLING_PERIOD=…/`, the data folder beside it, `<export>/data/BILLING_PERIOD=…/`.
 */
function manifestPeriod(dir: string): string {
  const parts = dir.split('/');
  if (parts.at(-2) === 'metadata') parts[parts.length - 2] = 'data';
  return parts.join('/');
}

/**
 * The current delivery's data files. A manifest beside the period names them: legacy CUR's
 * `<period>/<name>-Manifest.json` (`reportKeys`), CUR 2.0's `metadata/<period>/<export>-Manifest.json`
 * (`dataFiles`), which AWS rewrites after each delivery is complete and recommends reading. Without one, the files
 * directly in the period folder, else the last of its version folders (CUR 2.0's "create new" folders are named
 * `<ISO time>-<execution id>`, so the last by name is the latest).
 */
export async function currentDeliveryFiles(
  objects: ObjectStore,
  listed: readonly ObjectInfo[],
): Promise<ObjectInfo[]> {
  const byPeriod = new Map<string, ObjectInfo[]>();
  const loose: ObjectInfo[] = [];
  const manifests = new Map<string, ObjectInfo>();
  for (const o of listed) {
    const p = periodOf(o.uri);
    if (p !== null && p.rest.length === 1 && MANIFEST.test(p.rest[0] ?? '')) {
      manifests.set(manifestPeriod(p.dir), o);
      continue;
    }
    if (!DATA_FILE.test(o.uri)) continue;
    if (p === null) loose.push(o);
    else byPeriod.set(p.dir, [...(byPeriod.get(p.dir) ?? []), o]);
  }
  const chosen: ObjectInfo[] = [...loose];
  for (const [dir, files] of byPeriod) {
    const manifest = manifests.get(dir);
    if (manifest !== undefined) {
      // Matched below the period folder, so a local copy rooted anywhere matches the bucket's keys.
      const named = new Set(
        (await manifestDataKeys(objects, manifest.uri)).map(
          (k) => periodOf(k)?.rest.join('/') ?? k,
        ),
      );
      const current = files.filter((f) => named.has(periodOf(f.uri)?.rest.join('/') ?? ''));
      if (current.length > 0) {
        chosen.push(...current);
        continue;
      }
    }
    // Files directly in the period folder are one delivery; otherwise the last version folder is the current one.
    const direct = files.filter((f) => (periodOf(f.uri)?.rest.length ?? 0) === 1);
    if (direct.length > 0) {
      chosen.push(...direct);
      continue;
    }
    const version = (f: ObjectInfo) => periodOf(f.uri)?.rest[0] ?? '';
    const last = files.map(version).sort().at(-1);
    chosen.push(...files.filter((f) => version(f) === last));
  }
  return chosen.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

/** The data files a manifest names: CUR 2.0's `dataFiles` (s3:// URIs), legacy CUR's `reportKeys` (keys). */
async function manifestDataKeys(objects: ObjectStore, uri: string): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of await objects.read(uri)) chunks.push(c as Buffer);
  try {
    const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      dataFiles?: unknown;
      reportKeys?: unknown;
    };
    const keys = Array.isArray(m.dataFiles) ? m.dataFiles : m.reportKeys;
    return Array.isArray(keys) ? keys.map(String) : [];
  } catch {
    return [];
  }
}

export async function ingestCur(
  deps: { readonly store: Store; readonly objects: ObjectStore },
  paths: readonly string[],
): Promise<CurIngestSummary> {
  const listed: ObjectInfo[] = [];
  for (const p of paths) for await (const o of deps.objects.list(p)) listed.push(o);
  const files = await currentDeliveryFiles(deps.objects, listed);
  if (files.length === 0) {
    throw new AppError(
      'source.cur_empty',
      `no CUR data files (.csv, .csv.gz, .parquet) under ${paths.join(', ')}`,
    );
  }
  const tmp = makeTempDir('tokenledger-cur-');
  try {
    const local: BillFile[] = [];
    for (const [i, f] of files.entries()) {
      const format = /\.parquet$/i.test(f.uri) ? 'parquet' : 'csv';
      local.push({ path: await localFileOf(deps.objects, f.uri, tmp, i), source: f.uri, format });
    }
    const staged = await deps.store.bill.stage(local);
    const classes = staged.keys.map(classifyBillKey);
    const { inserted, replaced } = await staged.commit(classes);
    const unknown = new Map<string, string>();
    const unmapped = new Set<string>();
    for (const c of classes) {
      if (c.classification === 'unknown') unknown.set(c.usageType, c.reason ?? '');
      if (c.classification === 'tokens' && c.model === null && c.billingModel !== null)
        unmapped.add(c.billingModel);
    }
    return {
      files: files.length,
      rows: staged.rows,
      otherRows: staged.otherRows,
      inserted,
      replaced,
      periods: staged.periods,
      rejects: staged.rejects,
      unknownUsageTypes: [...unknown].map(([usageType, reason]) => ({ usageType, reason })),
      unmappedModels: [...unmapped].sort(),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
