import assert from 'node:assert/strict';
import { after, describe, type TestContext, test } from 'node:test';
import { createClient } from 'redis';
import { releaseTestRedis, startTestRedis } from '../../../test/support/redis.ts';
import { gatewayConfigSchema } from '../config.ts';
import { counterStoreContract } from './counter-store.contract.ts';
import { type CounterWindow, createMemoryCounterStore } from './counter-store.ts';
import { createGovernor } from './governor.ts';
import { openRedis, taggedPrefix } from './redis-client.ts';
import { createRedisCounterStore, GRACE_MS } from './redis-counter-store.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);
const day: CounterWindow = { kind: 'period', start: T0, end: T0 + 24 * HOUR };

const redis = await startTestRedis();
const url = 'url' in redis ? redis.url : '';
const skip = 'skip' in redis ? { skip: redis.skip } : {};
/** Every store gets its own prefix, so tests share one server without seeing each other's counters. */
const runPrefix = `tl-test:${process.pid}:${Date.now()}:`;
let stores = 0;
/** Already a hash tag (so the stores use it as it is and raw reads below can name their keys). */
const freshPrefix = () => `{${runPrefix}${++stores}:}`;

after(() => releaseTestRedis(redis, `{${runPrefix}`));

counterStoreContract(
  'redis counter store',
  () => createRedisCounterStore({ url, prefix: freshPrefix() }),
  skip,
);

