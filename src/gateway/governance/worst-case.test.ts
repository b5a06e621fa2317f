import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsdPerMillion } from '../../core/index.ts';
import { converseMedia, rawBodyMedia, worstCaseCost, worstCaseTokens } from './worst-case.ts';

const POLICY = {
  defaultMaxOutputTokens: 4096,
  imageTokens: 1600,
  overheadTokens: 1000,
  maxInputTokens: 1_000_000,
};

describe('worst case', () => {
  test('text: body bytes + overhead; output: the call’s own limit', () => {
    assert.deepEqual(worstCaseTokens({ bodyBytes: 2000, maxOutputTokens: 512 }, POLICY), {
      input: 3000,
      output: 512,
      capOutputTo: null,
    });
  });
  test('no output limit: the default, which the gateway must send upstream', () => {
    assert.deepEqual(worstCaseTokens({ bodyBytes: 10 }, POLICY), {
      input: 1010,
      output: 4096,
      capOutputTo: 4096,
    });
  });
  test('images add their cap; the context window bounds the input', () => {
    assert.equal(worstCaseTokens({ bodyBytes: 100, imageBlocks: 2 }, POLICY).input, 4300);
    assert.equal(
      worstCaseTokens({ bodyBytes: 5_000_000, contextWindowTokens: 200_000 }, POLICY).input,
      200_000,
    );
  });
  test('documents and video: bounded by the context window, else maxInputTokens', () => {
    assert.equal(worstCaseTokens({ bodyBytes: 300, otherMediaBlocks: 1 }, POLICY).input, 1_000_000);
    assert.equal(
      worstCaseTokens({ bodyBytes: 300, otherMediaBlocks: 1, contextWindowTokens: 200_000 }, POLICY)
        .input,
      200_000,
    );
  });
  test('cost at the dearest input rate and the output rate, exact in pico-USD', () => {
    const tokens = worstCaseTokens({ bodyBytes: 9000, maxOutputTokens: 1000 }, POLICY);
    const cost = worstCaseCost(tokens, {
      inputPicosPerToken: parseUsdPerMillion('6.00'), // Sonnet 4.5 1-hour cache write
      outputPicosPerToken: parseUsdPerMillion('15.00'),
    });
    assert.equal(cost, 10_000n * 6_000_000n + 1000n * 15_000_000n); // $0.06 + $0.015
  });

  test('media blocks: Converse counted exactly, other bodies from above; text never counts', () => {
    const text = { text: 'Describe "image", "document" and "video" in {"type":"document"}' };
    const converse = {
      messages: [
        {
          role: 'user',
          content: [
            text,
            { image: { format: 'webp', source: { bytes: 'UklGRhIAAABXRUJQVlA4' } } },
            { document: { format: 'pdf', name: 'q3', source: { bytes: 'JVBERi0x' } } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              toolResult: {
                toolUseId: 'tu1',
                content: [{ image: { format: 'png', source: { bytes: 'iVBO' } } }, text],
              },
            },
          ],
        },
      ],
      toolConfig: {
        tools: [
          { toolSpec: { name: 't', inputSchema: { json: { properties: { document: {} } } } } },
        ],
      },
    };
    assert.deepEqual(converseMedia(converse), { images: 2, other: 1 });
    const anthropic = Buffer.from(
      JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
              {
                type: 'document',
                source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' },
              },
              { type: 'text', text: text.text },
            ],
          },
        ],
        tools: [{ name: 't', input_schema: { properties: { document: { type: 'string' } } } }],
      }),
    );
    assert.deepEqual(rawBodyMedia(anthropic), { images: 2, other: 1 });
    // Nova's native body, as Python's json.dumps spaces it.
    const nova = Buffer.from(
      '{"messages": [{"role": "user", "content": [{"video": {"format": "mp4", "source": {"s3Location": {}}}}]}]}',
    );
    assert.deepEqual(rawBodyMedia(nova), { images: 0, other: 1 });
    assert.deepEqual(
      rawBodyMedia(Buffer.from('{"content":[{"type":"image","source":{"data":"iVBO"}}]}')),
      { images: 1, other: 0 },
    );
    // A tiny image still reserves a full image's tokens.
    assert.equal(
      worstCaseTokens({ bodyBytes: anthropic.length, imageBlocks: 2, maxOutputTokens: 100 }, POLICY)
        .input,
      anthropic.length + 1000 + 2 * 1600,
    );
  });
});
