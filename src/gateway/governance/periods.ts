/**
 * Budget periods as instants. Calendar periods follow the local calendar of an IANA time zone (daily from local
 * midnight, weekly from Monday 00:00 as ISO weeks do, monthly from the 1st), so a "monthly" budget resets on the
 * 1st, not every 30 days, and never drifts. Rolling windows are fixed lengths counted in buckets.
 */
import type { CounterWindow } from './counter-store.ts';

export type PeriodName = 'daily' | 'weekly' | 'monthly';

/** A calendar period [start, end) in epoch ms. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** No zone is more than 14 h from UTC; a day's start lies within this distance of its UTC midnight. */
const SEARCH_MS = 27 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local wall-clock time of an instant, as if it were UTC (epoch ms, whole seconds). */
function wallClock(t: number, timeZone: string): number {
  const v = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(timeZone).formatToParts(t)) {
    if (p.type in v) v[p.type as keyof typeof v] = Number(p.value);
  }
  return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second);
}

/** The local calendar date of an instant, as whole days since 1970-01-01. */
export function localDay(t: number, timeZone: string): number {
  if (timeZone === 'UTC') return Math.floor(t / DAY_MS);
  return Math.floor(wallClock(t, timeZone) / DAY_MS);
}

/**
 * The first instant whose local date is `day` or later. Local midnight by the UTC offset, checked; when that is not
 * the boundary (DST switching at midnight, as in America/Santiago, where a day can start at 01:00), a binary search
 * finds the first instant. Runs only when a period rolls over (callers cache the span).
 */
export function dayStart(day: number, timeZone: string): number {
  if (timeZone === 'UTC') return day * DAY_MS;
  const midnight = day * DAY_MS;
  const first = midnight - (wallClock(midnight, timeZone) - Math.floor(midnight / 1000) * 1000);
  const second = midnight - (wallClock(first, timeZone) - first);
  for (const c of [first, second]) {
    if (localDay(c, timeZone) >= day && localDay(c - 1, timeZone) < day) return c;
  }
  let lo = day * DAY_MS - SEARCH_MS; // local date < day
  let hi = day * DAY_MS + SEARCH_MS; // local date >= day
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The calendar period containing `now`: local day, ISO week (Monday first) or month, in `timeZone`. */
export function calendarSpan(period: PeriodName, timeZone: string, now: number): Span {
  const today = localDay(now, timeZone);
  let first: number;
  let next: number;
  if (period === 'daily') {
    first = today;
    next = today + 1;
  } else if (period === 'weekly') {
    const mondayBased = (new Date(today * DAY_MS).getUTCDay() + 6) % 7;
    first = today - mondayBased;
    next = first + 7;
  } else {
    const date = new Date(today * DAY_MS);
    first = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / DAY_MS;
    next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / DAY_MS;
  }
  return { start: dayStart(first, timeZone), end: dayStart(next, timeZone) };
}

/** `calendarSpan` with the last answer cached: O(1) per request, recomputed only when `now` leaves the span. */
export function periodClock(period: PeriodName, timeZone: string): (now: number) => Span {
  let span: Span = { start: 0, end: 0 };
  return (now) => {
    if (now < span.start || now >= span.end) span = calendarSpan(period, timeZone, now);
    return span;
  };
}

/** Length of a rolling budget window: rolling monthly is the last 30 days. */
export const ROLLING_HOURS: Readonly<Record<PeriodName, number>> = {
  daily: 24,
  weekly: 7 * 24,
  monthly: 30 * 24,
};

/**
 * A rolling window of `lengthMs` in buckets of `bucketMs`. One bucket more than the length: the current, partly
 * elapsed bucket plus enough whole ones to cover the length, so the counted span is always between `lengthMs` and
 * `lengthMs + bucketMs`. Spend therefore leaves the window up to one bucket late, never early: a limit is never
 * exceeded within any true window of `lengthMs`; the price is refusing for at most one bucket longer than exact.
 */
export function rollingWindow(lengthMs: number, bucketMs: number): CounterWindow {
  return { kind: 'rolling', bucketMs, buckets: Math.ceil(lengthMs / bucketMs) + 1 };
}

/** Rolling budgets: hourly buckets (error ≤ 1 h). */
export function rollingBudgetWindow(period: PeriodName): CounterWindow {
  return rollingWindow(ROLLING_HOURS[period] * HOUR_MS, HOUR_MS);
}

/** RPM/TPM: a sliding minute in 1-second buckets (error ≤ 1 s). */
export const MINUTE_WINDOW: CounterWindow = rollingWindow(60_000, 1000);
