import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { startFakeBedrock } from '../../test/support/fake-bedrock.ts';
import {
  type Credentials,
  canonicalPath,
  createSigV4Signer,
  type SignableHeaders,
} from './sigv4.ts';

const KEY: Credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const NOW = Date.UTC(2026, 2, 14, 9, 26, 53, 589);
const ARN_MODEL =
  'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly host: string;
  /** As on the wire. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly credentials?: Credentials;
}

const body = JSON.stringify({
  messages: [{ role: 'user', content: [{ text: 'Hello, "world" ✓' }] }],
});
const sdkHeaders = {
  'content-type': 'application/json',
  'content-length': String(Buffer.byteLength(body)),
  'user-agent': 'aws-sdk-js/3.1164.0 ua/2.1 os/linux',
  'x-amz-user-agent': 'aws-sdk-js/3.1164.0',
  'amz-sdk-invocation-id': '7d8e5c6a-2f0b-4a43-9d6e-1a1f1c9a0b77',
  'amz-sdk-request': 'attempt=1; max=3',
};

const CASES: readonly Case[] = [
  {
    name: 'Converse, model id with a colon (%3A on the wire)',
    method: 'POST',
    host: 'bedrock-runtime.us-east-1.amazonaws.com',
    path: `/model/${encodeURIComponent('anthropic.claude-v2:1')}/converse`,
    headers: sdkHeaders,
    body,
  },
  {
    name: 'InvokeModel on an inference-profile ARN (colons and a slash encoded in one segment)',
    method: 'POST',
    host: 'bedrock-runtime.us-east-1.amazonaws.com',
    path: `/model/${encodeURIComponent(ARN_MODEL)}/invoke`,
    headers: { ...sdkHeaders, accept: 'application/json' },
    body,
  },
  {
    name: 'signed X-Amzn-Bedrock-Request-Metadata (JSON with spaces), session token',
    method: 'POST',
    host: 'bedrock-runtime.eu-west-1.amazonaws.com',
    path: `/model/${encodeURIComponent('eu.anthropic.claude-haiku-4-5-20251001-v1:0')}/invoke-with-response-stream`,
    headers: {
      ...sdkHeaders,
      'X-Amzn-Bedrock-Request-Metadata':
        '{"team": "search", "user": "ana  maria", "cost_center": "cc-42"}',
      'X-Amzn-Bedrock-Accept': 'application/json',
    },
    body,
    credentials: { ...KEY, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/token+with/slashes==' },
  },
  {
    name: 'control-plane GET with a query, repeated and encoded values',
    method: 'GET',
    host: 'bedrock.us-east-1.amazonaws.com',
    path: '/inference-profiles?type=SYSTEM_DEFINED&maxResults=10&tag=b%20c&tag=a&z=%2F%3A',
    headers: { 'user-agent': 'claude-code' },
  },
  {
    name: "whitespace in header values, and characters encodeURIComponent leaves (!'()*) in the path",
    method: 'POST',
    host: '127.0.0.1:8443',
    path: "/model/odd!name(1)*'x~y/invoke",
    headers: {
      'X-Custom': '  lead and   inner\tspaces  ',
      'x-folded': 'one\r\n two',
      connection: 'keep-alive',
      'proxy-authorization': 'x',
      'sec-fetch-mode': 'cors',
      'content-type': 'application/json',
    },
    body: '{}',
  },
  {
    name: 'a caller-supplied payload hash (UNSIGNED-PAYLOAD) and an empty body',
    method: 'POST',
    host: 'bedrock-runtime.us-east-1.amazonaws.com',
    path: '/model/amazon.nova-lite-v1%3A0/converse',
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'application/json' },
  },
];

function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const part of raw.split('&')) {
    const [k = '', v = ''] = part.split('=');
    const key = decodeURIComponent(k);
    const value = decodeURIComponent(v);
    const prev = query[key];
    query[key] =
      prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return query;
}

async function smithySign(c: Case, at: number): Promise<Record<string, string>> {
  const creds = c.credentials ?? KEY;
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      ...(creds.sessionToken === undefined ? {} : { sessionToken: creds.sessionToken }),
    },
    region: c.host.includes('eu-west-1') ? 'eu-west-1' : 'us-east-1',
    service: 'bedrock',
    sha256: Hash.bind(null, 'sha256'),
  });
  const q = c.path.indexOf('?');
  const signed = await signer.sign(
    {
      method: c.method,
      protocol: 'https:',
      hostname: c.host,
      path: q < 0 ? c.path : c.path.slice(0, q),
      query: q < 0 ? {} : parseQuery(c.path.slice(q + 1)),
      headers: { ...c.headers, host: c.host },
      ...(c.body === undefined ? {} : { body: c.body }),
    },
    { signingDate: new Date(at) },
  );
  const out: Record<string, string> = {};
  for (const name of [
    'authorization',
    'x-amz-date',
    'x-amz-content-sha256',
    'x-amz-security-token',
  ]) {
    const value = signed.headers[name];
    if (value !== undefined && c.headers[name] === undefined) out[name] = value;
  }
  return out;
}

describe('createSigV4Signer signs exactly as @smithy/signature-v4', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const signer = createSigV4Signer({
        region: c.host.includes('eu-west-1') ? 'eu-west-1' : 'us-east-1',
        service: 'bedrock',
        credentials: async () => c.credentials ?? KEY,
        clock: () => NOW,
      });
      const ours = await signer.sign({
        method: c.method,
        host: c.host,
        path: c.path,
        headers: c.headers,
        body: c.body === undefined ? null : Buffer.from(c.body),
      });
      assert.deepEqual(ours, await smithySign(c, NOW));
    });
  }

  test('a URL gives the host (with its port) and the path', async () => {
    const c = CASES[0] as Case;
    const signer = createSigV4Signer({
      region: 'us-east-1',
      service: 'bedrock',
      credentials: async () => KEY,
      clock: () => NOW,
    });
    const ours = await signer.sign({
      method: 'POST',
      url: `http://127.0.0.1:8443${c.path}`,
      headers: c.headers,
      body: c.body ?? null,
    });
    assert.deepEqual(ours, await smithySign({ ...c, host: '127.0.0.1:8443' }, NOW));
  });
});

describe('canonicalPath', () => {
  test('encodes once more, keeps the slashes between segments, resolves dot segments', () => {
    assert.equal(
      canonicalPath('/model/anthropic.claude-v2%3A1/invoke'),
      '/model/anthropic.claude-v2%253A1/invoke',
    );
    assert.equal(
      canonicalPath('/model/arn%3Aaws%3Abedrock%3A%3A1%2Fx/invoke'),
      '/model/arn%253Aaws%253Abedrock%253A%253A1%252Fx/invoke',
    );
    assert.equal(canonicalPath('/a/./b/../c//d/'), '/a/c/d/');
    assert.equal(canonicalPath('/'), '/');
  });
});

describe('caches', () => {
  test('credentials are resolved once, and again when they near their expiry', async () => {
    let now = NOW;
    let calls = 0;
    const signer = createSigV4Signer({
      region: 'us-east-1',
      service: 'bedrock',
      clock: () => now,
      credentials: async () => {
        calls++;
        return { ...KEY, sessionToken: `token-${calls}`, expiration: new Date(now + 60 * 60_000) };
      },
    });
    const request = {
      method: 'POST',
      host: 'h',
      path: '/model/m/converse',
      headers: {},
      body: '{}',
    };
    const first = await Promise.all([
      signer.sign(request),
      signer.sign(request),
      signer.sign(request),
    ]);
    assert.equal(calls, 1, 'concurrent first signs share one resolution');
    assert.equal(first[0]?.['x-amz-security-token'], 'token-1');
    now += 50 * 60_000;
    assert.equal(
      (await signer.sign(request))['x-amz-security-token'],
      'token-1',
      '10 minutes left: still fresh',
    );
    now += 6 * 60_000;
    assert.equal(
      (await signer.sign(request))['x-amz-security-token'],
      'token-2',
      '4 minutes left: refreshed',
    );
    assert.equal(calls, 2);
  });

  test('the signing key follows the day: signatures stay identical to smithy across midnight', async () => {
    let now = Date.UTC(2026, 0, 31, 23, 59, 59);
    const signer = createSigV4Signer({
      region: 'us-east-1',
      service: 'bedrock',
      credentials: async () => KEY,
      clock: () => now,
    });
    const c = CASES[1] as Case;
    const sign = () =>
      signer.sign({
        method: c.method,
        host: c.host,
        path: c.path,
        headers: c.headers,
        body: c.body ?? null,
      });
    assert.deepEqual(await sign(), await smithySign(c, now));
    now += 2_000;
    assert.deepEqual(await sign(), await smithySign(c, now));
  });

  test('a failing credential provider rejects the sign, and the next sign tries again', async () => {
    let fail = true;
    const signer = createSigV4Signer({
      region: 'us-east-1',
      service: 'bedrock',
      clock: () => NOW,
      credentials: async () => {
        if (fail) throw new Error('no credentials');
        return KEY;
      },
    });
    const request = { method: 'GET', host: 'h', path: '/' };
    await assert.rejects(signer.sign(request), /no credentials/);
    fail = false;
    assert.match(
      (await signer.sign(request)).authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//,
    );
  });
});

test('a request signed here passes the fake Bedrock, which verifies with @smithy/signature-v4', async () => {
  const fake = await startFakeBedrock({ credentials: [KEY] });
  try {
    const signer = createSigV4Signer({
      region: 'us-east-1',
      service: 'bedrock',
      credentials: async () => KEY,
    });
    const url = `${fake.url}/model/${encodeURIComponent(ARN_MODEL)}/invoke`;
    const payload = JSON.stringify({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const headers: SignableHeaders = {
      'content-type': 'application/json',
      'x-amzn-bedrock-request-metadata': JSON.stringify({ team: 'search' }),
    };
    const signed = await signer.sign({ method: 'POST', url, headers, body: payload });
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...(headers as Record<string, string>), ...signed },
      body: payload,
    });
    await res.arrayBuffer();
    assert.equal(res.status, 200, res.headers.get('x-amzn-errortype') ?? '');
    assert.deepEqual(fake.requests[0]?.requestMetadata, { team: 'search' });
    assert.equal(fake.requests[0]?.modelId, ARN_MODEL);
  } finally {
    await fake.close();
  }
});
