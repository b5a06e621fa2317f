/**
 * The gateway's `GET /metrics` as Prometheus scrapes it: behind its token, in the exposition format, and agreeing with
 * the ledger to the pico-dollar after real AWS SDK calls (counts, Bedrock's tokens, list cost, the budget's spend).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import { formatUsd, parseUsd } from '../../src/core/index.ts';
import type { Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, startFakeBedrock } from '../support/fake-bedrock.ts';
import {
  HAIKU,
  ledgerWithGateway,
  putKey,
  SONNET,
  startGatewayOnFake,
} from '../support/gateway.ts';
import { parseExposition, type Sample, sampleOf } from '../support/prometheus.ts';

const CREDS = { accessKeyId: 'AKIDMETRICSTEST', secretAccessKey: 'metrics-test-secret' };
const MESSAGES = [{ role: 'user' as const, content: [{ text: 'Count the tokens, please.' }] }];

interface Env {
  dir: { path: string; remove(): void };
  rt: Runtime;
  fake: FakeBedrock;
  gw: RunningGateway;
  key: string;
}

async function setup(env: NodeJS.ProcessEnv): Promise<Env> {
  const { dir, rt } = await ledgerWithGateway(
    'tl-gw-metrics-',
    "  budgets:\n    - { name: search-daily, scope: { team: search }, amountUsd: '100.00', period: daily }\n",
  );
  const fake = await startFakeBedrock({ credentials: [CREDS] });
  const key = await putKey(rt, 'search', 'ana@example.com');
  const gw = await startGatewayOnFake(rt, {
    upstream: fake.url,
    creds: CREDS,
    baseDir: dir.path,
    env,
  });
  return { dir, rt, fake, gw, key };
}

async function teardown(env: Env): Promise<void> {
  await env.gw.close();
  await env.fake.close();
  await env.rt.close();
  env.dir.remove();
}

const scrape = (env: Env, token?: string) =>
  fetch(
    `${env.gw.url}/metrics`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );

describe('gateway /metrics', () => {
  let env: Env;
  before(async () => {
    env = await setup({
      TOKENLEDGER_ADMIN_TOKEN: 'admin-secret',
      TOKENLEDGER_METRICS_TOKEN: 'scrape-secret',
    });
  });
  after(() => teardown(env));

  test('behind the metrics or admin token, and agreeing with the ledger after real calls', async () => {
    assert.equal((await scrape(env)).status, 401);
    assert.equal((await scrape(env, 'wrong')).status, 401);
    const client = new BedrockRuntimeClient({
      endpoint: env.gw.url,
      region: 'us-east-1',
      maxAttempts: 1,
      token: { token: env.key },
      authSchemePreference: ['httpBearerAuth'],
    });
    try {
      await client.send(new ConverseCommand({ modelId: SONNET, messages: MESSAGES }));
      await client.send(new ConverseCommand({ modelId: SONNET, messages: MESSAGES }));
      const stream = await client.send(
        new ConverseStreamCommand({ modelId: HAIKU, messages: MESSAGES }),
      );
      for await (const _ of stream.stream ?? []);
      await client.send(
        new InvokeModelCommand({
          modelId: HAIKU,
          contentType: 'application/json',
          body: JSON.stringify({
            anthropic_version: 'bedrock-2023-05-31',
            max_tokens: 50,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        }),
      );
    } finally {
      client.destroy();
    }
    await env.gw.flush();

    const res = await scrape(env, 'scrape-secret');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await res.text());
    assert.equal((await scrape(env, 'admin-secret')).status, 200, 'the admin token scrapes too');

    const search = (model: string, operation: string) => ({ team: 'search', model, operation });
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_calls_total', search(SONNET, 'Converse')).value,
      2,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_calls_total', search(HAIKU, 'ConverseStream')).value,
      1,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_calls_total', search(HAIKU, 'InvokeModel')).value,
      1,
    );
    // Tokens as Bedrock billed them.
    const billed = env.fake.requests.filter((r) => r.operation === 'Converse');
    assert.equal(
      sampleOf(samples, 'tokenledger_gateway_tokens_total', {
        ...search(SONNET, 'Converse'),
        type: 'input',
      }).value,
      billed.reduce((n, r) => n + (r.tokens?.input ?? 0), 0),
    );
    // Dollars: the ledger's, exactly, in total and in the budget's counter.
    const { total } = await env.rt.store.queryUsage({ groupBy: [], where: [] });
    assert.equal(total.requests, 4);
    const costs = samples.filter((s: Sample) => s.name === 'tokenledger_gateway_cost_usd_total');
    assert.equal(costs.length, 3);
    assert.equal(
      costs.reduce((n, s) => n + parseUsd(s.text), 0n),
      total.costPicos,
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_budget_spent_usd', { budget: 'search-daily' }).text,
      formatUsd(total.costPicos),
    );
    assert.equal(
      sampleOf(samples, 'tokenledger_budget_limit_usd', { budget: 'search-daily' }).text,
      '100.00',
    );
    assert.equal(sampleOf(samples, 'tokenledger_spool_pending_records').value, 0);
    assert.ok(sampleOf(samples, 'process_resident_memory_bytes').value > 0);
  });
});

describe('gateway /metrics without a token configured', () => {
  let env: Env;
  before(async () => {
    env = await setup({});
  });
  after(() => teardown(env));

  test('is disabled, and says how to enable it', async () => {
    const res = await scrape(env, 'anything');
    assert.equal(res.status, 404);
    assert.match(await res.text(), /TOKENLEDGER_METRICS_TOKEN/);
  });
});
