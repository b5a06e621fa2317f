import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pricedTier, servedTier } from '../core/index.ts';
import {
  type GatewayUsage,
  usageFromConverse,
  usageFromConverseJson,
  usageFromInvoke,
  usageFromInvokeBody,
} from './usage.ts';

const ZERO: GatewayUsage = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite5m: 0,
  cacheWrite1h: 0,
  cacheTtlKnown: true,
  latencyMs: null,
  firstByteMs: null,
};

describe('usageFromConverseJson', () => {
  test('a Converse response: uncached input, output, cache read, the cache write split by cacheDetails, latency', () => {
    const body = JSON.stringify({
      metrics: { latencyMs: 1234 },
      output: { message: { role: 'assistant', content: [{ text: 'hi' }] } },
      stopReason: 'end_turn',
      usage: {
        inputTokens: 1,
        outputTokens: 326,
        totalTokens: 130447,
        cacheReadInputTokens: 129709,
        cacheWriteInputTokens: 411,
        cacheDetails: [
          { ttl: '1h', inputTokens: 400 },
          { ttl: '5m', inputTokens: 11 },
        ],
      },
    });
    const expected: GatewayUsage = {
      input: 1,
      output: 326,
      cacheRead: 129709,
      cacheWrite5m: 11,
      cacheWrite1h: 400,
      cacheTtlKnown: true,
      latencyMs: 1234,
      firstByteMs: null,
    };
    assert.deepEqual(usageFromConverseJson(body), expected);
    assert.deepEqual(
      usageFromConverseJson(new TextEncoder().encode(body)),
      expected,
      'bytes or string',
    );
  });

  test('cache writes without cacheDetails: all in 5m, TTL unknown; the Count-suffixed aliases are read', () => {
    const body = JSON.stringify({
      usage: {
        inputTokens: 5,
        outputTokens: 6,
        cacheReadInputTokenCount: 7,
        cacheWriteInputTokenCount: 8,
      },
    });
    assert.deepEqual(usageFromConverseJson(body), {
      ...ZERO,
      input: 5,
      output: 6,
      cacheRead: 7,
      cacheWrite5m: 8,
      cacheTtlKnown: false,
    });
  });

  test('no cache fields at all: zero, and nothing unknown', () => {
    assert.deepEqual(
      usageFromConverse({ usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } }),
      {
        ...ZERO,
        input: 3,
        output: 4,
      },
    );
  });

  test('not JSON, no usage, or counts that are not non-negative integers: null', () => {
    assert.equal(usageFromConverseJson('{"usage":'), null);
    assert.equal(usageFromConverseJson('{"output":{}}'), null);
    assert.equal(usageFromConverseJson('[1,2]'), null);
    assert.equal(usageFromConverseJson('{"usage":{"inputTokens":"3","outputTokens":4}}'), null);
    assert.equal(usageFromConverseJson('{"usage":{"inputTokens":-1,"outputTokens":4}}'), null);
    assert.equal(usageFromConverseJson('{"usage":{"inputTokens":1.5,"outputTokens":4}}'), null);
  });
});

const anthropicBody = (usage: Record<string, unknown>): string =>
  JSON.stringify({
    id: 'msg',
    type: 'message',
    role: 'assistant',
    content: [],
    stop_reason: 'end_turn',
    usage,
  });

