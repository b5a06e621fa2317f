/**
 * Per-team assumed roles end to end: `startGateway` with its real credential source (the standard AWS chain for
 * itself, STS AssumeRole per team) in front of the fake Bedrock (which verifies every SigV4 signature) and the fake
 * STS (which verifies the gateway's signature on AssumeRole and issues the session credentials the fake Bedrock then
 * accepts). The gateway finds the fake STS the way any AWS SDK would: `AWS_ENDPOINT_URL_STS`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningGateway, startGateway } from '../../src/cli/commands/gateway.ts';
import type { Logger } from '../../src/core/index.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import {
  type FakeBedrock,
  type RecordedRequest,
  startFakeBedrock,
} from '../support/fake-bedrock.ts';
import { type FakeSts, type StsKey, startFakeSts } from '../support/fake-sts.ts';
import { tempDir } from '../support/temp-dir.ts';

const GATEWAY = { accessKeyId: 'AKIDGATEWAYCHAIN', secretAccessKey: 'gateway-chain-secret' };
const ROLE_A = 'arn:aws:iam::111111111111:role/bedrock/team-a';
const ROLE_B = 'arn:aws:iam::222222222222:role/team-b';
const ROLE_DENIED = 'arn:aws:iam::111111111111:role/not-trusted';
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const REFRESH_MS = 5 * 60_000;
const quiet: Logger = { info() {}, warn() {}, error() {} };

let dir: { path: string; remove(): void };
let rt: Runtime;
let bedrock: FakeBedrock;
let sts: FakeSts;
let gw: RunningGateway;
const keys = new Map<string, string>();
const savedEnv = { ...process.env };

/** The key that signed a request the fake Bedrock received, and the session token sent with it. */
function signer(r: RecordedRequest | undefined): { key: string; token: string | null } {
  const m = /Credential=([^/]+)\//.exec(r?.headers.authorization ?? '');
  return { key: m?.[1] ?? '', token: r?.headers['x-amz-security-token'] ?? null };
}

