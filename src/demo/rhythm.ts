/**
 * When requests happen: hour-of-day profiles in each Region's local time, quiet weekends, the 02:00 UTC batch
 * job, a gentle growth trend over the period and the odd spike day. Everything is an expected count per hour;
 * the generator turns it into whole requests.
 */
import { REGIONS } from './organisation.ts';
import type { Random } from './random.ts';
import type { Rhythm, Workload } from './workloads.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

const normalise = (weights: readonly number[]): number[] => {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
};

// biome-ignore format: one value per local hour, 00-23
const OFFICE = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 7, 8, 7.5, 5, 7, 8, 7.5, 6, 4, 2, 1.2, 1, 0.8, 0.5, 0.3];
// biome-ignore format: one value per local hour, 00-23
const CUSTOMER = [1.5, 1, 0.8, 0.7, 0.7, 1, 2, 3.5, 5, 6, 6.5, 6.5, 6, 6.5, 6.5, 6, 5.5, 5, 4.5, 4.5, 4, 3.5, 3, 2];
// biome-ignore format: one value per UTC hour, 00-23
const NIGHTLY = [0, 0.05, 0.7, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

const PROFILES: Readonly<Record<Rhythm, readonly number[]>> = {
  office: normalise(OFFICE),
  customer: normalise(CUSTOMER),
  nightly: normalise(NIGHTLY),
  // Scheduled eval runs give CI a floor around the clock; merges add the office-hours bulk.
  ci: normalise(normalise(OFFICE).map((w) => 0.7 * w + 0.3 / 24)),
};

/** Weekend volume relative to a weekday. Together these land near 20 % for the whole organisation. */
const WEEKEND: Readonly<Record<Rhythm, number>> = {
  office: 0.06,
  customer: 0.25,
  nightly: 1,
  ci: 0.2,
};

export interface Calendar {
  readonly startMs: number;
  readonly days: number;
  /** Day index of the support incident (support-bot traffic ×2.5, throttling), or -1. */
  readonly incidentDay: number;
  /** Day index of the internal hackathon (Claude Code traffic ×1.8), or -1. */
  readonly hackathonDay: number;
}

export function planCalendar(startMs: number, days: number, rng: Random): Calendar {
  const incidentDay = days >= 3 ? rng.int(Math.floor(days / 2), days - 1) : days - 1;
  let hackathonDay = -1;
  if (days >= 4) {
    const weekdays: number[] = [];
    for (let d = 1; d < Math.floor(days / 2); d++) {
      const dow = new Date(startMs + d * DAY_MS + 12 * HOUR_MS).getUTCDay();
      if (dow !== 0 && dow !== 6) weekdays.push(d);
    }
    if (weekdays.length > 0) hackathonDay = rng.pick(weekdays);
  }
  return { startMs, days, incidentDay, hackathonDay };
}

export function dayIndex(cal: Calendar, atMs: number): number {
  return Math.floor((atMs - cal.startMs) / DAY_MS);
}

/** Expected number of requests for one workload in the hour starting at `hourMs`. */
export function expectedRequests(
  w: Workload,
  share: number,
  requestsPerDay: number,
  hourMs: number,
  cal: Calendar,
): number {
  const local = new Date(hourMs + REGIONS[w.region].utcOffset * HOUR_MS);
  const hour = w.rhythm === 'nightly' ? new Date(hourMs).getUTCHours() : local.getUTCHours();
  const dow = local.getUTCDay();
  const weekend = WEEKEND[w.rhythm];
  const dayFactor = (dow === 0 || dow === 6 ? weekend : 1) / ((5 + 2 * weekend) / 7);
  const day = dayIndex(cal, hourMs);
  const growth = cal.days > 1 ? 0.88 + (0.24 * day) / (cal.days - 1) : 1;
  return (
    requestsPerDay *
    share *
    (PROFILES[w.rhythm][hour] ?? 0) *
    dayFactor *
    growth *
    spikeFactor(w, day, cal)
  );
}

export function spikeFactor(w: Workload, day: number, cal: Calendar): number {
  if (w.spike === 'incident' && day === cal.incidentDay) return 2.5;
  if (w.spike === 'hackathon' && day === cal.hackathonDay) return 1.8;
  return 1;
}
