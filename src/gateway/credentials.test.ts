import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { type FakeSts, startFakeSts } from '../../test/support/fake-sts.ts';
import { startTestProxy } from '../../test/support/http-proxy.ts';
import { isAppError } from '../core/index.ts';
import { createAwsCredentialSource, roleSessionName, stsEndpoint } from './credentials.ts';

const GATEWAY = { accessKeyId: 'AKIDGATEWAYOWN', secretAccessKey: 'gateway-own-secret' };
const ROLE_A = 'arn:aws:iam::123456789012:role/team-a';
const ROLE_B = 'arn:aws:iam::123456789012:role/team-b';
const MIN = 60_000;

describe('roleSessionName', () => {
  test('an email is kept; other characters become -, cut to 64, padded to 2', () => {
    assert.equal(roleSessionName('ana@example.com'), 'ana@example.com');
    assert.equal(roleSessionName('Bo the Builder/ops'), 'Bo-the-Builder-ops');
    assert.equal(roleSessionName('x'.repeat(80)).length, 64);
    assert.equal(roleSessionName('a'), 'a-');
    assert.equal(roleSessionName(''), '--');
  });
});

describe('stsEndpoint', () => {
  test('config, then AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, else the SDK default', () => {
    const env = { AWS_ENDPOINT_URL_STS: 'http://sts:1/', AWS_ENDPOINT_URL: 'http://all:2' };
    assert.equal(stsEndpoint('https://sts.vpce.example/', env), 'https://sts.vpce.example');
    assert.equal(stsEndpoint(undefined, env), 'http://sts:1');
    assert.equal(stsEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://all:2' }), 'http://all:2');
    assert.equal(stsEndpoint(undefined, { AWS_ENDPOINT_URL_STS: '' }), undefined);
    assert.equal(stsEndpoint(undefined, {}), undefined);
  });
});

describe('assumed-role credentials against a fake STS', () => {
  let sts: FakeSts;
  const clock = { now: Date.parse('2026-11-23T12:00:00Z') };
  const logged: string[] = [];
  const source = () =>
    createAwsCredentialSource({
      region: 'us-east-1',
      stsEndpoint: sts.url,
      own: async () => GATEWAY,
      now: () => clock.now,
      log: { info() {}, warn() {}, error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) },
    });
  const assumeCalls = () => sts.calls.filter((c) => c.status === 200).length;

  before(async () => {
    sts = await startFakeSts({ credentials: [GATEWAY], clock: () => clock.now });
  });
  after(() => sts.close());
  beforeEach(() => {
    sts.calls.length = 0;
    sts.behave(null);
    logged.length = 0;
  });

  test('one session per role and user, signed with the gateway credentials, shared by concurrent callers', async () => {
    const s = source();
    const [a1, a2] = await Promise.all([
      s.assumed(ROLE_A, 'ana@example.com'),
      s.assumed(ROLE_A, 'ana@example.com'),
    ]);
    assert.equal(sts.calls.length, 1, 'concurrent callers share one AssumeRole');
    const call = sts.calls[0];
    assert.deepEqual(
      [call?.roleArn, call?.roleSessionName, call?.durationSeconds, call?.accessKeyId],
      [ROLE_A, 'ana@example.com', 3600, GATEWAY.accessKeyId],
    );
    assert.equal(a1.accessKeyId, call?.issued?.accessKeyId);
    assert.equal(a1.sessionToken, call?.issued?.sessionToken);
    assert.equal(a1.expiration?.getTime(), clock.now + 3600_000);
    assert.equal(a2, a1);
    const b = await s.assumed(ROLE_B, 'ana@example.com');
    const bo = await s.assumed(ROLE_A, 'bo');
    assert.equal(sts.calls.length, 3);
    assert.notEqual(b.accessKeyId, a1.accessKeyId);
    assert.notEqual(bo.accessKeyId, a1.accessKeyId);
  });

  test('cached until five minutes before expiry, then refreshed', async () => {
    const s = source();
    const first = await s.assumed(ROLE_A, 'ana');
    clock.now += 54 * MIN;
    assert.equal(await s.assumed(ROLE_A, 'ana'), first);
    assert.equal(sts.calls.length, 1);
    clock.now += 1 * MIN + 1;
    const second = await s.assumed(ROLE_A, 'ana');
    assert.equal(sts.calls.length, 2);
    assert.notEqual(second.accessKeyId, first.accessKeyId);
    assert.equal(second.expiration?.getTime(), Math.floor((clock.now + 3600_000) / 1000) * 1000);
  });

  test('AccessDenied: a clean AppError naming role, session and code, remembered for a few seconds', async () => {
    sts.behave((c) => (c.roleArn === ROLE_B ? { kind: 'error', code: 'AccessDenied' } : undefined));
    const s = source();
    const refused = async () => {
      try {
        await s.assumed(ROLE_B, 'ana');
      } catch (e: unknown) {
        return e;
      }
      assert.fail('expected AssumeRole to fail');
    };
    const e = await refused();
    assert.ok(isAppError(e));
    assert.equal(e.code, 'gateway.assume_role_failed');
    assert.equal(e.retryable, false);
    assert.equal(e.message, `AssumeRole ${ROLE_B} (session ana) failed: AccessDenied`);
    assert.doesNotMatch(
      e.message,
      /AKIDGATEWAYOWN|is not authorized/,
      "STS's message stays in the log",
    );
    assert.match(
      logged[0] ?? '',
      /AssumeRole failed .*is not authorized to perform: sts:AssumeRole/,
    );
    await refused();
    assert.equal(sts.calls.length, 1, 'the failure is answered from memory');
    clock.now += 5001;
    await refused();
    assert.equal(sts.calls.length, 2, 'and asked again after failureCacheMs');
    sts.behave(null);
    clock.now += 5001;
    await s.assumed(ROLE_B, 'ana');
    assert.equal(assumeCalls(), 1, 'a fixed policy takes effect without a restart');
  });

  test('a failed refresh keeps serving the previous session until it expires', async () => {
    const s = source();
    const first = await s.assumed(ROLE_A, 'ana');
    sts.behave(() => ({ kind: 'error', code: 'ServiceUnavailable' }));
    clock.now += 56 * MIN;
    assert.equal(await s.assumed(ROLE_A, 'ana'), first, 'still valid for 4 minutes');
    assert.match(logged[0] ?? '', /servingPreviousUntil/);
    clock.now += 4 * MIN;
    await assert.rejects(s.assumed(ROLE_A, 'ana'), (e: unknown) => {
      assert.ok(isAppError(e));
      assert.equal(e.retryable, true, 'a 5xx from STS is retryable');
      return true;
    });
  });
});

describe('createAwsCredentialSource behind a proxy', () => {
  test('AssumeRole goes through the request handler it is given for the STS endpoint', async () => {
    const sts = await startFakeSts({ credentials: [GATEWAY] });
    const proxy = await startTestProxy();
    try {
      const asked: string[] = [];
      const source = createAwsCredentialSource({
        region: 'us-east-1',
        stsEndpoint: sts.url,
        own: async () => GATEWAY,
        requestHandler: (endpoint) => {
          asked.push(endpoint);
          const agent = { proxy: proxy.url, keepAlive: false };
          return { httpAgent: new HttpProxyAgent(agent), httpsAgent: new HttpsProxyAgent(agent) };
        },
      });
      const c = await source.assumed(ROLE_A, 'ana@example.com');
      assert.ok(c.sessionToken);
      assert.deepEqual(asked, [sts.url]);
      assert.deepEqual(proxy.tunnels, [new URL(sts.url).host]);
    } finally {
      await proxy.close();
      await sts.close();
    }
  });
});
