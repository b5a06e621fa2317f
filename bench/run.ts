/**
 * `npm run bench [-- --records N --ledger N --quick --profile]` (env BENCH_RECORDS / BENCH_LEDGER also work).
 * Every step runs in its own child process (child.ts) so that peak RSS is per step. Performance is read as a ratio
 * against the JS floor measured in this same run (performance.md); nothing here is a test assertion.
 * Results: a table on stdout and `.bench/results.json`.
 */
import { spawn } from 'node:child_process';
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

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CACHE = join(ROOT, '.bench');
/** Bump when the ledger's SQL changes: cached ledgers of an older version are rebuilt. */
const LEDGER_VERSION = 1;
const DAY_MS = 86_400_000;

type Result = Record<string, unknown> & {
  seconds: number;
  records: number;
  peakRssMb: number;
  stepCpuSeconds: number;
  wallSeconds: number;
};

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string' },
    ledger: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'skip-ledger': { type: 'boolean', default: false },
  },
});
const num = (v: string | undefined, fallback: number) =>
  v === undefined ? fallback : Number(v.replaceAll('_', ''));
const RECORDS = num(flags.records ?? process.env.BENCH_RECORDS, flags.quick ? 100_000 : 1_000_000);
const LEDGER = num(flags.ledger ?? process.env.BENCH_LEDGER, flags.quick ? 1_000_000 : 10_000_000);
const log = (s: string) => process.stderr.write(`${s}\n`);

async function runChild(step: string, args: object, nodeArgs: string[] = []): Promise<Result> {
  log(`· ${step} …`);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...nodeArgs, join(HERE, 'child.ts'), step, JSON.stringify(args)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || line === undefined) throw new Error(`step ${step} failed (exit ${code})`);
  const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as Result;
  r.wallSeconds = (performance.now() - t0) / 1000;
  log(`  ${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB`);
  return r;
}

interface Row {
  step: string;
  value: string;
  ratio: string;
  rss: string;
  target: string;
  status: 'PASS' | 'MISS' | 'FAIL' | 'info';
}

const rate = (r: Result) => r.records / r.seconds;
const kps = (x: number) => `${(x / 1000).toFixed(0)}k rec/s`;
const mb = (r: Result) => r.peakRssMb.toFixed(0);

