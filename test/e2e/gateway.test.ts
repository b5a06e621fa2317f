/**
 * The gateway end to end: the real AWS SDK v3 Bedrock client (h2c, bearer virtual key) and the real OpenAI SDK drive
 * `startGateway` on a DuckDB ledger, in front of the fake Bedrock (which verifies the gateway's SigV4 signatures and
 * records what Bedrock would bill). Every call lands in the ledger with Bedrock's exact tokens and the catalog's
 * dollars; budgets hold under concurrency; faults are recorded; hostile requests get clean 4xx.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as connectH2, constants as h2 } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import { formatUsd, parseUsd } from '../../src/core/index.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, nextRequests, startFakeBedrock } from '../support/fake-bedrock.ts';
import { HAIKU, listPriceOf, SONNET, startGatewayOnFake } from '../support/gateway.ts';
import {
  SEARCH_DAILY_BUDGET_YAML,
  SEARCH_SPEND_PICOS,
  seedSearchSpend,
} from '../support/gateway-seed.ts';
import { makeRecord } from '../support/records.ts';
import { tempDir } from '../support/temp-dir.ts';

const CREDS = { accessKeyId: 'AKIDGATEWAYTEST', secretAccessKey: 'gateway-test-secret' };
const MESSAGES = [
  { role: 'user' as const, content: [{ text: 'Summarise the quarterly report.' }] },
];
const ANTHROPIC = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 200,
  messages: [{ role: 'user', content: 'hello there' }],
};

interface Env {
  dir: { path: string; remove(): void };
  rt: Runtime;
  fake: FakeBedrock;
  gw: RunningGateway;
  key: string;
  /** Simulates the ledger being down. */
  storeDown: { value: boolean };
}

async function setup(
  gatewayYaml: string,
  extra: {
    timeoutMs?: number;
    writeStallMs?: number;
    outputTokens?: number;
    seed?: (rt: Runtime) => Promise<void>;
  } = {},
): Promise<Env> {
  const dir = tempDir('tl-gw-');
  const config = join(dir.path, 'tokenledger.yaml');
  writeFileSync(config, `gateway:\n${gatewayYaml}`);
  const rt0 = await openRuntime({
    db: join(dir.path, 'ledger.duckdb'),
    configPath: config,
    env: {},
  });
  const storeDown = { value: false };
  // The ledger, with a switch that makes writes fail as a database that went away would.
  const store = Object.create(rt0.store) as Runtime['store'];
  Object.defineProperty(store, 'writeEncodedUsage', {
    value: (batch: Parameters<Runtime['store']['writeEncodedUsage']>[0]) => {
      if (storeDown.value) return Promise.reject(new Error('ledger unavailable'));
      return rt0.store.writeEncodedUsage(batch);
    },
  });
  const rt: Runtime = { ...rt0, store, close: () => rt0.close() };
  await extra.seed?.(rt);
  const fake = await startFakeBedrock({
    credentials: [CREDS],
    ...(extra.outputTokens === undefined ? {} : { outputTokens: extra.outputTokens }),
  });
  const { key, plaintext } = newKey(
    {
      name: 'ci',
      team: 'search',
      user: 'ana@example.com',
      feature: 'summaries',
      project: null,
      environment: 'prod',
    },
    Date.now(),
    null,
  );
  await rt.store.gatewayKeys.put([key]);
  const gw = await startGatewayOnFake(rt, {
    upstream: fake.url,
    creds: CREDS,
    baseDir: dir.path,
    env: { TOKENLEDGER_ADMIN_TOKEN: 'admin-secret' },
    ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
    ...(extra.writeStallMs === undefined ? {} : { writeStallMs: extra.writeStallMs }),
  });
  return { dir, rt, fake, gw, key: plaintext, storeDown };
}

