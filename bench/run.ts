/**
 * `npm run bench [-- --records N --ledger N --quick --profile]` (env BENCH_RECORDS / BENCH_LEDGER also work);
 * `--gateway-only` runs just the gateway benchmark (steps-gateway.ts), `--skip-gateway` leaves it out.
 * Every step runs in its own child process (child.ts) so that peak RSS is per step. Performance is read as a ratio
 * against the JS floor measured in this same run (performance.md); nothing here is a test assertion.
 * Results: a table on stdout and `.bench/results.json`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MIGRATIONS } from '../src/store/duckdb/schema.ts';
import { RESULT_PREFIX } from './child.ts';
import { ensureCorpus } from './generate-logs.ts';
import { formatProfile, summariseProfile } from './profile-summary.ts';
import {
  BUILT,
  buildServers,
  type GatewayArgs,
  printGatewayResults,
  type WorkloadId,
} from './steps-gateway.ts';
import { printResults, type Result } from './table.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CACHE = join(ROOT, '.bench');
/** Bump when the ledger's SQL changes: cached ledgers of an older version are rebuilt. */
const LEDGER_VERSION = 1;
const DAY_MS = 86_400_000;

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string' },
    ledger: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'skip-ledger': { type: 'boolean', default: false },
    'skip-otlp': { type: 'boolean', default: false },
    'skip-gateway': { type: 'boolean', default: false },
    'gateway-only': { type: 'boolean', default: false },
    /** Seconds measured per gateway cell (default 3 with --quick, else 10). */
    'gateway-seconds': { type: 'string' },
    /** Comma-separated concurrencies of the gateway cells (default 32,64). */
    'gateway-concurrency': { type: 'string' },
    /** Comma-separated gateway workloads (default all: invoke,invoke-h2c,converse,invoke-stream,chat,chat-stream). */
    'gateway-workloads': { type: 'string' },
  },
});
const num = (v: string | undefined, fallback: number) =>
  v === undefined ? fallback : Number(v.replaceAll('_', ''));
const RECORDS = num(flags.records ?? process.env.BENCH_RECORDS, flags.quick ? 100_000 : 1_000_000);
const LEDGER = num(flags.ledger ?? process.env.BENCH_LEDGER, flags.quick ? 1_000_000 : 10_000_000);
const log = (s: string) => process.stderr.write(`${s}\n`);

/**
 * Runs a step in a child process of its own, compiled (`buildServers`): its CPU and peak RSS are the product's, not
 * a loader's. The gateway step only orchestrates processes that are themselves compiled, and runs from source.
 */
async function runChild(step: string, args: object, nodeArgs: string[] = []): Promise<Result> {
  log(`· ${step} …`);
  const t0 = performance.now();
  const entry =
    step === 'gateway'
      ? ['--import', 'tsx', join(HERE, 'child.ts')]
      : [join(BUILT, 'bench', 'child.js')];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, step, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || line === undefined) throw new Error(`step ${step} failed (exit ${code})`);
  const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as Result;
  r.wallSeconds = (performance.now() - t0) / 1000;
  log(
    `  ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB, CPU ${r.stepCpuSeconds.toFixed(1)} s` +
      ` (other processes ${r.othersCpuSeconds.toFixed(1)} s, steal ${r.stealSeconds.toFixed(1)} s)`,
  );
  return r;
}

/** Which code was measured: HEAD plus a hash of uncommitted changes under src/ (results are only comparable then). */
function codeVersion(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    const diff =
      git('diff', 'HEAD', '--', 'src') + git('ls-files', '--others', '--exclude-standard', 'src');
    const dirty = diff
      ? `+dirty:${createHash('sha256').update(diff).digest('hex').slice(0, 8)}`
      : '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty}`;
  } catch {
    return 'unknown';
  }
}

async function ensureLedger(
  rows: number,
): Promise<{ db: string; now: number; built: Result | null }> {
  const key = createHash('sha256')
    .update(`${LEDGER_VERSION}\n${MIGRATIONS.join('\n')}`)
    .digest('hex')
    .slice(0, 12);
  const db = join(CACHE, `ledger-${rows}.duckdb`);
  const marker = join(CACHE, `ledger-${rows}.json`);
  if (existsSync(marker) && existsSync(db)) {
    const m = JSON.parse(readFileSync(marker, 'utf8')) as { key: string; now: number };
    if (m.key === key) return { db, now: m.now, built: null };
  }
  rmSync(marker, { force: true });
  rmSync(db, { force: true });
  rmSync(`${db}.wal`, { force: true });
  const now = Math.floor(Date.now() / DAY_MS) * DAY_MS + 12 * 3_600_000;
  const built = await runChild('ledger', { db, rows, now });
  writeFileSync(marker, JSON.stringify({ key, now, rows, built }, null, 2));
  return { db, now, built };
}

/** The gateway benchmark (one child step that runs its own servers and load generators). */
function gatewayStep(work: string): Promise<Result> {
  const args: GatewayArgs = {
    work,
    quick: flags.quick,
    ...(flags['gateway-seconds'] === undefined
      ? {}
      : { seconds: Number(flags['gateway-seconds']) }),
    ...(flags['gateway-concurrency'] === undefined
      ? {}
      : { concurrency: flags['gateway-concurrency'].split(',').map(Number) }),
    ...(flags['gateway-workloads'] === undefined
      ? {}
      : { workloads: flags['gateway-workloads'].split(',') as WorkloadId[] }),
    profileDir: flags.profile ? join(CACHE, 'profile-gateway') : null,
  };
  return runChild('gateway', args);
}

