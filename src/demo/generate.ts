/**
 * Generates a demo organisation's Bedrock invocation logs, hour by hour, straight to disk in the S3 layout, plus
 * the tokenledger.yaml to ingest them with, the organisation's bill (a CUR 2.0 export), its CloudWatch metrics,
 * optionally its Claude Code developers' OTLP telemetry (otlp.ts) and `demo-truth.json`, the known differences
 * between them. Claude Code calls are planned as developers' sessions (otlp-sessions.ts). Every call is metered as
 * it is planned, so the bill and the metrics agree with the logs except where a discrepancy says otherwise
 * (discrepancies.ts). Deterministic: same options, byte-identical output. Memory is bounded by the few hours of
 * records in flight, the metered keys and the open Claude Code sessions.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError, errorMessage, type Tokens } from '../core/index.ts';
import { createNormaliser, type Normaliser } from '../normalise/index.ts';
import { type Catalog, defaultCatalogDir, loadCatalogDir } from '../price/index.ts';
import { APP_WORKLOADS } from './apps.ts';
import { cloudwatchFiles } from './cloudwatch.ts';
import { demoConfig, renderConfig } from './config-file.ts';
import { buildBill, CUR_EXPORT, curCsv, curKeys, curManifest } from './cur.ts';
import {
  BATCH_JOB,
  batchDays,
  type MissingWindow,
  missingWindow,
  NO_LOGGING_REGION,
  PRIORITY_MODEL,
  UNLOGGED_WORKLOADS,
} from './discrepancies.ts';
import { Meter, tokenArray } from './meter.ts';
import { ACCOUNTS } from './organisation.ts';
import { ClaudeCodeTelemetry, OTLP_DIR, type TelemetrySummary } from './otlp.ts';
import { ClaudeCodePlanner, type DeveloperCall } from './otlp-sessions.ts';
import { type Developer, developers } from './people.ts';
import { createPlanContext, type Invocation, type PlanContext, planInvocation } from './plan.ts';
import { createRandom, type Random } from './random.ts';
import { buildRecord } from './record.ts';
import { DAY_MS, expectedRequests, HOUR_MS, planCalendar } from './rhythm.ts';
import { type BatchRun, buildTruth } from './truth.ts';
import { claudeCodeWorkloads } from './workloads.ts';
import { GzipWriter, hourKey, objectName, writePermissionCheck } from './writer.ts';

export interface DemoOptions {
  /** Root that stands for the log bucket; `AWSLogs/` and `tokenledger.yaml` are written inside it. */
  readonly outDir: string;
  readonly days: number;
  readonly seed: number;
  /** End of the period (exclusive), truncated to the hour. The period is the `days` × 24 h before it. */
  readonly end: Date;
  /** Average requests per day over the period; weekdays get more, weekends less. Default 3000. */
  readonly requestsPerDay?: number;
  /** Remove an existing `<outDir>/AWSLogs` first instead of refusing to write over it. */
  readonly overwrite?: boolean;
  /**
   * Also write the pilot teams' Claude Code OTLP telemetry (otlp.ts) under `<outDir>/otlp/`; default false. The logs
   * are the same either way.
   */
  readonly telemetry?: boolean;
}