/** An InvokeModelWithResponseStream call of the Anthropic body to the gateway. */
const streamCall = (env: Env, signal?: AbortSignal) =>
  fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke-with-response-stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.key}` },
    body: JSON.stringify(ANTHROPIC),
    ...(signal === undefined ? {} : { signal }),
  });

/** Starts an InvokeModel stream, reads its first bytes and goes away, then lets the gateway see the close. */
async function leaveMidStream(env: Env): Promise<void> {
  const controller = new AbortController();
  const r = await streamCall(env, controller.signal);
  await r.body?.getReader().read();
  controller.abort();
  await new Promise((res) => setTimeout(res, 30));
}

async function teardown(env: Env): Promise<void> {
  await env.gw.close();
  await env.fake.close();
  await env.rt.close();
  env.dir.remove();
}

function sdk(env: Env, key = env.key): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: env.gw.url,
    region: 'us-east-1',
    maxAttempts: 1,
    token: { token: key },
    authSchemePreference: ['httpBearerAuth'],
  });
}

describe('gateway: real AWS SDK and OpenAI SDK in front of a fake Bedrock', () => {
  let env: Env;
  before(async () => {
    env = await setup('  spool:\n    flushMs: 50\n');
  });
  after(() => teardown(env));

  test('all four Bedrock operations pass through and record exact tokens and dollars', async () => {
    const client = sdk(env);
    const c = await client.send(
      new ConverseCommand({
        modelId: SONNET,
        messages: MESSAGES,
        inferenceConfig: { maxTokens: 64 },
      }),
    );
    assert.ok(c.output?.message);
    const s = await client.send(new ConverseStreamCommand({ modelId: SONNET, messages: MESSAGES }));
    let streamed = '';
    for await (const e of s.stream ?? [])
      if (e.contentBlockDelta?.delta?.text) streamed += e.contentBlockDelta.delta.text;
    assert.ok(streamed.length > 0);
    const i = await client.send(
      new InvokeModelCommand({
        modelId: HAIKU,
        body: JSON.stringify(ANTHROPIC),
        contentType: 'application/json',
      }),
    );
    assert.equal(JSON.parse(Buffer.from(i.body).toString()).type, 'message');
    const w = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: HAIKU,
        body: JSON.stringify(ANTHROPIC),
        contentType: 'application/json',
      }),
    );
    let chunks = 0;
    for await (const e of w.body ?? []) if (e.chunk) chunks++;
    assert.ok(chunks > 2);
    client.destroy();

    await env.gw.flush();
    const sent = env.fake.requests.slice(-4);
    assert.deepEqual(
      sent.map((r) => r.auth),
      ['sigv4', 'sigv4', 'sigv4', 'sigv4'],
      'the fake verified the gateway signature',
    );
    for (const r of sent) {
      assert.deepEqual(
        {
          team: r.requestMetadata?.team,
          user: r.requestMetadata?.user,
          feature: r.requestMetadata?.feature,
        },
        { team: 'search', user: 'ana@example.com', feature: 'summaries' },
        `${r.operation} carried the key's attribution as request metadata`,
      );
      const stored = await env.rt.store.getRecord(r.requestId);
      assert.ok(stored, `${r.operation} ${r.requestId} is in the ledger`);
      const t = r.tokens;
      assert.ok(t);
      assert.deepEqual(
        [stored.input_tokens, stored.output_tokens, stored.cache_read_tokens].map(Number),
        [t.input, t.output, t.cacheRead],
        `${r.operation} tokens`,
      );
      assert.equal(stored.team, 'search');
      const expected = listPriceOf(env.rt, {
        requestId: r.requestId,
        operation: r.operation ?? '',
        modelId: r.modelId,
        tokens: t,
      });
      assert.ok(expected !== null && expected > 0n);
      assert.equal(BigInt(String(stored.cost_pusd)), expected, `${r.operation} dollars`);
    }
  });

  test('a call is priced at the tier Bedrock says served it, not the one it asked for', async () => {
    const client = sdk(env);
    const NOVA_PRO = 'us.amazon.nova-pro-v1:0';
    // Asked for flex (half price), served at the default tier: the default price.
    env.fake.behave(nextRequests({ kind: 'respond', servedTier: 'default' }, 2));
    await client.send(
      new ConverseCommand({ modelId: NOVA_PRO, messages: MESSAGES, serviceTier: { type: 'flex' } }),
    );
    const converse = env.fake.requests.at(-1);
    // InvokeModel states it in a header: Haiku has no priority price, served at the default tier it has one.
    await client.send(
      new InvokeModelCommand({
        modelId: HAIKU,
        body: JSON.stringify(ANTHROPIC),
        serviceTier: 'priority',
      }),
    );
    const invoke = env.fake.requests.at(-1);
    // Served as asked: the flex price.
    const flex = await client.send(
      new ConverseStreamCommand({
        modelId: NOVA_PRO,
        messages: MESSAGES,
        serviceTier: { type: 'flex' },
      }),
    );
    for await (const _ of flex.stream ?? []) {
    }
    const stream = env.fake.requests.at(-1);
    client.destroy();
    await env.gw.flush();
    for (const [r, tier] of [
      [converse, 'standard'],
      [invoke, 'standard'],
      [stream, 'flex'],
    ] as const) {
      assert.ok(r?.tokens);
      const stored = await env.rt.store.getRecord(r.requestId);
      assert.equal(stored?.tier, tier, r.operation ?? '');
      const standard = listPriceOf(env.rt, {
        requestId: r.requestId,
        operation: r.operation ?? '',
        modelId: r.modelId,
        tokens: r.tokens,
      });
      assert.ok(standard !== null);
      // Nova's flex price is half its standard price (bedrock.md §4.4).
      const expected = tier === 'flex' ? standard / 2n : standard;
      assert.equal(BigInt(String(stored?.cost_pusd)), expected, `${r.operation} dollars`);
    }
  });

  test('a Converse call without an output limit is sent with the limit its reservation assumed', async () => {
    const client = sdk(env);
    await client.send(new ConverseCommand({ modelId: SONNET, messages: MESSAGES }));
    client.destroy();
    const sent = env.fake.requests.at(-1);
    assert.deepEqual((sent?.body as { inferenceConfig?: unknown } | undefined)?.inferenceConfig, {
      maxTokens: 4096,
    });
    assert.equal(sent?.requestMetadata?.team, 'search');
  });

  test('OpenAI chat completions, JSON and SSE streaming with usage, become Converse calls', async () => {
    const openai = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: SONNET,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 50,
    });
    const rec = env.fake.requests.at(-1);
    assert.equal(rec?.operation, 'Converse');
    assert.equal(r.usage?.completion_tokens, rec?.tokens?.output);
    assert.equal(r.usage?.prompt_tokens, rec?.tokens?.input);
    assert.ok(typeof r.choices[0]?.message.content === 'string');

    const stream = await openai.chat.completions.create({
      model: SONNET,
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const srec = env.fake.requests.at(-1);
    assert.equal(srec?.operation, 'ConverseStream');
    assert.ok(text.length > 0);
    assert.equal(usage?.completion_tokens, srec?.tokens?.output);
    await env.gw.flush();
    assert.ok(await env.rt.store.getRecord(srec?.requestId ?? ''));

    // An image as the OpenAI SDK sends one (a data: URL) reaches Bedrock as a Converse image block.
    const png =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';
    const seen = await openai.chat.completions.create({
      model: SONNET,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
      max_tokens: 20,
    });
    const irec = env.fake.requests.at(-1);
    const body = irec?.body as { messages: { content: unknown[] }[] };
    assert.deepEqual(body.messages[0]?.content, [
      { text: 'What is this?' },
      { image: { format: 'png', source: { bytes: png } } },
    ]);
    assert.equal(seen.usage?.prompt_tokens, irec?.tokens?.input);
    await assert.rejects(
      openai.chat.completions.create({
        model: SONNET,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/latest' } }],
          },
        ],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /does not fetch URLs/.test(e.message),
    );
    assert.equal(env.fake.requests.at(-1), irec, 'the refused call was not forwarded');
  });

  test('OpenAI: a final turn with tool calls in its history and tool_choice "none" is a valid Converse call', async () => {
    const openai = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
    const r = await openai.chat.completions.create({
      model: SONNET,
      tool_choice: 'none',
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '18 C' },
      ],
    });
    assert.ok(r.choices[0]?.message.content);
    const sent = env.fake.requests.at(-1)?.body as { toolConfig?: { tools: unknown[] } };
    assert.equal(sent.toolConfig?.tools.length, 1, "one inert tool, none of the caller's");
  });

  test('hostile and malformed requests get clean 4xx and are not forwarded', async () => {
    const before = env.fake.requests.length;
    const post = (path: string, init: RequestInit) =>
      fetch(`${env.gw.url}${path}`, { method: 'POST', ...init });
    const body = JSON.stringify({ messages: MESSAGES });
    const path = `/model/${encodeURIComponent(SONNET)}/converse`;
    assert.equal((await post(path, { body })).status, 401, 'no key');
    assert.equal(
      (await post(path, { body, headers: { authorization: 'Bearer tlk_nope' } })).status,
      401,
      'bad key',
    );
    const auth = { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' };
    const bad = await post(path, { body: '{"messages": [', headers: auth });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('x-amzn-errortype'), 'ValidationException');
    const big = await post(path, { body: 'x'.repeat(21 * 1024 * 1024), headers: auth });
    assert.equal(big.status, 413);
    assert.equal(
      (await post('/model/bad%20id%0d%0a/converse', { body, headers: auth })).status,
      400,
    );
    assert.equal((await post('/model/x/unknown-op', { body, headers: auth })).status, 404);
    // A header injection attempt in the metadata header reaches neither Bedrock nor the response.
    const valid = JSON.stringify(ANTHROPIC);
    const raw = await new Promise<string>((resolve) => {
      const sock = connect(env.gw.port, '127.0.0.1', () => {
        sock.write(
          `POST /model/${encodeURIComponent(HAIKU)}/invoke HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${env.key}\r\n` +
            `x-amzn-bedrock-request-metadata: {"team":"a\\r\\nx-evil: 1"}\r\ncontent-length: ${Buffer.byteLength(valid)}\r\nconnection: close\r\n\r\n${valid}`,
        );
      });
      let out = '';
      sock.on('data', (d) => (out += d.toString()));
      sock.on('close', () => resolve(out));
    });
    assert.match(raw, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(raw, /x-evil/i);
    const last = env.fake.requests.at(-1);
    assert.equal(last?.requestMetadata?.team, 'search', 'the key wins over a caller-sent team');
    assert.equal(env.fake.requests.length, before + 1, 'only the valid call was forwarded');
  });

  test('a body the gateway cannot forward as it is, or request metadata that is not an object, is a 400 that holds nothing', async () => {
    const before = env.fake.requests.length;
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${env.gw.url}/model/${encodeURIComponent(SONNET)}/converse`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${env.key}`,
          'content-type': 'application/json',
          ...headers,
        },
        body,
      });
    // Parses, but nests past what JSON.stringify can write again; it has no maxTokens, so the gateway must.
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const tooDeep = await post(
      `{"messages":${JSON.stringify(MESSAGES)},"additionalModelRequestFields":${deep}}`,
    );
    assert.equal(tooDeep.status, 400);
    assert.equal(tooDeep.headers.get('x-amzn-errortype'), 'ValidationException');
    // Tool results nested as deep are counted for media without recursion.
    let content = '[{"text":"x"}]';
    for (let i = 0; i < 20_000; i++)
      content = `[{"toolResult":{"toolUseId":"t","content":${content}}}]`;
    const nested = await post(`{"messages":[{"role":"user","content":${content}}]}`);
    assert.equal(nested.status, 400);
    for (const metadata of ['"xyz"', '["a","b"]', 'null', '7']) {
      const r = await post(
        `{"messages":${JSON.stringify(MESSAGES)},"requestMetadata":${metadata}}`,
        { 'x-claude-code-session-id': 'session-1' },
      );
      assert.equal(r.status, 400, `requestMetadata ${metadata}`);
      assert.match(await r.text(), /requestMetadata must be an object/);
    }
    const status = await env.gw.governor.status();
    assert.equal(status.openTickets, 0, 'no reservation held');
    assert.equal(env.fake.requests.length, before, 'nothing forwarded');
  });

  test('an exception inside an OpenAI stream ends it with that error, named as the ledger names it, without [DONE]', async () => {
    env.fake.behave(
      nextRequests({
        kind: 'stream-exception',
        afterEvents: 3,
        exception: 'ModelStreamErrorException',
      }),
    );
    const r = await fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: SONNET,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const text = await r.text();
    const events = text.split('\n\n').filter((e) => e !== '');
    const last = JSON.parse((events.at(-1) ?? '').replace(/^data: /, '')) as {
      error?: { code?: string };
    };
    assert.equal(last.error?.code, 'ModelStreamErrorException');
    assert.doesNotMatch(text, /\[DONE\]/);
    await env.gw.flush();
    const stored = await env.rt.store.getRecord(env.fake.requests.at(-1)?.requestId ?? '');
    assert.equal(stored?.error_code, 'ModelStreamErrorException');
  });

  test('upstream throttling, server errors and a cut stream are recorded as errors with the tokens billed', async () => {
    const client = sdk(env);
    env.fake.behave(nextRequests({ kind: 'error', exception: 'ThrottlingException' }));
    await assert.rejects(
      client.send(new ConverseCommand({ modelId: SONNET, messages: MESSAGES })),
      /Throttling/,
    );
    env.fake.behave(
      nextRequests({ kind: 'error', exception: 'InternalServerException', status: 500 }),
    );
    await assert.rejects(client.send(new ConverseCommand({ modelId: SONNET, messages: MESSAGES })));
    env.fake.behave(nextRequests({ kind: 'abort', afterEvents: 3 }));
    const w = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: HAIKU,
        body: JSON.stringify(ANTHROPIC),
        contentType: 'application/json',
      }),
    );
    await assert.rejects(async () => {
      for await (const _ of w.body ?? []) {
      }
    });
    env.fake.behave(null);
    client.destroy();
    await env.gw.flush();
    const [throttled, failed, cut] = env.fake.requests.slice(-3);
    const t = await env.rt.store.getRecord(throttled?.requestId ?? '');
    assert.equal(t?.error_code, 'ThrottlingException');
    assert.equal(Number(t?.input_tokens), 0);
    assert.equal(
      (await env.rt.store.getRecord(failed?.requestId ?? ''))?.error_code,
      'InternalServerException',
    );
    const c = await env.rt.store.getRecord(cut?.requestId ?? '');
    assert.ok(c, 'the cut stream is recorded');
    assert.equal(c.error_code, 'StreamInterrupted');
    assert.equal(
      Number(c.input_tokens),
      cut?.tokens?.input,
      'the input Bedrock billed before the cut',
    );
  });
});