function converse(who: string): Promise<Response> {
  return fetch(`${gw.url}/model/${encodeURIComponent(HAIKU)}/converse`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.get(who)}` },
    body: JSON.stringify({
      messages: [{ role: 'user', content: [{ text: 'hello' }] }],
      inferenceConfig: { maxTokens: 20 },
    }),
  });
}

/** Calls as `who`, expects a 200 and returns what the fake Bedrock saw. */
async function ok(who: string): Promise<RecordedRequest> {
  const before = bedrock.requests.length;
  const r = await converse(who);
  assert.equal(r.status, 200, await r.text());
  assert.equal(bedrock.requests.length, before + 1);
  const sent = bedrock.requests.at(-1) as RecordedRequest;
  assert.equal(sent.auth, 'sigv4');
  assert.equal(sent.status, 200, 'the fake Bedrock verified the signature');
  return sent;
}

describe('gateway: per-team assumed roles against a fake STS', () => {
  before(async () => {
    dir = tempDir('tl-gw-roles-');
    const accepted: StsKey[] = [GATEWAY];
    sts = await startFakeSts({ credentials: [GATEWAY], onIssue: (c) => accepted.push(c) });
    bedrock = await startFakeBedrock({ credentials: accepted });
    // The gateway's own credentials come from the standard chain, here its environment variables; nothing else.
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    const env = {
      AWS_ACCESS_KEY_ID: GATEWAY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: GATEWAY.secretAccessKey,
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_CONFIG_FILE: join(dir.path, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir.path, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    Object.assign(process.env, env);
    const config = join(dir.path, 'tokenledger.yaml');
    writeFileSync(
      config,
      [
        'gateway:',
        '  upstream:',
        `    endpoint: ${bedrock.url}`,
        '    region: us-east-1',
        '    roles:',
        `      team-a: ${ROLE_A}`,
        `      team-b: ${ROLE_B}`,
        `      team-d: ${ROLE_DENIED}`,
        '  spool:',
        '    flushMs: 50',
        '',
      ].join('\n'),
    );
    rt = await openRuntime({ db: join(dir.path, 'ledger.duckdb'), configPath: config, env: {} });
    const people: [string, string, string][] = [
      ['ana', 'team-a', 'ana@example.com'],
      ['bo', 'team-a', 'Bo the Builder'],
      ['cy', 'team-b', 'cy@example.com'],
      ['fay', 'team-b', 'fay@example.com'],
      ['dee', 'team-c', 'dee@example.com'],
      ['eve', 'team-d', 'eve@example.com'],
    ];
    for (const [name, team, user] of people) {
      const { key, plaintext } = newKey(
        { name, team, user, feature: null, project: null, environment: 'prod' },
        Date.now(),
        null,
      );
      await rt.store.gatewayKeys.put([key]);
      keys.set(name, plaintext);
    }
    gw = await startGateway(rt, {
      port: 0,
      host: '127.0.0.1',
      env: { ...env, TOKENLEDGER_ADMIN_TOKEN: 'admin-secret' },
      baseDir: dir.path,
      log: quiet,
    });
  });

  after(async () => {
    await gw.close();
    await bedrock.close();
    await sts.close();
    await rt.close();
    dir.remove();
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  });

  test("team A's call is signed with team A's role, the session named after the user", async () => {
    const sent = await ok('ana');
    assert.equal(sts.calls.length, 1);
    const call = sts.calls[0];
    assert.deepEqual(
      [
        call?.roleArn,
        call?.roleSessionName,
        call?.durationSeconds,
        call?.accessKeyId,
        call?.status,
      ],
      [ROLE_A, 'ana@example.com', 3600, GATEWAY.accessKeyId, 200],
      'AssumeRole of team A, signed with the gateway’s own credentials',
    );
    assert.deepEqual(signer(sent), {
      key: call?.issued?.accessKeyId,
      token: call?.issued?.sessionToken,
    });
    await gw.flush();
    const stored = await rt.store.getRecord(sent.requestId);
    assert.equal(
      stored?.identity_arn,
      'arn:aws:sts::111111111111:assumed-role/team-a/ana@example.com',
      'the ledger names the assumed-role session CloudTrail and CUR see',
    );
  });

  test('the same user again reuses the session; another user of team A gets their own', async () => {
    const first = sts.calls[0]?.issued;
    const again = await ok('ana');
    assert.equal(sts.calls.length, 1, 'no second AssumeRole');
    assert.equal(signer(again).key, first?.accessKeyId);
    const bo = await ok('bo');
    assert.equal(sts.calls.length, 2);
    assert.equal(sts.calls[1]?.roleArn, ROLE_A);
    assert.equal(sts.calls[1]?.roleSessionName, 'Bo-the-Builder', 'roleSessionName() of the user');
    assert.equal(signer(bo).key, sts.calls[1]?.issued?.accessKeyId);
  });

  test('team B assumes its own role', async () => {
    const sent = await ok('cy');
    const call = sts.calls.at(-1);
    assert.deepEqual([call?.roleArn, call?.roleSessionName], [ROLE_B, 'cy@example.com']);
    assert.equal(signer(sent).key, call?.issued?.accessKeyId);
  });

  test('a team without a role is signed with the default chain’s credentials, no STS call', async () => {
    const before = sts.calls.length;
    const sent = await ok('dee');
    assert.equal(sts.calls.length, before);
    assert.deepEqual(signer(sent), { key: GATEWAY.accessKeyId, token: null });
    await gw.flush();
    assert.equal((await rt.store.getRecord(sent.requestId))?.identity_arn, null);
  });

  test('a session is reused until five minutes before it expires, then assumed again', async () => {
    // STS issues fay a session that reaches the refresh point 2–3 s from now.
    sts.behave((c) =>
      c.roleSessionName === 'fay@example.com'
        ? { kind: 'respond', expiresInSeconds: 303 }
        : undefined,
    );
    try {
      const before = sts.calls.length;
      const first = await ok('fay');
      const issued = sts.calls.at(-1)?.issued;
      assert.ok(issued);
      const second = await ok('fay');
      assert.equal(sts.calls.length, before + 1, 'cached while fresh');
      assert.equal(signer(second).key, signer(first).key);
      const wait = issued.expiration.getTime() - REFRESH_MS - Date.now() + 50;
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
      const third = await ok('fay');
      assert.equal(sts.calls.length, before + 2, 'refreshed');
      assert.notEqual(signer(third).key, issued.accessKeyId);
      assert.equal(signer(third).key, sts.calls.at(-1)?.issued?.accessKeyId);
    } finally {
      sts.behave(null);
    }
  });

  test('STS AccessDenied: the caller gets 502 with a JSON reason, the call is recorded, nothing is held', async () => {
    sts.behave((c) =>
      c.roleArn === ROLE_DENIED ? { kind: 'error', code: 'AccessDenied' } : undefined,
    );
    try {
      const sentBefore = bedrock.requests.length;
      const r = await converse('eve');
      assert.equal(r.status, 502);
      assert.equal(r.headers.get('x-amzn-errortype'), 'UpstreamUnavailable');
      const body = (await r.json()) as { message: string };
      assert.equal(
        body.message,
        `upstream: AssumeRole ${ROLE_DENIED} (session eve@example.com) failed: AccessDenied`,
      );
      assert.doesNotMatch(body.message, /AKIDGATEWAYCHAIN|is not authorized/);
      assert.equal(bedrock.requests.length, sentBefore, 'nothing reached Bedrock');
      const call = sts.calls.at(-1);
      assert.deepEqual(
        [call?.roleArn, call?.roleSessionName, call?.error, call?.status],
        [ROLE_DENIED, 'eve@example.com', 'AccessDenied', 403],
      );
      const stsCalls = sts.calls.length;
      assert.equal((await converse('eve')).status, 502);
      assert.equal(sts.calls.length, stsCalls, 'a denied role is not asked again on every request');
      await gw.flush();
      const { rows } = await rt.store.queryUsage({ groupBy: ['team', 'error_code'], where: [] });
      const failed = rows.find((x) => x.keys.team === 'team-d');
      assert.equal(failed?.keys.error_code, 'UpstreamUnavailable');
      assert.equal(failed?.requests, 2);
      const status = await fetch(`${gw.url}/admin/budgets`, {
        headers: { authorization: 'Bearer admin-secret' },
      }).then((x) => x.json() as Promise<Record<string, unknown>>);
      assert.equal(status.openTickets, 0, 'the reservations were released');
      assert.equal(status.expiredTickets, 0);
    } finally {
      sts.behave(null);
    }
  });
});
