/**
 * OpenAI chat completions → Converse: content parts. Text and `data:` URL images become Converse blocks in order;
 * what the gateway cannot translate faithfully (a URL it would have to fetch, audio, files) is a 400 naming the part,
 * never dropped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventFrame, exceptionFrame } from '../../test/support/fake-bedrock.ts';
import { ConverseStreamToSse, chatToConverse, TranslationError } from './openai.ts';

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';
const user = (content: unknown) =>
  chatToConverse({ model: MODEL, messages: [{ role: 'user', content }] }).body.messages as {
    role: string;
    content: Record<string, unknown>[];
  }[];
const refused = (messages: unknown[], pattern: RegExp) =>
  assert.throws(
    () => chatToConverse({ model: MODEL, messages }),
    (e: unknown) => e instanceof TranslationError && pattern.test(e.message),
  );

describe('OpenAI content parts → Converse blocks', () => {
  test('text and data: URL images keep their order; adjacent text parts join', () => {
    const [m] = user([
      { type: 'text', text: 'What is ' },
      { type: 'text', text: 'in this image?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'low' } },
      { type: 'image_url', image_url: `data:image/JPG;base64,${PNG}` },
      { type: 'text', text: 'Be brief.' },
    ]);
    assert.deepEqual(m?.content, [
      { text: 'What is in this image?' },
      { image: { format: 'png', source: { bytes: PNG } } },
      { image: { format: 'jpeg', source: { bytes: PNG } } },
      { text: 'Be brief.' },
    ]);
  });

  test('a string, a text-only array and an empty array are one text block, as before', () => {
    assert.deepEqual(user('Hi')[0]?.content, [{ text: 'Hi' }]);
    assert.deepEqual(user([{ type: 'text', text: 'Hi' }])[0]?.content, [{ text: 'Hi' }]);
    assert.deepEqual(user([])[0]?.content, [{ text: '' }]);
  });

  test('an image only is an image block alone', () => {
    const [m] = user([{ type: 'image_url', image_url: { url: `data:image/webp;base64,${PNG}` } }]);
    assert.deepEqual(m?.content, [{ image: { format: 'webp', source: { bytes: PNG } } }]);
  });

  test('image URLs the gateway would fetch, other formats and broken data URLs are refused', () => {
    const image = (url: unknown) => [
      { role: 'user', content: [{ type: 'image_url', image_url: { url } }] },
    ];
    refused(
      image('https://example.com/cat.png'),
      /messages\[0\]\.content\[0\]\.image_url.*does not fetch URLs/,
    );
    refused(image(`data:image/bmp;base64,${PNG}`), /PNG, JPEG, GIF or WebP/);
    refused(image('data:image/png;base64,not base64!'), /data: URLs/);
    refused(image(undefined), /data: URLs/);
    refused(image('data:image/png;base64,'), /data: URLs/); // no bytes at all
  });

  test('audio, files and images outside user messages are refused, naming the part', () => {
    refused(
      [
        {
          role: 'user',
          content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }],
        },
      ],
      /messages\[0\]\.content\[0\]: only text and image_url parts are supported \(got "input_audio"\)/,
    );
    refused(
      [
        {
          role: 'system',
          content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }],
        },
        { role: 'user', content: 'Hi' },
      ],
      /messages\[0\]\.content\[0\]: only text parts are supported/,
    );
  });
});

test('a model id that cannot be a Bedrock model is refused before it reaches the path', () => {
  for (const model of ['..', '../converse', 'x'.repeat(3000), 'a b'])
    assert.throws(
      () => chatToConverse({ model, messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => e instanceof TranslationError && /invalid model identifier/.test(e.message),
      model.slice(0, 20),
    );
});

describe('tools in the history, none to offer now', () => {
  const history = [
    { role: 'user', content: 'weather in Paris?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'c1',
          type: 'function',
          function: { name: 'weather', arguments: '{"city":"Paris"}' },
        },
      ],
    },
    { role: 'tool', tool_call_id: 'c1', content: '18 C' },
  ];
  const weather = {
    type: 'function',
    function: { name: 'weather', parameters: { type: 'object', properties: {} } },
  };
  const toolNames = (body: Record<string, unknown>) =>
    (body.toolConfig as { tools: { toolSpec: { name: string } }[] } | undefined)?.tools.map(
      (t) => t.toolSpec.name,
    );

  test('tool_choice "none" or no tools: one inert tool, so Converse accepts the history and no tool of the caller can be called', () => {
    for (const extra of [{ tools: [weather], tool_choice: 'none' }, {}]) {
      const { body } = chatToConverse({ model: MODEL, messages: history, ...extra });
      assert.deepEqual(toolNames(body), ['no_tool_available']);
      assert.equal((body.toolConfig as { toolChoice?: unknown }).toolChoice, undefined);
    }
  });

  test('tools offered: they are the toolConfig; no history, no tools: no toolConfig', () => {
    assert.deepEqual(
      toolNames(chatToConverse({ model: MODEL, messages: history, tools: [weather] }).body),
      ['weather'],
    );
    assert.equal(
      chatToConverse({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).body.toolConfig,
      undefined,
    );
  });
});

describe('ConverseStream → chat completion chunks', () => {
  const PAD = 'abcdefghij';
  const frames = [
    eventFrame('messageStart', { p: PAD, role: 'assistant' }),
    eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hel' }, p: PAD }),
    eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'lo "you"' }, p: PAD }),
    eventFrame('contentBlockStop', { contentBlockIndex: 0, p: PAD }),
    eventFrame('contentBlockStart', {
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather' } },
      p: PAD,
    }),
    eventFrame('contentBlockDelta', {
      contentBlockIndex: 1,
      delta: { toolUse: { input: '{"city":' } },
      p: PAD,
    }),
    eventFrame('contentBlockDelta', {
      contentBlockIndex: 1,
      delta: { toolUse: { input: '"Paris"}' } },
      p: PAD,
    }),
    eventFrame('contentBlockStop', { contentBlockIndex: 1, p: PAD }),
    eventFrame('messageStop', { stopReason: 'tool_use', p: PAD }),
    eventFrame('metadata', {
      usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19, cacheReadInputTokens: 3 },
      metrics: { latencyMs: 80 },
      p: PAD,
    }),
  ];
  const whole = Buffer.concat(frames.map((f) => Buffer.from(f)));
  type Chunk = {
    id: string;
    model: string;
    created: number;
    choices: { delta: Record<string, unknown>; finish_reason: string | null }[];
    usage?: Record<string, unknown>;
    error?: { code?: string; message?: string };
  };
  const events = (text: string): (Chunk | '[DONE]')[] =>
    text
      .split('\n\n')
      .filter((e) => e !== '')
      .map((e) => {
        assert.match(e, /^data: /);
        const data = e.slice(6);
        return data === '[DONE]' ? data : (JSON.parse(data) as Chunk);
      });
  /** Sends the stream in pieces of `size` bytes; what the client reads. */
  const translate = (bytes: Buffer, size: number, includeUsage = true): string => {
    const sse = new ConverseStreamToSse(MODEL, 'req-1', 1_700_000_000, includeUsage);
    let out = '';
    for (let at = 0; at < bytes.length; at += size) out += sse.push(bytes.subarray(at, at + size));
    return out + sse.end();
  };

  test('text and tool calls become deltas; the stop reason, usage and [DONE] end the stream', () => {
    const got = events(translate(whole, whole.length));
    const chunks = got.filter((e): e is Chunk => e !== '[DONE]');
    assert.equal(got.at(-1), '[DONE]');
    for (const c of chunks) {
      assert.equal(c.id, 'chatcmpl-req-1');
      assert.equal(c.model, MODEL);
      assert.equal(c.created, 1_700_000_000);
    }
    assert.deepEqual(
      chunks.filter((c) => c.usage === undefined).map((c) => c.choices[0]),
      [
        {
          index: 0,
          delta: { role: 'assistant', content: '' },
          finish_reason: null,
          logprobs: null,
        },
        { index: 0, delta: { content: 'Hel' }, finish_reason: null, logprobs: null },
        { index: 0, delta: { content: 'lo "you"' }, finish_reason: null, logprobs: null },
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'tooluse_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '' },
              },
            ],
          },
          finish_reason: null,
          logprobs: null,
        },
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
          finish_reason: null,
          logprobs: null,
        },
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
          finish_reason: null,
          logprobs: null,
        },
        { index: 0, delta: {}, finish_reason: 'tool_calls', logprobs: null },
      ],
    );
    const usage = chunks.at(-1);
    assert.deepEqual(usage?.choices, []);
    assert.equal(usage?.usage?.prompt_tokens, 15);
    assert.equal(usage?.usage?.completion_tokens, 7);
  });

  test('frames cut anywhere across chunks translate the same; without include_usage no usage chunk', () => {
    const once = translate(whole, whole.length);
    for (const size of [1, 7, 64, 333]) assert.equal(translate(whole, size), once);
    const plain = events(translate(whole, 50, false));
    assert.ok(plain.every((e) => e === '[DONE]' || e.usage === undefined));
  });

  test('an exception event becomes an error chunk named as the SDK names it', () => {
    const sse = new ConverseStreamToSse(MODEL, 'req-2', 1, true);
    const out = sse.push(
      Buffer.concat([
        Buffer.from(frames[0] as Uint8Array),
        Buffer.from(exceptionFrame('ThrottlingException', 'Too many tokens, please wait')),
      ]),
    );
    const last = events(out).at(-1) as Chunk;
    assert.equal(last.error?.code, 'ThrottlingException');
    assert.match(last.error?.message ?? '', /ThrottlingException: Too many tokens/);
  });
});

test('n other than 1 is refused (Converse answers one choice), n: 1 is taken', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  assert.throws(
    () => chatToConverse({ model: MODEL, messages, n: 3 }),
    (e: unknown) => e instanceof TranslationError && /n must be 1/.test(e.message),
  );
  assert.ok(chatToConverse({ model: MODEL, messages, n: 1 }));
  assert.ok(chatToConverse({ model: MODEL, messages, n: null }));
});