describe('gateway: timeouts and clients that go away', () => {
  let env: Env;
  before(async () => {
    env = await setup(
      '  budgets:\n    - name: all\n      amountUsd: "1000"\n      period: daily\n  spool:\n    flushMs: 50\n',
      { timeoutMs: 300 },
    );
  });
  const spent = async () => parseUsd((await env.gw.governor.status()).budgets[0]?.spentUsd ?? '0');
  after(() => teardown(env));

  test('an upstream that does not answer: 504 to the client, recorded as GatewayTimeout', async () => {
    env.fake.behave(nextRequests({ kind: 'hang' }));
    const r = await fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}` },
      body: JSON.stringify(ANTHROPIC),
    });
    assert.equal(r.status, 504);
    assert.equal(r.headers.get('x-amzn-errortype'), 'GatewayTimeout');
    await env.gw.flush();
    const { rows } = await env.rt.store.queryUsage({ groupBy: ['error_code'], where: [] });
    assert.equal(rows.find((x) => x.keys.error_code === 'GatewayTimeout')?.requests, 1);
    const status = await env.gw.governor.status();
    assert.equal(status.openTickets, 0, 'the ticket is closed');
    // Bedrock may have answered (and billed) after the gateway gave up: the budget keeps the reservation.
    assert.equal(status.budgets[0]?.reservedUsd, '0.00');
    assert.ok(parseUsd(status.budgets[0]?.spentUsd ?? '0') > 0n);
  });

  /** The ledger's record of the fake's last call, once the gateway has recorded it (a drained stream ends later). */
  const lastRecord = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await env.gw.flush();
      const stored = await env.rt.store.getRecord(env.fake.requests.at(-1)?.requestId ?? '');
      if (stored !== null || Date.now() > deadline) return stored;
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  test('a client that disconnects mid-stream: the stream is read to its end, recorded as ClientClosedRequest with all Bedrock billed', async () => {
    // Bedrock bills a stream whose client left in full (BerriAI/litellm#34147, from CUR): the gateway reads it to
    // its end, passing it on to no one, so the ledger and the budget have the exact usage.
    env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 20 }));
    const before = await spent();
    await leaveMidStream(env);
    assert.equal(env.gw.gateway.stats().draining, 1, 'the stream is being drained');
    const stored = await lastRecord();
    const sent = env.fake.requests.at(-1);
    assert.equal(sent?.outcome, 'ok', 'Bedrock sent the whole stream');
    assert.ok(stored, 'the interrupted call is in the ledger');
    assert.equal(env.gw.gateway.stats().draining, 0);
    assert.equal(stored.error_code, 'ClientClosedRequest');
    assert.equal(Number(stored.input_tokens), sent?.tokens?.input);
    assert.equal(Number(stored.output_tokens), sent?.tokens?.output);
    assert.ok(Number(stored.output_tokens) > 0);
    const status = await env.gw.governor.status();
    assert.equal(status.openTickets, 0);
    assert.equal(status.budgets[0]?.reservedUsd, '0.00');
    assert.equal(
      (await spent()) - before,
      BigInt(String(stored.cost_pusd)),
      'the budget is charged what the ledger recorded, not the reservation',
    );
  });

  test('a ConverseStream whose client left before its usage event: its usage is read from that event all the same', async () => {
    // A ConverseStream states its usage only in its last event: a gateway that cut the stream would know nothing
    // of the bill.
    env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 20 }));
    const controller = new AbortController();
    const r = await fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: SONNET,
        stream: true,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      }),
      signal: controller.signal,
    });
    await r.body?.getReader().read();
    controller.abort();
    const stored = await lastRecord();
    const sent = env.fake.requests.at(-1);
    assert.equal(sent?.operation, 'ConverseStream');
    assert.equal(stored?.error_code, 'ClientClosedRequest');
    assert.equal(Number(stored?.input_tokens), sent?.tokens?.input);
    assert.equal(Number(stored?.output_tokens), sent?.tokens?.output);
    assert.equal((await env.gw.governor.status()).openTickets, 0);
  });

  test('an exception ends a stream: before any content the budget is not charged, after some it keeps the reservation', async () => {
    const stream = async (afterEvents: number) => {
      env.fake.behave(
        nextRequests({ kind: 'stream-exception', afterEvents, exception: 'ThrottlingException' }),
      );
      const before = await spent();
      const r = await fetch(`${env.gw.url}/model/${encodeURIComponent(SONNET)}/converse-stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: MESSAGES, inferenceConfig: { maxTokens: 100 } }),
      });
      await r.arrayBuffer();
      await env.gw.flush();
      return (await spent()) - before;
    };
    assert.equal(await stream(1), 0n, 'messageStart only: nothing generated, nothing charged');
    assert.ok(
      (await stream(4)) > 0n,
      'content was generated: what it billed is unknown, the reservation is kept',
    );
    assert.equal((await env.gw.governor.status()).openTickets, 0);
  });

  test('a client that gives up on a JSON call: the answer is still read and recorded with what Bedrock billed', async () => {
    // Bedrock bills a JSON call whole whatever the client does, and its usage is only in the answer: the gateway
    // does not cut the upstream call when the client leaves (it does cut a stream: Bedrock stops generating).
    env.fake.behave(nextRequests({ kind: 'respond', delayMs: 150 }));
    const controller = new AbortController();
    const call = fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}` },
      body: JSON.stringify(ANTHROPIC),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call);
    await new Promise((res) => setTimeout(res, 250));
    await env.gw.flush();
    const sent = env.fake.requests.at(-1);
    assert.equal(sent?.outcome, 'ok', 'the upstream call ran to its end');
    const stored = await env.rt.store.getRecord(sent?.requestId ?? '');
    assert.ok(stored, 'the abandoned call is in the ledger');
    assert.equal(stored.error_code, 'ClientClosedRequest');
    assert.equal(Number(stored.input_tokens), sent?.tokens?.input);
    assert.equal(Number(stored.output_tokens), sent?.tokens?.output);
    assert.ok(Number(stored.output_tokens) > 0);
    assert.equal((await env.gw.governor.status()).openTickets, 0);
  });
});

describe('gateway: stopping while a stream whose client left is read', () => {
  test('close waits for it: its record reaches the ledger with all Bedrock billed', async () => {
    const env = await setup('  spool:\n    flushMs: 50\n');
    try {
      env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 40 }));
      await leaveMidStream(env);
      assert.equal(env.gw.gateway.stats().draining, 1);
      await env.gw.close();
      const sent = env.fake.requests.at(-1);
      assert.equal(sent?.outcome, 'ok');
      const stored = await env.rt.store.getRecord(sent?.requestId ?? '');
      assert.equal(stored?.error_code, 'ClientClosedRequest');
      assert.equal(Number(stored?.output_tokens), sent?.tokens?.output);
    } finally {
      await env.fake.close();
      await env.rt.close();
      env.dir.remove();
    }
  });
});

describe('gateway: the drain count and clients that leave early', () => {
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  test('streams Bedrock cuts while their client stays hold no drain place', async () => {
    const env = await setup('  spool:\n    flushMs: 50\n');
    try {
      for (let i = 0; i < 3; i++) {
        env.fake.behave(nextRequests({ kind: 'abort', afterEvents: 3 }));
        await (await streamCall(env)).arrayBuffer().catch(() => undefined);
      }
      await sleep(50);
      assert.equal(env.gw.gateway.stats().draining, 0);
      assert.equal(env.gw.gateway.stats().closedStreamsCut, 0);
    } finally {
      await teardown(env);
    }
  });

  test('a client that leaves before Bedrock answers, which then never does: no drain place kept', async () => {
    const env = await setup('  spool:\n    flushMs: 50\n', { timeoutMs: 300 });
    try {
      env.fake.behave(nextRequests({ kind: 'hang' }));
      const c = new AbortController();
      const call = streamCall(env, c.signal);
      await sleep(80);
      c.abort();
      await call.catch(() => undefined);
      await sleep(600);
      assert.equal(env.gw.gateway.stats().draining, 0);
    } finally {
      await teardown(env);
    }
  });

  test('a client gone while its call was admitted: the stream is read and recorded, and close ends', async () => {
    const env = await setup(
      '  budgets:\n    - name: all\n      amountUsd: "1000"\n      period: daily\n  spool:\n    flushMs: 50\n',
      { timeoutMs: 500 },
    );
    // A slow admission (a shared Redis far away): the client leaves before the gateway listens for it.
    const governor = env.gw.governor as unknown as { admit: (...a: unknown[]) => Promise<unknown> };
    const admit = governor.admit.bind(governor);
    governor.admit = async (...a: unknown[]) => {
      await sleep(150);
      return admit(...a);
    };
    try {
      env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 5 }));
      const c = new AbortController();
      const call = streamCall(env, c.signal);
      await sleep(50);
      c.abort();
      await call.catch(() => undefined);
      const closed = await Promise.race([
        env.gw.close().then(() => 'closed'),
        sleep(3000).then(() => 'still closing after 3 s'),
      ]);
      assert.equal(closed, 'closed');
      const stored = await env.rt.store.getRecord(env.fake.requests.at(-1)?.requestId ?? '');
      assert.equal(stored?.error_code, 'ClientClosedRequest');
      assert.equal((await env.gw.governor.status()).openTickets, 0);
    } finally {
      await env.fake.close();
      await env.rt.close();
      env.dir.remove();
    }
  });
});

describe('gateway: streams cut when their client leaves (drainClosedStreams: 0)', () => {
  let env: Env;
  before(async () => {
    env = await setup(
      '  drainClosedStreams: 0\n  budgets:\n    - name: all\n      amountUsd: "1000"\n      period: daily\n  spool:\n    flushMs: 50\n',
    );
  });
  after(() => teardown(env));

  test('a ConverseStream cut before its usage: the ledger has what was read, the budget the whole reservation', async () => {
    // Nothing of the bill was read: the call is not free to the budget (a client could cut every stream), it is
    // charged what it reserved.
    env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 100 }));
    const spent = async () =>
      parseUsd((await env.gw.governor.status()).budgets[0]?.spentUsd ?? '0');
    const before = await spent();
    const controller = new AbortController();
    const r = await fetch(`${env.gw.url}/model/${encodeURIComponent(SONNET)}/converse-stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: MESSAGES, inferenceConfig: { maxTokens: 100 } }),
      signal: controller.signal,
    });
    await r.body?.getReader().read();
    controller.abort();
    await new Promise((res) => setTimeout(res, 400));
    await env.gw.flush();
    const sent = env.fake.requests.at(-1);
    assert.equal(sent?.outcome, 'client-closed', 'the upstream stream was cut');
    assert.equal(env.gw.gateway.stats().closedStreamsCut, 1);
    const stored = await env.rt.store.getRecord(sent?.requestId ?? '');
    assert.equal(stored?.error_code, 'ClientClosedRequest');
    assert.equal(Number(stored?.input_tokens), 0, 'nothing of the bill was read');
    assert.ok((await spent()) - before > 0n, 'the budget was charged the reservation');
    const status = await env.gw.governor.status();
    assert.equal(status.openTickets, 0);
    assert.equal(status.budgets[0]?.reservedUsd, '0.00');
  });
});

