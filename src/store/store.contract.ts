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
        // Values of one key are alternatives; another key narrows further.
        const either = await s.queryUsage({
          groupBy: ['team'],
          where: [
            { key: 'team', value: 'growth' },
            { key: 'team', value: 'search' },
          ],
        });
        assert.deepEqual(either.rows.map((r) => r.keys.team).sort(), ['growth', 'search']);
        assert.equal(either.total.requests, 4);
        const narrowed = await s.queryUsage({
          groupBy: ['team'],
          where: [
            { key: 'team', value: 'growth' },
            { key: 'day', value: '2026-03-01' },
            { key: 'team', value: 'search' },
          ],
        });
        assert.deepEqual(
          narrowed.rows.map((r) => [r.keys.team, r.requests]),
          [['search', 2]],
        );
        // Distinct values: sorted, nulls left out, within the filters, at most `limit`.
        assert.deepEqual(await s.distinctValues('team', { where: [] }, 10), ['growth', 'search']);
        assert.deepEqual(await s.distinctValues('team', { where: [] }, 1), ['growth']);
        assert.deepEqual(await s.distinctValues('meta:ticket', { where: [] }, 10), ['T-1']);
        assert.deepEqual(
          await s.distinctValues(
            'day',
            {
              where: [{ key: 'team', value: 'search' }],
              until: Date.parse('2026-03-02T00:00:00Z'),
            },
            10,
          ),
          ['2026-03-01'],
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

    test('reprice: distinct keys in range, then only records whose price changes are written', () =>
      withStore(async (s) => {
        const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
        const records = [
          makeRecord({ id: 'r1', at: '2026-03-01T10:00:00Z', input: 1000, output: 100, cost: 5n }),
          makeRecord({ id: 'r2', at: '2026-03-02T10:00:00Z', input: 2000, output: 0, cost: 7n }),
          makeRecord({
            id: 'r3',
            at: '2026-03-02T11:00:00Z',
            model: 'writer.palmyra-x5-v1:0',
            cost: null,
          }),
        ];
        await s.writeUsage({ records, rejects: [], checkpoints: [] });
        const since = Date.parse('2026-03-02T00:00:00Z');
        const keys = await s.reprice.keys(since);
        assert.deepEqual([...keys.models].sort(), [`us.${SONNET}`, 'us.writer.palmyra-x5-v1:0']);
        assert.deepEqual(
          keys.priceKeys
            .map((k) => `${k.modelId} ${k.region} ${k.tier} ${k.account} ${k.day}`)
            .sort(),
          [
            `us.${SONNET} us-east-1 standard 111122223333 2026-03-02`,
            'us.writer.palmyra-x5-v1:0 us-east-1 standard 111122223333 2026-03-02',
          ],
        );
        const model = (id: string, base: string) => ({
          model_id: id,
          model: base,
          profile: id,
          scope: 'geo',
          geo: 'us',
          model_form: 'profile-id',
          unresolved: false,
        });
        const rates = { r_in: '3', r_out: '15', r_read: null, r_w5: null, r_w1: null };
        const noLc = { lc_in: null, lc_out: null, lc_read: null, lc_w5: null, lc_w1: null };
        const price = (modelId: string, discount: boolean) => ({
          model_id: modelId,
          region: 'us-east-1',
          tier: 'standard',
          account: '111122223333',
          day: '2026-03-02',
          price_id: 'new',
          tier_unknown: false,
          unpriced: false,
          early: false,
          regional: false,
          override: false,
          lc_threshold: null,
          ...rates,
          ...noLc,
          disc_num: discount ? '9' : null,
          disc_den: discount ? '10' : null,
        });
        const maps = (discount: boolean) => ({
          catalogHash: 'h2',
          models: [
            model(`us.${SONNET}`, SONNET),
            model('us.writer.palmyra-x5-v1:0', 'writer.palmyra-x5-v1:0'),
          ],
          prices: [price(`us.${SONNET}`, discount), price('us.writer.palmyra-x5-v1:0', discount)],
        });

        const dry = await s.reprice.apply(maps(false), since, { dryRun: true });
        assert.equal(dry.records, 2);
        assert.equal(dry.changed, 2);
        assert.equal((await s.getRecord('r2'))?.cost_pusd, 7n, 'a dry run writes nothing');

        const done = await s.reprice.apply(maps(false), since, { dryRun: false });
        assert.deepEqual(done, dry);
        // r2: 2000 × 3 = 6000 picos; r3 (100 in, 10 out): 300 + 150 = 450, priced for the first time.
        assert.equal((await s.getRecord('r2'))?.cost_pusd, 6000n);
        assert.equal((await s.getRecord('r3'))?.cost_pusd, 450n);
        assert.equal((await s.getRecord('r3'))?.flags, '');
        assert.equal((await s.getRecord('r3'))?.catalog_hash, 'h2');
        assert.equal((await s.getRecord('r1'))?.cost_pusd, 5n, 'out of range: untouched');
        const palmyra = done.byModel.find((m) => m.model === 'writer.palmyra-x5-v1:0');
        assert.deepEqual(palmyra, {
          model: 'writer.palmyra-x5-v1:0',
          records: 1,
          changed: 1,
          before: 0n,
          after: 450n,
          unpricedBefore: 1,
          unpricedAfter: 0,
        });

        assert.equal((await s.reprice.apply(maps(false), since, { dryRun: false })).changed, 0);
        // A 10 % discount: 6000 → 5400, 450 → 405, flagged.
        assert.equal((await s.reprice.apply(maps(true), since, { dryRun: false })).changed, 2);
        assert.equal((await s.getRecord('r2'))?.cost_pusd, 5400n);
        assert.equal((await s.getRecord('r2'))?.flags, 'discounted');
        assert.equal((await s.getRecord('r3'))?.cost_pusd, 405n);
      }));
  });
}
