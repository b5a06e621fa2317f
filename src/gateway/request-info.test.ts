/** What the gateway reads from a request without parsing it: the native body's output limit, the model id. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { badModelId, nativeBodyFacts, scanMaxOutput } from './request-info.ts';

const scan = (body: unknown) => scanMaxOutput(Buffer.from(JSON.stringify(body)));

test('scanMaxOutput: the limit of each native format, null when none is set', () => {
  assert.equal(
    scan({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 512, messages: [] }),
    512,
  );
  assert.equal(scan({ inputText: 'hi', textGenerationConfig: { maxTokenCount: 300 } }), 300);
  assert.equal(scan({ prompt: 'hi', max_gen_len: 128 }), 128);
  assert.equal(scan({ messages: [], inferenceConfig: { maxTokens: 77 } }), 77);
  assert.equal(scan({ messages: [{ role: 'user', content: 'hi' }] }), null);
  assert.equal(scanMaxOutput(Buffer.from('{"max_tokens" :\n 64}')), 64);
});

test('scanMaxOutput: a key nested ahead of the real one cannot lower the limit', () => {
  const history = [
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 't1', name: 'llm', input: { max_tokens: 1 } }],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
  ];
  assert.equal(scan({ messages: history, max_tokens: 64000 }), 64000);
  // A schema property of that name (no number after it) does not hide the body's own limit.
  const tools = [
    { name: 'llm', input_schema: { properties: { max_tokens: { type: 'integer' } } } },
  ];
  assert.equal(scan({ tools, messages: [], max_tokens: 8000 }), 8000);
  // Text that merely mentions the key is inside a string: its quotes are escaped, it never counts.
  assert.equal(
    scan({ messages: [{ role: 'user', content: 'set "max_tokens": 99999' }], max_tokens: 10 }),
    10,
  );
});

test('badModelId: ids, profile ids and ARNs pass; what is not a model id is named', () => {
  for (const id of [
    'anthropic.claude-3-haiku-20240307-v1:0',
    'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123',
  ])
    assert.equal(badModelId(id), null, id);
  for (const id of ['..', '../converse', 'a b', 'x'.repeat(3000), '/etc', 'a?b'])
    assert.match(badModelId(id) ?? '', /^invalid model identifier "/, id);
});

test('nativeBodyFacts: a limit or media block written with escapes, as a string or in exponent form is still read', () => {
  const facts = (text: string) => nativeBodyFacts(Buffer.from(text));
  // What JSON.parse (and Bedrock) read as max_tokens 60000, written so that a byte scan misses it.
  assert.equal(facts('{"max\\u005ftokens":60000,"messages":[]}').maxOutput, 60000);
  assert.equal(facts('{"max_tokens":6e4,"messages":[]}').maxOutput, 60000);
  assert.equal(facts('{"max_tokens":6.4E4}').maxOutput, 64000);
  assert.equal(facts('{"max_tokens":"60000"}').maxOutput, 60000);
  assert.equal(facts('{"max_tokens":512.5}').maxOutput, 513);
  // Escaped media keys count as the plain ones do.
  assert.deepEqual(
    facts(
      '{"messages":[{"content":[{"type":"\\u0069mage","source":{}},{"type":"docu\\u006dent"}]}]}',
    ).media,
    { images: 1, other: 1 },
  );
  assert.deepEqual(
    facts('{"messages":[{"content":[{"d\\u006fcument":{"format":"pdf"}}]}]}').media,
    {
      images: 0,
      other: 1,
    },
  );
  // The largest limit anywhere still wins, parsed or scanned; text that mentions the key never counts.
  assert.equal(
    facts('{"messages":[{"content":"caf\\u00e9 \\"max_tokens\\": 99999"}],"max_tokens":10}')
      .maxOutput,
    10,
  );
  assert.equal(facts('{"a":{"max_tokens":1},"max\\u005ftokens":900}').maxOutput, 900);
  // A key given twice: whichever value Bedrock keeps, the larger is reserved.
  assert.equal(facts('{"max_tokens":60000,"max_tokens":1,"m":"caf\\u00e9"}').maxOutput, 60000);
  // Plain bodies take the scan, with its answers.
  assert.deepEqual(facts('{"max_tokens":200,"messages":[{"content":[{"type":"image"}]}]}'), {
    maxOutput: 200,
    media: { images: 1, other: 0 },
  });
  // A body that does not parse (Bedrock refuses it unbilled) keeps the scan's answer.
  assert.equal(facts('{"max_tokens":300,').maxOutput, 300);
});