describe('gateway: a stream that outlasts the reservation bound', () => {
  let env: Env;
  before(async () => {
    env = await setup('  reservation:\n    expireAfterMs: 500\n  spool:\n    flushMs: 50\n', {
      timeoutMs: 300,
    });
  });
  after(() => teardown(env));

  test('keeps its reservation while it sends: no expiry, no late settlement', async () => {
    // Events 150 ms apart: the stream runs for about a second, twice the 500 ms bound, never idle for 300 ms.
    env.fake.behave(nextRequests({ kind: 'respond', eventDelayMs: 150 }));
    const r = fetch(
      `${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke-with-response-stream`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${env.key}` },
        body: JSON.stringify(ANTHROPIC),
      },
    ).then((res) => res.arrayBuffer());
    await new Promise((res) => setTimeout(res, 700));
    // An expiry sweep mid-stream (status sweeps): the stream touched its ticket, so it holds.
    const mid = await env.gw.governor.status();
    assert.deepEqual([mid.openTickets, mid.expiredTickets], [1, 0]);
    await r;
    await env.gw.flush();
    const s = await env.gw.governor.status();
    assert.deepEqual([s.openTickets, s.expiredTickets, s.lateSettlements], [0, 0, 0]);
  });
});

describe('gateway: policy, rate limits and downgrade', () => {
  test('a denied model gets 403, the RPM limit 429 with Retry-After, a budget past its soft limit downgrades', async () => {
    const env = await setup(
      [
        '  budgets:',
        '    - name: search-monthly',
        '      scope: { team: search }',
        "      amountUsd: '100.00'",
        "      softUsd: '0.10'",
        '      period: monthly',
        '  limits:',
        '    - { name: per-key, scope: { key: "*" }, rpm: 4 }',
        '  models:',
        "    search: { deny: ['*opus*'] }",
        '  downgrade:',
        `    - { from: '*claude-sonnet-4-5*', to: ${HAIKU} }`,
        '  spool:',
        '    flushMs: 50',
      ].join('\n'),
    );
    try {
      const call = (model: string) =>
        fetch(`${env.gw.url}/model/${encodeURIComponent(model)}/converse`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.key}` },
          body: JSON.stringify({ messages: MESSAGES, inferenceConfig: { maxTokens: 50 } }),
        });
      const denied = await call('us.anthropic.claude-opus-4-5-20251101-v1:0');
      assert.equal(denied.status, 403);
      assert.equal(denied.headers.get('x-amzn-errortype'), 'AccessDeniedException');
      assert.match(await denied.text(), /gateway\.model_denied/);
      // Below the soft limit Sonnet is Sonnet.
      const first = await call(SONNET);
      assert.equal(first.status, 200);
      assert.equal(env.fake.requests.at(-1)?.modelId, SONNET);
      assert.equal(first.headers.get('x-tokenledger-downgraded'), null);
      // Spend past $0.10 (a seeded large call), then Sonnet goes to Haiku, and says so.
      env.fake.behave(nextRequests({ kind: 'respond', tokens: { output: 20_000 } }));
      assert.equal((await call(SONNET)).status, 200);
      const down = await call(SONNET);
      assert.equal(down.status, 200);
      assert.equal(env.fake.requests.at(-1)?.modelId, HAIKU);
      assert.match(down.headers.get('x-tokenledger-downgraded') ?? '', /haiku/);
      // Four calls were admitted this minute (the denied one counted nothing): a fifth is over 4 RPM.
      assert.equal((await call(HAIKU)).status, 200);
      const limited = await call(HAIKU);
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.match(await limited.text(), /per-key/);
      await env.gw.flush();
      const { total } = await env.rt.store.queryUsage({ groupBy: [], where: [] });
      assert.equal(total.requests, 4, 'refused calls are not in the ledger');
    } finally {
      await teardown(env);
    }
  });
});