async function gatewayOnly(code: string): Promise<void> {
  const work = join(CACHE, `work-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const gateway = await gatewayStep(work);
    const table = printGatewayResults(gateway);
    const out = join(CACHE, 'results-gateway.json');
    const doc = { at: new Date().toISOString(), code, node: process.version, cpus: cpus().length };
    writeFileSync(out, JSON.stringify({ ...doc, quick: flags.quick, table, gateway }, null, 2));
    console.log(`results: ${out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const code = codeVersion();
  log(`code: ${code}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`);
  if (flags['gateway-only']) return await gatewayOnly(code);
  log('compiling the benchmark (tsconfig.bench.json) …');
  buildServers();
  const corpus = await ensureCorpus(CACHE, RECORDS, log);
  log(
    `corpus: ${corpus.records.toLocaleString('en-US')} records in ${corpus.files} files, ` +
      `${(corpus.bytes / 1e6).toFixed(0)} MB gz / ${(corpus.rawBytes / 1e6).toFixed(0)} MB raw, ` +
      `${(corpus.rawBytes / corpus.records).toFixed(0)} B/record${corpus.cached ? ' (cached)' : ''}`,
  );
  const work = join(CACHE, `work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const args = { corpus: corpus.dir, records: RECORDS, work };
  const results: Record<string, Result> = {};
  // Kept apart from `results`: its own processes use the CPU, which table.ts would flag as noise.
  let gateway: Result | null = null;
  try {
    results.floor = await runChild('floor', { ...args, db: '' });
    results.duckdb = await runChild('duckdb', { ...args, db: join(work, 'native.duckdb') });
    const ingestDb = join(work, 'ingest.duckdb');
    const profDir = join(CACHE, 'profile');
    if (flags.profile) rmSync(profDir, { recursive: true, force: true });
    const profArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    results.e2e = await runChild('e2e', { ...args, db: ingestDb }, profArgs);
    results.reingest = await runChild('reingest', { ...args, db: ingestDb });
    // The opt-in trade of peak RSS for CPU, on the same records.
    results.e2eLow = await runChild('e2e', {
      ...args,
      db: join(work, 'low-memory.duckdb'),
      lowMemory: true,
    });
    results.floor2 = await runChild('floor', { ...args, db: '' });
    if (RECORDS >= 500_000 && !flags.quick) {
      // Peak RSS must not grow with the input: the same ingest on a tenth of the records, for comparison.
      const small = await ensureCorpus(CACHE, Math.round(RECORDS / 10), log);
      const smallArgs = {
        corpus: small.dir,
        records: small.records,
        work,
        db: join(work, 'small.duckdb'),
      };
      results.e2eSmall = await runChild('e2e', smallArgs);
    }
    // The S3 layout with many small objects (~15 records each, as the demo's), which go row by row
    // (they are under the bulk path's 128 KiB). Peak RSS must stay under the same bound.
    const smallFiles = await ensureCorpus(CACHE, flags.quick ? 20_000 : 100_000, log, 15);
    results.e2eSmallFiles = await runChild('e2e', {
      corpus: smallFiles.dir,
      records: smallFiles.records,
      work,
      db: join(work, 'small-files.duckdb'),
    });
    // Request metadata at Bedrock's limit on every record (~3.5 KB): rows ~6× as wide as above.
    const wide = await ensureCorpus(CACHE, flags.quick ? 30_000 : 100_000, log, undefined, true);
    results.e2eWide = await runChild('e2e', {
      corpus: wide.dir,
      records: wide.records,
      work,
      db: join(work, 'wide.duckdb'),
    });
    if (!flags['skip-ledger']) {
      const ledger = await ensureLedger(LEDGER);
      if (ledger.built) results.ledger = ledger.built;
      results.reports = await runChild('reports', { db: ledger.db, rows: LEDGER, now: ledger.now });
    }
    if (!flags['skip-otlp']) {
      // Claude Code api_request events in exporter-sized batches: decode alone, then over HTTP into the ledger.
      const otlp = { events: flags.quick ? 20_480 : 102_400, work };
      for (const enc of ['json', 'protobuf'] as const) {
        results[`otlpFloor_${enc}`] = await runChild(`otlp-floor-${enc}`, otlp);
        results[`otlpE2e_${enc}`] = await runChild(`otlp-e2e-${enc}`, otlp);
      }
    }
    if (!flags['skip-gateway']) gateway = await gatewayStep(work);
    if (flags.profile) printProfile(profDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const { rows, floorRate } = printResults(results, { records: RECORDS, ledger: LEDGER });
  const gatewayTable = gateway === null ? null : printGatewayResults(gateway);
  const out = join(CACHE, 'results.json');
  const meta = {
    code,
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    quick: flags.quick,
  };
  const doc = {
    at: new Date().toISOString(),
    ...meta,
    records: RECORDS,
    ledger: LEDGER,
    corpus,
    floorRate,
  };
  writeFileSync(
    out,
    JSON.stringify({ ...doc, table: rows, results, gatewayTable, gateway }, null, 2),
  );
  console.log(`results: ${out}`);
}

function printProfile(dir: string): void {
  const files = readdirSync(dir).map((f) => join(dir, f));
  // The biggest profile is the main thread's (the other is tsx's loader worker).
  const main = files.sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
  if (main) console.log(`\n${formatProfile(summariseProfile(main, 20))}\nprofile: ${main}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
