/** Terminal, CSV and JSON renderings of reports. Tables fit 100 columns: long key values are shortened with "…". */

import {
  columnName,
  REPORT_COUNTERS,
  type Report,
  rowToJson,
  shortModel,
} from '../analyse/index.ts';
import { AppError, formatUsdHuman } from '../core/index.ts';
import type { UsageRow } from '../store/index.ts';

export function compact(n: bigint | number): string {
  const v = Number(n);
  if (v < 1000) return String(v);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (v >= size) {
      const x = v / size;
      return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}${suffix}`;
    }
  }
  return String(v);
}

/** Control characters shown escaped (`\n`, `\t`, `\u001b`…): request metadata may hold them, a row is one line. */
function printable(s: string): string {
  let out: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f) {
      if (out !== null) out += s[i];
      continue;
    }
    out ??= s.slice(0, i);
    out +=
      c === 10
        ? '\\n'
        : c === 13
          ? '\\r'
          : c === 9
            ? '\\t'
            : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out ?? s;
}

export function renderTable(
  headers: readonly string[],
  rows: readonly string[][],
  rightAlign: readonly boolean[],
  width = 100,
  /** Key columns never shortened (ids a reader copies, e.g. request ids): the table may then be wider. */
  whole: readonly boolean[] = [],
): string {
  rows = rows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const gap = 2;
  let total = widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  // Shrink the widest left-aligned (key) columns until the table fits.
  while (total > width) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (!rightAlign[i] && !whole[i] && w > 8 && (widest < 0 || w > (widths[widest] ?? 0)))
        widest = i;
    });
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    total--;
  }
  const cell = (text: string, i: number) => {
    const w = widths[i] ?? 0;
    const t = text.length > w ? `${text.slice(0, Math.max(1, w - 1))}…` : text;
    return rightAlign[i] ? t.padStart(w) : t.padEnd(w);
  };
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => cell(c, i))
      .join(' '.repeat(gap))
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join(' '.repeat(gap));
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

const COUNTER_HEADERS = ['REQUESTS', 'ERRORS', 'INPUT', 'OUTPUT', 'CACHE RD', 'CACHE WR', 'COST'];

function counterCells(r: UsageRow): string[] {
  const cost =
    r.unpricedRequests > 0 ? `${formatUsdHuman(r.costPicos)}*` : formatUsdHuman(r.costPicos);
  return [
    compact(r.requests),
    compact(r.errors),
    compact(r.inputTokens),
    compact(r.outputTokens),
    compact(r.cacheReadTokens),
    compact(r.cacheWriteTokens),
    cost,
  ];
}

function keyCell(key: string, value: string | null | undefined): string {
  if (value === null || value === undefined) return '(none)';
  return key === 'model' ? shortModel(value) : value;
}

export function reportTable(report: Report): string {
  const keys = report.query.groupBy;
  const headers = [...keys.map((k) => columnName(k).toUpperCase()), ...COUNTER_HEADERS];
  const right = headers.map((_, i) => i >= keys.length);
  const rows = report.rows.map((r) => [
    ...keys.map((k) => keyCell(k, r.keys[k])),
    ...counterCells(r),
  ]);
  if (keys.length > 0) {
    rows.push(headers.map(() => ''));
    rows.push([...keys.map((_, i) => (i === 0 ? 'TOTAL' : '')), ...counterCells(report.total)]);
  } else {
    rows.push(counterCells(report.total));
  }
  const out = [
    renderTable(
      headers,
      rows,
      right,
      100,
      keys.map((k) => k === 'request_id'),
    ),
  ];
  if (report.unpriced.length > 0) out.push('', unpricedNote(report));
  if (report.query.cost === 'billed') {
    out.push(
      '',
      'Billed dollars as `tokenledger reconcile` allocated them (credits and tax excluded).',
    );
    if (report.total.unpricedRequests > 0)
      out.push(
        `* ${compact(report.total.unpricedRequests)} requests no reconciled bill covers yet (not in the totals).`,
      );
  }
  return out.join('\n');
}

export function unpricedNote(report: Report): string {
  const n = report.unpriced.reduce((a, u) => a + u.requests, 0);
  const lines = report.unpriced
    .slice(0, 8)
    .map(
      (u) =>
        `  ${u.modelId} in ${u.region}: ${compact(u.requests)} requests, ${compact(u.tokens)} tokens`,
    );
  return [
    `* ${compact(n)} requests of models without a catalog price (tokens counted, cost NOT in totals):`,
    ...lines,
    ...(report.unpriced.length > 8 ? [`  … and ${report.unpriced.length - 8} more`] : []),
    '  Add a price (see `tokenledger prices missing`), then run `tokenledger reprice`: tokens are kept.',
  ].join('\n');
}

/** A cell a spreadsheet would read as a formula (OWASP's list of leading characters). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A plain decimal number: never a formula, and kept as it is (a negative amount must stay a number). */
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * One CSV field. Text that a spreadsheet would run as a formula is defused with a leading `'`: metadata values come
 * from callers (`requestMetadata`, telemetry attributes), and a report is opened by someone else, in Excel or
 * Sheets. Numbers, negative amounts included, are kept as they are.
 */
function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Objects as CSV: a header line, then one line per object with `headers`' fields in that order. */
export function csv(
  rows: readonly Readonly<Record<string, string | number | null | undefined>>[],
  headers: readonly string[],
): string {
  return [
    headers.map(csvCell).join(','),
    ...rows.map((r) => headers.map((h) => csvCell(r[h])).join(',')),
  ].join('\n');
}

export type OutputFormat = 'table' | 'csv' | 'json';

/** `--format table|csv|json`, with `--json` as `--format json`. */
export function outputFormat(format: string | undefined, json: boolean): OutputFormat {
  const f = json ? 'json' : (format ?? 'table');
  if (f !== 'table' && f !== 'csv' && f !== 'json')
    throw new AppError('cli.usage', `--format must be table, csv or json, got ${f}`);
  return f;
}

/** The rows of a report; without `--by`, its one row is the total (a table prints it, so must CSV and JSON). */
const reportRows = (report: Report) =>
  (report.query.groupBy.length === 0 ? [report.total] : report.rows).map(rowToJson);

export function reportCsv(report: Report): string {
  const rows = reportRows(report);
  return csv(rows, [...report.query.groupBy.map(columnName), ...REPORT_COUNTERS]);
}

export function reportJson(report: Report): string {
  return JSON.stringify(reportRows(report), null, 2);
}
