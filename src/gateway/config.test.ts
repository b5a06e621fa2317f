import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { gatewayConfigSchema } from './config.ts';

const YAML = `
port: 8443
upstream: { region: us-east-1 }
budgets:
  - name: org-monthly
    amountUsd: "20000"
    period: monthly
    timezone: Europe/Berlin
    softPercent: 80
  - name: per-team-daily
    scope: { team: "*" }
    amountUsd: "250.50"
    period: daily
    window: rolling
    softUsd: "200"
  - name: opus-shadow
    scope: { model: "*claude-opus*" }
    amountUsd: "1000"
    period: weekly
    onHard: warn
limits:
  - { scope: { key: "*" }, rpm: 60, tpm: 200000 }
models:
  "*": { deny: ["*nova-premier*"] }
  search: { allow: ["us.anthropic.*"] }
downgrade:
  - { from: "*claude-opus*", to: us.anthropic.claude-sonnet-4-5-20250929-v1:0 }
spool: { dir: /var/spool/tokenledger, onStoreDown: fail_closed }
`;

/** Issues of a failed parse as `path: message` lines. */
function issues(input: unknown): string[] {
  const r = gatewayConfigSchema.safeParse(input);
  assert.ok(!r.success, 'expected the configuration to be refused');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('gateway configuration', () => {
  test('a full section, with defaults filled in', () => {
    const c = gatewayConfigSchema.parse(parse(YAML));
    assert.equal(c.port, 8443);
    assert.deepEqual(c.budgets[1], {
      name: 'per-team-daily',
      scope: { team: '*' },
      amountUsd: '250.50',
      period: 'daily',
      window: 'rolling',
      timezone: 'UTC',
      softUsd: '200',
      onHard: 'block',
    });
    assert.equal(c.budgets[2]?.window, 'calendar');
    assert.deepEqual(c.limits[0], { scope: { key: '*' }, rpm: 60, tpm: 200000 });
    assert.deepEqual(c.downgrade[0]?.when, 'soft');
    assert.deepEqual(c.spool, {
      dir: '/var/spool/tokenledger',
      batchSize: 20_000,
      flushMs: 1000,
      deliverMs: 5000,
      onStoreDown: 'fail_closed',
    });
    assert.equal(c.reservation.defaultMaxOutputTokens, 4096);
    assert.equal(c.storeBodies, false);
  });

  test('upstream roles with an STS endpoint, and a reservation expiry', () => {
    const c = gatewayConfigSchema.parse(
      parse(`
upstream:
  stsEndpoint: https://sts.us-east-1.vpce.example.com
  roles: { search: "arn:aws:iam::123456789012:role/bedrock/search" }
reservation: { expireAfterMs: 900000 }
`),
    );
    assert.equal(c.upstream.stsEndpoint, 'https://sts.us-east-1.vpce.example.com');
    assert.equal(c.upstream.roles.search, 'arn:aws:iam::123456789012:role/bedrock/search');
    assert.equal(c.reservation.expireAfterMs, 900_000);
    assert.equal(c.reservation.defaultMaxOutputTokens, 4096, 'the other defaults stay');
    const d = gatewayConfigSchema.parse({});
    assert.equal(d.upstream.stsEndpoint, undefined);
    assert.equal(d.reservation.expireAfterMs, undefined, 'derived from the upstream timeout');
  });

  test('shared counters in Redis', () => {
    const c = gatewayConfigSchema.parse(
      parse('counters: { redis: "redis://counters.internal:6379/2" }\n'),
    );
    assert.deepEqual(c.counters, {
      redis: 'redis://counters.internal:6379/2',
      prefix: 'tokenledger:',
    });
    assert.equal(gatewayConfigSchema.parse({}).counters.redis, undefined, 'in memory by default');
  });

  test('an empty section is valid', () => {
    const c = gatewayConfigSchema.parse({});
    assert.deepEqual([c.budgets, c.limits, c.models, c.downgrade], [[], [], {}, []]);
    assert.equal(c.spool.onStoreDown, 'serve');
  });

  const bad: [string, unknown, string][] = [
    [
      'a misspelt key',
      { budgets: [{ name: 'b', amountUsd: '1', period: 'daily', softPercnt: 5 }] },
      'budgets.0: Unrecognized key: "softPercnt"',
    ],
    [
      'a misspelt scope field',
      { limits: [{ scope: { teams: 'x' }, rpm: 1 }] },
      'limits.0.scope: Unrecognized key: "teams"',
    ],
    [
      'a YAML number as money',
      { budgets: [{ name: 'b', amountUsd: 100, period: 'daily' }] },
      'budgets.0.amountUsd',
    ],
    [
      'a zero budget',
      { budgets: [{ name: 'b', amountUsd: '0', period: 'daily' }] },
      'budgets.0.amountUsd: must be greater than 0',
    ],
    [
      '13 decimals',
      { budgets: [{ name: 'b', amountUsd: '0.0000000000001', period: 'daily' }] },
      'budgets.0.amountUsd: write USD amounts',
    ],
    [
      'both soft limits',
      { budgets: [{ name: 'b', amountUsd: '10', period: 'daily', softPercent: 50, softUsd: '5' }] },
      'budgets.0.softUsd: give softPercent or softUsd, not both',
    ],
    [
      'a soft limit above the hard one',
      { budgets: [{ name: 'b', amountUsd: '10', period: 'daily', softUsd: '10' }] },
      'budgets.0.softUsd: softUsd must be below amountUsd',
    ],
    [
      'an unknown time zone',
      { budgets: [{ name: 'b', amountUsd: '1', period: 'daily', timezone: 'Mars/Olympus' }] },
      'budgets.0.timezone: not an IANA time zone',
    ],
    [
      'an unknown period',
      { budgets: [{ name: 'b', amountUsd: '1', period: 'yearly' }] },
      'budgets.0.period',
    ],
    [
      'duplicate budget names',
      {
        budgets: [
          { name: 'b', amountUsd: '1', period: 'daily' },
          { name: 'b', amountUsd: '2', period: 'weekly' },
        ],
      },
      'budgets: budget names must be unique',
    ],
    [
      'a limit with neither rpm nor tpm',
      { limits: [{ scope: {} }] },
      'limits.0: a limit needs rpm or tpm',
    ],
    [
      'a name with a space',
      { budgets: [{ name: 'my budget', amountUsd: '1', period: 'daily' }] },
      'budgets.0.name',
    ],
    ['an empty allow list', { models: { t: { allow: [] } } }, 'models.t.allow'],
    [
      'a downgrade trigger other than soft',
      { downgrade: [{ from: 'a', to: 'b', when: 'hard' }] },
      'downgrade.0.when',
    ],
    [
      'an unknown store-down policy',
      { spool: { dir: 'x', onStoreDown: 'drop' } },
      'spool.onStoreDown',
    ],
    ['a bad Region', { upstream: { region: 'US East' } }, 'upstream.region: not an AWS Region'],
    [
      'an STS endpoint that is not a URL',
      { upstream: { stsEndpoint: 'sts' } },
      'upstream.stsEndpoint',
    ],
    [
      'a misspelt STS endpoint key',
      { upstream: { stsEndpointUrl: 'http://x' } },
      'upstream: Unrecognized key: "stsEndpointUrl"',
    ],
    [
      'a role that is not a role ARN',
      { upstream: { roles: { a: 'arn:aws:iam::1:user/x' } } },
      'upstream.roles.a: not an IAM role ARN',
    ],
    [
      'a counter store that is not a Redis URL',
      { counters: { redis: 'http://counters:6379' } },
      'counters.redis: a redis:// or rediss:// URL',
    ],
    [
      'a zero reservation expiry',
      { reservation: { expireAfterMs: 0 } },
      'reservation.expireAfterMs',
    ],
  ];
  for (const [name, input, expected] of bad) {
    test(`refuses ${name}`, () => {
      const found = issues(input);
      assert.ok(
        found.some((i) => i.startsWith(expected)),
        `"${expected}" not in:\n${found.join('\n')}`,
      );
    });
  }
});
