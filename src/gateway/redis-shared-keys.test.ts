import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createClient } from 'redis';
import { releaseTestRedis, startTestRedis } from '../../test/support/redis.ts';
import { createRedisSharedKeys } from './redis-shared-keys.ts';
import { sampleKey, sharedKeysContract } from './shared-keys.contract.ts';

const redis = await startTestRedis();
const url = 'url' in redis ? redis.url : '';
const skip = 'skip' in redis ? { skip: redis.skip } : {};
const runPrefix = `tl-keys-test:${process.pid}:${Date.now()}:`;
let n = 0;
/** Already a hash tag (so the store uses it as it is and raw reads below can name its keys). */
const freshPrefix = () => `{${runPrefix}${++n}:}`;

after(() => releaseTestRedis(redis, `{${runPrefix}`));

sharedKeysContract('redis', () => createRedisSharedKeys({ url, prefix: freshPrefix() }), skip);

describe('redis shared keys', skip, () => {
  test('entries that are not keys are counted and skipped, never trusted', async (t) => {
    const prefix = freshPrefix();
    const keys = await createRedisSharedKeys({ url, prefix });
    t.after(() => keys.close());
    const good = sampleKey('ana');
    await keys.publish([good]);
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    t.after(() => client.close());
    await client.hSet(`${prefix}keys`, 'abcdefabcdef', '{"id":"abcdefabcdef","hash":"not-a-hash"}');
    await client.hSet(`${prefix}keys`, 'bcdefabcdefa', 'not json');
    await client.hSet(
      `${prefix}keys`,
      'cdefabcdefab',
      JSON.stringify({ ...good, id: 'cdefabcdefab' }),
    );
    await client.hSet(`${prefix}keys:revoked`, 'cdefabcdefab', 'soon');
    const all = await keys.all();
    assert.deepEqual(all.keys, [good]);
    assert.equal(all.unreadable, 3);
    // A revocation over that non-numeric value is taken, and publishing goes on working.
    await client.hSet(`${prefix}keys:revoked`, good.id, 'soon');
    await keys.publish([{ ...good, revokedAt: 1_800_000_000_000 }]);
    assert.equal((await keys.all()).keys[0]?.revokedAt, 1_800_000_000_000);
  });

  test('the store never holds a key, only its hash', async (t) => {
    const prefix = freshPrefix();
    const keys = await createRedisSharedKeys({ url, prefix });
    t.after(() => keys.close());
    await keys.publish([sampleKey('bo')]);
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    t.after(() => client.close());
    const [entry] = Object.values(await client.hGetAll(`${prefix}keys`));
    assert.doesNotMatch(String(entry), /tlk_/);
  });

  test('creating it against a Redis nobody listens on rejects', async () => {
    await assert.rejects(createRedisSharedKeys({ url: 'redis://127.0.0.1:1' }));
  });
});

describe('redis shared keys, signed with the fleet secret', skip, () => {
  test('only identities signed with the secret are taken in: a key planted in Redis is skipped', async (t) => {
    const prefix = freshPrefix();
    const a = await createRedisSharedKeys({ url, prefix, secret: 'fleet-secret' });
    const b = await createRedisSharedKeys({ url, prefix, secret: 'fleet-secret' });
    t.after(() => Promise.all([a.close(), b.close()]).then(() => undefined));
    const good = sampleKey('ana');
    await a.publish([good]);
    // Someone with write access to Redis plants a key of their own (a well-formed identity, unsigned or signed
    // with a guess).
    const planted = sampleKey('mallory');
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    t.after(() => client.close());
    const { revokedAt: _r, replacedBy: _s, ...identity } = planted;
    await client.hSet(`${prefix}keys`, planted.id, JSON.stringify(identity));
    await client.hSet(`${prefix}keys:sig`, planted.id, 'ab'.repeat(32));
    const seen = await b.all();
    assert.deepEqual(
      seen.keys.map((k) => k.id),
      [good.id],
    );
    assert.equal(seen.unreadable, 1);
    // Without a secret nothing is checked (the README says to set one).
    const open = await createRedisSharedKeys({ url, prefix });
    t.after(() => open.close());
    assert.equal((await open.all()).keys.length, 2);
  });

  test('after the secret changes, a replica with the new one signs its keys again', async (t) => {
    const prefix = freshPrefix();
    const old = await createRedisSharedKeys({ url, prefix, secret: 'old' });
    const renewed = await createRedisSharedKeys({ url, prefix, secret: 'new' });
    t.after(() => Promise.all([old.close(), renewed.close()]).then(() => undefined));
    const k = sampleKey('bo');
    await old.publish([k]);
    assert.equal((await renewed.all()).keys.length, 0, 'signed with the old secret');
    await renewed.publish([k]);
    assert.deepEqual(
      (await renewed.all()).keys.map((x) => x.id),
      [k.id],
    );
  });
});
