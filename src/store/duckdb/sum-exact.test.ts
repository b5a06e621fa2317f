/**
 * Summing stored costs loses nothing: the report's groups add up to its total, and both equal the sum of the
 * per-record costs computed here in bigint. Costs are up to 10^11 pico-USD each (a $0.10 request), so the total
 * (~5·10^16) is far past 2^53: a float anywhere between the table and the report would show. (The pricing
 * arithmetic itself is checked over 10M records in src/core/money.test.ts; 1M rows here keep the suite fast —
 * inserting 10M 39-column rows into a DuckDB file takes a minute on CI machines.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { createDuckDbStore } from './store.ts';

const tmp = tempDir();
after(() => tmp.remove());

const N = 1_000_000;
const TEAMS = 12;
/** The cost of record i, in pico-USD: the same formula as the SQL below (i × 104,729 stays below 2^53). */
const costOf = (i: number): bigint => BigInt((i * 104_729) % 100_000_000_000);

test(`${N.toLocaleString('en')} stored costs: groups sum to the total, and the total is exact`, {
  timeout: 300_000,
}, async () => {
  const path = join(tmp.path, 'sum.duckdb');
  const store = await createDuckDbStore({ path });
  await store.migrate();
  await store.close();

  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  await conn.run(`
    INSERT INTO usage
    SELECT 'r', TIMESTAMP '2026-03-01' + INTERVAL (i % 2592000) SECOND, '111122223333', 'us-east-1', NULL,
      'Converse', 'm', 'm', NULL, 'in-region', NULL, 'bare', 'standard', 1, 1, 0, 0, 0, NULL, NULL, NULL, NULL,
      'team-' || (i % ${TEAMS}), 'u', 'f', 'p', 'e', 'c', 'a', 's', NULL, '{}',
      (i * 104729) % 100000000000, 'p1', 'h', '', 'x', 0, TIMESTAMP '2026-03-01', NULL
    FROM range(${N}) t(i)`);
  conn.closeSync();
  instance.closeSync();

  let expected = 0n;
  const perTeam = new Array<bigint>(TEAMS).fill(0n);
  for (let i = 0; i < N; i++) {
    const c = costOf(i);
    expected += c;
    perTeam[i % TEAMS] = (perTeam[i % TEAMS] ?? 0n) + c;
  }
  assert.ok(expected > BigInt(Number.MAX_SAFE_INTEGER) * 4n, `${expected}`);

  const reader = await createDuckDbStore({ path, readOnly: true });
  try {
    const result = await reader.queryUsage({ groupBy: ['team'], where: [] });
    assert.equal(result.total.requests, N);
    assert.equal(result.total.costPicos, expected, 'total computed once');
    assert.equal(
      result.rows.reduce((a, r) => a + r.costPicos, 0n),
      expected,
      'sum of the groups',
    );
    for (const r of result.rows) {
      const team = Number(String(r.keys.team).slice('team-'.length));
      assert.equal(r.costPicos, perTeam[team], `team-${team}`);
    }
  } finally {
    await reader.close();
  }
});