describe('gateway: the worst case counts media', () => {
  test('a tiny image reserves a full image: a call that fits as text is refused with one', async () => {
    // Haiku 4.5 (us.): worst case ≈ (body bytes + 1,000) × $2.20/M (1-hour cache write) + 50 × $5.50/M. As text
    // (~120 bytes) that is ≈ $0.0027, under the $0.004 budget; with one image block (+1,600 tokens) ≈ $0.0064.
    const env = await setup(
      [
        '  budgets:',
        '    - name: search-tiny',
        '      scope: { team: search }',
        "      amountUsd: '0.004'",
        '      period: daily',
      ].join('\n'),
    );
    try {
      const call = (content: unknown[]) =>
        fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/converse`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.key}` },
          body: JSON.stringify({
            messages: [{ role: 'user', content }],
            inferenceConfig: { maxTokens: 50 },
          }),
        });
      const text = await call([{ text: 'Summarise the quarterly report.' }]);
      assert.equal(text.status, 200, await text.text());
      const image = await call([
        { text: 'Summarise the quarterly report.' },
        {
          image: {
            format: 'webp',
            source: { bytes: 'UklGRhIAAABXRUJQVlA4IAYAAAAwAQCdASoBAAEAAQAcJaQAA3AA/v3AgAA=' },
          },
        },
      ]);
      // Larger than the whole budget, it can never fit: a 400 the AWS SDK does not retry, not a throttle.
      assert.equal(image.status, 400);
      assert.equal(image.headers.get('x-amzn-errortype'), 'ValidationException');
      assert.match(await image.text(), /search-tiny.*on its own/);
      assert.equal(env.fake.requests.length, 1, 'the refused call never reached Bedrock');
    } finally {
      await teardown(env);
    }
  });
});

