/**
 * OpenAI's model list on the gateway, through the real OpenAI SDK: the models the gateway served (since start, and
 * before, from the ledger) and its downgrade targets, as far as the key's team may call them.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, nextRequests, startFakeBedrock } from '../support/fake-bedrock.ts';
import { startGatewayOnFake } from '../support/gateway.ts';
import { tempDir } from '../support/temp-dir.ts';

const CREDS = { accessKeyId: 'AKIDMODELSTEST', secretAccessKey: 'models-test-secret' };
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0';

const dir = tempDir('tl-gw-models-');
let rt: Runtime;
let fake: FakeBedrock;
let key: string;
before(async () => {
  const config = join(dir.path, 'tokenledger.yaml');
  writeFileSync(
    config,
    `gateway:
  models:
    search: { deny: ['*opus*'] }
  downgrade:
    - { from: '*sonnet*', to: ${HAIKU} }
    - { from: '*nova*', to: ${OPUS} }
`,
  );
  rt = await openRuntime({ db: join(dir.path, 'ledger.duckdb'), configPath: config, env: {} });
  fake = await startFakeBedrock({ credentials: [CREDS] });
  const k = newKey(
    {
      name: 'm',
      team: 'search',
      user: 'ana@example.com',
      feature: null,
      project: null,
      environment: null,
    },
    Date.now(),
    null,
  );
  await rt.store.gatewayKeys.put([k.key]);
  key = k.plaintext;
});
after(async () => {
  await fake.close();
  await rt.close();
  dir.remove();
});

const start = () => startGatewayOnFake(rt, { upstream: fake.url, creds: CREDS, baseDir: dir.path });
const ids = async (gw: RunningGateway) => {
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
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
  } finally {
    await again.close();
  }
});