export interface DemoResult {
  /** Invocation-log record files (`.json.gz` under an `HH/` folder). */
  readonly files: number;
  readonly records: number;
  /** Bytes written under `AWSLogs/`: record files, offloaded bodies and permission-check markers. */
  readonly bytes: number;
  /** Absolute path of the folder that stands for the bucket: it holds `AWSLogs/`, `cur/`, `cloudwatch/`. */
  readonly root: string;
  /**
   * What to ingest the invocation logs from: `<root>/AWSLogs`. Not `root` itself, whose bill and metric files are
   * not invocation logs.
   */
  readonly logsRoot: string;
  readonly configPath: string;
  readonly accounts: string[];
  /** The CUR 2.0 export: `<root>/cur/tokenledger-demo` (`data/BILLING_PERIOD=YYYY-MM/…csv.gz`, `metadata/…`). */
  readonly curRoot: string;
  /** Its data files, one per billing period, oldest first. */
  readonly curFiles: string[];
  /** CloudWatch metrics: `<root>/cloudwatch/<account>/<region>/<YYYY-MM-DD>.json`. */
  readonly cloudwatchRoot: string;
  /** `<root>/demo-truth.json`: the bill's totals and the known discrepancies between bill, metrics and logs. */
  readonly truthPath: string;
  /**
   * The Claude Code developers' OTLP telemetry, when asked for: `root` = `<root>/otlp`, holding
   * `<yyyy-mm-dd>/<nnnn>-logs.json` and `-metrics.json`, OTLP/JSON `ExportLogsServiceRequest` /
   * `ExportMetricsServiceRequest` bodies to POST to `/v1/logs`, `/v1/metrics` in name order.
   */
  readonly telemetry: {
    readonly root: string;
    readonly files: number;
    readonly logRecords: number;
    readonly points: number;
    readonly sessions: number;
  } | null;
}

const DEFAULT_REQUESTS_PER_DAY = 3000;
/** A busy account/Region hour is split into several delivery files of about this many records. */
const RECORDS_PER_FILE = 80;
const MAX_FILES_PER_HOUR = 6;
/** Bounds memory: at most this many hours of records are waiting to be compressed and written. */
const HOURS_IN_FLIGHT = 4;

/** What `prepare` refuses to write over, or removes with `overwrite`. */
const OUTPUTS = ['AWSLogs', 'cur', 'cloudwatch', OTLP_DIR, 'demo-truth.json'] as const;
const CLOUDWATCH = 'cloudwatch';
const TRUTH = 'demo-truth.json';

interface Totals {
  files: number;
  records: number;
  bytes: number;
}

interface LogsRun {
  readonly totals: Totals;
  readonly startMs: number;
  readonly endMs: number;
  readonly missing: MissingWindow;
  readonly batch: BatchRun[];
  readonly telemetry: TelemetrySummary | null;
}

export async function generateDemo(options: DemoOptions): Promise<DemoResult> {
  const requestsPerDay = options.requestsPerDay ?? DEFAULT_REQUESTS_PER_DAY;
  validate(options, requestsPerDay);
  const root = resolve(options.outDir);
  const people = developers();
  const config = demoConfig(people);
  const catalog = loadCatalogDir(defaultCatalogDir());
  await prepare(root, options.overwrite ?? false);
  const accounts = Object.values(ACCOUNTS);
  const configPath = join(root, 'tokenledger.yaml');
  const curRoot = join(root, 'cur', CUR_EXPORT);
  try {
    const normaliser = createNormaliser((arn) => config.inferenceProfiles[arn]);
    const meter = new Meter(catalog, normaliser, principalTeams(people));
    const run = await writeLogs(root, options, requestsPerDay, {
      people,
      meter,
      normaliser,
      catalog,
    });
    await writeFile(configPath, renderConfig(config));

    const bill = buildBill(meter, run.startMs, run.endMs);
    const writer = new GzipWriter(root);
    const writeText = textWriter();
    // The CUR files are compressed off the JS thread while the metrics are built and written.
    const curWrites: Promise<unknown>[] = [];
    const curFiles: string[] = [];
    for (const [period, lines] of bill.periods) {
      const keys = curKeys(period);
      const csv = curCsv(period, lines);
      curWrites.push(
        writer.write(keys.data, csv),
        writeText(join(root, keys.manifest), curManifest(period, csv, lines.length)),
      );
      curFiles.push(join(root, keys.data));
    }
    const cloudwatchRoot = join(root, CLOUDWATCH);
    const metricWrites = [...cloudwatchFiles(meter)].map(([path, text]) =>
      writeText(join(cloudwatchRoot, path), text),
    );
    await Promise.all([...curWrites, ...metricWrites]);
    const truthPath = join(root, TRUTH);
    const truth = buildTruth({
      seed: options.seed,
      days: options.days,
      startMs: run.startMs,
      endMs: run.endMs,
      logs: { files: run.totals.files, records: run.totals.records },
      meter,
      bill,
      missing: run.missing,
      noLoggingRegion: NO_LOGGING_REGION,
      batch: run.batch,
      ...(run.telemetry ? { telemetry: run.telemetry.truth } : {}),
    });
    await writeFile(truthPath, `${JSON.stringify(truth, null, 2)}\n`);
    return {
      ...run.totals,
      root,
      logsRoot: join(root, 'AWSLogs'),
      configPath,
      accounts,
      curRoot,
      curFiles,
      cloudwatchRoot,
      truthPath,
      telemetry: run.telemetry && {
        root: run.telemetry.root,
        files: run.telemetry.files,
        logRecords: run.telemetry.logRecords,
        points: run.telemetry.points,
        sessions: run.telemetry.sessions,
      },
    };
  } catch (e: unknown) {
    const message = `demo: cannot write under ${root}: ${errorMessage(e)}`;
    throw new AppError('demo.write_failed', message, { cause: e });
  }
}