describe('gateway: budgets under concurrency', () => {
  test('200 parallel calls against a nearly spent hard budget never overshoot, none charged twice or lost', async () => {
    // $0.50 of today's search spend is already in the ledger; the $0.55 budget has room for a handful of calls at
    // their worst case (~$0.007 each) and their billed cost (~$0.005 each); the rest must be refused with 429.
    const seeded = SEARCH_SPEND_PICOS;
    const env = await setup(SEARCH_DAILY_BUDGET_YAML, {
      outputTokens: 1000,
      seed: async (rt) => {
        assert.equal(await seedSearchSpend(rt), seeded);
      },
    });
    try {
      const body = JSON.stringify({ ...ANTHROPIC, max_tokens: 1000 });
      const results = await Promise.all(
        Array.from({ length: 200 }, () =>
          fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
            body,
          }).then(async (r) => ({ status: r.status, text: await r.text() })),
        ),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429);
      assert.equal(ok + refused.length, 200);
      assert.ok(ok > 0, 'some calls fit');
      assert.ok(refused.length > 0, 'the budget refused the rest');
      assert.match(refused[0]?.text ?? '', /search-daily/);
      assert.equal(env.fake.requests.length, ok, 'refused calls never reached Bedrock');
      await env.gw.flush();
      const { total } = await env.rt.store.queryUsage({ groupBy: [], where: [] });
      assert.equal(total.requests, ok + 1, 'every admitted call recorded once (plus the seed)');
      assert.ok(total.costPicos <= 550_000_000_000n, `spend ${total.costPicos} within the limit`);
      assert.ok(total.costPicos > seeded, 'the admitted calls were charged');
      const status = await env.gw.governor.status();
      assert.equal(status.openTickets, 0, 'every reservation was settled or released');
    } finally {
      await teardown(env);
    }
  });
});

