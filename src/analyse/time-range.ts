/**
 * `--since 7d | 24h | 2026-01-01 | 2026-01-01T10:00 | 2026-01-01T10:00+02:00` → epoch ms, relative to an injected
 * clock; a date or time without a zone is UTC.
 */
import { AppError } from '../core/index.ts';

const RELATIVE = /^(\d+)\s*(h|d|w|m)$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;

/** `7d` → 7 and `d`; null when the text is not a relative time. */
function relative(text: string): { n: number; unit: 'h' | 'd' | 'w' | 'm' } | null {
  const rel = RELATIVE.exec(text.trim());
  return rel === null ? null : { n: Number(rel[1]), unit: rel[2] as 'h' | 'd' | 'w' | 'm' };
}

/** `n` calendar months before `now`, at the start of `now`'s hour. */
function monthsBack(now: number, n: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, d.getUTCDate(), d.getUTCHours());
}

export function parseTime(text: string, now: number, flag: string): number {
  const rel = relative(text);
  if (rel) {
    const { n, unit } = rel;
    if (unit === 'm') return monthsBack(now, n);
    // Relative ranges start at a whole hour or day boundary so that repeated runs agree.
    const start = now - n * UNIT_MS[unit];
    const step = unit === 'h' ? UNIT_MS.h : UNIT_MS.d;
    return Math.floor(start / step) * step + (unit === 'h' ? 0 : step);
  }
  // Dates and times without a zone are UTC, as everything in the ledger is (Date.parse would read a zone-less
  // date-time in the machine's zone).
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? `${text}T00:00:00Z`
    : ZONELESS.test(text)
      ? `${text.replace(' ', 'T')}Z`
      : text;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) {
    throw new AppError(
      'analyse.bad_time',
      `${flag} ${JSON.stringify(text)}: expected e.g. 7d, 24h, 3m or 2026-01-31`,
    );
  }
  return ms;
}

/**
 * `--since`/`--until` of an ingest: a relative value is a window back from now (`1d` = the last 24 hours, from the
 * start of that hour), not the calendar days a report means by it (`parseTime`: `1d` = since today's midnight), so a
 * daily `ingest … --since 1d` reads a whole day whenever it runs. Dates and times as `parseTime`.
 */
export function parseWindowTime(text: string, now: number, flag: string): number {
  const rel = relative(text);
  if (rel === null) return parseTime(text, now, flag);
  if (rel.unit === 'm') return monthsBack(now, rel.n);
  return Math.floor((now - rel.n * UNIT_MS[rel.unit]) / UNIT_MS.h) * UNIT_MS.h;
}
