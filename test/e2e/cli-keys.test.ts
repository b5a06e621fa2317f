/**
 * `tokenledger keys` as a user runs it: against the ledger file, and through a running gateway's admin API — where,
 * when the gateway's replicas share keys in Redis and Redis is gone, it says the other replicas will see the change
 * later.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Logger } from '../../src/core/index.ts';
import { openRuntime } from '../../src/runtime.ts';
import { runCli } from '../support/cli.ts';
import { startFakeBedrock } from '../support/fake-bedrock.ts';
import { startGatewayOnFake } from '../support/gateway.ts';
import { startTestRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const NOW = Date.UTC(2026, 10, 23, 12);
const _quiet: Logger = { info() {}, warn() {}, error() {} };

describe('tokenledger keys', () => {
  const dir = tempDir('tl-cli-keys-');
  after(() => dir.remove());
  const db = join(dir.path, 'ledger.duckdb');
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, now = NOW) =>
    runCli(args, { env, cwd: dir.path, now, placeholders: { [dir.path]: '<tmp>' } });
  const list = async () =>
    JSON.parse((await cli(['keys', 'list', '--json', '--db', db])).out) as {
      id: string;
      status: string;
      replaced_by: string | null;
      revoked_at: string | null;
    }[];

  test('create, list, rotate with a grace period, revoke: on the ledger file', async () => {
    const created = await cli([
      'keys',
      'create',
      '--name',
      'ana-laptop',
      '--team',
      'search',
      '--user',
      'ana@example.com',
      '--expires-days',
      '90',
      '--db',
      db,
    ]);
    assert.equal(created.code, 0, created.err);
    assert.match(
      created.out,
      /Created key [a-z0-9]{12} \(ana-laptop, team search, user ana@example\.com\)/,
    );
    assert.match(created.out, /\n {2}tlk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}\n/);
    const [first] = await list();
    assert.equal(first?.status, 'active');

    const rotated = await cli([
      'keys',
      'rotate',
      String(first?.id),
      '--grace-seconds',
      '3600',
      '--db',
      db,
    ]);
    assert.equal(rotated.code, 0, rotated.err);
    assert.match(
      rotated.out,
      new RegExp(`^The old key ${first?.id} keeps working until 2026-11-23T13:00:00\\.000Z\\.\n`),
    );
    // The table says when the old key stops working.
    const table = (await cli(['keys', 'list', '--db', db])).out;
    assert.match(
      table,
      new RegExp(
        `${first?.id} +ana-laptop +search +ana@example\\.com +active until 2026-11-23T13:00Z`,
      ),
    );
    let keys = await list();
    const old = keys.find((k) => k.id === first?.id);
    assert.equal(old?.status, 'active', 'the old key works during the grace');
    assert.equal(old?.revoked_at, new Date(NOW + 3_600_000).toISOString());
    assert.ok(old?.replaced_by);

    const revoked = await cli(['keys', 'revoke', String(first?.id), '--db', db]);
    assert.equal(revoked.code, 0);
    assert.equal(revoked.out.trim(), `Revoked key ${first?.id}.`);
    // A revocation is final: a revoked key has no successor (it would be a working key in its place).
    const again = await cli(
      ['keys', 'rotate', String(first?.id), '--grace-seconds', '3600', '--db', db],
      {},
      NOW + 1000,
    );
    assert.equal(again.code, 1);
    assert.match(again.err, /is revoked: a revoked key cannot be rotated \(create a new one\)/);
    keys = await list();
    assert.equal(keys.find((k) => k.id === first?.id)?.status, 'revoked');
    assert.equal(keys.length, 2);
  });

  test('usage errors name what is wrong', async () => {
    const r = await cli(['keys', 'revoke', '--db', db]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /keys revoke needs the key id/);
    const bad = await cli(['keys', 'create', '--name', 'bad\nname', '--db', db]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /name must be/);
    // Flags are named as typed, and checked before anything is written.
    const days = await cli(['keys', 'create', '--name', 'x', '--expires-days', 'abc', '--db', db]);
    assert.equal(days.code, 2);
    assert.match(
      days.err,
      /--expires-days \(got abc\) must be a number of days, more than 0 and at most 3650/,
    );
    const grace = await cli(['keys', 'rotate', 'k1', '--grace-seconds', 'soon', '--db', db]);
    assert.equal(grace.code, 2);
    assert.match(grace.err, /--grace-seconds expects a whole number, got soon/);
    // Too long a grace is refused before anything is written (it would be a revocation time no date can hold).
    const before = (await cli(['keys', 'list', '--json', '--db', db])).out;
    const huge = await cli([
      'keys',
      'rotate',
      'k1',
      '--grace-seconds',
      '9000000000000',
      '--db',
      db,
    ]);
    assert.equal(huge.code, 2);
    assert.match(
      huge.err,
      /--grace-seconds \(got 9000000000000\) must be a whole number of seconds from 0/,
    );
    assert.equal((await cli(['keys', 'rotate', 'k1', '--grace-seconds=', '--db', db])).code, 2);
    assert.equal((await cli(['keys', 'list', '--json', '--db', db])).out, before);
    // An id that is not there is not a usage mistake (exit 1), and says where the ids are.
    const missing = await cli(['keys', 'revoke', 'nosuchkey', '--db', db]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no key nosuchkey \(see tokenledger keys list\)/);
  });

  test('through a gateway whose replicas share keys: a note when Redis cannot take the change yet', async (t) => {
    const redis = await startTestRedis();
    if ('skip' in redis) return t.skip(redis.skip);
    const gwDir = tempDir('tl-cli-keys-gw-');
    const fake = await startFakeBedrock({
      credentials: [{ accessKeyId: 'AKIDKEYS', secretAccessKey: 'keys-secret' }],
    });
    const env = { TOKENLEDGER_REDIS_URL: redis.url, TOKENLEDGER_ADMIN_TOKEN: 'admin-secret' };
    const rt = await openRuntime({
      db: join(gwDir.path, 'ledger.duckdb'),
      configPath: undefined,
      env,
    });
    const gw = await startGatewayOnFake(rt, {
      upstream: fake.url,
      creds: { accessKeyId: 'AKIDKEYS', secretAccessKey: 'keys-secret' },
      baseDir: gwDir.path,
      env,
    });
    try {
      const ok = await cli(['keys', 'create', '--name', 'ci', '--gateway', gw.url], env);
      assert.equal(ok.code, 0, ok.err);
      assert.doesNotMatch(ok.out, /Note:/);
      // Rotating through the API: the answer carries the old key as stored, which the CLI reports.
      const id = /Created key ([a-z0-9]{12})/.exec(ok.out)?.[1] ?? '';
      const rotated = await cli(
        ['keys', 'rotate', id, '--grace-seconds', '60', '--gateway', gw.url],
        env,
      );
      assert.equal(rotated.code, 0, rotated.err);
      assert.match(
        rotated.out,
        new RegExp(`^The old key ${id} keeps working until \\d{4}-\\d{2}-\\d{2}T`),
      );
      const bad = await fetch(`${gw.url}/admin/keys/${id}/rotate`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
        body: JSON.stringify({ grace_seconds: 9e12 }),
      });
      assert.equal(bad.status, 400);
      assert.match(
        await bad.text(),
        /grace_seconds must be a whole number of seconds from 0 to 2592000/,
      );
      // A key rotated already (its grace running) has its successor: no second one.
      const twice = await fetch(`${gw.url}/admin/keys/${id}/rotate`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.headers.get('x-amzn-errortype'), 'ConflictException');
      assert.match(await twice.text(), new RegExp(`key ${id} was rotated already \\(replaced by `));
      await redis.stop();
      const pending = await cli(['keys', 'create', '--name', 'ci-2', '--gateway', gw.url], env);
      assert.equal(pending.code, 0, pending.err);
      assert.match(
        pending.out,
        /Note: the gateway could not reach Redis; the other replicas get this change/,
      );
      const listed = await cli(['keys', 'list', '--json', '--gateway', gw.url], env);
      assert.equal(
        (JSON.parse(listed.out) as unknown[]).length,
        3,
        'the three keys (one rotated) are on this replica',
      );
    } finally {
      await gw.close();
      await rt.close();
      await fake.close();
      gwDir.remove();
    }
  });
});
