import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { inTransaction } from './transaction.ts';

test('inTransaction commits what fn wrote, rolls back when it throws (rethrowing) or when told not to commit', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const count = async () =>
    Number((await conn.runAndReadAll('SELECT count(*) AS n FROM t')).getRowObjects()[0]?.n);
  try {
    await conn.run('CREATE TABLE t (x INTEGER)');
    const kept = await inTransaction(conn, async () => {
      await conn.run('INSERT INTO t VALUES (1)');
      return 'kept';
    });
    assert.equal(kept, 'kept');
    assert.equal(await count(), 1);
    await assert.rejects(
      inTransaction(conn, async () => {
        await conn.run('INSERT INTO t VALUES (2)');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await count(), 1);
    // A dry run: fn's result, none of its writes.
    const seen = await inTransaction(
      conn,
      async () => {
        await conn.run('INSERT INTO t VALUES (3)');
        return count();
      },
      false,
    );
    assert.deepEqual([seen, await count()], [2, 1]);
    // The connection is usable afterwards: no transaction was left open.
    await inTransaction(conn, () => conn.run('INSERT INTO t VALUES (4)'));
    assert.equal(await count(), 2);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});
