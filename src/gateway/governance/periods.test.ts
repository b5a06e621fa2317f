import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  calendarSpan,
  MINUTE_WINDOW,
  type PeriodName,
  periodClock,
  rollingBudgetWindow,
} from './periods.ts';

const at = (iso: string): number => Date.parse(iso);
const span = (period: PeriodName, tz: string, iso: string) => {
  const s = calendarSpan(period, tz, at(iso));
  return [new Date(s.start).toISOString(), new Date(s.end).toISOString()];
};

describe('calendar periods', () => {
  // Expected boundaries were checked against Intl's own rendering of those instants in each zone.
  const cases: [PeriodName, string, string, string, string][] = [
    [
      'daily',
      'UTC',
      '2026-11-23T12:00:00Z',
      '2026-11-23T00:00:00.000Z',
      '2026-11-24T00:00:00.000Z',
    ],
    [
      'weekly',
      'UTC',
      '2026-11-23T00:00:00Z',
      '2026-11-23T00:00:00.000Z',
      '2026-11-30T00:00:00.000Z',
    ],
    [
      'weekly',
      'UTC',
      '2026-11-22T23:59:59Z',
      '2026-11-16T00:00:00.000Z',
      '2026-11-23T00:00:00.000Z',
    ],
    // ISO weeks cross the year: Friday 2027-01-01 is in the week of Monday 2026-12-28.
    [
      'weekly',
      'UTC',
      '2027-01-01T10:00:00Z',
      '2026-12-28T00:00:00.000Z',
      '2027-01-04T00:00:00.000Z',
    ],
    [
      'monthly',
      'UTC',
      '2026-02-28T23:59:59Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ],
    [
      'monthly',
      'UTC',
      '2026-12-31T23:59:59Z',
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ],
    // Sunday 23:59:59 CEST on the day DST starts: the week began on Monday in CET and is 167 hours long.
    [
      'weekly',
      'Europe/Berlin',
      '2026-03-29T21:59:59Z',
      '2026-03-22T23:00:00.000Z',
      '2026-03-29T22:00:00.000Z',
    ],
    [
      'weekly',
      'Europe/Berlin',
      '2026-03-29T22:00:00Z',
      '2026-03-29T22:00:00.000Z',
      '2026-04-05T22:00:00.000Z',
    ],
    // October 31 23:59:59 PDT is still October; November ends in PST.
    [
      'monthly',
      'America/Los_Angeles',
      '2026-11-01T06:59:59Z',
      '2026-10-01T07:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ],
    [
      'monthly',
      'America/Los_Angeles',
      '2026-11-01T07:00:00Z',
      '2026-11-01T07:00:00.000Z',
      '2026-12-01T08:00:00.000Z',
    ],
    [
      'daily',
      'Asia/Kolkata',
      '2026-11-23T18:29:59Z',
      '2026-11-22T18:30:00.000Z',
      '2026-11-23T18:30:00.000Z',
    ],
    // Santiago moves its clocks at midnight: 6 Sep 2026 has no 00:00 and starts at 01:00 (04:00Z).
    [
      'daily',
      'America/Santiago',
      '2026-09-06T12:00:00Z',
      '2026-09-06T04:00:00.000Z',
      '2026-09-07T03:00:00.000Z',
    ],
    // …and on 4 Apr 2026 23:00–24:00 happens twice: a 25-hour day.
    [
      'daily',
      'America/Santiago',
      '2026-04-05T03:30:00Z',
      '2026-04-04T03:00:00.000Z',
      '2026-04-05T04:00:00.000Z',
    ],
  ];
  for (const [period, tz, now, start, end] of cases) {
    test(`${period} ${tz} at ${now}`, () => assert.deepEqual(span(period, tz, now), [start, end]));
  }

  test('consecutive periods tile time: each contains its instant and ends where the next begins', () => {
    for (const tz of [
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    ]) {
      for (const period of ['daily', 'weekly', 'monthly'] as const) {
        let s = calendarSpan(period, tz, at('2026-01-01T00:00:00Z'));
        for (let i = 0; i < 60; i++) {
          const next = calendarSpan(period, tz, s.end);
          assert.equal(next.start, s.end, `${tz} ${period} after ${new Date(s.end).toISOString()}`);
          assert.ok(next.end > next.start);
          const mid = calendarSpan(period, tz, Math.floor((s.start + s.end) / 2));
          assert.deepEqual(mid, s);
          s = next;
        }
      }
    }
  });

  test('the cached clock answers like calendarSpan across a rollover', () => {
    const clock = periodClock('daily', 'America/New_York');
    for (const iso of ['2026-11-23T04:59:59Z', '2026-11-23T05:00:00Z', '2026-11-22T12:00:00Z']) {
      assert.deepEqual(clock(at(iso)), calendarSpan('daily', 'America/New_York', at(iso)));
    }
  });
});

describe('rolling windows', () => {
  test('one bucket more than the length: spend leaves late, never early', () => {
    assert.deepEqual(rollingBudgetWindow('daily'), {
      kind: 'rolling',
      bucketMs: 3_600_000,
      buckets: 25,
    });
    assert.deepEqual(rollingBudgetWindow('monthly'), {
      kind: 'rolling',
      bucketMs: 3_600_000,
      buckets: 721,
    });
    assert.deepEqual(MINUTE_WINDOW, { kind: 'rolling', bucketMs: 1000, buckets: 61 });
  });
});