describe('usageFromInvoke', () => {
  test('headers win over the body; the body gives the 1h/5m split of the header cache-write total', () => {
    const body = anthropicBody({
      input_tokens: 999,
      output_tokens: 999,
      cache_read_input_tokens: 999,
      cache_creation_input_tokens: 700,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 600 },
    });
    const headers = {
      'x-amzn-bedrock-input-token-count': '12',
      'x-amzn-bedrock-output-token-count': '34',
      'x-amzn-bedrock-cache-read-input-token-count': '56',
      'x-amzn-bedrock-cache-write-input-token-count': '700',
      'x-amzn-bedrock-invocation-latency': '789',
    };
    const expected: GatewayUsage = {
      input: 12,
      output: 34,
      cacheRead: 56,
      cacheWrite5m: 100,
      cacheWrite1h: 600,
      cacheTtlKnown: true,
      latencyMs: 789,
      firstByteMs: null,
    };
    assert.deepEqual(usageFromInvoke(body, headers), expected);
    assert.deepEqual(
      usageFromInvoke(Buffer.from(body), new Headers(headers)),
      expected,
      'a fetch Headers object',
    );
  });

  test('headers alone (any provider, body unreadable): cache writes unknown-TTL in 5m', () => {
    const headers = {
      'x-amzn-bedrock-input-token-count': '12',
      'x-amzn-bedrock-output-token-count': '34',
      'x-amzn-bedrock-cache-read-input-token-count': '0',
      'x-amzn-bedrock-cache-write-input-token-count': '50',
    };
    assert.deepEqual(usageFromInvoke('not json', headers), {
      ...ZERO,
      input: 12,
      output: 34,
      cacheWrite5m: 50,
      cacheTtlKnown: false,
    });
    assert.deepEqual(
      usageFromInvoke(null, { ...headers, 'x-amzn-bedrock-cache-write-input-token-count': '0' }),
      { ...ZERO, input: 12, output: 34 },
    );
  });

  test('a body whose split disagrees with the header total: the header total stands, 1h capped by it', () => {
    const body = anthropicBody({
      input_tokens: 1,
      output_tokens: 1,
      cache_creation_input_tokens: 900,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 900 },
    });
    const headers = {
      'x-amzn-bedrock-input-token-count': '1',
      'x-amzn-bedrock-output-token-count': '1',
      'x-amzn-bedrock-cache-read-input-token-count': '0',
      'x-amzn-bedrock-cache-write-input-token-count': '500',
    };
    const usage = usageFromInvoke(body, headers);
    assert.equal(usage?.cacheWrite1h, 500);
    assert.equal(usage?.cacheWrite5m, 0);
  });

  test('without the cache headers, the body fills them in', () => {
    const body = anthropicBody({
      input_tokens: 1,
      output_tokens: 2,
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 40,
    });
    const headers = {
      'x-amzn-bedrock-input-token-count': '1',
      'x-amzn-bedrock-output-token-count': '2',
    };
    assert.deepEqual(usageFromInvoke(body, headers), {
      ...ZERO,
      input: 1,
      output: 2,
      cacheRead: 30,
      cacheWrite5m: 40,
      cacheTtlKnown: false,
    });
  });

  test('malformed header counts are ignored, not coerced', () => {
    const body = anthropicBody({ input_tokens: 7, output_tokens: 8 });
    for (const bad of ['-1', '1e3', '0x10', '', ' ', '12abc', '99999999999999999']) {
      const usage = usageFromInvoke(body, {
        'x-amzn-bedrock-input-token-count': bad,
        'x-amzn-bedrock-output-token-count': '8',
      });
      assert.equal(usage?.input, 7, `header ${JSON.stringify(bad)} falls back to the body`);
    }
  });

  test('no headers: the Anthropic body, with the cache_creation split', () => {
    const body = anthropicBody({
      input_tokens: 4,
      output_tokens: 5,
      cache_read_input_tokens: 6,
      cache_creation_input_tokens: 10,
      cache_creation: { ephemeral_5m_input_tokens: 3, ephemeral_1h_input_tokens: 7 },
    });
    assert.deepEqual(usageFromInvoke(body, {}), {
      ...ZERO,
      input: 4,
      output: 5,
      cacheRead: 6,
      cacheWrite5m: 3,
      cacheWrite1h: 7,
    });
  });

  test('no usage anywhere: null', () => {
    assert.equal(usageFromInvoke('{"completion":"hi"}', {}), null);
    assert.equal(usageFromInvoke(null, {}), null);
  });
});

describe('usageFromInvokeBody: native shapes', () => {
  test('Nova (Converse-like camelCase usage with Count-suffixed cache fields)', () => {
    const nova = {
      output: { message: { role: 'assistant', content: [{ text: 'x' }] } },
      stopReason: 'end_turn',
      usage: {
        inputTokens: 20,
        outputTokens: 30,
        totalTokens: 50,
        cacheReadInputTokenCount: 5,
        cacheWriteInputTokenCount: 0,
      },
    };
    assert.deepEqual(usageFromInvokeBody(nova), { ...ZERO, input: 20, output: 30, cacheRead: 5 });
  });

  test('Titan text and Titan embeddings', () => {
    const text = {
      inputTextTokenCount: 9,
      results: [
        { tokenCount: 4, outputText: 'a', completionReason: 'FINISH' },
        { tokenCount: 2, outputText: 'b', completionReason: 'FINISH' },
      ],
    };
    assert.deepEqual(usageFromInvokeBody(text), { ...ZERO, input: 9, output: 6 });
    assert.deepEqual(usageFromInvokeBody({ embedding: [0.1], inputTextTokenCount: 11 }), {
      ...ZERO,
      input: 11,
    });
  });

  test('Meta Llama', () => {
    const llama = {
      generation: 'hi',
      prompt_token_count: 15,
      generation_token_count: 3,
      stop_reason: 'stop',
    };
    assert.deepEqual(usageFromInvokeBody(llama), { ...ZERO, input: 15, output: 3 });
  });

  test('shapes without usage: null', () => {
    assert.equal(usageFromInvokeBody({ outputs: [{ text: 'mistral' }] }), null);
    assert.equal(usageFromInvokeBody('string'), null);
    assert.equal(usageFromInvokeBody(null), null);
  });
});

test('servedTier and pricedTier: the tier Bedrock says served a call prices it, latency-optimized stays', () => {
  assert.equal(servedTier({ type: 'default' }), 'standard');
  assert.equal(servedTier('priority'), 'priority');
  assert.equal(servedTier({ type: 'flex' }), 'flex');
  assert.equal(servedTier({ type: 'reserved' }), null, 'not priced per token');
  assert.equal(servedTier(undefined), null);
  assert.equal(pricedTier('priority', 'standard'), 'standard');
  assert.equal(pricedTier('flex', null), 'flex');
  assert.equal(pricedTier('latency-optimized', 'standard'), 'latency-optimized');
  assert.equal(
    usageFromConverseJson(
      JSON.stringify({
        usage: { inputTokens: 1, outputTokens: 2 },
        serviceTier: { type: 'default' },
      }),
    )?.tier,
    'standard',
  );
  assert.equal(
    usageFromConverseJson(JSON.stringify({ usage: { inputTokens: 1, outputTokens: 2 } }))?.tier,
    undefined,
  );
});
