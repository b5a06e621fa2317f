/**
 * The shared counters and keys on a real three-node Redis Cluster (as ElastiCache Serverless presents itself): both
 * contracts hold, whichever node serves the store's hash slot, and every key a store writes — the holds its scripts
 * name themselves included — sits in that one slot.
 */
import assert from 'node:assert/strict';
import { after, describe, type TestContext, test } from 'node:test';
import { createClient, createCluster } from 'redis';
import { startTestRedisCluster } from '../../../test/support/redis.ts';
import { createRedisSharedKeys } from '../redis-shared-keys.ts';
import { sampleKey, sharedKeysContract } from '../shared-keys.contract.ts';
import { counterStoreContract } from './counter-store.contract.ts';
import type { CounterWindow } from './counter-store.ts';
import { openRedis, taggedPrefix } from './redis-client.ts';
import { createRedisCounterStore } from './redis-counter-store.ts';

const cluster = await startTestRedisCluster(3);
const url = 'url' in cluster ? cluster.url : '';
const skip = 'skip' in cluster ? { skip: cluster.skip } : {};
after(() => ('stop' in cluster ? cluster.stop() : undefined));

let n = 0;
const fresh = () => `tl-cluster:${process.pid}:${++n}:`;

counterStoreContract(
  'redis cluster counter store',
  () => createRedisCounterStore({ url, prefix: fresh() }),
  skip,
);
sharedKeysContract('redis cluster', () => createRedisSharedKeys({ url, prefix: fresh() }), skip);

describe('redis cluster', skip, () => {
  const T0 = Date.UTC(2026, 10, 23, 10);
  const day: CounterWindow = { kind: 'period', start: T0, end: T0 + 86_400_000 };
  const raw = async (t: TestContext) => {
    const c = createCluster({ rootNodes: [{ url }] });
    c.on('error', () => {});
    await c.connect();
    t.after(() => c.close());
    return c;
  };
  /** A prefix whose hash slot is served by the node at `port` (found by asking that node). */
  async function prefixServedBy(port: number): Promise<string> {
    const node = createClient({ url: `redis://127.0.0.1:${port}` });
    node.on('error', () => {});
    await node.connect();
    try {
      const ranges = (await node.sendCommand(['CLUSTER', 'SLOTS'])) as [
        number,
        number,
        [string, number],
      ][];
      for (let i = 0; i < 1000; i++) {
        const p = fresh();
        const slot = Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', `${taggedPrefix(p)}x`]));
        if (ranges.some(([lo, hi, [, at]]) => slot >= lo && slot <= hi && at === port)) return p;
      }
    } finally {
      await node.close();
    }
    throw new Error(`no prefix served by ${port} in 1000 tries`);
  }

  test('the connection finds the cluster; a store whose slot is on another node than the URL works', async (t) => {
    const port = await openRedis({ url });
    t.after(() => port.close());
    assert.equal(port.cluster, true);
    const c = await raw(t);
    const others = c.masters.map((m) => m.port).filter((p) => p !== Number(new URL(url).port));
    const prefix = await prefixServedBy(others[others.length - 1] as number);
    const store = await createRedisCounterStore({ url, prefix });
    t.after(() => store.close());
    const op = { key: 'team/search', window: day, limit: 100n, reserve: 60n, spend: 0n };
    const hold = { id: 'call-1', expiresAt: T0 + 60_000 };
    assert.equal((await store.reserve([op], T0, hold)).ok, true);
    assert.equal((await store.reserve([op], T0)).ok, false, 'the reservation holds');
    await store.touch('call-1', T0 + 120_000);
    // The holds the scripts name themselves (not passed as keys) are in the store's slot, on its node.
    const node = createClient({ url: `redis://127.0.0.1:${others[others.length - 1]}` });
    node.on('error', () => {});
    await node.connect();
    t.after(() => node.close());
    const written = async () => {
      const names: string[] = [];
      for await (const batch of node.scanIterator({
        MATCH: `${taggedPrefix(prefix)}*`,
        COUNT: 1000,
      }))
        names.push(...batch.map(String));
      return names.sort();
    };
    const held = await written();
    assert.deepEqual(
      held.map((k) => k.slice(taggedPrefix(prefix).length)),
      ['c:team/search', 'h:call-1', 'holds'],
    );
    await store.commit(
      [{ key: 'team/search', window: day, release: 60n, spend: 10n, at: T0 }],
      T0,
      'call-1',
    );
    assert.deepEqual(await store.read([{ key: 'team/search', window: day }], T0), [
      { spent: 10n, reserved: 0n },
    ]);
    assert.deepEqual(await store.keys('team/'), ['team/search']);
    assert.equal(await store.claim('seeded:x'), true);
    assert.equal(await store.claim('seeded:x'), false);

    const keys = await createRedisSharedKeys({ url, prefix });
    t.after(() => keys.close());
    await keys.publish([sampleKey('ana')]);
    assert.equal((await keys.all()).keys.length, 1);

    // Every key the store and the key registry wrote is in the prefix's one slot.
    const slots = new Set<number>();
    for (const k of [...held, ...(await written())])
      slots.add(Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', k])));
    assert.equal(slots.size, 1);
  });
  test("a node's dropped connection is reported (node-error) and the port reconnects to it", async (t) => {
    const errors: Error[] = [];
    const port = await openRedis({ url, onError: (e) => errors.push(e) });
    t.after(() => port.close());
    const c = await raw(t);
    // A key on every node, so that the port holds a connection to each.
    const prefixes = await Promise.all(c.masters.map((m) => prefixServedBy(m.port)));
    for (const p of prefixes) await port.setIfAbsent(`${taggedPrefix(p)}k`, '1', 'test');
    // Every node drops its clients but the killer's own connection, as a node restart or failover would.
    for (const m of c.masters) {
      const node = createClient({ url: `redis://127.0.0.1:${m.port}` });
      node.on('error', () => {});
      await node.connect();
      await node.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
      await node.close();
    }
    const deadline = Date.now() + 5_000;
    while (errors.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(errors.length > 0, 'the dropped node connections reach onError');
    assert.ok(errors.every((e) => e instanceof Error && e.message.length > 0));
    // Reconnecting takes a moment; a command sent before it is refused ("The client is offline"), not queued.
    const readBack = async (key: string): Promise<string | null> => {
      for (;;) {
        try {
          return await port.get(key, 'test');
        } catch (e) {
          if (Date.now() > deadline + 5_000) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    for (const p of prefixes) assert.equal(await readBack(`${taggedPrefix(p)}k`), '1');
  });
});
