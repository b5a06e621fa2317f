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
  /** Periods left out, or read without their manifest, and why. */
  readonly warnings: readonly string[];
}

const DATA_FILE = /\.(csv|csv\.gz|csv\.zst|parquet)$/i;
/** The status table a legacy CUR export for Athena writes beside its data: not bill lines. */
const STATUS_FILE = /\/cost_and_usage_data_status\//;
/** A billing period's folder: CUR 2.0's partition (seen in upper and lower case), legacy CUR's date range. */
const PERIOD_DIR = /^(BILLING_PERIOD=\d{4}-\d{2}|\d{8}-\d{8})$/i;
const PARTITION = /^BILLING_PERIOD=/i;
/** `<export>-Manifest.json` (CUR 2.0, legacy CUR), or plain `Manifest.json`. */
const MANIFEST = /(^|-)manifest\.json$/i;

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

/** A file's place in its export: the period folder's name and the path below it (`BILLING_PERIOD=2026-03/…`). */
function placeOf(uri: string): string | null {
  const p = periodOf(uri);
  return p === null
    ? null
    : [p.dir.slice(p.dir.lastIndexOf('/') + 1).toLowerCase(), ...p.rest].join('/');
}

/**
 * CUR 2.0 keeps a period's manifest in `<export>/metadata/BILLING_PERIOD=…/` and its data in
 * `<export>/data/BILLING_PERIOD=…/`: the one folder from the other (`from` → `to`), or null for another layout.
 */
function sibling(dir: string, from: string, to: string): string | null {
  const parts = dir.split('/');
  if (!PARTITION.test(parts.at(-1) ?? '') || parts.at(-2)?.toLowerCase() !== from) return null;
  parts[parts.length - 2] = to;
  return parts.join('/');
}

/** What `currentDeliveryFiles` chose, and why it left a period out or could not follow its manifest. */
export interface CurrentDelivery {
  readonly files: ObjectInfo[];
  readonly warnings: string[];
}

/**
 * The current delivery's data files. A manifest beside the period names them: legacy CUR's
 * `<period>/<name>-Manifest.json` (`reportKeys`), CUR 2.0's `metadata/<period>/<export>-Manifest.json`
 * (`dataFiles`), which AWS rewrites once a delivery is complete and recommends reading (looked for beside
 * `data/` when only that was given). A period whose manifest names files that are not there (a partial copy) is
 * left out, not replaced with part of a month. Without a manifest, the files directly in the period folder, else the
 * last of its version folders (CUR 2.0's "create new" folders are named `<ISO time>-<execution id>`, so the last by
 * name is the latest).
 */
export async function currentDeliveryFiles(
  objects: ObjectStore,
  listed: readonly ObjectInfo[],
): Promise<CurrentDelivery> {
  const byPeriod = new Map<string, ObjectInfo[]>();
  const loose: ObjectInfo[] = [];
  const manifests = new Map<string, ObjectInfo>();
  const seen = new Set<string>();
  const warnings: string[] = [];
  for (const o of listed) {
    // Overlapping paths (the export and a folder of it) list a file twice.
    if (seen.has(o.uri)) continue;
    seen.add(o.uri);
    const p = periodOf(o.uri);
    if (p !== null && p.rest.length === 1 && MANIFEST.test(p.rest[0] ?? '')) {
      manifests.set(sibling(p.dir, 'metadata', 'data') ?? p.dir, o);
      continue;
    }
    if (!DATA_FILE.test(o.uri) || STATUS_FILE.test(o.uri)) continue;
    if (p === null) loose.push(o);
    else byPeriod.set(p.dir, [...(byPeriod.get(p.dir) ?? []), o]);
  }
  const chosen: ObjectInfo[] = [...loose];
  for (const [dir, files] of byPeriod) {
    const manifest = manifests.get(dir) ?? (await manifestBeside(objects, dir));
    const keys = manifest === undefined ? [] : await manifestDataKeys(objects, manifest, warnings);
    if (keys.length > 0) {
      // Matched by period and the path below it, so a local copy rooted anywhere matches the bucket's keys.
      const here = new Map(files.map((f) => [placeOf(f.uri), f]));
      const named = keys.map((k) => placeOf(k) ?? k);
      const missing = named.filter((k) => !here.has(k));
      if (missing.length > 0) {
        warnings.push(
          `${dir}: left out, the bill kept as it was: its manifest names ${missing.length} of ${named.length} data files that are not there (${missing.slice(0, 2).join(', ')}${missing.length > 2 ? ', …' : ''}); copy them all, or point at the export in S3`,
        );
        continue;
      }
      chosen.push(...named.map((k) => here.get(k) as ObjectInfo));
      continue;
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
  return {
    files: [...new Set(chosen)].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0)),
    warnings,
  };
}

/** A CUR 2.0 period's manifest when only its `data/` folder was given: the `metadata/` folder beside it. */
async function manifestBeside(objects: ObjectStore, dir: string): Promise<string | undefined> {
  const metadata = sibling(dir, 'data', 'metadata');
  if (metadata === null) return undefined;
  try {
    for await (const o of objects.list(`${metadata}/`)) {
      const p = periodOf(o.uri);
      if (p !== null && p.rest.length === 1 && MANIFEST.test(p.rest[0] ?? '')) return o.uri;
    }
  } catch {
    // No metadata folder there (a copy of data/ alone): the folder rule applies.
  }
  return undefined;
}

/**
 * The data files a manifest names: CUR 2.0's `dataFiles` (s3:// URIs), legacy CUR's `reportKeys` (keys). A manifest
 * that cannot be read or parsed names nothing (the folder rule applies), with a warning.
 */
async function manifestDataKeys(
  objects: ObjectStore,
  manifest: ObjectInfo | string,
  warnings: string[],
): Promise<string[]> {
  const uri = typeof manifest === 'string' ? manifest : manifest.uri;
  try {
    const chunks: Buffer[] = [];
    for await (const c of await objects.read(uri)) chunks.push(c as Buffer);
    const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      dataFiles?: unknown;
      reportKeys?: unknown;
    };
    const keys = Array.isArray(m.dataFiles) ? m.dataFiles : m.reportKeys;
    return Array.isArray(keys) ? keys.map(String) : [];
  } catch (e: unknown) {
    warnings.push(
      `${uri}: the manifest could not be read (${(e as Error).message}); the period's last delivery folder was read instead`,
    );
    return [];
  }
}

export async function ingestCur(
  deps: { readonly store: Store; readonly objects: ObjectStore },
  paths: readonly string[],
): Promise<CurIngestSummary> {
  const listed: ObjectInfo[] = [];
  for (const p of paths) for await (const o of deps.objects.list(p)) listed.push(o);
  const { files, warnings } = await currentDeliveryFiles(deps.objects, listed);
  if (files.length === 0) {
    throw new AppError(
      'source.cur_empty',
      warnings.length > 0
        ? `no CUR data files to read under ${paths.join(', ')}: ${warnings.join('; ')}`
        : `no CUR data files (.csv, .csv.gz, .parquet) under ${paths.join(', ')}`,
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
      warnings,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