describe('redis counter store, shared', skip, () => {
  const open = async (ctx: TestContext, prefix: string) => {
    const store = await createRedisCounterStore({ url, prefix });
    ctx.after(() => store.close());
    return store;
  };
  const raw = async (ctx: TestContext) => {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    ctx.after(() => client.close());
    return client;
  };

  test('a ledger’s spend of tens of thousands of entries loads into shared budgets (in pieces)', async (ctx) => {
    const store = await open(ctx, freshPrefix());
    const governor = createGovernor(
      gatewayConfigSchema.parse({
        budgets: [
          { name: 'org', amountUsd: '100000', period: 'monthly' },
          { name: 'team', scope: { team: '*' }, amountUsd: '100000', period: 'monthly' },
        ],
      }),
      { clock: () => T0, store },
    );
    // An hour × user entry for 20,000 of them (a month of a busy organisation): one script call took ~8,000.
    const entries = Array.from({ length: 20_000 }, (_, i) => ({
      at: T0 - (i % 200) * HOUR,
      costPicos: 1_000_000n,
      team: `t${i % 7}`,
      user: `u${i}`,
    }));
    assert.equal(await governor.load(entries), 20_000);
    const org = (await governor.status(T0)).budgets.find((b) => b.label === 'org');
    assert.equal(org?.spentUsd, '0.02');
  });

  test('two instances on one Redis share their counters', async (ctx) => {
    const prefix = freshPrefix();
    const a = await open(ctx, prefix);
    const b = await open(ctx, prefix);
    const op = { key: 'b/all', window: day, limit: 100n, reserve: 60n, spend: 0n };
    assert.equal((await a.reserve([op], T0)).ok, true);
    const refused = await b.reserve([op], T0);
    assert.equal(refused.ok, false, 'the second replica sees the first one’s reservation');
    assert.deepEqual(refused.levels, [{ spent: 0n, reserved: 60n }]);
    await a.commit([{ key: 'b/all', window: day, release: 60n, spend: 25n, at: T0 }], T0);
    assert.deepEqual(await b.read([{ key: 'b/all', window: day }], T0), [
      { spent: 25n, reserved: 0n },
    ]);
    assert.deepEqual(await b.keys('b/'), ['b/all']);
  });

  test('a crashed replica’s hold is released by another replica’s reserve after it expires', async (ctx) => {
    const prefix = freshPrefix();
    const client = await raw(ctx);
    const a = await createRedisCounterStore({ url, prefix });
    const b = await open(ctx, prefix);
    const op = { key: 'b/all', window: day, limit: 100n, reserve: 60n, spend: 0n };
    const expiresAt = T0 + 360_000;
    assert.equal((await a.reserve([op], T0, { id: 'replica-a:t1', expiresAt })).ok, true);
    const holdTtl = await client.pTTL(`${prefix}h:replica-a:t1`);
    const counterTtl = await client.pTTL(`${prefix}c:b/all`);
    assert.ok(holdTtl >= counterTtl - 1000, `the hold outlives its counter: ${holdTtl}`);
    await a.close(); // crashed: never commits
    assert.equal((await b.reserve([op], expiresAt - 1)).ok, false, 'still held before expiry');
    const after = await b.reserve([op], expiresAt);
    assert.deepEqual(after, { ok: true, levels: [{ spent: 0n, reserved: 0n }] });
    assert.deepEqual(
      (await client.keys(`${prefix}*`)).sort(),
      [`${prefix}c:b/all`],
      'the hold is gone: no hash, no sorted set',
    );
  });

  test('200 concurrent reserves from two instances admit exactly what fits', async (ctx) => {
    const prefix = freshPrefix();
    const a = await open(ctx, prefix);
    const b = await open(ctx, prefix);
    const ops = [
      { key: 'cost', window: day, limit: 1000n, reserve: 7n, spend: 0n },
      {
        key: 'rpm',
        window: { kind: 'rolling', bucketMs: 1000, buckets: 60 } as const,
        limit: null,
        reserve: 0n,
        spend: 1n,
      },
    ];
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).reserve(ops, T0 + i)),
    );
    const admitted = outcomes.filter((o) => o.ok).length;
    assert.equal(admitted, 142, 'floor(1000 / 7)');
    for (const o of outcomes) {
      if (!o.ok) assert.equal(o.failed, 0);
    }
    const [cost, rpm] = await a.read(
      ops.map(({ key, window }) => ({ key, window })),
      T0 + 200,
    );
    assert.deepEqual(cost, { spent: 0n, reserved: 994n });
    assert.deepEqual(rpm, { spent: 142n, reserved: 0n }, 'refused calls spent nothing');
  });

  test('amounts past 2^53 and near 2^63 add, subtract and compare exactly', async (ctx) => {
    const store = await open(ctx, freshPrefix());
    const p53 = 2n ** 53n;
    await store.commit(
      [
        { key: 'x', window: day, release: 0n, spend: p53, at: T0 },
        { key: 'x', window: day, release: 0n, spend: 1n, at: T0 },
      ],
      T0,
    );
    assert.deepEqual(await store.read([{ key: 'x', window: day }], T0), [
      { spent: p53 + 1n, reserved: 0n },
    ]);

    const max = 2n ** 63n - 1n; // ≈ 9.2e18 pico-USD, $9.2 million
    await store.commit([{ key: 'y', window: day, release: 0n, spend: max - 5n, at: T0 }], T0);
    const at = (reserve: bigint) => [{ key: 'y', window: day, limit: max, reserve, spend: 0n }];
    const over = await store.reserve(at(6n), T0);
    assert.equal(over.ok, false, 'one pico-USD over the limit is refused');
    assert.deepEqual(over.levels, [{ spent: max - 5n, reserved: 0n }]);
    assert.equal((await store.reserve(at(5n), T0)).ok, true, 'exactly at the limit fits');
    assert.equal((await store.reserve(at(1n), T0)).ok, false);
    await store.commit([{ key: 'y', window: day, release: 4n, spend: 10n ** 30n, at: T0 }], T0);
    assert.deepEqual(await store.read([{ key: 'y', window: day }], T0), [
      { spent: max - 5n + 10n ** 30n, reserved: 1n },
    ]);
    await store.commit(
      [{ key: 'y', window: day, release: 10n ** 40n, spend: 10_000_000n - 1n, at: T0 }],
      T0,
    );
    assert.deepEqual(await store.read([{ key: 'y', window: day }], T0), [
      { spent: max - 5n + 10n ** 30n + 9_999_999n, reserved: 0n },
    ]);

    const rolling: CounterWindow = { kind: 'rolling', bucketMs: HOUR, buckets: 2 };
    await store.commit(
      [
        { key: 'z', window: rolling, release: 0n, spend: max, at: T0 },
        { key: 'z', window: rolling, release: 0n, spend: 10n ** 19n + 3n, at: T0 + HOUR },
      ],
      T0 + HOUR,
    );
    const spentAt = async (now: number) =>
      (await store.read([{ key: 'z', window: rolling }], now))[0]?.spent;
    assert.equal(await spentAt(T0 + HOUR), max + 10n ** 19n + 3n);
    assert.equal(await spentAt(T0 + 2 * HOUR), 10n ** 19n + 3n, 'the old bucket left exactly');
  });

  test('a Lua error rejects the call, applies nothing and the store keeps working', async (ctx) => {
    const prefix = freshPrefix();
    const store = await open(ctx, prefix);
    const client = await raw(ctx);
    await client.set(`${prefix}c:broken`, 'not a hash');
    const ops = [
      { key: 'fine', window: day, limit: 100n, reserve: 1n, spend: 0n },
      { key: 'broken', window: day, limit: 100n, reserve: 1n, spend: 0n },
    ];
    await assert.rejects(store.reserve(ops, T0), /WRONGTYPE/);
    await assert.rejects(
      store.commit([{ key: 'broken', window: day, release: 0n, spend: 1n, at: T0 }], T0),
      /WRONGTYPE/,
    );
    await assert.rejects(store.read([{ key: 'broken', window: day }], T0), /WRONGTYPE/);
    assert.deepEqual(await store.keys('f'), [], 'the op before the failing key was not applied');
    await assert.rejects(
      store.reserve([{ key: 'fine', window: day, limit: null, reserve: -1n, spend: 0n }], T0),
      RangeError,
    );
    await assert.rejects(
      store.reserve(
        [
          {
            key: 'fine',
            window: { kind: 'rolling', bucketMs: 1000, buckets: 1.5 },
            limit: null,
            reserve: 1n,
            spend: 0n,
          },
        ],
        T0,
      ),
      /tokenledger: bad rolling window/,
    );
    assert.equal((await store.reserve(ops.slice(0, 1), T0)).ok, true);
  });

  test('random calls behave exactly as on the memory store', async (ctx) => {
    const store = await open(ctx, freshPrefix());
    const memory = createMemoryCounterStore();
    let seed = 20261123;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const amount = (): bigint => {
      const r = random();
      if (r < 0.3) return 0n;
      if (r < 0.7) return BigInt(Math.floor(random() * 100));
      let digits = '';
      const n = 1 + Math.floor(random() * 25);
      for (let i = 0; i < n; i++) digits += String(Math.floor(random() * 10));
      return BigInt(digits);
    };
    const DAY = 24 * HOUR;
    const windowOf = (now: number): CounterWindow =>
      pick<CounterWindow>([
        {
          kind: 'period',
          start: T0 + Math.floor((now - T0) / DAY) * DAY,
          end: T0 + Math.floor((now - T0) / DAY) * DAY + DAY,
        },
        { kind: 'rolling', bucketMs: HOUR, buckets: 25 },
        { kind: 'rolling', bucketMs: HOUR, buckets: 25 },
        { kind: 'rolling', bucketMs: 60_000, buckets: 5 },
      ]);
    const keys = ['k0', 'k1', 'k2'];
    const seen = { admitted: 0, refused: 0, spentReads: 0, bigReads: 0 };
    let now = T0;
    for (let step = 0; step < 400; step++) {
      now += random() < 0.1 ? -Math.floor(random() * HOUR) : Math.floor(random() * 3 * HOUR);
      const chosen = keys.filter(() => random() < 0.6);
      const r = random();
      if (r < 0.45) {
        const ops = chosen.map((key) => ({
          key,
          window: windowOf(now),
          limit: random() < 0.2 ? null : amount() * 3n,
          reserve: amount(),
          spend: amount(),
        }));
        const outcome = await memory.reserve(ops, now);
        assert.deepEqual(await store.reserve(ops, now), outcome, `step ${step}`);
        if (outcome.ok) seen.admitted++;
        else seen.refused++;
      } else if (r < 0.85) {
        const ops = chosen.map((key) => ({
          key,
          window: windowOf(now),
          release: amount(),
          spend: amount(),
          at: now + Math.floor((random() - 0.8) * 30 * HOUR),
        }));
        await store.commit(ops, now);
        await memory.commit(ops, now);
      } else {
        const refs = keys.map((key) => ({ key, window: windowOf(now) }));
        const levels = await memory.read(refs, now);
        assert.deepEqual(await store.read(refs, now), levels, `step ${step}`);
        for (const level of levels) {
          if (level.spent > 0n) seen.spentReads++;
          if (level.spent + level.reserved > 2n ** 53n) seen.bigReads++;
        }
      }
    }
    assert.deepEqual(await store.keys(''), (await memory.keys('')).sort());
    for (const [what, count] of Object.entries(seen)) assert.ok(count > 10, `${what}: ${count}`);
  });

  test('keys are stored under the prefix, with a TTL past the window that only grows', async (ctx) => {
    const prefix = freshPrefix();
    const store = await open(ctx, prefix);
    const client = await raw(ctx);
    const other = await open(ctx, freshPrefix());
    await other.commit([{ key: 'k', window: day, release: 0n, spend: 1n, at: T0 }], T0);

    const now = T0 + HOUR;
    await store.commit([{ key: 'k', window: day, release: 0n, spend: 1n, at: now }], now);
    assert.deepEqual(await client.keys(`${prefix}*`), [`${prefix}c:k`]);
    assert.deepEqual(await store.keys(''), ['k'], 'logical keys only, and only this prefix');
    const ttl = await client.pTTL(`${prefix}c:k`);
    const expected = T0 + 24 * HOUR - now + GRACE_MS;
    assert.ok(ttl > expected - 60_000 && ttl <= expected, `ttl ${ttl}`);

    const minute: CounterWindow = { kind: 'rolling', bucketMs: 1000, buckets: 60 };
    await store.commit([{ key: 'k', window: minute, release: 0n, spend: 1n, at: now }], now);
    assert.ok(
      (await client.pTTL(`${prefix}c:k`)) > expected - 60_000,
      'a shorter life never shortens',
    );
    await store.commit([{ key: 'r', window: minute, release: 0n, spend: 1n, at: now }], now);
    const rollingTtl = await client.pTTL(`${prefix}c:r`);
    assert.ok(rollingTtl > 60_000 + GRACE_MS - 60_000 && rollingTtl <= 60_000 + GRACE_MS);
  });

  test('a claim goes to the first instance only and is no counter', async (ctx) => {
    const prefix = freshPrefix();
    const a = await open(ctx, prefix);
    const b = await open(ctx, prefix);
    const claims = await Promise.all([a, b, a, b].map((s) => s.claim('seeded:ledger-1')));
    assert.deepEqual(claims.filter(Boolean).length, 1);
    assert.equal(await b.claim('seeded:ledger-2'), true);
    assert.equal(
      await (await open(ctx, freshPrefix())).claim('seeded:ledger-1'),
      true,
      'per prefix',
    );
    assert.deepEqual(await a.keys(''), []);
    assert.deepEqual(await a.read([{ key: 'claim:seeded:ledger-1', window: day }], T0), [
      { spent: 0n, reserved: 0n },
    ]);
  });

  test('a Redis that stops answering makes calls reject after commandTimeoutMs, not hang', async (ctx) => {
    const prefix = freshPrefix();
    const store = await createRedisCounterStore({ url, prefix, commandTimeoutMs: 300 });
    ctx.after(() => store.close());
    const op = { key: 'hang', window: day, limit: 100n, reserve: 1n, spend: 0n };
    assert.equal((await store.reserve([op], T0)).ok, true);
    // CLIENT PAUSE holds every other client's commands, as a hung server would.
    const admin = await raw(ctx);
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
    const started = Date.now();
    await assert.rejects(store.reserve([op], T0), /did not answer reserve within 300 ms/);
    assert.ok(Date.now() - started < 1200, 'rejected well before the pause ended');
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);
  });

  test('close quits the client; calls after it reject', async () => {
    const store = await createRedisCounterStore({ url, prefix: freshPrefix() });
    await store.close();
    await assert.rejects(store.read([{ key: 'k', window: day }], T0));
    await store.close();
  });
});

