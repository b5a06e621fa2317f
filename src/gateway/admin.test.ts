import assert from 'node:assert/strict';
import { test } from 'node:test';
import { revokedKey } from './admin.ts';
import { newKey } from './keys.ts';

const T0 = Date.UTC(2026, 10, 23, 12);
const { key } = newKey(
  { name: 'ana', team: 'search', user: null, feature: null, project: null, environment: null },
  T0,
  null,
);

test('revokedKey never moves a revocation later (rotating a revoked key with a grace does not revive it)', () => {
  assert.equal(revokedKey(key, T0 + 10).revokedAt, T0 + 10);
  const revoked = revokedKey(key, T0 + 10);
  assert.equal(
    revokedKey(revoked, T0 + 3_600_000),
    revoked,
    'a later revocation keeps the earlier one',
  );
  assert.equal(
    revokedKey({ ...key, revokedAt: T0 + 600_000 }, T0 + 5).revokedAt,
    T0 + 5,
    'an earlier one wins',
  );
});
