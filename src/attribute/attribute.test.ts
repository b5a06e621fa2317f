import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Attribution,
  DIMENSIONS,
  type Dimension,
  type PricedRecord,
  UNALLOCATED,
  type UsageRecord,
} from '../core/index.ts';
import { createAttributor } from './attribute.ts';
import { AttributionConfig } from './config.ts';
import { parseIdentityArn } from './identity.ts';

const ACCOUNT = '111122223333';
const SSO_ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Search-Dev_0123abcd/alice.smith@example.com`;
const APP_ROLE = `arn:aws:sts::${ACCOUNT}:assumed-role/checkout-service/i-0abc1234def`;
const IAM_BOB = `arn:aws:iam::${ACCOUNT}:user/division/eng/bob`;

function record(over: {
  identityArn?: string | null;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}): UsageRecord {
  return {
    requestId: 'req-1',
    occurredAt: Date.parse('2026-03-02T10:00:00Z'),
    accountId: ACCOUNT,
    region: 'us-east-1',
    inferenceRegion: null,
    operation: 'Converse',
    modelId: 'us.anthropic.claude-sonnet-4-6',
    identityArn: over.identityArn === undefined ? SSO_ALICE : over.identityArn,
    requestMetadata: over.metadata ?? {},
    tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    cacheTtlKnown: true,
    tier: null,
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'test.jsonl', line: 1 },
    model: {
      raw: 'us.anthropic.claude-sonnet-4-6',
      base: 'anthropic.claude-sonnet-4-6',
      profile: 'us.anthropic.claude-sonnet-4-6',
      scope: 'geo',
      geo: 'us',
      form: 'profile-id',
      profileTags: over.tags ?? {},
    },
    flags: [],
  };
}

/** Config as it comes out of the YAML loader (defaults applied, key order normalised by the schema). */
function attributor(config: unknown = {}) {
  return createAttributor(AttributionConfig.parse(config));
}

function pick(a: Attribution, dim: Dimension): [string, string | undefined] {
  return [a.values[dim], a.rules[dim]];
}

describe('attribution chain order', () => {
  const config = {
    rules: [
      {
        name: 'sso',
        match: { role: '^AWSReservedSSO_(?<team>[A-Za-z]+)-' },
        set: { team: '$<team>', user: 'rule-user' },
      },
    ],
  };

  test('request metadata beats a rule, a rule beats the identity user, the identity beats profile tags', () => {
    const a = attributor(config).resolve(
      record({
        metadata: { team: 'from-metadata' },
        tags: { team: 'from-tag', user: 'tag-user', application: 'from-tag-app' },
      }),
    );
    assert.deepEqual(pick(a, 'team'), ['from-metadata', 'requestMetadata.team']);
    assert.deepEqual(pick(a, 'user'), ['rule-user', 'rule:sso']);
    assert.deepEqual(pick(a, 'application'), ['from-tag-app', 'profile.tags.application']);
  });

  test('without metadata the rule wins over the profile tag', () => {
    const a = attributor(config).resolve(record({ tags: { team: 'from-tag' } }));
    assert.deepEqual(pick(a, 'team'), ['Search', 'rule:sso']);
  });

  test('the identity user beats a profile tag', () => {
    const a = attributor().resolve(record({ tags: { user: 'tag-user' } }));
    assert.deepEqual(pick(a, 'user'), ['alice.smith@example.com', 'identity.session-name']);
  });

  test('profile tags fill in when nothing else matched', () => {
    const a = attributor({ userFromIdentity: false }).resolve(
      record({ identityArn: null, tags: { team: 'from-tag', user: 'tag-user' } }),
    );
    assert.deepEqual(pick(a, 'team'), ['from-tag', 'profile.tags.team']);
    assert.deepEqual(pick(a, 'user'), ['tag-user', 'profile.tags.user']);
  });

  test('an empty profile tag is ignored', () => {
    const a = attributor().resolve(record({ identityArn: null, tags: { team: '' } }));
    assert.deepEqual(pick(a, 'team'), [UNALLOCATED, undefined]);
  });
});

describe('request metadata keys', () => {
  const aliasCases: [Dimension, string][] = [
    ['team', 'team'],
    ['team', 'Team'],
    ['cost_center', 'cost_center'],
    ['cost_center', 'costCenter'],
    ['cost_center', 'CostCenter'],
    ['cost_center', 'cost-center'],
    ['feature', 'Feature'],
    ['application', 'application'],
  ];
  for (const [dim, key] of aliasCases) {
    test(`${key} sets ${dim}`, () => {
      const a = attributor().resolve(record({ identityArn: null, metadata: { [key]: 'X-1' } }));
      assert.deepEqual(pick(a, dim), ['X-1', `requestMetadata.${key}`]);
    });
  }

  test('the canonical key beats its aliases when several are present', () => {
    const a = attributor().resolve(
      record({ metadata: { CostCenter: 'pascal', cost_center: 'snake', costCenter: 'camel' } }),
    );
    assert.deepEqual(pick(a, 'cost_center'), ['snake', 'requestMetadata.cost_center']);
  });

  test('configured metadataKeys are read after the built-in names', () => {
    const a = attributor({ metadataKeys: { team: ['squad', 'x-team'] } });
    assert.deepEqual(pick(a.resolve(record({ metadata: { squad: 'S' } })), 'team'), [
      'S',
      'requestMetadata.squad',
    ]);
    assert.deepEqual(pick(a.resolve(record({ metadata: { 'x-team': 'X' } })), 'team'), [
      'X',
      'requestMetadata.x-team',
    ]);
    assert.deepEqual(pick(a.resolve(record({ metadata: { squad: 'S', team: 'T' } })), 'team'), [
      'T',
      'requestMetadata.team',
    ]);
  });

  test('an empty value is ignored and the next key or link of the chain is used', () => {
    const a = attributor().resolve(
      record({ metadata: { team: '', Team: 'second', user: '' }, identityArn: IAM_BOB }),
    );
    assert.deepEqual(pick(a, 'team'), ['second', 'requestMetadata.Team']);
    assert.deepEqual(pick(a, 'user'), ['bob', 'identity.iam-user']);
  });

  test('keys that are no dimension do not set any dimension', () => {
    const a = attributor().resolve(record({ identityArn: null, metadata: { ticket: 'T-1' } }));
    for (const dim of DIMENSIONS) assert.equal(a.values[dim], UNALLOCATED);
  });
});

describe('identity rules', () => {
  test('matches on arn, account, role, sessionName and userName', () => {
    const fieldCases: [Record<string, string>, string][] = [
      [{ arn: ':assumed-role/checkout-service/' }, APP_ROLE],
      [{ account: `^${ACCOUNT}$` }, APP_ROLE],
      [{ role: '^checkout-service$' }, APP_ROLE],
      [{ sessionName: '^i-0abc' }, APP_ROLE],
      [{ userName: '^bob$' }, IAM_BOB],
    ];
    for (const [match, arn] of fieldCases) {
      const a = attributor({ rules: [{ match, set: { feature: 'hit' } }] });
      assert.deepEqual(pick(a.resolve(record({ identityArn: arn })), 'feature'), ['hit', 'rule:1']);
    }
  });

  test('every condition of a rule must match', () => {
    const a = attributor({
      rules: [{ match: { account: `^${ACCOUNT}$`, role: '^nope$' }, set: { team: 'x' } }],
    });
    assert.deepEqual(pick(a.resolve(record({ identityArn: APP_ROLE })), 'team'), [
      UNALLOCATED,
      undefined,
    ]);
  });

  test('an account rule does not match another account', () => {
    const a = attributor({ rules: [{ match: { account: '^999999999999$' }, set: { team: 'x' } }] });
    assert.equal(a.resolve(record({ identityArn: APP_ROLE })).values.team, UNALLOCATED);
  });

  test('the first rule that sets a dimension wins; later rules still set the others', () => {
    const a = attributor({
      rules: [
        { name: 'by-role', match: { role: 'checkout' }, set: { team: 'payments' } },
        {
          name: 'by-account',
          match: { account: ACCOUNT },
          set: { team: 'other', environment: 'prod' },
        },
        { match: { arn: '.' }, set: { environment: 'never', feature: 'catch-all' } },
      ],
    });
    const r = a.resolve(record({ identityArn: APP_ROLE }));
    assert.deepEqual(pick(r, 'team'), ['payments', 'rule:by-role']);
    assert.deepEqual(pick(r, 'environment'), ['prod', 'rule:by-account']);
    assert.deepEqual(pick(r, 'feature'), ['catch-all', 'rule:3']); // unnamed rules are numbered from 1
  });

  test('$1 and $<name> expand to the groups of the matching regex', () => {
    const a = attributor({
      rules: [
        {
          match: { role: '^AWSReservedSSO_([A-Za-z]+)-(?<env>[A-Za-z]+)_' },
          set: { team: '$1', environment: 'env-$<env>', project: '$1/$2' },
        },
      ],
    });
    const r = a.resolve(record({ identityArn: SSO_ALICE }));
    assert.equal(r.values.team, 'Search');
    assert.equal(r.values.environment, 'env-Dev');
    assert.equal(r.values.project, 'Search/Dev');
  });

  test('with several conditions, groups come from the last condition in schema order', () => {
    // Schema order is arn, account, role, sessionName, userName, whatever order the YAML used.
    const a = attributor({
      rules: [
        {
          match: { sessionName: '^(?<who>[a-z]+)\\.', role: '^AWSReservedSSO_(?<who>[A-Za-z]+)-' },
          set: { user: '$<who>', team: '$1' },
        },
      ],
    });
    const r = a.resolve(record({ identityArn: SSO_ALICE }));
    assert.equal(r.values.user, 'alice');
    assert.equal(r.values.team, 'alice');
  });

  test('rules see no identity when the record has none', () => {
    const a = attributor({ rules: [{ match: { arn: '^$' }, set: { team: 'anonymous' } }] });
    assert.deepEqual(pick(a.resolve(record({ identityArn: null })), 'team'), [
      'anonymous',
      'rule:1',
    ]);
  });
});

describe('user from identity', () => {
  const userCases: [string, string, string | undefined][] = [
    [SSO_ALICE, 'alice.smith@example.com', 'identity.session-name'],
    [APP_ROLE, 'i-0abc1234def', 'identity.session-name'],
    [`arn:aws:iam::${ACCOUNT}:user/carol`, 'carol', 'identity.iam-user'],
    [IAM_BOB, 'bob', 'identity.iam-user'], // IAM user with a path: the last segment
    [`arn:aws-us-gov:iam::${ACCOUNT}:user/dave`, 'dave', 'identity.iam-user'],
    [`arn:aws:iam::${ACCOUNT}:root`, 'root', 'identity.iam-user'],
    [`arn:aws:sts::${ACCOUNT}:federated-user/erin`, 'erin', 'identity.iam-user'],
    [`arn:aws:iam::${ACCOUNT}:role/service-role/worker`, UNALLOCATED, undefined], // a role has no user
    ['not-an-arn', UNALLOCATED, undefined],
  ];
  for (const [arn, user, rule] of userCases) {
    test(`${arn} → ${user}`, () => {
      assert.deepEqual(pick(attributor().resolve(record({ identityArn: arn })), 'user'), [
        user,
        rule,
      ]);
    });
  }

  test('userFromIdentity: false leaves user unallocated', () => {
    const a = attributor({ userFromIdentity: false });
    assert.deepEqual(pick(a.resolve(record({ identityArn: SSO_ALICE })), 'user'), [
      UNALLOCATED,
      undefined,
    ]);
    assert.deepEqual(pick(a.resolve(record({ identityArn: IAM_BOB })), 'user'), [
      UNALLOCATED,
      undefined,
    ]);
  });

  test('a rule that sets user beats the session name', () => {
    const a = attributor({
      rules: [{ match: { role: 'checkout' }, set: { user: 'svc-checkout' } }],
    });
    assert.deepEqual(pick(a.resolve(record({ identityArn: APP_ROLE })), 'user'), [
      'svc-checkout',
      'rule:1',
    ]);
  });
});

describe('parseIdentityArn', () => {
  test('assumed role with @ and . in the session name', () => {
    assert.deepEqual(parseIdentityArn(SSO_ALICE), {
      arn: SSO_ALICE,
      account: ACCOUNT,
      kind: 'assumed-role',
      role: 'AWSReservedSSO_Search-Dev_0123abcd',
      sessionName: 'alice.smith@example.com',
      userName: '',
    });
  });

  test('IAM user with a path', () => {
    const id = parseIdentityArn(IAM_BOB);
    assert.equal(id.kind, 'user');
    assert.equal(id.userName, 'bob');
    assert.equal(id.role, '');
  });

  test('role with a path', () => {
    const id = parseIdentityArn(`arn:aws:iam::${ACCOUNT}:role/service-role/worker`);
    assert.equal(id.role, 'worker');
    assert.equal(id.sessionName, '');
  });
});

describe('unallocated and output', () => {
  test('with no metadata, identity, rules or tags every dimension is unallocated and no rule is recorded', () => {
    const a = attributor().resolve(record({ identityArn: null }));
    assert.deepEqual(Object.keys(a.values).sort(), [...DIMENSIONS].sort());
    for (const dim of DIMENSIONS) assert.equal(a.values[dim], UNALLOCATED);
    assert.deepEqual(a.rules, {});
  });

  test('attribute() keeps the priced record and adds the attribution', () => {
    const priced: PricedRecord = {
      ...record({ metadata: { team: 'T' } }),
      cost: { picos: 42n, priceId: 'p', catalogHash: 'h' },
    };
    const out = attributor().attribute(priced);
    assert.equal(out.cost.picos, 42n);
    assert.equal(out.requestId, 'req-1');
    assert.equal(out.attribution.values.team, 'T');
    assert.equal(out.attribution.rules.team, 'requestMetadata.team');
  });

  test('identity results are cached per ARN without leaking between records', () => {
    const a = attributor({ rules: [{ match: { role: 'checkout' }, set: { team: 'payments' } }] });
    const first = a.resolve(record({ identityArn: APP_ROLE, metadata: { team: 'override' } }));
    const second = a.resolve(record({ identityArn: APP_ROLE }));
    assert.equal(first.values.team, 'override');
    assert.deepEqual(pick(second, 'team'), ['payments', 'rule:1']);
  });
});
