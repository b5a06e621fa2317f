import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeRecord } from '../../../test/support/records.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { describeStoreContract } from '../store.contract.ts';
import { createDuckDbStore, duckDbConfig, encodeUsage } from './store.ts';

describeStoreContract('duckdb in memory', () => createDuckDbStore({ path: ':memory:' }));

const dir = tempDir();
after(() => dir.remove());
let n = 0;
describeStoreContract('duckdb file', () =>
  createDuckDbStore({ path: join(dir.path, `ledger-${n++}.duckdb`) }),
);

test('records encoded elsewhere (encodeUsage) are written like writeUsage: deduped, the file deleted', async () => {
  const store = await createDuckDbStore({ path: ':memory:' });
  await store.migrate();
  try {
    await store.writeUsage({ records: [makeRecord({ id: 'a' })], rejects: [], checkpoints: [] });
    const file = join(dir.path, 'encoded.ndjson');
    const records = [makeRecord({ id: 'a' }), makeRecord({ id: 'b' }), makeRecord({ id: 'b' })];
    const encoded = encodeUsage(records, file);
    assert.deepEqual({ records: encoded.records, rows: encoded.rows }, { records: 3, rows: 2 });
    assert.deepEqual(await store.writeEncodedUsage(encoded), {
      inserted: 1,
      duplicates: 2,
      rejects: 0,
    });
    assert.equal(existsSync(file), false, 'the store deletes the file');
    assert.deepEqual(await store.writeEncodedUsage(encodeUsage(records, file)), {
      inserted: 0,
      duplicates: 3,
      rejects: 0,
    });
    // A narrower dedupe window sees only the ledger's rows that close in time.
    const later = makeRecord({ id: 'a', at: '2026-03-02T12:00:00Z' });
    const near = makeRecord({ id: 'b', at: '2026-03-02T10:05:00Z' });
    assert.deepEqual(
      await store.writeEncodedUsage(encodeUsage([near], file), { dedupeMarginMs: 600_000 }),
      { inserted: 0, duplicates: 1, rejects: 0 },
    );
    assert.deepEqual(
      await store.writeEncodedUsage(encodeUsage([later], file), { dedupeMarginMs: 600_000 }),
      { inserted: 1, duplicates: 0, rejects: 0 },
      'two hours away is outside a ten-minute window',
    );
    const empty = encodeUsage([], file);
    assert.equal(empty.file, null);
    assert.deepEqual(await store.writeEncodedUsage(empty), {
      inserted: 0,
      duplicates: 0,
      rejects: 0,
    });
    const { total } = await store.queryUsage({ groupBy: [], where: [] });
    assert.equal(total.requests, 3);
  } finally {
    await store.close();
  }
});

test('lowMemory: DuckDB opens with large frees handed back from 16 MiB instead of 512 MiB', async () => {
  const setting = async (lowMemory: boolean) => {
    const instance = await DuckDBInstance.create(
      ':memory:',
      duckDbConfig({ path: ':memory:', lowMemory }),
    );
    const conn = await instance.connect();
    try {
      const rows = await conn.runAndReadAll(
        "SELECT current_setting('allocator_bulk_deallocation_flush_threshold')::VARCHAR AS v",
      );
      return rows.getRowObjectsJS()[0]?.v;
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  };
  assert.equal(await setting(true), '16.0 MiB');
  assert.equal(await setting(false), '512.0 MiB');
});

test('writers sharing the connection take turns: keys saved while usage batches insert all land', async () => {
  const store = await createDuckDbStore({ path: join(dir.path, 'turns.duckdb') });
  await store.migrate();
  try {
    const key = (i: number) => ({
      id: `k${i}`,
      hash: `h${i}`,
      name: `key ${i}`,
      team: 'search',
      user: null,
      feature: null,
      project: null,
      environment: null,
      createdAt: Date.parse('2026-03-02T10:00:00Z'),
      expiresAt: null,
      revokedAt: null,
      replacedBy: null,
    });
    const batch = (i: number) =>
      encodeUsage(
        Array.from({ length: 50 }, (_, j) => makeRecord({ id: `turn-${i}-${j}` })),
        join(dir.path, `turn-${i}.ndjson`),
      );
    // Interleaved as a gateway does: a usage batch in flight when the admin API saves a key, and so on.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        store.writeEncodedUsage(batch(i)),
        store.gatewayKeys.put([key(i)]),
        store.telemetry.enrich({ fromMs: 0, toMs: Date.now() }),
      ]).flat(),
    );
    assert.equal((await store.gatewayKeys.list()).length, 20);
    const total = await store.queryUsage({ groupBy: [], where: [] });
    assert.equal(total.total.requests, 1000);
  } finally {
    await store.close();
  }
});
