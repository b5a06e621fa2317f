/**
 * OpenAI chat completions → Converse: content parts. Text and `data:` URL images become Converse blocks in order;
 * what the gateway cannot translate faithfully (a URL it would have to fetch, audio, files) is a 400 naming the part,
 * never dropped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatToConverse, TranslationError } from './openai.ts';

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