describe('redis connection', skip, () => {
  test('the hash tag follows Redis: the first { and the first } after it, with something between', () => {
    assert.equal(taggedPrefix('tokenledger:'), '{tokenledger:}');
    assert.equal(taggedPrefix('fleet-{a}:'), 'fleet-{a}:', 'already a tag');
    assert.equal(taggedPrefix('a{}{b}:'), '{a{}{b}:}', 'an empty first tag is no tag');
    assert.equal(taggedPrefix('a}{b'), '{a}{b}', 'a } before the { is no tag');
  });

  test('on one Redis the prefix stays as configured', async (t) => {
    const port = await openRedis({ url });
    t.after(() => port.close());
    assert.equal(port.cluster, false);
    assert.equal(port.keyPrefix('tokenledger:'), 'tokenledger:');
  });

  test('a user whose ACL forbids CLUSTER INFO is told so, rather than guessed to be on one Redis', async (t) => {
    const admin = createClient({ url });
    admin.on('error', () => {});
    await admin.connect();
    const user = `tl-acl-${process.pid}`;
    await admin.sendCommand(['ACL', 'SETUSER', user, 'on', '>secret', '~*', '+@all', '-cluster']);
    t.after(async () => {
      await admin.sendCommand(['ACL', 'DELUSER', user]);
      await admin.close();
    });
    const limited = url.replace('redis://', `redis://${user}:secret@`);
    await assert.rejects(openRedis({ url: limited }), (e: Error) => {
      assert.match(e.message, /cannot tell whether the Redis at .* is a cluster .*\+cluster\|info/);
      assert.doesNotMatch(e.message, /secret/, 'no password in the message');
      return true;
    });
  });
});
