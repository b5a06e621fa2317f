/**
 * The fake STS is trusted because the real AWS SDK v3 `STSClient` reads it: AssumeRole's credentials, expiration,
 * assumed-role user and request id; errors as the SDK's own exceptions (unmodelled `AccessDenied` by name, modelled
 * ones by class); SigV4 verified; and `AWS_ENDPOINT_URL_STS` pointing the SDK at it as it would at any endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  ExpiredTokenException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { type FakeSts, type StsKey, startFakeSts } from './fake-sts.ts';

const KEY = { accessKeyId: 'AKIDFAKESTSCALLER', secretAccessKey: 'fake-sts-secret' };
const ROLE = 'arn:aws:iam::123456789012:role/teams/search-bedrock';
const INPUT: AssumeRoleCommandInput = {
  RoleArn: ROLE,
  RoleSessionName: 'ana@example.com',
  DurationSeconds: 1800,
};

let sts: FakeSts;
const keys: StsKey[] = [KEY];

function client(credentials: StsKey & { sessionToken?: string } = KEY): STSClient {
  return new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

async function refusal(p: Promise<unknown>): Promise<STSServiceException> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(e instanceof STSServiceException, `an STS exception, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('fake STS, read by the real AWS SDK v3 STSClient', () => {
  before(async () => {
    // Issued credentials may call STS again (role chaining), as real ones can.
    sts = await startFakeSts({ credentials: keys, onIssue: (c) => keys.push(c) });
  });
  after(() => sts.close());

  test('AssumeRole: the SDK reads credentials, expiration, assumed-role user and request id', async () => {
    const before = Date.now();
    const out = await client().send(new AssumeRoleCommand(INPUT));
    const call = sts.calls.at(-1);
    assert.ok(call?.issued);
    assert.deepEqual(
      {
        action: call.action,
        roleArn: call.roleArn,
        roleSessionName: call.roleSessionName,
        durationSeconds: call.durationSeconds,
        accessKeyId: call.accessKeyId,
        securityToken: call.securityToken,
        status: call.status,
      },
      {
        action: 'AssumeRole',
        roleArn: ROLE,
        roleSessionName: 'ana@example.com',
        durationSeconds: 1800,
        accessKeyId: KEY.accessKeyId,
        securityToken: null,
        status: 200,
      },
    );
    const c = out.Credentials;
    assert.ok(c);
    assert.equal(c.AccessKeyId, call.issued.accessKeyId);
    assert.match(c.AccessKeyId ?? '', /^ASIA/);
    assert.equal(c.SecretAccessKey, call.issued.secretAccessKey);
    assert.equal(c.SessionToken, call.issued.sessionToken);
    assert.ok(c.Expiration instanceof Date, 'Expiration is read as a Date');
    assert.equal(c.Expiration.getTime(), call.issued.expiration.getTime());
    // Stamped by the fake at some instant during the call: between `before` and now.
    const life = c.Expiration.getTime() - before;
    const took = Date.now() - before;
    assert.ok(
      life > 1799_000 - 1000 && life <= 1800_000 + took,
      `expires after DurationSeconds (${life}, the call took ${took} ms)`,
    );
    assert.equal(
      out.AssumedRoleUser?.Arn,
      'arn:aws:sts::123456789012:assumed-role/search-bedrock/ana@example.com',
    );
    assert.match(out.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[A-Z0-9]+:ana@example\.com$/);
    assert.equal(out.PackedPolicySize, 0);
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.$metadata.requestId, call.requestId);
  });

  test('a caller signing with temporary credentials is recorded with its key and session token', async () => {
    const first = await client().send(new AssumeRoleCommand(INPUT));
    const c = first.Credentials;
    assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken);
    await client({
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    }).send(new AssumeRoleCommand({ ...INPUT, RoleSessionName: 'chained' }));
    const call = sts.calls.at(-1);
    assert.equal(call?.accessKeyId, c.AccessKeyId);
    assert.equal(call?.securityToken, c.SessionToken);
    assert.equal(call?.status, 200);
  });

  test('a rule can shorten the lifetime of the credentials it issues', async () => {
    sts.behave(() => ({ kind: 'respond', expiresInSeconds: 905 }));
    try {
      const before = Date.now();
      const out = await client().send(new AssumeRoleCommand(INPUT));
      const life = (out.Credentials?.Expiration?.getTime() ?? 0) - before;
      const took = Date.now() - before;
      assert.ok(life > 903_000 && life <= 905_000 + took, `about 905 s (${life})`);
    } finally {
      sts.behave(null);
    }
  });

  test('AccessDenied: an ErrorResponse the SDK raises as AccessDenied (403) with the message and request id', async () => {
    sts.behave((call) =>
      call.roleArn === ROLE ? { kind: 'error', code: 'AccessDenied' } : undefined,
    );
    try {
      const e = await refusal(client().send(new AssumeRoleCommand(INPUT)));
      const call = sts.calls.at(-1);
      assert.equal(e.name, 'AccessDenied');
      assert.equal(e.$fault, 'client');
      assert.equal(e.$metadata.httpStatusCode, 403);
      assert.equal(e.$metadata.requestId, call?.requestId);
      assert.match(
        e.message,
        /is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role\/teams\/search-bedrock/,
      );
      assert.equal(call?.error, 'AccessDenied');
      assert.equal(call?.status, 403);
      assert.equal(call?.issued, null);
    } finally {
      sts.behave(null);
    }
  });

  test('a modelled error comes back as the SDK class', async () => {
    sts.behave(() => ({ kind: 'error', code: 'ExpiredTokenException', message: 'token expired' }));
    try {
      const e = await refusal(client().send(new AssumeRoleCommand(INPUT)));
      assert.ok(e instanceof ExpiredTokenException);
      assert.equal(e.message, 'token expired');
    } finally {
      sts.behave(null);
    }
  });

  test('SigV4 is verified: a wrong secret, an unknown key', async () => {
    const bad = await refusal(
      client({ ...KEY, secretAccessKey: 'wrong' }).send(new AssumeRoleCommand(INPUT)),
    );
    assert.equal(bad.name, 'SignatureDoesNotMatch');
    assert.equal(bad.$metadata.httpStatusCode, 403);
    const unknown = await refusal(
      client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' }).send(
        new AssumeRoleCommand(INPUT),
      ),
    );
    assert.equal(unknown.name, 'InvalidClientTokenId');
    assert.equal(sts.calls.at(-1)?.accessKeyId, 'AKIDUNKNOWN', 'the caller is recorded anyway');
  });

  test("AssumeRole's constraints: DurationSeconds and RoleSessionName", async () => {
    const short = await refusal(
      client().send(new AssumeRoleCommand({ ...INPUT, DurationSeconds: 60 })),
    );
    assert.equal(short.name, 'ValidationError');
    assert.equal(short.$metadata.httpStatusCode, 400);
    assert.match(short.message, /durationSeconds.*between 900 and 43200/);
    const name = await refusal(
      client().send(new AssumeRoleCommand({ ...INPUT, RoleSessionName: 'ana example' })),
    );
    assert.equal(name.name, 'ValidationError');
    assert.match(name.message, /roleSessionName/);
  });

  test('AWS_ENDPOINT_URL_STS points an SDK client without an endpoint at the fake', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    try {
      const c = new STSClient({ region: 'us-east-1', credentials: KEY, maxAttempts: 1 });
      const out = await c.send(new AssumeRoleCommand({ ...INPUT, RoleSessionName: 'via-env' }));
      assert.equal(out.Credentials?.AccessKeyId, sts.calls.at(-1)?.issued?.accessKeyId);
      assert.equal(sts.calls.at(-1)?.roleSessionName, 'via-env');
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
      else process.env.AWS_ENDPOINT_URL_STS = saved;
    }
  });
});
