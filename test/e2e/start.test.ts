/**
 * `npm start` as a newcomer runs it (`tokenledger start` in a child process): an empty ledger gets the demo
 * organisation and a spend report; a second start reports the same ledger without building it again.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCliProcess } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const tmp = tempDir('tl-start-');
after(() => tmp.remove());

test('npm start: the demo organisation, then its spend by team and model', {
  timeout: 180_000,
}, async () => {
  const env = { PATH: process.env.PATH, HOME: tmp.path };
  const db = join(tmp.path, 'tokenledger.duckdb');
  const first = await runCliProcess(['start', '--db', db], env);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /is empty: building the demo organisation/);
  const total = (out: string) =>
    /Spend by team, last 30 days \(list price, USD\) — (\$[\d,.]+) in total/.exec(out)?.[1];
  assert.match(total(first.out) ?? '', /^\$[1-9]/, 'a non-zero total');
  assert.match(first.out, /Top models, last 30 days/);
  const again = await runCliProcess(['start', '--db', db], env);
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /building the demo/);
  // (Not compared to the first total: the 30-day window moves with the clock between the runs.)
  assert.match(total(again.out) ?? '', /^\$[1-9]/);
});
