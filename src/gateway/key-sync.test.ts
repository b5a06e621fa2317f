import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { Logger } from '../core/index.ts';
import {
  createMemorySharedKeys,
  type KeySync,
  mergeKeys,
  type SharedKeys,
  startKeySync,
} from './key-sync.ts';
import { KeyRing, newKey, type VirtualKey } from './keys.ts';
import { sampleKey, sharedKeysContract } from './shared-keys.contract.ts';

sharedKeysContract('memory', async () => createMemorySharedKeys());

const T0 = Date.UTC(2026, 10, 23, 12);

describe('mergeKeys', () => {
  const k = sampleKey('ana');
  test('the earlier revocation and the named successor win, whichever side holds them', () => {
    const a = { ...k, revokedAt: T0 + 10 };
    const b = { ...k, revokedAt: T0 + 5, replacedBy: 'succ00000000' };
    assert.deepEqual(mergeKeys(a, b), mergeKeys(b, a));
    assert.equal(mergeKeys(a, b).revokedAt, T0 + 5);
    assert.equal(mergeKeys(a, b).replacedBy, 'succ00000000');
    assert.equal(mergeKeys(k, a).revokedAt, T0 + 10, 'a revocation beats none');
  });
  test('nothing to change: the first view itself', () => {
    const a = { ...k, revokedAt: T0 };
    assert.equal(mergeKeys(a, k), a);
  });
});

/** One replica: its ring, what it saved to its ledger, its sync. */
interface Replica {
  ring: KeyRing;
  saved: VirtualKey[];
  sync: KeySync;
  warnings: string[];
}

async function replica(
  t: TestContext,
  shared: SharedKeys,
  keys: VirtualKey[] = [],
): Promise<Replica> {
  const ring = new KeyRing(keys);
  const saved: VirtualKey[] = [];
  const warnings: string[] = [];
  const log: Logger = { info() {}, warn: (m) => warnings.push(m), error() {} };
  const sync = await startKeySync({
    ring,
    shared,
    save: async (k) => {
      saved.push(...k);
    },
    log,
    clock: () => T0,
    intervalMs: 60_000, // ticks are driven by the tests
  });
  t.after(() => sync.close());
  return { ring, saved, sync, warnings };
}

const create = (name: string) =>
  newKey(
    { name, team: 'search', user: null, feature: null, project: null, environment: null },
    T0,
    null,
  );

