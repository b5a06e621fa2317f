/**
 * The gateway benchmark's own pieces: the minimal proxy forwards all four Bedrock operations unchanged and reads
 * exactly the usage the fake billed; the load generator's answer check accepts real answers and refuses broken ones;
 * a short load run counts and validates. Not in `npm test`'s glob (src, test): run it with
 * `node --import tsx --test bench/gateway-bench.test.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeBedrock, startFakeBedrock } from '../test/support/fake-bedrock.ts';
import { checkAnswer, runLoad } from './load.ts';
import { type MinimalProxy, startMinimalProxy } from './minimal-proxy.ts';

const MODEL = `/model/${encodeURIComponent('us.anthropic.claude-sonnet-4-5-20250929-v1:0')}`;
const ANTHROPIC = JSON.stringify({
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello there, how are you today?' }],
});
const CONVERSE = JSON.stringify({
  messages: [{ role: 'user', content: [{ text: 'hello there, how are you today?' }] }],
  inferenceConfig: { maxTokens: 100 },
});
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench' };

async function post(
  url: string,
  path: string,
  body: string,
): Promise<{ status: number; type: string; bytes: Buffer }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: HEADERS, body });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

describe('gateway benchmark pieces', () => {
  let fake: FakeBedrock;
  let proxy: MinimalProxy;
  before(async () => {
    fake = await startFakeBedrock({ outputTokens: 19 });
    proxy = await startMinimalProxy({ upstream: fake.url });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });

  test('the minimal proxy passes every operation through byte for byte and meters what was billed', async () => {
    const cases = [
      ['invoke', ANTHROPIC, 'json'],
      ['converse', CONVERSE, 'json'],
      ['invoke-with-response-stream', ANTHROPIC, 'eventstream'],
      ['converse-stream', CONVERSE, 'eventstream'],
    ] as const;
    for (const [op, body, expect] of cases) {
      const direct = await post(fake.url, `${MODEL}/${op}`, body);
      const proxied = await post(proxy.url, `${MODEL}/${op}`, body);
      assert.equal(proxied.status, 200, op);
      assert.equal(proxied.type, direct.type, op);
      assert.equal(checkAnswer(expect, proxied.status, proxied.type, proxied.bytes), null, op);
      // Same length: the answer differs only in its request id (same length, different bytes).
      assert.equal(proxied.bytes.length, direct.bytes.length, op);
    }
    const billed = fake.requests.filter((_, i) => i % 2 === 1); // the proxied ones
    const input = billed.reduce((s, r) => s + (r.tokens?.input ?? 0), 0);
    const output = billed.reduce((s, r) => s + (r.tokens?.output ?? 0), 0);
    assert.equal(proxy.stats.requests, 4);
    assert.equal(proxy.stats.metered, 4);
    assert.equal(proxy.stats.inputTokens, input);
    assert.equal(proxy.stats.outputTokens, output);
    assert.equal(output, 4 * 19);
  });

  test('the answer check refuses wrong statuses, broken frames and SSE without its end', () => {
    const json = Buffer.from('{"usage":{"inputTokens":1}}');
    assert.equal(checkAnswer('json', 200, 'application/json', json), null);
    assert.match(checkAnswer('json', 429, 'application/json', json) ?? '', /HTTP 429/);
    assert.match(checkAnswer('json', 200, 'application/json', Buffer.from('{}')) ?? '', /usage/);
    const frame = Buffer.alloc(16);
    frame.writeUInt32BE(16, 0);
    const three = Buffer.concat([frame, frame, frame]);
    const type = 'application/vnd.amazon.eventstream';
    assert.equal(checkAnswer('eventstream', 200, type, three), null);
    assert.match(checkAnswer('eventstream', 200, type, three.subarray(0, 44)) ?? '', /broken/);
    assert.match(checkAnswer('eventstream', 200, type, three.subarray(0, 40)) ?? '', /trailing/);
    assert.match(checkAnswer('eventstream', 200, type, three.subarray(0, 32)) ?? '', /2 frames/);
    const sse = 'data: {"usage":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n';
    assert.equal(checkAnswer('sse', 200, 'text/event-stream', Buffer.from(sse)), null);
    assert.match(
      checkAnswer('sse', 200, 'text/event-stream', Buffer.from(sse.slice(0, 40))) ?? '',
      /DONE/,
    );
  });

  test('a short load run answers, validates and reads the CPU of the watched process', async () => {
    const r = await runLoad({
      url: proxy.url,
      path: `${MODEL}/invoke`,
      headers: [HEADERS],
      body: ANTHROPIC,
      concurrency: 4,
      warmupMs: 200,
      durationMs: 300,
      expect: 'json',
      pids: { self: process.pid },
    });
    assert.equal(r.errors, 0);
    assert.equal(r.invalid, 0);
    assert.ok(r.validated > 0);
    assert.ok(r.requests > 0);
    assert.ok(r.p99Ms >= r.p50Ms);
    assert.ok(Number.isFinite(r.cpuSeconds.self));
  });
});
