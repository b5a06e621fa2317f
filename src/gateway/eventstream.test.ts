import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventStreamCodec, Int64 } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import {
  chunkFrame,
  errorFrame,
  eventFrame,
  exceptionFrame,
  type FakeBedrock,
  nextRequests,
  startFakeBedrock,
} from '../../test/support/fake-bedrock.ts';
import { type StreamOutcome, StreamUsageReader } from './eventstream.ts';

const concat = (frames: readonly Uint8Array[]): Uint8Array => Buffer.concat(frames);

function read(bytes: Uint8Array, chunkSizes: readonly number[] = [bytes.length]): StreamOutcome {
  const reader = new StreamUsageReader();
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = chunkSizes[i++ % chunkSizes.length] ?? bytes.length;
    reader.push(bytes.subarray(at, at + size));
    at += size;
  }
  return reader.finish();
}

const converseStream = concat([
  eventFrame('messageStart', { p: 'abc', role: 'assistant' }),
  eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'ab' }),
  eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'lo' }, p: 'abcdef' }),
  eventFrame('contentBlockStop', { contentBlockIndex: 0 }),
  eventFrame('messageStop', { stopReason: 'end_turn' }),
  eventFrame('metadata', {
    metrics: { latencyMs: 812 },
    usage: {
      inputTokens: 7,
      outputTokens: 2,
      totalTokens: 1509,
      cacheReadInputTokens: 1000,
      cacheWriteInputTokens: 500,
      cacheDetails: [
        { ttl: '1h', inputTokens: 300 },
        { ttl: '5m', inputTokens: 200 },
      ],
    },
  }),
]);

const messageStart = chunkFrame({
  type: 'message_start',
  message: {
    id: 'msg_bdrk_1',
    type: 'message',
    role: 'assistant',
    content: [],
    usage: {
      input_tokens: 11,
      cache_read_input_tokens: 2000,
      cache_creation_input_tokens: 640,
      cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 600 },
      output_tokens: 1,
    },
  },
});
const deltas = Array.from({ length: 20 }, (_, i) =>
  chunkFrame(
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `t${i}` } },
    i,
  ),
);
const messageDelta = chunkFrame({
  type: 'message_delta',
  delta: { stop_reason: 'end_turn', stop_sequence: null },
  usage: { output_tokens: 33 },
});
const messageStop = chunkFrame({
  type: 'message_stop',
  'amazon-bedrock-invocationMetrics': {
    inputTokenCount: 11,
    outputTokenCount: 34,
    invocationLatency: 2100,
    firstByteLatency: 380,
    cacheReadInputTokenCount: 2000,
    cacheWriteInputTokenCount: 640,
  },
});
const invokeStream = concat([
  messageStart,
  chunkFrame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ...deltas,
  chunkFrame({ type: 'content_block_stop', index: 0 }),
  messageDelta,
  messageStop,
]);

describe('StreamUsageReader: ConverseStream', () => {
  test('usage, cache split by TTL, latency and stop reason from the metadata event', () => {
    assert.deepEqual(read(converseStream), {
      usage: {
        input: 7,
        output: 2,
        cacheRead: 1000,
        cacheWrite5m: 200,
        cacheWrite1h: 300,
        cacheTtlKnown: true,
        latencyMs: 812,
        firstByteMs: null,
      },
      complete: true,
      events: 6,
      contentDeltas: 2,
      stopReason: 'end_turn',
      error: null,
      malformed: null,
    });
  });

  test('the same outcome however the bytes are chunked (frames spanning chunks, 1-byte chunks)', () => {
    const whole = read(converseStream);
    for (const sizes of [[1], [2, 3], [5, 7, 11], [13], [100, 1], [4096]]) {
      assert.deepEqual(read(converseStream, sizes), whole, `chunk sizes ${sizes.join(',')}`);
    }
  });

  test('cut before the metadata event: no usage, not complete', () => {
    const cut = converseStream.subarray(0, converseStream.length - 30);
    const outcome = read(cut, [17]);
    assert.equal(outcome.usage, null);
    assert.equal(outcome.complete, false);
    assert.equal(outcome.stopReason, 'end_turn');
    assert.equal(outcome.events, 5);
  });
});

