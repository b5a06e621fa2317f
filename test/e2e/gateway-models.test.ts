/**
 * OpenAI's model list on the gateway, through the real OpenAI SDK: the models the gateway served the key's team
 * (since start, and before, from the ledger) and its downgrade targets, as far as the team may call them. Another
 * team's models are not listed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import type { Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, nextRequests, startFakeBedrock } from '../support/fake-bedrock.ts';
import {
  HAIKU,
  ledgerWithGateway,
  putKey,
  SONNET,
  startGatewayOnFake,
} from '../support/gateway.ts';

const CREDS = { accessKeyId: 'AKIDMODELSTEST', secretAccessKey: 'models-test-secret' };
const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0';
const SONNET_4 = 'us.anthropic.claude-sonnet-4-20250514-v1:0';

let dir: { path: string; remove(): void };
let rt: Runtime;
let fake: FakeBedrock;
let key: string;
let otherTeamKey: string;
before(async () => {
  ({ dir, rt } = await ledgerWithGateway(
    'tl-gw-models-',
    `  models:
    search: { deny: ['*opus*'] }
  downgrade:
    - { from: '*sonnet*', to: ${HAIKU} }
    - { from: '*nova*', to: ${OPUS} }
`,
  ));
  fake = await startFakeBedrock({ credentials: [CREDS] });
  key = await putKey(rt, 'search', 'ana@example.com');
  otherTeamKey = await putKey(rt, 'research', 'bo@example.com');
});
after(async () => {
  await fake.close();
  await rt.close();
  dir.remove();
});

const start = () => startGatewayOnFake(rt, { upstream: fake.url, creds: CREDS, baseDir: dir.path });
const ids = async (gw: RunningGateway, apiKey = key) => {
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });
  const out: string[] = [];
  for await (const m of openai.models.list()) out.push(m.id);
  return { out, openai };
};

test('GET /v1/models lists what the team may call of what the gateway served and downgrades to', async () => {
  const gw = await start();
  try {
    // Nothing served yet: the downgrade target the team may use, not the one its policy denies.
    assert.deepEqual((await ids(gw)).out, [HAIKU]);
    const { openai } = await ids(gw);
    await openai.chat.completions.create({
      model: SONNET,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 10,
    });
    assert.deepEqual((await ids(gw)).out, [HAIKU, SONNET]);
    // Another team's calls are on its own menu only.
    const research = (await ids(gw, otherTeamKey)).openai;
    await research.chat.completions.create({
      model: SONNET_4,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 10,
    });
    // (Both downgrade targets: only search's policy denies Opus.)
    assert.deepEqual((await ids(gw, otherTeamKey)).out, [HAIKU, OPUS, SONNET_4]);
    assert.deepEqual((await ids(gw)).out, [HAIKU, SONNET]);
    await assert.rejects(openai.models.retrieve(SONNET_4), OpenAI.NotFoundError);
    // A model id Bedrock refuses (nothing billed) is not offered, here or after a restart.
    fake.behave(nextRequests({ kind: 'error', exception: 'ValidationException', status: 400 }));
    await assert.rejects(
      openai.chat.completions.create({
        model: 'us.made-up.model-v9:0',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    assert.deepEqual((await ids(gw)).out, [HAIKU, SONNET]);
    assert.equal((await openai.models.retrieve(SONNET)).id, SONNET);
    await assert.rejects(openai.models.retrieve(OPUS), OpenAI.NotFoundError);
    const anonymous = await fetch(`${gw.url}/v1/models`);
    assert.equal(anonymous.status, 401);
    await gw.flush();
  } finally {
    await gw.close();
  }
  // A restarted gateway knows from the ledger what it served.
  const again = await start();
  try {
    assert.deepEqual((await ids(again)).out, [HAIKU, SONNET]);
    assert.deepEqual((await ids(again, otherTeamKey)).out, [HAIKU, OPUS, SONNET_4]);
  } finally {
    await again.close();
  }
});
