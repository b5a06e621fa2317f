/**
 * Generates a demo organisation's Bedrock invocation logs, hour by hour, straight to disk in the S3 layout, plus
 * the tokenledger.yaml to ingest them with. Deterministic: same options, byte-identical output. Memory is bounded
 * by the few hours of records in flight.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError, errorMessage } from '../core/index.ts';
import { APP_WORKLOADS } from './apps.ts';
import { demoConfig, renderConfig } from './config-file.ts';
import { ACCOUNTS } from './organisation.ts';
import { type Developer, developers } from './people.ts';
import { createPlanContext, type Invocation, planInvocation } from './plan.ts';
import { createRandom, type Random } from './random.ts';
import { buildRecord } from './record.ts';
import { DAY_MS, expectedRequests, HOUR_MS, planCalendar } from './rhythm.ts';
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
}

export interface DemoResult {
  /** Invocation-log record files (`.json.gz` under an `HH/` folder). */
  readonly files: number;
  readonly records: number;
  /** Bytes written under `AWSLogs/`: record files, offloaded bodies and permission-check markers. */
  readonly bytes: number;
  /** Absolute path of the bucket root (the folder that holds `AWSLogs/`). */
  readonly logsRoot: string;
  readonly configPath: string;
  readonly accounts: string[];
}

const DEFAULT_REQUESTS_PER_DAY = 3000;
/** A busy account/Region hour is split into several delivery files of about this many records. */
const RECORDS_PER_FILE = 80;
const MAX_FILES_PER_HOUR = 6;
/** Bounds memory: at most this many hours of records are waiting to be compressed and written. */
const HOURS_IN_FLIGHT = 4;

interface Totals {
  files: number;
  records: number;
  bytes: number;
}

export async function generateDemo(options: DemoOptions): Promise<DemoResult> {
  const requestsPerDay = options.requestsPerDay ?? DEFAULT_REQUESTS_PER_DAY;
  validate(options, requestsPerDay);
  const root = resolve(options.outDir);
  await prepare(root, options.overwrite ?? false);
  const people = developers();
  const accounts = Object.values(ACCOUNTS);
  const configPath = join(root, 'tokenledger.yaml');
  try {
    const totals = await writeLogs(root, options, requestsPerDay, people);
    await writeFile(configPath, renderConfig(demoConfig(people)));
    return { ...totals, logsRoot: root, configPath, accounts };
  } catch (e: unknown) {
    const message = `demo: cannot write under ${root}: ${errorMessage(e)}`;
    throw new AppError('demo.write_failed', message, { cause: e });
  }
}

async function writeLogs(
  root: string,
  options: DemoOptions,
  requestsPerDay: number,
  people: readonly Developer[],
): Promise<Totals> {
  const rng = createRandom(options.seed);
  const workloads = [...APP_WORKLOADS, ...claudeCodeWorkloads(people)];
  const totalShare = workloads.reduce((sum, w) => sum + w.share, 0);
  const endMs = Math.floor(options.end.getTime() / HOUR_MS) * HOUR_MS;
  const startMs = endMs - options.days * DAY_MS;
  const ctx = createPlanContext(planCalendar(startMs, options.days, rng), workloads, rng);

  const totals: Totals = { files: 0, records: 0, bytes: 0 };
  for (const account of Object.values(ACCOUNTS)) {
    totals.bytes += await writePermissionCheck(root, account);
  }
  const writer = new GzipWriter(root);
  // Hours are planned in order on one PRNG stream; their writes overlap with planning the next few hours.
  const inflight: Promise<void>[] = [];
  for (let hourMs = startMs; hourMs < endMs; hourMs += HOUR_MS) {
    const hour: Invocation[] = [];
    for (const w of workloads) {
      const share = w.share / totalShare;
      const expected = expectedRequests(w, share, requestsPerDay, hourMs, ctx.calendar);
      const count = Math.floor(expected + rng.next());
      for (let i = 0; i < count; i++) {
        hour.push(planInvocation(w, hourMs + rng.int(0, 3599) * 1000, ctx, rng));
      }
    }
    const written = writeHour(writer, hourMs, hour, rng, totals);
    // Awaited below; this only keeps a failure from surfacing as an unhandled rejection meanwhile.
    written.catch(() => {});
    inflight.push(written);
    if (inflight.length >= HOURS_IN_FLIGHT) await inflight.shift();
  }
  await Promise.all(inflight);
  return totals;
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
  const logs = join(root, 'AWSLogs');
  if (existsSync(logs)) {
    if (!overwrite) {
      throw new AppError(
        'demo.out_dir_not_empty',
        `${logs} already exists; choose an empty directory or overwrite it`,
      );
    }
    await rm(logs, { recursive: true, force: true });
  }
  await mkdir(root, { recursive: true });
}

/** Writes one hour: per account/Region, records sorted by time, split into a few delivery files. */
function writeHour(
  writer: GzipWriter,
  hourMs: number,
  hour: readonly Invocation[],
  rng: Random,
  totals: Totals,
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
    const folder = hourKey(first.accountId, first.region, hourMs);
    const fileCount = Math.min(MAX_FILES_PER_HOUR, Math.ceil(group.length / RECORDS_PER_FILE));
    const size = Math.ceil(group.length / fileCount);
    for (let i = 0; i < group.length; i += size) {
      const chunk = group.slice(i, i + size);
      const lines: string[] = [];
      for (const inv of chunk) {
        const built = buildRecord(inv, folder, rng);
        lines.push(built.line);
        if (built.offload) writes.push(writer.write(built.offload.key, built.offload.body));
      }
      const last = chunk[chunk.length - 1]?.timestamp ?? hourMs;
      // Delivered a little after the last record, but still inside the hour's folder.
      const delivered = Math.min(last + rng.int(20, 90) * 1000, hourMs + HOUR_MS - 1000);
      const name = objectName(delivered, rng.hex(16));
      writes.push(writer.write(`${folder}/${name}`, `${lines.join('\n')}\n`));
      totals.files++;
      totals.records += chunk.length;
    }
  }
  return Promise.all(writes).then((sizes) => {
    for (const bytes of sizes) totals.bytes += bytes;
  });
}