describe('StreamUsageReader: InvokeModelWithResponseStream', () => {
  test('amazon-bedrock-invocationMetrics is authoritative; the 1h/5m split comes from message_start', () => {
    const outcome = read(invokeStream, [64]);
    assert.deepEqual(outcome.usage, {
      input: 11,
      output: 34,
      cacheRead: 2000,
      cacheWrite5m: 40,
      cacheWrite1h: 600,
      cacheTtlKnown: true,
      latencyMs: 2100,
      firstByteMs: 380,
    });
    assert.equal(outcome.complete, true);
    assert.equal(outcome.contentDeltas, 20);
    assert.equal(outcome.events, 25);
    assert.equal(outcome.stopReason, 'end_turn');
  });

  test('cut after message_delta: input from message_start, output from message_delta', () => {
    const outcome = read(concat([messageStart, ...deltas, messageDelta]), [3]);
    assert.equal(outcome.complete, false);
    assert.deepEqual(outcome.usage, {
      input: 11,
      output: 33,
      cacheRead: 2000,
      cacheWrite5m: 40,
      cacheWrite1h: 600,
      cacheTtlKnown: true,
      latencyMs: null,
      firstByteMs: null,
    });
  });

  test('cut during the deltas: input known, output the placeholder, deltas counted', () => {
    const outcome = read(concat([messageStart, ...deltas.slice(0, 7)]));
    assert.equal(outcome.complete, false);
    assert.equal(outcome.usage?.input, 11);
    assert.equal(outcome.usage?.output, 1);
    assert.equal(outcome.contentDeltas, 7);
  });

  test('cut inside the last frame: usage so far, not complete', () => {
    const outcome = read(invokeStream.subarray(0, invokeStream.length - 9), [100]);
    assert.equal(outcome.complete, false);
    assert.equal(outcome.malformed, null);
    assert.equal(outcome.usage?.output, 33);
  });

  test('another provider (no Anthropic events): the invocation metrics alone', () => {
    const outcome = read(
      concat([
        chunkFrame({
          generation: 'Hello',
          prompt_token_count: 9,
          generation_token_count: 1,
          stop_reason: null,
        }),
        chunkFrame({
          generation: '!',
          prompt_token_count: null,
          generation_token_count: 2,
          stop_reason: 'stop',
          'amazon-bedrock-invocationMetrics': {
            inputTokenCount: 9,
            outputTokenCount: 2,
            invocationLatency: 300,
            firstByteLatency: 120,
          },
        }),
      ]),
    );
    assert.equal(outcome.complete, true);
    assert.deepEqual(outcome.usage, {
      input: 9,
      output: 2,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      cacheTtlKnown: true,
      latencyMs: 300,
      firstByteMs: 120,
    });
  });

  test('cache writes known only as a total are put in 5m with the TTL unknown', () => {
    const outcome = read(
      chunkFrame({
        type: 'message_stop',
        'amazon-bedrock-invocationMetrics': {
          inputTokenCount: 3,
          outputTokenCount: 4,
          cacheWriteInputTokenCount: 900,
        },
      }),
    );
    assert.equal(outcome.usage?.cacheWrite5m, 900);
    assert.equal(outcome.usage?.cacheWrite1h, 0);
    assert.equal(outcome.usage?.cacheTtlKnown, false);
  });

  test('a chunk payload with its fields in another order (padding first) is still read', () => {
    const event = Buffer.from(
      JSON.stringify({ type: 'message_delta', usage: { output_tokens: 5 } }),
    ).toString('base64');
    const outcome = read(
      concat([messageStart, eventFrame('chunk', { p: 'abcdefgh', bytes: event })]),
    );
    assert.equal(outcome.usage?.output, 5);
  });

  test('headers of every type before the ones read are skipped correctly', () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const frame = codec.encode({
      headers: {
        a: { type: 'boolean', value: true },
        b: { type: 'boolean', value: false },
        c: { type: 'byte', value: 7 },
        d: { type: 'short', value: 300 },
        e: { type: 'integer', value: 70_000 },
        f: { type: 'long', value: Int64.fromNumber(5_000_000_000) },
        g: { type: 'binary', value: new Uint8Array([1, 2, 3]) },
        h: { type: 'timestamp', value: new Date(0) },
        i: { type: 'uuid', value: '0f8fad5b-d9cb-469f-a165-70867728950e' },
        ':message-type': { type: 'string', value: 'event' },
        ':event-type': { type: 'string', value: 'chunk' },
      },
      body: fromUtf8(
        JSON.stringify({ bytes: Buffer.from('{"type":"message_stop"}').toString('base64') }),
      ),
    });
    const outcome = read(concat([messageStart, frame]));
    assert.equal(outcome.malformed, null);
    assert.equal(outcome.complete, true, 'message_stop was read from the last frame');
  });
});

