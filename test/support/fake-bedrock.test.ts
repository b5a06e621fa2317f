/**
 * The fake Bedrock is trusted because the real AWS SDK v3 client reads it: all four operations (over h2c, as the SDK
 * speaks to plain endpoints), usage and metrics, event streams, request ids, errors as the SDK's own exception
 * classes, in-stream exceptions, SigV4 (verified) and bearer (API key) authentication.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  ConverseCommand,
  ConverseStreamCommand,
  InternalServerException,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ModelStreamErrorException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  type FakeBedrock,
  nextRequests,
  type RecordedRequest,
  startFakeBedrock,
} from './fake-bedrock.ts';

const KEY = { accessKeyId: 'AKIDFAKEBEDROCK', secretAccessKey: 'fake-secret-key' };
const CLAUDE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE_ARN = `arn:aws:bedrock:us-east-1:123456789012:inference-profile/${CLAUDE}`;
const ANTHROPIC_BODY = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Say hello.' }],
};
const MESSAGES = [{ role: 'user' as const, content: [{ text: 'Say hello.' }] }];

let fake: FakeBedrock;
let client: BedrockRuntimeClient;

function sdk(config: Partial<BedrockRuntimeClientConfig> = {}): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: KEY,
    maxAttempts: 1,
    ...config,
  });
}

function last(): RecordedRequest {
  const r = fake.requests.at(-1);
  assert.ok(r, 'a request was recorded');
  return r;
}

function decodeChunk(bytes: Uint8Array | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(bytes ?? new Uint8Array()).toString('utf8')) as Record<
    string,
    unknown
  >;
}

async function rejection(
  p: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await p;
  } catch (e: unknown) {
    assert.ok(e instanceof Error);
    return e;
  }
  assert.fail('expected a rejection');
}

before(async () => {
  fake = await startFakeBedrock({ credentials: [KEY], outputTokens: 12 });
  client = sdk();
});
after(async () => {
  client.destroy();
  await fake.close();
});

describe('fake Bedrock read by the AWS SDK v3', () => {
  test('Converse: output, usage, metrics and request id; SigV4 verified over h2c; request metadata recorded', async () => {
    const out = await client.send(
      new ConverseCommand({
        modelId: CLAUDE,
        messages: MESSAGES,
        requestMetadata: { team: 'search', user: 'ana' },
      }),
    );
    const rec = last();
    assert.equal(rec.operation, 'Converse');
    assert.equal(rec.httpVersion, '2.0');
    assert.equal(rec.auth, 'sigv4');
    assert.equal(rec.status, 200);
    assert.deepEqual(rec.requestMetadata, { team: 'search', user: 'ana' });
    assert.equal(out.$metadata.requestId, rec.requestId);
    assert.equal(out.stopReason, 'end_turn');
    assert.equal(out.output?.message?.content?.[0]?.text, 'w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11');
    assert.equal(out.metrics?.latencyMs, 42);
    const t = rec.tokens;
    assert.ok(t);
    assert.equal(t.input, Math.ceil(rec.bodyBytes / 4));
    assert.equal(t.output, 12);
    assert.deepEqual(out.usage, {
      inputTokens: t.input,
      outputTokens: 12,
      totalTokens: t.input + 12,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  test('ConverseStream: event order, deltas, stop reason and metadata usage', async () => {
    const out = await client.send(
      new ConverseStreamCommand({
        modelId: PROFILE_ARN,
        messages: MESSAGES,
        inferenceConfig: { maxTokens: 5 },
      }),
    );
    const kinds: string[] = [];
    let text = '';
    let usage: unknown;
    for await (const event of out.stream ?? []) {
      kinds.push(Object.keys(event).find((k) => k !== '$unknown') ?? '?');
      text += event.contentBlockDelta?.delta?.text ?? '';
      if (event.messageStop) assert.equal(event.messageStop.stopReason, 'max_tokens');
      if (event.metadata) {
        usage = event.metadata.usage;
        assert.equal(event.metadata.metrics?.latencyMs, 42);
      }
    }
    const rec = last();
    assert.equal(
      rec.modelId,
      PROFILE_ARN,
      'the ARN is decoded from its percent-encoded path segment',
    );
    assert.match(
      rec.rawPath,
      /^\/model\/arn%3Aaws%3Abedrock%3A.*%2Fus\.anthropic\..*\/converse-stream$/,
    );
    assert.equal(out.$metadata.requestId, rec.requestId);
    assert.deepEqual(kinds, [
      'messageStart',
      ...Array(5).fill('contentBlockDelta'),
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    assert.equal(text, 'w0 w1 w2 w3 w4');
    assert.equal(rec.eventsSent, 9);
    assert.equal(rec.outcome, 'ok');
    assert.deepEqual(usage, {
      inputTokens: rec.tokens?.input,
      outputTokens: 5,
      totalTokens: (rec.tokens?.input ?? 0) + 5,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  test('InvokeModel: Anthropic body with usage; metadata header recorded', async () => {
    const out = await client.send(
      new InvokeModelCommand({
        modelId: CLAUDE,
        body: JSON.stringify({ ...ANTHROPIC_BODY, max_tokens: 3 }),
        requestMetadata: JSON.stringify({ team: 'ops' }),
      }),
    );
    const rec = last();
    assert.equal(rec.operation, 'InvokeModel');
    assert.deepEqual(rec.requestMetadata, { team: 'ops' });
    assert.equal(out.$metadata.requestId, rec.requestId);
    assert.equal(out.contentType, 'application/json');
    const body = decodeChunk(out.body);
    assert.equal(body.model, 'claude-sonnet-4-5-20250929');
    assert.equal(body.stop_reason, 'max_tokens');
    assert.deepEqual(body.usage, {
      input_tokens: rec.tokens?.input,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 3,
    });
  });

  test('the served service tier, as the SDK reads it: Converse and its metadata event, the InvokeModel header', async () => {
    fake.behave(nextRequests({ kind: 'respond', servedTier: 'default' }, 3));
    try {
      const converse = await client.send(
        new ConverseCommand({
          modelId: CLAUDE,
          messages: MESSAGES,
          serviceTier: { type: 'priority' },
        }),
      );
      assert.deepEqual(converse.serviceTier, { type: 'default' });
      const stream = await client.send(
        new ConverseStreamCommand({
          modelId: CLAUDE,
          messages: MESSAGES,
          serviceTier: { type: 'flex' },
        }),
      );
      let served: unknown;
      for await (const event of stream.stream ?? []) served ??= event.metadata?.serviceTier;
      assert.deepEqual(served, { type: 'default' });
      const invoke = await client.send(
        new InvokeModelCommand({
          modelId: CLAUDE,
          body: JSON.stringify(ANTHROPIC_BODY),
          serviceTier: 'priority',
        }),
      );
      assert.equal(invoke.serviceTier, 'default');
    } finally {
      fake.behave(null);
    }
    // Without a rule the answer states the tier asked for.
    const asked = await client.send(
      new InvokeModelCommand({
        modelId: CLAUDE,
        body: JSON.stringify(ANTHROPIC_BODY),
        serviceTier: 'flex',
      }),
    );
    assert.equal(asked.serviceTier, 'flex');
    assert.equal(last().headers['x-amzn-bedrock-service-tier'], 'flex');
  });

  test('InvokeModel over HTTP/1.1: the x-amzn-bedrock token headers', async () => {
    const res = await fetch(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer any-key' },
      body: JSON.stringify(ANTHROPIC_BODY),
    });
    await res.arrayBuffer();
    const rec = last();
    assert.equal(res.status, 200);
    assert.equal(rec.httpVersion, '1.1');
    assert.equal(rec.auth, 'bearer');
    assert.equal(res.headers.get('x-amzn-requestid'), rec.requestId);
    assert.equal(res.headers.get('x-amzn-bedrock-input-token-count'), String(rec.tokens?.input));
    assert.equal(res.headers.get('x-amzn-bedrock-output-token-count'), '12');
    assert.equal(res.headers.get('x-amzn-bedrock-cache-read-input-token-count'), '0');
    assert.equal(res.headers.get('x-amzn-bedrock-cache-write-input-token-count'), '0');
    assert.equal(res.headers.get('x-amzn-bedrock-invocation-latency'), '42');
  });

  test('InvokeModelWithResponseStream: message_start, deltas, message_delta and invocation metrics', async () => {
    const out = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: CLAUDE,
        body: JSON.stringify(ANTHROPIC_BODY),
      }),
    );
    const events: Record<string, unknown>[] = [];
    for await (const part of out.body ?? []) events.push(decodeChunk(part.chunk?.bytes));
    const rec = last();
    assert.equal(out.$metadata.requestId, rec.requestId);
    assert.equal(out.contentType, 'application/json');
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'message_start',
        'content_block_start',
        ...Array(12).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    const start = events[0]?.message as { usage: Record<string, number> };
    assert.equal(start.usage.input_tokens, rec.tokens?.input);
    assert.equal(start.usage.output_tokens, 1, 'the message_start output count is a placeholder');
    assert.deepEqual(events.at(-2)?.usage, { output_tokens: 12 });
    assert.deepEqual(events.at(-1)?.['amazon-bedrock-invocationMetrics'], {
      inputTokenCount: rec.tokens?.input,
      outputTokenCount: 12,
      invocationLatency: 42,
      firstByteLatency: 17,
      cacheReadInputTokenCount: 0,
      cacheWriteInputTokenCount: 0,
    });
  });
});

describe('prompt caching in the fake', () => {
  const cachedMessages = (question: string) => [
    {
      role: 'user' as const,
      content: [
        { text: 'A long and stable prefix. '.repeat(40) },
        { cachePoint: { type: 'default' as const } },
        { text: question },
      ],
    },
  ];

  test('Converse: the first call writes the prefix, the next one reads it', async () => {
    const first = await client.send(
      new ConverseCommand({ modelId: CLAUDE, messages: cachedMessages('one?') }),
    );
    const written = last().tokens;
    const second = await client.send(
      new ConverseCommand({ modelId: CLAUDE, messages: cachedMessages('two?') }),
    );
    const read = last().tokens;
    assert.ok(written && read);
    assert.ok(written.cacheWrite5m > 250);
    assert.equal(first.usage?.cacheWriteInputTokens, written.cacheWrite5m);
    assert.deepEqual(first.usage?.cacheDetails, [{ ttl: '5m', inputTokens: written.cacheWrite5m }]);
    assert.equal(read.cacheRead, written.cacheWrite5m);
    assert.equal(read.cacheWrite5m, 0);
    assert.equal(second.usage?.cacheReadInputTokens, read.cacheRead);
    assert.equal(second.usage?.inputTokens, read.input);
  });

  test('InvokeModel: a 1h cache_control is reported in cache_creation.ephemeral_1h_input_tokens', async () => {
    const body = {
      ...ANTHROPIC_BODY,
      system: [
        {
          type: 'text',
          text: 'Policy. '.repeat(100),
          cache_control: { type: 'ephemeral', ttl: '1h' },
        },
      ],
    };
    const out = await client.send(
      new InvokeModelCommand({ modelId: CLAUDE, body: JSON.stringify(body) }),
    );
    const usage = decodeChunk(out.body).usage as Record<string, unknown>;
    const t = last().tokens;
    assert.ok(t && t.cacheWrite1h > 150);
    assert.equal(usage.cache_creation_input_tokens, t.cacheWrite1h);
    assert.deepEqual(usage.cache_creation, {
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: t.cacheWrite1h,
    });
  });
});

describe('errors, in the shapes the SDK maps to its exception classes', () => {
  const cases = [
    ['ThrottlingException', ThrottlingException, 429],
    ['ValidationException', ValidationException, 400],
    ['InternalServerException', InternalServerException, 500],
    ['ServiceUnavailableException', ServiceUnavailableException, 503],
  ] as const;
  for (const [name, Class, status] of cases) {
    test(`${name} → ${status}`, async () => {
      fake.behave(nextRequests({ kind: 'error', exception: name }));
      const e = await rejection(
        client.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES })),
      );
      fake.behave(null);
      assert.ok(e instanceof Class, `${e.name} is a ${name}`);
      assert.equal(e.$metadata?.httpStatusCode, status);
      assert.equal(e.$metadata?.requestId, last().requestId);
      assert.equal(last().error, name);
    });
  }

  test('a body Bedrock would refuse is a ValidationException, with no tokens billed', async () => {
    const body = JSON.stringify({
      anthropic_version: 'bedrock-2023-05-31',
      messages: ANTHROPIC_BODY.messages,
    });
    const e = await rejection(client.send(new InvokeModelCommand({ modelId: CLAUDE, body })));
    assert.ok(e instanceof ValidationException);
    assert.match(e.message, /max_tokens/);
    assert.equal(last().tokens, null);
  });

  test('request metadata past the documented limits is a ValidationException', async () => {
    const requestMetadata = Object.fromEntries(
      Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']),
    );
    const e = await rejection(
      client.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES, requestMetadata })),
    );
    assert.ok(e instanceof ValidationException);
  });

  test('a wrong secret fails SigV4 verification; an unknown key is unrecognised', async () => {
    const wrong = sdk({ credentials: { ...KEY, secretAccessKey: 'not-the-secret' } });
    const e1 = await rejection(
      wrong.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES })),
    );
    assert.equal(e1.name, 'InvalidSignatureException');
    assert.equal(e1.$metadata?.httpStatusCode, 403);
    const stranger = sdk({ credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' } });
    const e2 = await rejection(
      stranger.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES })),
    );
    assert.equal(e2.name, 'UnrecognizedClientException');
    wrong.destroy();
    stranger.destroy();
  });

  test('X-Amzn-Bedrock-Request-Metadata must be a signed header', async () => {
    const body = JSON.stringify(ANTHROPIC_BODY);
    const path = `/model/${encodeURIComponent(CLAUDE)}/invoke`;
    const host = new URL(fake.url).host;
    const signer = new SignatureV4({
      credentials: KEY,
      region: 'us-east-1',
      service: 'bedrock',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: host,
      path,
      headers: { host, 'content-type': 'application/json' },
      body,
    });
    const send = (extra: Record<string, string>) =>
      fetch(`${fake.url}${path}`, {
        method: 'POST',
        headers: { ...(signed.headers as Record<string, string>), ...extra },
        body,
      });
    const ok = await send({});
    assert.equal(ok.status, 200, 'the signature verifies as signed');
    const unsigned = await send({ 'x-amzn-bedrock-request-metadata': '{"team":"x"}' });
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.headers.get('x-amzn-errortype') ?? '', /^InvalidSignatureException:/);
  });

  test('HTTP/1.1 without credentials, or to an unknown route, in Bedrock error shape', async () => {
    const anonymous = await fetch(`${fake.url}/model/${CLAUDE}/converse`, {
      method: 'POST',
      body: '{}',
    });
    assert.equal(anonymous.status, 403);
    assert.match(
      anonymous.headers.get('x-amzn-errortype') ?? '',
      /^MissingAuthenticationTokenException:/,
    );
    assert.deepEqual(await anonymous.json(), { message: 'Missing Authentication Token' });
    const unknown = await fetch(`${fake.url}/model/${CLAUDE}/teleport`, {
      method: 'POST',
      headers: { authorization: 'Bearer k' },
      body: '{}',
    });
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('x-amzn-errortype') ?? '', /^UnknownOperationException:/);
    assert.equal(unknown.headers.get('x-amzn-requestid'), last().requestId);
  });
});

describe('stream faults', () => {
  test('ConverseStream: an in-stream ThrottlingException after 3 events', async () => {
    fake.behave(
      nextRequests({ kind: 'stream-exception', afterEvents: 3, exception: 'ThrottlingException' }),
    );
    const out = await client.send(
      new ConverseStreamCommand({ modelId: CLAUDE, messages: MESSAGES }),
    );
    let seen = 0;
    const e = await rejection(
      (async () => {
        for await (const _ of out.stream ?? []) seen++;
      })(),
    );
    fake.behave(null);
    assert.ok(e instanceof ThrottlingException, e.name);
    assert.equal(seen, 3);
    assert.equal(last().error, 'ThrottlingException');
    assert.equal(last().eventsSent, 4);
  });

  test('InvokeModelWithResponseStream: a ModelStreamErrorException, and an :error-code error event', async () => {
    fake.behave(
      nextRequests({
        kind: 'stream-exception',
        afterEvents: 2,
        exception: 'ModelStreamErrorException',
      }),
    );
    const out = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: CLAUDE,
        body: JSON.stringify(ANTHROPIC_BODY),
      }),
    );
    const e = await rejection(
      (async () => {
        for await (const _ of out.body ?? []);
      })(),
    );
    assert.ok(e instanceof ModelStreamErrorException, e.name);

    fake.behave(
      nextRequests({
        kind: 'stream-error',
        afterEvents: 1,
        code: 'InternalFailure',
        message: 'boom',
      }),
    );
    const out2 = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: CLAUDE,
        body: JSON.stringify(ANTHROPIC_BODY),
      }),
    );
    const e2 = await rejection(
      (async () => {
        for await (const _ of out2.body ?? []);
      })(),
    );
    fake.behave(null);
    assert.equal(e2.name, 'InternalFailure');
    assert.match(e2.message, /boom/);
  });

  test('a stream cut after 4 events fails the reader; the fake records it as aborted', async () => {
    fake.behave(nextRequests({ kind: 'abort', afterEvents: 4 }));
    const out = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: CLAUDE,
        body: JSON.stringify(ANTHROPIC_BODY),
      }),
    );
    let seen = 0;
    await rejection(
      (async () => {
        for await (const _ of out.body ?? []) seen++;
      })(),
    );
    fake.behave(null);
    assert.ok(seen <= 4);
    assert.equal(last().outcome, 'aborted');
    assert.equal(last().eventsSent, 4);
  });

  test('a hanging request is given up by the client', async () => {
    fake.behave(nextRequests({ kind: 'hang' }));
    const e = await rejection(
      client.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES }), {
        abortSignal: AbortSignal.timeout(200),
      }),
    );
    fake.behave(null);
    assert.match(e.name, /Abort/);
    assert.equal(last().outcome, 'hung');
  });
});

describe('bearer (Bedrock API key) authentication', () => {
  test('the SDK with a token sends Authorization: Bearer, and all operations work', async () => {
    const keyed = await startFakeBedrock({ bearerTokens: ['bedrock-api-key-1'] });
    const bearer = new BedrockRuntimeClient({
      endpoint: keyed.url,
      region: 'us-east-1',
      maxAttempts: 1,
      token: { token: 'bedrock-api-key-1' },
      authSchemePreference: ['httpBearerAuth'],
    });
    try {
      const c = await bearer.send(new ConverseCommand({ modelId: CLAUDE, messages: MESSAGES }));
      assert.equal(c.usage?.outputTokens, 12);
      const s = await bearer.send(
        new ConverseStreamCommand({ modelId: CLAUDE, messages: MESSAGES }),
      );
      for await (const _ of s.stream ?? []);
      const i = await bearer.send(
        new InvokeModelCommand({ modelId: CLAUDE, body: JSON.stringify(ANTHROPIC_BODY) }),
      );
      assert.equal((decodeChunk(i.body).usage as Record<string, number>).output_tokens, 12);
      const w = await bearer.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: CLAUDE,
          body: JSON.stringify(ANTHROPIC_BODY),
        }),
      );
      for await (const _ of w.body ?? []);
      assert.deepEqual(
        keyed.requests.map((r) => [r.auth, r.headers.authorization, r.outcome]),
        Array(4).fill(['bearer', 'Bearer bedrock-api-key-1', 'ok']),
      );
      const wrong = await fetch(`${keyed.url}/model/${CLAUDE}/converse`, {
        method: 'POST',
        headers: { authorization: 'Bearer other' },
        body: '{}',
      });
      assert.equal(wrong.status, 403);
    } finally {
      bearer.destroy();
      await keyed.close();
    }
  });
});