describe('gateway: no lost usage', () => {
  test('the ledger down during 1,000 calls: all 1,000 recorded after it recovers', async () => {
    const env = await setup('  spool:\n    flushMs: 20\n');
    try {
      env.storeDown.value = true;
      const body = JSON.stringify({ ...ANTHROPIC, max_tokens: 20 });
      for (let i = 0; i < 10; i++)
        await Promise.all(
          Array.from({ length: 100 }, () =>
            fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
              method: 'POST',
              headers: { authorization: `Bearer ${env.key}` },
              body,
            }).then((r) => assert.equal(r.status, 200)),
          ),
        );
      await env.gw.flush();
      assert.equal((await env.rt.store.queryUsage({ groupBy: [], where: [] })).total.requests, 0);
      env.storeDown.value = false;
      await env.gw.flush();
      const { total } = await env.rt.store.queryUsage({ groupBy: [], where: [] });
      assert.equal(total.requests, 1000);
      const billed = env.fake.requests.reduce((s, r) => s + (r.tokens?.output ?? 0), 0);
      assert.equal(Number(total.outputTokens), billed);
    } finally {
      await teardown(env);
    }
  });

  test('a budget whose local day starts at half past the hour (Asia/Kolkata) starts from all of that day’s spend', async () => {
    const env = await setup(
      '  budgets:\n    - name: daily\n      amountUsd: "100"\n      period: daily\n      timezone: Asia/Kolkata\n',
    );
    try {
      await env.gw.close();
      // The local day began at 18:30Z; spend at 18:40Z is that day's, although its UTC hour began before it.
      await env.rt.store.writeUsage({
        records: [
          makeRecord({ id: 'ist-0', at: '2026-11-23T18:20:00Z', cost: 7_000_000n }), // the day before
          makeRecord({ id: 'ist-1', at: '2026-11-23T18:40:00Z', cost: 1_000_000n }),
          makeRecord({ id: 'ist-2', at: '2026-11-23T18:55:00Z', cost: 2_000_000n }),
        ],
        rejects: [],
        checkpoints: [],
      });
      env.gw = await startGatewayOnFake(env.rt, {
        upstream: env.fake.url,
        creds: CREDS,
        baseDir: env.dir.path,
        now: () => Date.parse('2026-11-23T18:59:00Z'),
      });
      const [budget] = (await env.gw.governor.status()).budgets;
      assert.equal(budget?.spentUsd, formatUsd(3_000_000n));
    } finally {
      await teardown(env);
    }
  });

  test('calls left in the spool by an earlier gateway are in the ledger and the budgets of the next', async () => {
    const env = await setup(SEARCH_DAILY_BUDGET_YAML);
    try {
      env.storeDown.value = true;
      const body = JSON.stringify({ ...ANTHROPIC, max_tokens: 20 });
      for (let i = 0; i < 10; i++) {
        const r = await fetch(`${env.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.key}` },
          body,
        });
        assert.equal(r.status, 200);
      }
      await env.gw.close(); // its last delivery fails: the ten calls stay in the spool
      env.storeDown.value = false;
      env.gw = await startGatewayOnFake(env.rt, {
        upstream: env.fake.url,
        creds: CREDS,
        baseDir: env.dir.path,
      });
      const { total } = await env.rt.store.queryUsage({ groupBy: [], where: [] });
      assert.equal(total.requests, 10, 'delivered before the gateway started');
      assert.ok(total.costPicos > 0n);
      const [budget] = (await env.gw.governor.status()).budgets;
      assert.equal(budget?.spentUsd, formatUsd(total.costPicos), 'the budget starts from them');
    } finally {
      await teardown(env);
    }
  });
});