describe('key sync between replicas', () => {
  test('a key created on one replica works on the other after a tick, and is kept in its ledger', async (t) => {
    const shared = createMemorySharedKeys();
    const a = await replica(t, shared);
    const b = await replica(t, shared);
    const { key, plaintext } = create('ana');
    a.ring.put(key);
    assert.equal(await a.sync.publish([key]), true);
    assert.equal(b.ring.check(plaintext, T0).ok, false, 'not before the tick');
    await b.sync.tick();
    assert.equal(b.ring.check(plaintext, T0).ok, true);
    assert.deepEqual(b.saved, [key]);
  });

  test('a revocation on one replica holds on the other; an old copy elsewhere cannot lift it', async (t) => {
    const shared = createMemorySharedKeys();
    const { key, plaintext } = create('bo');
    const a = await replica(t, shared, [key]);
    const b = await replica(t, shared, [key]);
    const revoked = { ...key, revokedAt: T0 - 1 };
    a.ring.put(revoked);
    await a.sync.publish([revoked]);
    await b.sync.tick();
    assert.deepEqual(b.ring.check(plaintext, T0), { ok: false, reason: 'revoked' });
    // A third replica starts from a ledger that still holds the key active: it publishes that, and is revoked.
    const c = await replica(t, shared, [key]);
    assert.deepEqual(c.ring.check(plaintext, T0), { ok: false, reason: 'revoked' });
    assert.equal((await shared.all()).keys[0]?.revokedAt, T0 - 1);
  });

  test('a shared copy that lost its data is filled again from the replicas at start', async (t) => {
    const { key, plaintext } = create('cy');
    const a = await replica(t, createMemorySharedKeys(), [key]);
    const fresh = createMemorySharedKeys();
    await replica(t, fresh, [a.ring.list()[0] as VirtualKey]);
    const d = await replica(t, fresh);
    assert.equal(d.ring.check(plaintext, T0).ok, true);
  });

  test('a shared copy that loses its data while replicas run is refilled, and a revocation after it still holds', async (t) => {
    const shared = createMemorySharedKeys();
    const { key, plaintext } = create('hal');
    const other = create('ivy');
    const a = await replica(t, shared, [key]);
    const b = await replica(t, shared, [key, other.key]);
    await a.sync.tick();
    shared.lose(); // a Redis restarted without persistence
    const revoked = { ...key, revokedAt: T0 - 1 };
    a.ring.put(revoked);
    await a.sync.publish([revoked]);
    await b.sync.tick();
    assert.deepEqual(b.ring.check(plaintext, T0), { ok: false, reason: 'revoked' });
    // b published all its keys again into the new copy: a (and any new replica) knows b's other key.
    await a.sync.tick();
    assert.equal(a.ring.check(other.plaintext, T0).ok, true);
    const fresh = await replica(t, shared);
    assert.equal(fresh.ring.check(other.plaintext, T0).ok, true);
    assert.deepEqual(fresh.ring.check(plaintext, T0), { ok: false, reason: 'revoked' });
  });

  test('while the shared copy is down a change is kept, and published on the next tick', async (t) => {
    const inner = createMemorySharedKeys();
    let down = false;
    const flaky: SharedKeys = {
      publish: (k) => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.publish(k)),
      version: () => (down ? Promise.reject(new Error('ECONNREFUSED')) : inner.version()),
      all: () => inner.all(),
      close: () => inner.close(),
    };
    const a = await replica(t, flaky);
    const b = await replica(t, inner);
    const { key, plaintext } = create('dee');
    down = true;
    a.ring.put(key);
    assert.equal(await a.sync.publish([key]), false);
    assert.equal(a.sync.stats().pending, 1);
    assert.match(a.warnings.join('\n'), /shared keys \(Redis\) unavailable/);
    await a.sync.tick(); // still down: kept
    assert.equal(a.sync.stats().pending, 1);
    down = false;
    await a.sync.tick();
    assert.equal(a.sync.stats().pending, 0);
    await b.sync.tick();
    assert.equal(b.ring.check(plaintext, T0).ok, true);
  });

  test('a ledger that cannot store a key taken in: the key is served at once and stored on a later tick', async (t) => {
    const shared = createMemorySharedKeys();
    const a = await replica(t, shared);
    const ring = new KeyRing();
    const saved: VirtualKey[] = [];
    const warnings: string[] = [];
    let ledgerDown = true;
    const b = await startKeySync({
      ring,
      shared,
      save: async (k) => {
        if (ledgerDown) throw new Error('database is locked');
        saved.push(...k);
      },
      log: { info() {}, warn: (m) => warnings.push(m), error() {} },
      clock: () => T0,
      intervalMs: 60_000,
    });
    t.after(() => b.close());
    const { key, plaintext } = create('gus');
    const revoked = { ...key, revokedAt: T0 - 1 };
    a.ring.put(revoked);
    await a.sync.publish([revoked]);
    await b.tick();
    assert.deepEqual(ring.check(plaintext, T0), { ok: false, reason: 'revoked' }, 'served already');
    assert.deepEqual(saved, []);
    assert.match(warnings.join('\n'), /the ledger could not store keys/);
    ledgerDown = false;
    await b.tick();
    assert.deepEqual(saved, [revoked]);
  });

  test('a replica whose ledger holds a revocation the shared copy missed sends it again', async (t) => {
    const shared = createMemorySharedKeys();
    const { key, plaintext } = create('eve');
    await shared.publish([key]);
    const a = await replica(t, shared, [{ ...key, revokedAt: T0 - 1 }]);
    const b = await replica(t, shared);
    await b.sync.tick();
    assert.equal(a.sync.stats().pending, 0);
    assert.deepEqual(b.ring.check(plaintext, T0), { ok: false, reason: 'revoked' });
  });

  test('a shared key whose id names a different key here is ignored, with a warning', async (t) => {
    const shared = createMemorySharedKeys();
    const { key } = create('fay');
    const a = await replica(t, shared, [key]);
    const impostor = { ...create('mallory').key, id: key.id };
    const other = createMemorySharedKeys();
    await other.publish([impostor]);
    const b = await replica(t, other, [key]);
    assert.equal(b.ring.get(key.id)?.hash, key.hash);
    assert.match(b.warnings.join('\n'), /two different keys/);
    assert.equal(a.ring.get(key.id)?.hash, key.hash);
  });
});