async function ensureLedger(rows: number): Promise<{ db: string; now: number; built: Result | null }> {
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

async function main(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
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
  const rows: Row[] = [];
  try {
    results.floor = await runChild('floor', { ...args, db: '' });
    results.duckdb = await runChild('duckdb', { ...args, db: join(work, 'native.duckdb') });
    const ingestDb = join(work, 'ingest.duckdb');
    const profDir = join(CACHE, 'profile');
    if (flags.profile) rmSync(profDir, { recursive: true, force: true });
    const profArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    results.e2e = await runChild('e2e', { ...args, db: ingestDb }, profArgs);
    results.reingest = await runChild('reingest', { ...args, db: ingestDb });
    results.floor2 = await runChild('floor', { ...args, db: '' });
    if (!flags['skip-ledger']) {
      const ledger = await ensureLedger(LEDGER);
      if (ledger.built) results.ledger = ledger.built;
      results.reports = await runChild('reports', { db: ledger.db, rows: LEDGER, now: ledger.now });
    }
    if (flags.profile) printProfile(profDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const floorRate = Math.max(rate(results.floor as Result), rate(results.floor2 as Result));
  const f1 = results.floor as Result;
  const f2 = results.floor2 as Result;
  rows.push({
    step: 'floor: gunzip + split + JSON.parse',
    value: `${kps(rate(f1))} / ${kps(rate(f2))}`,
    ratio: '1.00',
    rss: `${mb(f1)}`,
    target: 'reference (best of before/after)',
    status: 'info',
  });
  const d = results.duckdb as Result;
  rows.push({
    step: 'DuckDB read_json (explicit columns)',
    value: kps(rate(d)),
    ratio: (rate(d) / floorRate).toFixed(2),
    rss: mb(d),
    target: 'reference (≈ 1.7×)',
    status: d.records === RECORDS ? 'info' : 'FAIL',
  });
  const e = results.e2e as Result;
  const s = e.summary as Record<string, number>;
  const eRatio = rate(e) / floorRate;
  const countsOk = s.inserted === RECORDS && s.read === RECORDS && s.rejected === 0;
  rows.push({
    step: `end to end: ingest DIR (inserted ${s.inserted})`,
    value: kps(rate(e)),
    ratio: eRatio.toFixed(2),
    rss: mb(e),
    target: '≥ 0.50×, < 400 MB, inserted = N',
    status: !countsOk ? 'FAIL' : eRatio >= 0.5 && e.peakRssMb < 400 ? 'PASS' : 'MISS',
  });
  const ri = results.reingest as Result;
  const rs = ri.summary as Record<string, number>;
  rows.push({
    step: `re-ingest (inserted ${rs.inserted}, skipped ${rs.filesSkipped}/${rs.files})`,
    value: `${ri.seconds.toFixed(2)} s`,
    ratio: '',
    rss: mb(ri),
    target: '≈ 0 s, inserted 0',
    status: rs.inserted === 0 && rs.filesSkipped === rs.files ? 'PASS' : 'FAIL',
  });
  if (results.ledger) {
    const l = results.ledger;
    rows.push({
      step: `build ${LEDGER.toLocaleString('en-US')}-row ledger (SQL)`,
      value: `${l.seconds.toFixed(1)} s`,
      ratio: '',
      rss: mb(l),
      target: 'setup',
      status: l.records === LEDGER ? 'info' : 'FAIL',
    });
  }
  const rep = results.reports;
  if (rep) {
    for (const [name, label, limit] of [
      ['teamModelDay30d', '--by team,model,day --since 30d', 0.5],
      ['oneTeam7d', '--where team=… --since 7d --by day', 0.1],
    ] as const) {
      const c = rep[name] as { median: number; rows: number; matched: number };
      rows.push({
        step: `report ${label} (${c.rows} rows of ${c.matched} records)`,
        value: `${c.median.toFixed(3)} s`,
        ratio: '',
        rss: mb(rep),
        target: `median of 5 < ${limit} s`,
        status: c.median < limit ? 'PASS' : 'MISS',
      });
    }
  }
  printTable(rows);
  console.log(
    `\nend to end: ${e.seconds.toFixed(1)} s (open ${(e.openSeconds as number).toFixed(2)}, ingest ${(e.ingestSeconds as number).toFixed(1)}, close ${(e.closeSeconds as number).toFixed(2)}), ` +
      `CPU ${e.stepCpuSeconds.toFixed(1)} s on ${cpus().length} cores; floor CPU ${f1.stepCpuSeconds.toFixed(1)} s; ` +
      `unpriced ${s.unpriced}, duplicates ${s.duplicates}`,
  );
  const out = join(CACHE, 'results.json');
  const meta = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, quick: flags.quick };
  const doc = { at: new Date().toISOString(), ...meta, records: RECORDS, ledger: LEDGER, corpus, floorRate };
  writeFileSync(out, JSON.stringify({ ...doc, table: rows, results }, null, 2));
  console.log(`results: ${out}`);
}

function printTable(rows: Row[]): void {
  const head: Row = {
    step: 'step',
    value: 'result',
    ratio: 'vs floor',
    rss: 'peak RSS MB',
    target: 'target',
    status: 'info',
  };
  const cols = ['step', 'value', 'ratio', 'rss', 'target', 'status'] as const;
  const all = [head, ...rows];
  const w = cols.map((c) => Math.max(...all.map((r) => String(r[c]).length)));
  const line = (r: Row) =>
    cols.map((c, i) => (r === head && c === 'status' ? 'status' : r[c]).padEnd(w[i] ?? 0)).join('  ');
  console.log(`\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of rows) console.log(line(r));
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