/** Writes text files, creating each folder once (concurrent writes share the folder's mkdir). */
function textWriter(): (path: string, text: string) => Promise<void> {
  const folders = new Map<string, Promise<unknown>>();
  return async (path, text) => {
    const folder = dirname(path);
    let made = folders.get(folder);
    if (made === undefined) {
      made = mkdir(folder, { recursive: true });
      folders.set(folder, made);
    }
    await made;
    await writeFile(path, text);
  };
}

/** `iamPrincipal/team` of the principals that carry a team tag: developers by session, roles and users by workload. */
function principalTeams(people: readonly Developer[]): (principal: string) => string | null {
  const byEmail = new Map(people.map((d) => [d.email, d.team]));
  const byName = new Map<string, string>();
  for (const w of [...APP_WORKLOADS, ...UNLOGGED_WORKLOADS]) {
    const team = w.tagging?.tags.team;
    if (team === undefined) continue;
    const c = w.caller;
    if (c.kind === 'iam-users') for (const n of c.names) byName.set(`user/${n}`, team);
    else if (c.kind !== 'developers') byName.set(`role/${c.role}`, team);
  }
  return (principal) => {
    const role = /:assumed-role\/([^/]+)\/(.+)$/.exec(principal);
    if (role) {
      if (role[1] === 'ClaudeCodeDevelopers') return byEmail.get(role[2] ?? '') ?? null;
      return byName.get(`role/${role[1]}`) ?? null;
    }
    const user = /:user\/(.+)$/.exec(principal);
    return user ? (byName.get(`user/${user[1]}`) ?? null) : null;
  };
}