describe('StreamUsageReader: exceptions and damage', () => {
  test('an exception event: its SDK name and message; the stream is not complete', () => {
    const outcome = read(
      concat([messageStart, exceptionFrame('ThrottlingException', 'Too many tokens')]),
    );
    assert.deepEqual(outcome.error, {
      kind: 'exception',
      name: 'ThrottlingException',
      message: 'Too many tokens',
    });
    assert.equal(outcome.complete, false);
    assert.equal(outcome.usage?.input, 11);
  });

  test('an error event: code and message from its headers', () => {
    const start = eventFrame('messageStart', { role: 'assistant' });
    const outcome = read(concat([start, errorFrame('InternalFailure', 'boom')]));
    assert.deepEqual(outcome.error, { kind: 'error', name: 'InternalFailure', message: 'boom' });
  });

  test('a damaged payload fails the message CRC: its numbers are not trusted', () => {
    const bytes = Buffer.from(invokeStream);
    const at = bytes.length - 20; // inside the message_stop payload, which carries the invocation metrics
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    const outcome = read(bytes);
    assert.equal(outcome.malformed, 'message CRC mismatch');
    assert.equal(outcome.complete, false);
    assert.equal(
      outcome.usage?.output,
      33,
      'the last intact count (message_delta), not the damaged metrics',
    );
    assert.equal(outcome.usage?.input, 11, 'what was read before the damage is kept');
  });

  test('a damaged prelude, and an impossible frame length', () => {
    const bytes = Buffer.from(converseStream);
    bytes[5] = (bytes[5] ?? 0) ^ 0x01;
    assert.equal(read(bytes).malformed, 'prelude CRC mismatch');
    const garbage = Buffer.from('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    assert.match(read(garbage).malformed ?? '', /^impossible frame length/);
  });

  test('with CRC checks off, a damaged delta does not stop the reading', () => {
    const bytes = Buffer.from(invokeStream);
    const at = messageStart.length + 200; // inside the content_block_start or a delta
    bytes[at] = (bytes[at] ?? 0) ^ 0x20;
    const reader = new StreamUsageReader({ verifyCrc: false });
    reader.push(bytes);
    const outcome = reader.finish();
    assert.equal(outcome.malformed, null);
    assert.equal(outcome.usage?.output, 34);
  });
});

describe('StreamUsageReader on the fake Bedrock wire', () => {
  let fake: FakeBedrock;
  before(async () => {
    fake = await startFakeBedrock({ requireAuth: false, outputTokens: 30 });
  });
  after(() => fake.close());

  async function stream(operation: string, body: unknown): Promise<StreamOutcome> {
    const res = await fetch(
      `${fake.url}/model/${encodeURIComponent('us.anthropic.claude-opus-5-5')}/${operation}`,
      {
        method: 'POST',
        body: JSON.stringify(body),
      },
    );
    const reader = new StreamUsageReader();
    try {
      for await (const chunk of res.body ?? []) reader.push(chunk);
    } catch {
      // a cut stream ends the body with an error; the reader keeps what it saw
    }
    return reader.finish();
  }
  const anthropic = {
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  };

  test('InvokeModelWithResponseStream: exactly the billed tokens', async () => {
    const outcome = await stream('invoke-with-response-stream', anthropic);
    const t = fake.requests.at(-1)?.tokens;
    assert.ok(t);
    assert.equal(outcome.complete, true);
    assert.deepEqual(outcome.usage, { ...t, cacheTtlKnown: true, latencyMs: 42, firstByteMs: 17 });
  });

  test('ConverseStream: exactly the billed tokens', async () => {
    const outcome = await stream('converse-stream', {
      messages: [{ role: 'user', content: [{ text: 'hi' }] }],
    });
    const t = fake.requests.at(-1)?.tokens;
    assert.ok(t);
    assert.equal(outcome.complete, true);
    assert.deepEqual(outcome.usage, {
      ...t,
      cacheTtlKnown: true,
      latencyMs: 42,
      firstByteMs: null,
    });
  });

  test('a stream the upstream cuts after 6 events: input known, not complete', async () => {
    fake.behave(nextRequests({ kind: 'abort', afterEvents: 6 }));
    const outcome = await stream('invoke-with-response-stream', anthropic);
    fake.behave(null);
    assert.equal(outcome.complete, false);
    assert.equal(outcome.events, 6);
    assert.equal(outcome.usage?.input, fake.requests.at(-1)?.tokens?.input);
    assert.equal(outcome.contentDeltas, 4);
  });
});
