/**
 * The Store contract suite: every Store implementation runs it (describeStoreContract(name, factory)). When the
 * interface gains a behaviour, the behaviour is added here first.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeRecord } from '../../test/support/records.ts';
import type { Store } from './store.ts';

export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  const withStore = async (fn: (s: Store) => Promise<void>) => {
    const store = await open();
    await store.migrate();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`Store contract: ${name}`, () => {
    test('migrate is idempotent and close can be called twice', async () => {
      const store = await open();
      await store.migrate();
      await store.migrate();
      await store.close();
      await store.close();
    });

    test('writing the same records again inserts nothing', () =>
      withStore(async (s) => {
        const records = [makeRecord({ id: 'a' }), makeRecord({ id: 'b' })];
        assert.deepEqual(await s.writeUsage({ records, rejects: [], checkpoints: [] }), {
          inserted: 2,
          duplicates: 0,
          rejects: 0,
        });
        assert.deepEqual(await s.writeUsage({ records, rejects: [], checkpoints: [] }), {
          inserted: 0,
          duplicates: 2,
          rejects: 0,
        });
        const { total } = await s.queryUsage({ groupBy: [], where: [] });
        assert.equal(total.requests, 2);
      }));

    test('a request id repeated inside one batch is stored once', () =>
      withStore(async (s) => {
        const r = await s.writeUsage({
          records: [makeRecord({ id: 'x' }), makeRecord({ id: 'x' })],
          rejects: [],
          checkpoints: [],
        });
        assert.equal(r.inserted, 1);
        assert.equal(r.duplicates, 1);
      }));

    test('checkpoints commit with the batch; the last value for a key wins', () =>
      withStore(async (s) => {
        await s.writeUsage({
          records: [makeRecord()],
          rejects: [],
          checkpoints: [
            { key: 'src:a', value: '1' },
            { key: 'src:a', value: '2' },
            { key: 'other:b', value: '3' },
          ],
        });
        assert.equal(await s.getCheckpoint('src:a'), '2');
        assert.deepEqual([...(await s.checkpoints('src:'))], [['src:a', '2']]);
        await s.setCheckpoint('src:a', '4');
        assert.equal(await s.getCheckpoint('src:a'), '4');
        assert.equal(await s.getCheckpoint('missing'), undefined);
      }));

    test('rejects are kept once, with place and reason', () =>
      withStore(async (s) => {
        const reject = {
          source: { uri: '/logs/x.jsonl', line: 7 },
          reason: 'missing modelId',
          excerpt: '{…',
        };
        await s.writeUsage({ records: [], rejects: [reject, reject], checkpoints: [] });
        await s.writeUsage({ records: [], rejects: [reject], checkpoints: [] });
        assert.deepEqual(await s.rejects(10), [
          { uri: '/logs/x.jsonl', line: 7, reason: 'missing modelId', excerpt: '{…' },
        ]);
      }));

    test('aggregates by dimension and day exactly, with unpriced usage counted apart', () =>
      withStore(async (s) => {
        await s.writeUsage({
          records: [
            makeRecord({
              team: 'search',
              at: '2026-03-01T10:00:00Z',
              cost: 1_000_000_001n,
              input: 10,
            }),
            makeRecord({
              team: 'search',
              at: '2026-03-01T23:59:59Z',
              cost: 2n,
              input: 20,
              errorCode: 'ThrottlingException',
            }),
            makeRecord({
              team: 'search',
              at: '2026-03-02T00:00:00Z',
              cost: null,
              input: 40,
              model: 'writer.palmyra-x5-v1:0',
            }),
            makeRecord({
              team: 'growth',
              at: '2026-03-02T08:00:00Z',
              cost: 5n,
              metadata: { team: 'growth', ticket: 'T-1' },
            }),
          ],
          rejects: [],
          checkpoints: [],
        });
        const { rows, total } = await s.queryUsage({ groupBy: ['team', 'day'], where: [] });
        assert.equal(total.requests, 4);
        assert.equal(total.costPicos, 1_000_000_008n);
        assert.equal(total.unpricedRequests, 1);
        const byKey = new Map(rows.map((r) => [`${r.keys.team}/${r.keys.day}`, r]));
        const a = byKey.get('search/2026-03-01');
        assert.equal(a?.requests, 2);
        assert.equal(a?.errors, 1);
        assert.equal(a?.costPicos, 1_000_000_003n);
        assert.equal(a?.inputTokens, 30n);
        const b = byKey.get('search/2026-03-02');
        assert.equal(b?.unpricedRequests, 1);
        assert.equal(b?.costPicos, 0n);
        assert.equal(b?.inputTokens, 40n);
        const { rows: filtered } = await s.queryUsage({
          groupBy: ['meta:ticket'],
          where: [{ key: 'team', value: 'growth' }],
          since: Date.parse('2026-03-02T00:00:00Z'),
          until: Date.parse('2026-03-03T00:00:00Z'),
        });
        assert.deepEqual(
          filtered.map((r) => [r.keys['meta:ticket'], r.requests, r.costPicos]),
          [['T-1', 1, 5n]],
        );
        const unpriced = await s.unpricedModels({ where: [] });
        assert.deepEqual(
          unpriced.map((u) => [u.model, u.requests, u.tokens]),
          [['writer.palmyra-x5-v1:0', 1, 50n]],
        );
        assert.equal(await s.getRecord('req-does-not-exist'), null);
      }));

    test('getRecord returns the stored record', () =>
      withStore(async (s) => {
        await s.writeUsage({
          records: [makeRecord({ id: 'find-me', team: 'legal' })],
          rejects: [],
          checkpoints: [],
        });
        const r = await s.getRecord('find-me');
        assert.equal(r?.team, 'legal');
        assert.equal(r?.request_id, 'find-me');
      }));
  });
}
