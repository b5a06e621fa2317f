/**
 * The contract of `SharedKeys`, run on every implementation (memory here, Redis against a real server): the merge
 * keeps a key's identity, lowers its revocation only and records its successor once; the version changes exactly
 * when the shared copy does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SharedKeys } from './key-sync.ts';
import { newKey, type VirtualKey } from './keys.ts';

const T0 = Date.UTC(2026, 10, 23, 12);
export const sampleKey = (name: string, expiresAt: number | null = null): VirtualKey =>
  newKey(
    {
      name,
      team: 'search',
      user: `${name}@example.com`,
      feature: null,
      project: 'p1',
      environment: null,
    },
    T0,
    expiresAt,
  ).key;

export function sharedKeysContract(
  name: string,
  make: () => Promise<SharedKeys>,
  options: { skip?: string | boolean } = {},
): void {
  describe(`${name}: SharedKeys contract`, options, () => {
    const open = async (t: { after(fn: () => Promise<void>): void }) => {
      const s = await make();
      t.after(() => s.close());
      return s;
    };

    test('a published key reads back whole, and the version moves only when something changed', async (t) => {
      const s = await open(t);
      const v0 = await s.version();
      assert.equal(v0.epoch, null, 'an empty shared copy has no epoch');
      const k = sampleKey('ana', T0 + 86_400_000);
      await s.publish([k]);
      const v1 = await s.version();
      assert.ok(v1.epoch !== null, 'the first publish sets one');
      assert.notEqual(v1.counter, v0.counter);
      assert.deepEqual((await s.all()).keys, [k]);
      await s.publish([k]);
      assert.deepEqual(await s.version(), v1, 'publishing the same key again changes nothing');
      await s.publish([sampleKey('bo')]);
      const v2 = await s.version();
      assert.equal(v2.epoch, v1.epoch, 'the epoch stays while the copy lives');
      assert.notEqual(v2.counter, v1.counter);
    });

    test('the earlier revocation wins, in either order; a later one never lifts it', async (t) => {
      const s = await open(t);
      const k = sampleKey('bo');
      await s.publish([{ ...k, revokedAt: T0 + 5000 }]);
      await s.publish([{ ...k, revokedAt: T0 + 1000 }]);
      await s.publish([{ ...k, revokedAt: T0 + 9000 }, k]);
      const [back] = (await s.all()).keys;
      assert.equal(back?.revokedAt, T0 + 1000);
    });

    test('a successor is recorded once; the identity is the first one published', async (t) => {
      const s = await open(t);
      const k = sampleKey('cy');
      await s.publish([k]);
      await s.publish([
        { ...k, name: 'renamed', replacedBy: 'aaaaaaaaaaaa', revokedAt: T0 + 60_000 },
      ]);
      await s.publish([{ ...k, replacedBy: 'bbbbbbbbbbbb' }]);
      const [back] = (await s.all()).keys;
      assert.equal(back?.name, 'cy');
      assert.equal(back?.replacedBy, 'aaaaaaaaaaaa');
      assert.equal(back?.revokedAt, T0 + 60_000);
    });

    test('many keys in one publish', async (t) => {
      const s = await open(t);
      const keys = Array.from({ length: 1200 }, (_, i) => sampleKey(`k${i}`));
      await s.publish(keys);
      const back = (await s.all()).keys;
      assert.equal(back.length, 1200);
      assert.deepEqual(new Set(back.map((k) => k.hash)), new Set(keys.map((k) => k.hash)));
    });
  });
}
