import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ModelIdForm, RawUsage, Scope } from '../core/index.ts';
import { type ApplicationProfile, isUnresolved, normaliseModelId } from './model-id.ts';
import { createNormaliser } from './normalise.ts';

const ACCOUNT = '111122223333';
const AIP_SONNET = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/a1b2c3d4e5f6`;
const AIP_GLOBAL = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/g10ba1000001`;
const AIP_FM_ARN = `arn:aws:bedrock:eu-west-1:${ACCOUNT}:application-inference-profile/fm0000000001`;
const AIP_OF_AIP = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/nested000001`;
const AIP_UNKNOWN = `arn:aws:bedrock:us-east-1:${ACCOUNT}:application-inference-profile/zzzzzzzzzzzz`;

const PROFILES: Record<string, ApplicationProfile> = {
  [AIP_SONNET]: {
    model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    tags: { team: 'search', application: 'chat' },
  },
  [AIP_GLOBAL]: { model: 'global.anthropic.claude-sonnet-4-6', tags: { team: 'platform' } },
  [AIP_FM_ARN]: {
    model: 'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    tags: {},
  },
  [AIP_OF_AIP]: { model: AIP_SONNET, tags: { team: 'nested' } },
};
const resolver = (arn: string): ApplicationProfile | undefined => PROFILES[arn];

interface Case {
  readonly raw: string;
  readonly base: string;
  readonly scope: Scope;
  readonly form: ModelIdForm;
  readonly profile?: string | null;
  readonly geo?: string | null;
  readonly tags?: Record<string, string>;
  readonly unresolved?: boolean;
}

const SONNET_45 = 'anthropic.claude-sonnet-4-5-20250929-v1:0';

const CASES: readonly Case[] = [
  // Bare ids, old (date + version) and new (no suffix, or only a version).
  { raw: SONNET_45, base: SONNET_45, scope: 'in-region', form: 'bare' },
  {
    raw: 'anthropic.claude-3-haiku-20240307-v1:0',
    base: 'anthropic.claude-3-haiku-20240307-v1:0',
    scope: 'in-region',
    form: 'bare',
  },
  {
    raw: 'anthropic.claude-sonnet-4-6',
    base: 'anthropic.claude-sonnet-4-6',
    scope: 'in-region',
    form: 'bare',
  },
  {
    raw: 'anthropic.claude-opus-4-6-v1',
    base: 'anthropic.claude-opus-4-6-v1',
    scope: 'in-region',
    form: 'bare',
  },
  {
    raw: 'amazon.titan-embed-text-v1',
    base: 'amazon.titan-embed-text-v1',
    scope: 'in-region',
    form: 'bare',
  },
  // Ids that merely contain dots are not profiles.
  { raw: 'deepseek.v3.2', base: 'deepseek.v3.2', scope: 'in-region', form: 'bare' },
  {
    raw: 'amazon.nova-2-lite-v1:0',
    base: 'amazon.nova-2-lite-v1:0',
    scope: 'in-region',
    form: 'bare',
  },
  // A geo-looking prefix without a model behind it is not a profile either.
  { raw: 'us.nothing', base: 'us.nothing', scope: 'in-region', form: 'bare' },
  // System (cross-Region) profile ids, every geo prefix.
  ...['us', 'eu', 'apac', 'jp', 'au', 'us-gov', 'ca', 'in'].map(
    (geo): Case => ({
      raw: `${geo}.${SONNET_45}`,
      base: SONNET_45,
      scope: 'geo',
      form: 'profile-id',
      profile: `${geo}.${SONNET_45}`,
      geo,
    }),
  ),
  {
    raw: `global.${SONNET_45}`,
    base: SONNET_45,
    scope: 'global',
    form: 'profile-id',
    profile: `global.${SONNET_45}`,
    geo: null,
  },
  {
    raw: 'global.anthropic.claude-sonnet-4-6',
    base: 'anthropic.claude-sonnet-4-6',
    scope: 'global',
    form: 'profile-id',
    profile: 'global.anthropic.claude-sonnet-4-6',
  },
  {
    raw: 'us.deepseek.v3.2',
    base: 'deepseek.v3.2',
    scope: 'geo',
    form: 'profile-id',
    profile: 'us.deepseek.v3.2',
    geo: 'us',
  },
  {
    raw: 'global.amazon.nova-2-lite-v1:0',
    base: 'amazon.nova-2-lite-v1:0',
    scope: 'global',
    form: 'profile-id',
    profile: 'global.amazon.nova-2-lite-v1:0',
  },
  {
    raw: 'us.amazon.nova-premier-v1:0',
    base: 'amazon.nova-premier-v1:0',
    scope: 'geo',
    form: 'profile-id',
    profile: 'us.amazon.nova-premier-v1:0',
    geo: 'us',
  },
  // Foundation-model ARNs (empty account field).
  {
    raw: `arn:aws:bedrock:us-east-1::foundation-model/${SONNET_45}`,
    base: SONNET_45,
    scope: 'in-region',
    form: 'foundation-model-arn',
  },
  {
    raw: 'arn:aws:bedrock:eu-central-1::foundation-model/deepseek.v3.2',
    base: 'deepseek.v3.2',
    scope: 'in-region',
    form: 'foundation-model-arn',
  },
  {
    raw: 'arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    base: 'anthropic.claude-3-haiku-20240307-v1:0',
    scope: 'in-region',
    form: 'foundation-model-arn',
  },
  // Inference-profile ARNs.
  {
    raw: `arn:aws:bedrock:us-east-1:${ACCOUNT}:inference-profile/us.${SONNET_45}`,
    base: SONNET_45,
    scope: 'geo',
    form: 'inference-profile-arn',
    profile: `us.${SONNET_45}`,
    geo: 'us',
  },
  {
    raw: `arn:aws:bedrock:eu-west-1:${ACCOUNT}:inference-profile/global.anthropic.claude-opus-4-6-v1`,
    base: 'anthropic.claude-opus-4-6-v1',
    scope: 'global',
    form: 'inference-profile-arn',
    profile: 'global.anthropic.claude-opus-4-6-v1',
  },
  {
    raw: `arn:aws-us-gov:bedrock:us-gov-west-1:${ACCOUNT}:inference-profile/us-gov.anthropic.claude-3-haiku-20240307-v1:0`,
    base: 'anthropic.claude-3-haiku-20240307-v1:0',
    scope: 'geo',
    form: 'inference-profile-arn',
    profile: 'us-gov.anthropic.claude-3-haiku-20240307-v1:0',
    geo: 'us-gov',
  },
  // Application inference profiles, resolved through configuration.
  {
    raw: AIP_SONNET,
    base: SONNET_45,
    scope: 'geo',
    form: 'application-profile-arn',
    profile: AIP_SONNET,
    geo: 'us',
    tags: { team: 'search', application: 'chat' },
  },
  {
    raw: AIP_GLOBAL,
    base: 'anthropic.claude-sonnet-4-6',
    scope: 'global',
    form: 'application-profile-arn',
    profile: AIP_GLOBAL,
    tags: { team: 'platform' },
  },
  {
    raw: AIP_FM_ARN,
    base: 'anthropic.claude-3-haiku-20240307-v1:0',
    scope: 'in-region',
    form: 'application-profile-arn',
    profile: AIP_FM_ARN,
  },
  // Unresolvable: not configured, or configured to point at another application profile.
  {
    raw: AIP_UNKNOWN,
    base: AIP_UNKNOWN,
    scope: 'in-region',
    form: 'application-profile-arn',
    profile: AIP_UNKNOWN,
    unresolved: true,
  },
  {
    raw: AIP_OF_AIP,
    base: AIP_OF_AIP,
    scope: 'in-region',
    form: 'application-profile-arn',
    profile: AIP_OF_AIP,
    unresolved: true,
  },
  // Provisioned and custom models are not priced per token by model id.
  {
    raw: `arn:aws:bedrock:us-east-1:${ACCOUNT}:provisioned-model/abcdef123456`,
    base: `arn:aws:bedrock:us-east-1:${ACCOUNT}:provisioned-model/abcdef123456`,
    scope: 'in-region',
    form: 'bare',
    unresolved: true,
  },
  {
    raw: `arn:aws:bedrock:us-east-1:${ACCOUNT}:custom-model/anthropic.claude-3-haiku-20240307-v1:0/x1y2`,
    base: `arn:aws:bedrock:us-east-1:${ACCOUNT}:custom-model/anthropic.claude-3-haiku-20240307-v1:0/x1y2`,
    scope: 'in-region',
    form: 'bare',
    unresolved: true,
  },
];

describe('normaliseModelId', () => {
  for (const c of CASES) {
    test(c.raw, () => {
      const ref = normaliseModelId(c.raw, resolver);
      assert.deepEqual(ref, {
        raw: c.raw,
        base: c.base,
        profile: c.profile ?? null,
        scope: c.scope,
        geo: c.geo ?? null,
        form: c.form,
        profileTags: c.tags ?? {},
      });
      assert.equal(isUnresolved(ref), c.unresolved ?? false);
    });
  }

  test('an application profile is resolved through the resolver, once per call, with the full ARN', () => {
    const asked: string[] = [];
    normaliseModelId(AIP_SONNET, (arn) => {
      asked.push(arn);
      return PROFILES[arn];
    });
    assert.deepEqual(asked, [AIP_SONNET]);
  });

  test('only application-profile ARNs consult the resolver', () => {
    for (const c of CASES.filter((x) => x.form !== 'application-profile-arn')) {
      normaliseModelId(c.raw, () => assert.fail(`resolver called for ${c.raw}`));
    }
  });
});

function raw(over: Partial<RawUsage> = {}): RawUsage {
  return {
    requestId: 'req-1',
    occurredAt: Date.parse('2026-03-02T10:00:00Z'),
    accountId: ACCOUNT,
    region: 'us-east-1',
    inferenceRegion: null,
    operation: 'Converse',
    modelId: `us.${SONNET_45}`,
    identityArn: null,
    requestMetadata: {},
    tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    cacheTtlKnown: true,
    tier: null,
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'test.jsonl', line: 1 },
    ...over,
  };
}

describe('createNormaliser', () => {
  const normaliser = createNormaliser(resolver);

  test('keeps the raw fields and adds the model reference', () => {
    const input = raw();
    const record = normaliser.normalise(input);
    assert.deepEqual(
      { ...record, model: undefined, flags: undefined },
      {
        ...input,
        model: undefined,
        flags: undefined,
      },
    );
    assert.equal(record.model.base, SONNET_45);
    assert.equal(record.model.scope, 'geo');
    assert.deepEqual(record.flags, []);
  });

  const flagCases: [string, Partial<RawUsage>, string[]][] = [
    ['nothing unknown', {}, []],
    ['cache TTL split unknown', { cacheTtlKnown: false }, ['cache_ttl_unknown']],
    ['unconfigured application profile', { modelId: AIP_UNKNOWN }, ['profile_unresolved']],
    [
      'both',
      { modelId: AIP_UNKNOWN, cacheTtlKnown: false },
      ['profile_unresolved', 'cache_ttl_unknown'],
    ],
    [
      'provisioned model',
      { modelId: `arn:aws:bedrock:us-east-1:${ACCOUNT}:provisioned-model/abcdef123456` },
      ['profile_unresolved'],
    ],
    ['configured application profile', { modelId: AIP_GLOBAL }, []],
  ];
  for (const [name, over, flags] of flagCases) {
    test(`flags: ${name}`, () => assert.deepEqual(normaliser.normalise(raw(over)).flags, flags));
  }

  test('caches per raw id: the resolver is asked once for many records', () => {
    let calls = 0;
    const n = createNormaliser((arn) => {
      calls++;
      return PROFILES[arn];
    });
    const a = n.normalise(raw({ modelId: AIP_SONNET }));
    const b = n.normalise(raw({ modelId: AIP_SONNET, requestId: 'req-2' }));
    assert.equal(calls, 1);
    assert.equal(a.model, b.model);
    assert.equal(b.requestId, 'req-2');
    assert.deepEqual(b.model.profileTags, { team: 'search', application: 'chat' });
  });
});