async function writeLogs(
  root: string,
  options: DemoOptions,
  requestsPerDay: number,
  deps: {
    people: readonly Developer[];
    meter: Meter;
    normaliser: Normaliser;
    catalog: Catalog;
  },
): Promise<LogsRun> {
  const { people, meter } = deps;
  const rng = createRandom(options.seed);
  const workloads = [...APP_WORKLOADS, ...claudeCodeWorkloads(people)];
  const totalShare = workloads.reduce((sum, w) => sum + w.share, 0);
  const endMs = Math.floor(options.end.getTime() / HOUR_MS) * HOUR_MS;
  const startMs = endMs - options.days * DAY_MS;
  const ctx = createPlanContext(planCalendar(startMs, options.days, rng), workloads, rng);
  // Traffic that is billed but never logged draws from its own stream: the logs stay as they were without it.
  const extraRng = createRandom((options.seed ^ 0x2f6b9a3d) >>> 0);
  const extraCtx = createPlanContext(ctx.calendar, UNLOGGED_WORKLOADS, extraRng);
  const missing = missingWindow(startMs, endMs);
  const missingKey = `${missing.account}/${missing.region}`;
  // Claude Code calls are planned as their developers' sessions, which the telemetry then describes, on a stream of
  // their own: how sessions are drawn does not move the other workloads' calls. Seeds of mulberry32 streams are
  // offsets into one sequence; this one starts 2^31 draws away from the main stream whatever the seed, so the two
  // never replay each other (request ids would repeat).
  const planner = new ClaudeCodePlanner();
  const sessionRng = createRandom((options.seed + 0x80000000) >>> 0);
  const telemetry = options.telemetry
    ? new ClaudeCodeTelemetry({
        root,
        seed: options.seed,
        startMs,
        endMs,
        people,
        normaliser: deps.normaliser,
        catalog: deps.catalog,
        missing,
      })
    : null;

  const totals: Totals = { files: 0, records: 0, bytes: 0 };
  for (const account of Object.values(ACCOUNTS)) {
    totals.bytes += await writePermissionCheck(root, account);
  }
  const writer = new GzipWriter(root);
  // Hours are planned in order on one PRNG stream; their writes overlap with planning the next few hours.
  const inflight: Promise<void>[] = [];
  for (let hourMs = startMs; hourMs < endMs; hourMs += HOUR_MS) {
    const hour: Invocation[] = [];
    const developerCalls: DeveloperCall[] = [];
    for (const w of workloads) {
      const share = w.share / totalShare;
      const expected = expectedRequests(w, share, requestsPerDay, hourMs, ctx.calendar);
      const count = Math.floor(expected + rng.next());
      if (w.caller.kind === 'developers') {
        for (const call of planner.planHour(w, hourMs, count, ctx, sessionRng)) {
          developerCalls.push(call);
          hour.push(call.inv);
        }
        continue;
      }
      for (let i = 0; i < count; i++) {
        hour.push(planInvocation(w, hourMs + rng.int(0, 3599) * 1000, ctx, rng));
      }
    }
    telemetry?.observe(developerCalls);
    const dropped = hourMs >= missing.fromMs && hourMs < missing.toMs ? missingKey : null;
    for (const inv of hour) {
      const lost = `${inv.accountId}/${inv.region}` === dropped;
      meter.observe(inv, lost ? 'missing' : 'logged', 'standard');
    }
    const written = writeHour(writer, hourMs, hour, rng, totals, dropped);
    // Awaited below; this only keeps a failure from surfacing as an unhandled rejection meanwhile.
    written.catch(() => {});
    inflight.push(written);
    meterUnlogged(meter, hourMs, totalShare, requestsPerDay, extraCtx, extraRng);
    if (inflight.length >= HOURS_IN_FLIGHT) await inflight.shift();
  }
  await Promise.all(inflight);
  const batch = meterBatch(meter, startMs, endMs, options.seed);
  return {
    totals,
    startMs,
    endMs,
    missing,
    batch,
    telemetry: telemetry === null ? null : await telemetry.finish(),
  };
}

/** One hour of the Region without logging: planned like the rest, metered, never written. */
function meterUnlogged(
  meter: Meter,
  hourMs: number,
  totalShare: number,
  requestsPerDay: number,
  ctx: PlanContext,
  rng: Random,
): void {
  for (const w of UNLOGGED_WORKLOADS) {
    const expected = expectedRequests(
      w,
      w.share / totalShare,
      requestsPerDay,
      hourMs,
      ctx.calendar,
    );
    const count = Math.floor(expected + rng.next());
    for (let i = 0; i < count; i++) {
      const inv = planInvocation(w, hourMs + rng.int(0, 3599) * 1000, ctx, rng);
      meter.observe(inv, 'unlogged', inv.model.id === PRIORITY_MODEL ? 'priority' : 'standard');
    }
  }
}

