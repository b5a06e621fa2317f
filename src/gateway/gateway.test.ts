/**
 * createGateway with stand-ins for its ports (upstream, spool, counter store), for what the e2e suites cannot set up:
 * here, a spool write that fails for one event-loop turn's records while a settlement's await spans turns.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { gatewayConfigSchema } from './config.ts';
import { createGateway } from './gateway.ts';
import { createGovernor, createMemoryCounterStore } from './governance/index.ts';
import { KeyRing, newKey } from './keys.ts';
import type { BedrockUpstream } from './upstream.ts';

test("a call is answered only once its own record was spooled: a failed group's call gets a 500 even when the settlement spans turns", async () => {
  const config = gatewayConfigSchema.parse({
    budgets: [{ name: 'all', amountUsd: '100', period: 'daily' }],
  });
  // A counter store whose commits (the settlement) take a few turns of the event loop, as a shared Redis's do.
  const memory = createMemoryCounterStore();
  const store = {
    ...memory,
    commit: async (...a: Parameters<typeof memory.commit>) => {
      await new Promise((r) => setTimeout(r, 5));
      return memory.commit(...a);
    },
  };
  const governor = createGovernor(config, { clock: Date.now, store });
  // The spool's contract: the records of one turn are written together at its end; the first group fails.
  let group: { done: Promise<void> } | null = null;
  let groups = 0;
  const record = () => {
    if (group === null) {
      const fail = groups++ === 0;
      let settle = (_: boolean) => {};
      const done = new Promise<void>((ok, no) => {
        settle = (failed) => (failed ? no(new Error('spool write failed')) : ok());
      });
      done.catch(() => {});
      group = { done };
      setImmediate(() => {
        group = null;
        settle(fail);
      });
    }
    return 0n;
  };
  const answer = Buffer.from(
    JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text: 'hi' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 },
      metrics: { latencyMs: 5 },
    }),
  );
  const upstream: BedrockUpstream = {
    region: 'us-east-1',
    close() {},
    send: async () => ({
      status: 200,
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': `r-${Math.random()}` },
      body: {
        ended: true,
        all: async () => answer,
        each: async (read) => void (await read(answer)),
      },
    }),
  };
  const made = newKey(
    { name: 't', team: 'search', user: null, feature: null, project: null, environment: null },
    Date.now(),
    null,
  );
  const gateway = createGateway({
    options: {
      accountId: '111122223333',
      maxBodyBytes: 1 << 20,
      timeoutMs: 10_000,
      reservation: config.reservation,
      adminToken: null,
      metricsToken: null,
      roles: {},
      drainClosedStreams: 0,
    },
    keys: new KeyRing([made.key]),
    saveKeys: async () => {},
    governor,
    upstream,
    record,
    recorded: () => group?.done ?? Promise.resolve(),
    worstCaseOf: () => 1_000_000n,
  });
  const server = createServer((req, res) => gateway.handle(req, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse`;
    const call = () =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${made.plaintext}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
      });
    const first = await call();
    assert.equal(first.status, 500, 'its record was never spooled');
    await first.text();
    const second = await call();
    assert.equal(second.status, 200, await second.text());
  } finally {
    server.close();
    gateway.close();
  }
});
