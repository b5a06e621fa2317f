/** The results table of `npm run bench`: one row per step, ratio against the floor of the same run, PASS/MISS. */
import { cpus } from 'node:os';

export type Result = Record<string, unknown> & {
  seconds: number;
  records: number;
  peakRssMb: number;
  stepCpuSeconds: number;
  wallSeconds: number;
  othersCpuSeconds: number;
  stealSeconds: number;
};

export interface Row {
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

/** Prints the table and the notes under it; returns the rows for results.json. */
export function printResults(
  results: Record<string, Result>,
  opts: { readonly records: number; readonly ledger: number },
): { rows: Row[]; floorRate: number } {
  const RECORDS = opts.records;
  const LEDGER = opts.ledger;
  const rows: Row[] = [];
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
  /** Records/s, its ratio to the floor and peak RSS: the measured columns of an ingest step's row. */
  const measured = (r: Result) => ({
    value: kps(rate(r)),
    ratio: (rate(r) / floorRate).toFixed(2),
    rss: mb(r),
  });
  const d = results.duckdb as Result;
  rows.push({
    step: 'DuckDB read_json (explicit columns)',
    ...measured(d),
    target: 'reference (≈ 1.7×)',
    status: d.records === RECORDS ? 'info' : 'FAIL',
  });
  const e = results.e2e as Result;
  const s = e.summary as Record<string, number>;
  const eRatio = rate(e) / floorRate;
  const countsOk = s.inserted === RECORDS && s.read === RECORDS && s.rejected === 0;
  rows.push({
    step: `end to end: ingest DIR (inserted ${s.inserted})`,
    ...measured(e),
    target: '≥ 0.50×, < 400 MB, inserted = N',
    status: !countsOk ? 'FAIL' : eRatio >= 0.5 && e.peakRssMb < 400 ? 'PASS' : 'MISS',
  });
  const low = results.e2eLow;
  if (low) {
    const ls = low.summary as Record<string, number>;
    rows.push({
      step: 'end to end, TOKENLEDGER_LOW_MEMORY=1',
      ...measured(low),
      target: 'opt-in: less RSS for more CPU',
      status: ls.inserted === RECORDS && ls.read === RECORDS ? 'info' : 'FAIL',
    });
  }
  const small = results.e2eSmall;
  if (small) {
    rows.push({
      step: `end to end on ${small.records.toLocaleString('en-US')} records (RSS scaling)`,
      ...measured(small),
      target: '< 400 MB, flat with N',
      status: small.peakRssMb < 400 && e.peakRssMb < 400 ? 'PASS' : 'MISS',
    });
  }
  const smallFiles = results.e2eSmallFiles;
  if (smallFiles) {
    const ss = smallFiles.summary as Record<string, number>;
    const ok = ss.inserted === smallFiles.records && ss.rejected === 0;
    rows.push({
      step: `end to end, ${smallFiles.records.toLocaleString('en-US')} records in ${ss.files?.toLocaleString('en-US')} small files (row by row)`,
      ...measured(smallFiles),
      target: '< 400 MB, inserted = N',
      status: !ok ? 'FAIL' : smallFiles.peakRssMb < 400 ? 'PASS' : 'MISS',
    });
  }
  const wide = results.e2eWide;
  if (wide) {
    const ws = wide.summary as { inserted: number; rejected: number; warnings?: string[] };
    const ok = ws.inserted === wide.records && ws.rejected === 0;
    const retried = (ws.warnings ?? []).some((w) => w.includes('ran out of its memory'));
    rows.push({
      step: `end to end, ${wide.records.toLocaleString('en-US')} records with 16 metadata entries (~3.5 KB)${retried ? ', out of memory once: retried in smaller pieces' : ''}`,
      ...measured(wide),
      target: '< 400 MB, inserted = N',
      status: !ok ? 'FAIL' : wide.peakRssMb < 400 ? 'PASS' : 'MISS',
    });
  }
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
  for (const enc of ['json', 'protobuf'] as const) {
    const floor = results[`otlpFloor_${enc}`];
    const e2e = results[`otlpE2e_${enc}`];
    if (!floor || !e2e) continue;
    const eps = (r: Result) => `${(r.records / r.seconds / 1000).toFixed(1)}k events/s`;
    rows.push({
      step: `OTLP ${enc}: decode only (floor)`,
      value: eps(floor),
      ratio: '1.00',
      rss: mb(floor),
      target: 'reference',
      status: 'info',
    });
    const ratio = e2e.records / e2e.seconds / (floor.records / floor.seconds);
    rows.push({
      step: `OTLP ${enc}: HTTP → receiver → ledger (${e2e.records} stored)`,
      value: eps(e2e),
      ratio: ratio.toFixed(2),
      rss: mb(e2e),
      target: 'stored = sent; ratio to the floor',
      status: e2e.records === e2e.sent ? 'info' : 'FAIL',
    });
  }
  printTable(rows);
  console.log(
    `\nend to end: ${e.seconds.toFixed(1)} s (open ${(e.openSeconds as number).toFixed(2)}, ingest ${(e.ingestSeconds as number).toFixed(1)}, close ${(e.closeSeconds as number).toFixed(2)}), ` +
      `CPU ${e.stepCpuSeconds.toFixed(1)} s on ${cpus().length} cores; floor CPU ${f1.stepCpuSeconds.toFixed(1)} s; ` +
      `unpriced ${s.unpriced}, duplicates ${s.duplicates}`,
  );
  const calls = Object.entries(e.storeCalls as Record<string, Record<string, number>>)
    .filter(([, c]) => (c.storeSeconds ?? 0) + (c.syncSeconds ?? 0) >= 0.05)
    .map(
      ([k, c]) =>
        `${k} ×${c.calls}: ${c.syncSeconds?.toFixed(1)} s JS + ${c.storeSeconds?.toFixed(1)} s to settle`,
    );
  if (calls.length > 0) console.log(`store calls during end to end: ${calls.join('; ')}`);
  const noisy = Object.entries(results).filter(([, r]) => r.othersCpuSeconds > 0.1 * r.seconds);
  if (noisy.length > 0) {
    console.log(
      `warning: other processes used CPU during ${noisy.map(([k, r]) => `${k} (${r.othersCpuSeconds.toFixed(1)} s of ${r.seconds.toFixed(1)} s)`).join(', ')}: ratios are less reliable`,
    );
  }
  return { rows, floorRate };
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
    cols
      .map((c, i) => (r === head && c === 'status' ? 'status' : r[c]).padEnd(w[i] ?? 0))
      .join('  ');
  console.log(`\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}