describe('gateway: clients that hold what they should not', () => {
  let env: Env;
  before(async () => {
    env = await setup('  budgets: []', { writeStallMs: 300, outputTokens: 20_000 });
  });
  after(() => teardown(env));

  test('an OpenAI call without a key is refused before its body is read (h2c: the stream is never ended)', async () => {
    const session = connectH2(env.gw.url);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/v1/chat/completions',
        'content-type': 'application/json',
      });
      // A megabyte of a body that never ends: it used to be read (up to 20 MB) and parsed before the key was asked.
      stream.write(Buffer.alloc(1 << 20, 0x20));
      const status = await new Promise<number>((resolve) =>
        stream.once('response', (h) => resolve(Number(h[':status']))),
      );
      assert.equal(status, 401);
      stream.close(h2.NGHTTP2_CANCEL);
    } finally {
      session.close();
    }
  });

  test('a streaming client that reads nothing is cut after the write-stall limit; its call is read to its end and recorded', async () => {
    const before = env.fake.requests.length;
    const session = connectH2(env.gw.url, { settings: { initialWindowSize: 1024 } });
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': `/model/${encodeURIComponent(HAIKU)}/invoke-with-response-stream`,
        authorization: `Bearer ${env.key}`,
        'content-type': 'application/json',
      });
      stream.end(JSON.stringify({ ...ANTHROPIC, max_tokens: 20_000 }));
      stream.pause(); // reads nothing: flow control stops the gateway's writes
      stream.on('error', () => {}); // the cut: a reset
      const closed = await new Promise<string>((resolve) => {
        stream.once('close', () => resolve(`closed with code ${stream.rstCode}`));
        setTimeout(() => resolve('still open'), 10_000);
      });
      assert.match(closed, /closed/, 'the gateway cut the stream');
    } finally {
      session.close();
    }
    const r = env.fake.requests.at(-1);
    assert.equal(env.fake.requests.length, before + 1);
    await env.gw.gateway.settled();
    await env.gw.flush();
    const stored = await env.rt.store.getRecord(r?.requestId ?? '');
    assert.equal(stored?.error_code, 'ClientClosedRequest');
    assert.equal(Number(stored?.output_tokens), r?.tokens?.output, 'the tokens Bedrock billed');
    assert.equal((await env.gw.governor.status()).openTickets, 0);
  });
});