/** The weekly batch job: bill rows only (batch inference is neither logged nor in the runtime metrics). */
function meterBatch(meter: Meter, startMs: number, endMs: number, seed: number): BatchRun[] {
  const rng = createRandom((seed ^ 0x6c8e9cf5) >>> 0);
  const job = BATCH_JOB;
  return batchDays(startMs, endMs).map((dayMs) => {
    const tokens: Tokens = {
      input: rng.int(job.inputTokens[0], job.inputTokens[1]),
      output: rng.int(job.outputTokens[0], job.outputTokens[1]),
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
    };
    const day = new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '');
    const principal = `arn:aws:sts::${job.account}:assumed-role/${job.role}/batch-job-${day}`;
    const key = meter.addBilledOnly(
      dayMs,
      job.account,
      job.region,
      job.modelId,
      'batch',
      principal,
      tokens,
    );
    return { key, tokens: tokenArray(tokens) };
  });
}

function validate(options: DemoOptions, requestsPerDay: number): void {
  const bad = (what: string) => new AppError('demo.invalid_options', `demo: ${what}`);
  if (!Number.isInteger(options.days) || options.days < 1) {
    throw bad('days must be a positive integer');
  }
  if (!Number.isInteger(options.seed)) throw bad('seed must be an integer');
  if (Number.isNaN(options.end.getTime())) throw bad('end is not a valid date');
  if (!Number.isFinite(requestsPerDay) || requestsPerDay < 0) {
    throw bad('requestsPerDay must be a non-negative number');
  }
}

async function prepare(root: string, overwrite: boolean): Promise<void> {
  for (const name of OUTPUTS) {
    const path = join(root, name);
    if (!existsSync(path)) continue;
    if (!overwrite) {
      throw new AppError(
        'demo.out_dir_not_empty',
        `${path} already exists; choose an empty directory or overwrite it`,
      );
    }
    await rm(path, { recursive: true, force: true });
  }
  await mkdir(root, { recursive: true });
}

/**
 * Writes one hour: per account/Region, records sorted by time, split into a few delivery files. The `dropped`
 * account/Region's files are built (the PRNG stream moves on exactly as if they were written) but never delivered.
 */
function writeHour(
  writer: GzipWriter,
  hourMs: number,
  hour: readonly Invocation[],
  rng: Random,
  totals: Totals,
  dropped: string | null,
): Promise<void> {
  const groups = new Map<string, Invocation[]>();
  for (const inv of hour) {
    const key = `${inv.accountId}/${inv.region}`;
    const group = groups.get(key);
    if (group) group.push(inv);
    else groups.set(key, [inv]);
  }
  const writes: Promise<number>[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = (groups.get(key) ?? []).sort(
      (a, b) => a.timestamp - b.timestamp || (a.requestId < b.requestId ? -1 : 1),
    );
    const first = group[0];
    if (!first) continue;
    const deliver = key !== dropped;
    const folder = hourKey(first.accountId, first.region, hourMs);
    const fileCount = Math.min(MAX_FILES_PER_HOUR, Math.ceil(group.length / RECORDS_PER_FILE));
    const size = Math.ceil(group.length / fileCount);
    for (let i = 0; i < group.length; i += size) {
      const chunk = group.slice(i, i + size);
      const lines: string[] = [];
      for (const inv of chunk) {
        const built = buildRecord(inv, folder, rng);
        lines.push(built.line);
        if (built.offload && deliver) {
          writes.push(writer.write(built.offload.key, built.offload.body));
        }
      }
      const last = chunk[chunk.length - 1]?.timestamp ?? hourMs;
      // Delivered a little after the last record, but still inside the hour's folder.
      const delivered = Math.min(last + rng.int(20, 90) * 1000, hourMs + HOUR_MS - 1000);
      const name = objectName(delivered, rng.hex(16));
      if (!deliver) continue;
      writes.push(writer.write(`${folder}/${name}`, `${lines.join('\n')}\n`));
      totals.files++;
      totals.records += chunk.length;
    }
  }
  return Promise.all(writes).then((sizes) => {
    for (const bytes of sizes) totals.bytes += bytes;
  });
}
