/** `--since` / `--until`: relative ranges, dates, and times, a time without a zone read as UTC like the ledger. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTime, parseWindowTime } from './time-range.ts';

test('a date or a time without a zone is UTC whatever the machine zone; an offset is kept', () => {
  const zone = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    assert.equal(parseTime('2026-06-10', 0, '--since'), Date.UTC(2026, 5, 10));
    assert.equal(parseTime('2026-06-10T11:30', 0, '--since'), Date.UTC(2026, 5, 10, 11, 30));
    assert.equal(parseTime('2026-06-10 11:30:15', 0, '--since'), Date.UTC(2026, 5, 10, 11, 30, 15));
    assert.equal(parseTime('2026-06-10T11:30Z', 0, '--since'), Date.UTC(2026, 5, 10, 11, 30));
    assert.equal(parseTime('2026-06-10T11:30+02:00', 0, '--since'), Date.UTC(2026, 5, 10, 9, 30));
  } finally {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
});

test('relative ranges start at a whole hour or day; nonsense is named', () => {
  const now = Date.UTC(2026, 5, 10, 11, 30);
  assert.equal(parseTime('24h', now, '--since'), Date.UTC(2026, 5, 9, 11));
  assert.equal(parseTime('7d', now, '--since'), Date.UTC(2026, 5, 4));
  assert.throws(() => parseTime('yesterday', now, '--since'), /--since "yesterday": expected/);
});

test('an ingest window: 1d is the last 24 hours from the start of that hour, whenever it runs', () => {
  const now = Date.UTC(2026, 10, 25, 0, 30); // just after midnight: a report's 1d would be 30 minutes
  assert.equal(parseWindowTime('1d', now, '--since'), Date.UTC(2026, 10, 24, 0));
  assert.equal(parseWindowTime('24h', now, '--since'), Date.UTC(2026, 10, 24, 0));
  assert.equal(parseWindowTime('2w', now, '--since'), Date.UTC(2026, 10, 11, 0));
  assert.equal(parseWindowTime('2026-11-20', now, '--since'), Date.UTC(2026, 10, 20));
  assert.equal(
    parseTime('1d', now, '--since'),
    Date.UTC(2026, 10, 25),
    'reports keep calendar days',
  );
});
