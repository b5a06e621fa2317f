/**
 * Two gateway replicas (two processes' worth: each its own ledger, spool and governor) in front of one fake Bedrock.
 * With their counters in one real Redis they hold a hard budget together under 200 parallel calls split between
 * them; with in-memory counters each would allow the whole budget (the leak peers' gateways have). A replica that
 * restarts does not add its ledger's spend to the shared counters again.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import type { Logger } from '../../src/core/index.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, nextRequests, startFakeBedrock } from '../support/fake-bedrock.ts';
import { startGatewayOnFake } from '../support/gateway.ts';
import {
  SEARCH_DAILY_BUDGET_YAML,
  SEARCH_SPEND_PICOS,
  seedSearchSpend,
} from '../support/gateway-seed.ts';
import { startTestRedis, startTestRedisCluster } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const CREDS = { accessKeyId: 'AKIDGATEWAYTEST', secretAccessKey: 'gateway-test-secret' };
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const _quiet: Logger = { info() {}, warn() {}, error() {} };
const LIMIT = 550_000_000_000n; // $0.55
const SEEDED = SEARCH_SPEND_PICOS; // $0.50 already spent today, in replica A's ledger
const BUDGET = `gateway:\n${SEARCH_DAILY_BUDGET_YAML}\n`;

interface Replica {
  readonly rt: Runtime;
  gw: RunningGateway;
  readonly dir: { path: string; remove(): void };
}

const redis = await startTestRedis();
const skip = 'skip' in redis ? redis.skip : false;

describe('gateway replicas sharing counters', { skip }, () => {
  let fake: FakeBedrock;
  // One virtual key, known to every replica's ledger.
  const made = newKey(
    {
      name: 'ci',
      team: 'search',
      user: 'ana@example.com',
      feature: null,
      project: null,
      environment: null,
    },
    Date.now(),
    null,
  );
  const key = made.plaintext;
  before(async () => {
    fake = await startFakeBedrock({ credentials: [CREDS], outputTokens: 1000 });
  });
  after(async () => {
    await fake.close();
    if (!('skip' in redis)) await redis.stop();
  });

  const start = async (r: { rt: Runtime; dir: { path: string } }, env: NodeJS.ProcessEnv) =>
    startGatewayOnFake(r.rt, { upstream: fake.url, creds: CREDS, baseDir: r.dir.path, env });

  /** A replica with its own ledger (and, if asked, today's $0.50 in it), knowing the key. */
  async function replica(env: NodeJS.ProcessEnv, seed: boolean, withKey = true): Promise<Replica> {
    const dir = tempDir('tl-gw-shared-');
    const config = join(dir.path, 'tokenledger.yaml');
    writeFileSync(config, BUDGET);
    const rt = await openRuntime({ db: join(dir.path, 'ledger.duckdb'), configPath: config, env });
    if (seed) assert.equal(await seedSearchSpend(rt), SEEDED);
    if (withKey) await rt.store.gatewayKeys.put([made.key]);
    return { rt, dir, gw: await start({ rt, dir }, env) };
  }

  /** 200 parallel calls split between the replicas; the spend and the calls each ledger holds. */
  async function burst(replicas: readonly Replica[]) {
    const sentBefore = fake.requests.length;
    const body = JSON.stringify({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fetch(
          `${(replicas[i % replicas.length] as Replica).gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body,
          },
        ).then((r) => r.status),
      ),
    );
    let spend = 0n;
    let recorded = 0;
    for (const r of replicas) {
      await r.gw.flush();
      const { total } = await r.rt.store.queryUsage({ groupBy: [], where: [] });
      spend += total.costPicos;
      recorded += total.requests;
    }
    return {
      ok: results.filter((s) => s === 200).length,
      refused: results.filter((s) => s === 429).length,
      sent: fake.requests.length - sentBefore,
      spend,
      recorded,
    };
  }

  /** A small InvokeModel call through replica `r` with key `k`. */
  const hello = (r: Replica, k: string) =>
    fetch(`${r.gw.url}/model/${encodeURIComponent(HAIKU)}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });

  const close = async (replicas: readonly Replica[]) => {
    for (const r of replicas) {
      await r.gw.close();
      await r.rt.close();
      r.dir.remove();
    }
  };

  test('with their counters in Redis, 200 parallel calls over two replicas never overshoot the budget', async () => {
    const env = { TOKENLEDGER_REDIS_URL: (redis as { url: string }).url };
    const replicas = [await replica(env, true), await replica(env, false)];
    try {
      const r = await burst(replicas);
      assert.equal(r.ok + r.refused, 200);
      assert.ok(r.ok > 0 && r.refused > 0, `some calls fit, the rest are refused (${r.ok} ok)`);
      assert.equal(r.sent, r.ok, 'refused calls never reached Bedrock');
      assert.equal(r.recorded, r.ok + 1, 'every admitted call recorded once, plus the seed');
      assert.ok(r.spend <= LIMIT, `spend ${r.spend} within the $0.55 limit`);
      assert.ok(r.spend > SEEDED, 'the admitted calls were charged');

      // Replica A restarts: its ledger's spend is already in the shared counters and is not added again.
      const before = (await replicas[1]?.gw.governor.status())?.budgets[0]?.spentUsd;
      const a = replicas[0] as Replica;
      await a.gw.close();
      a.gw = await start(a, env);
      const after = (await a.gw.governor.status()).budgets[0]?.spentUsd;
      assert.equal(
        after,
        before,
        'the restarted replica sees the shared spend, not its ledger twice',
      );
    } finally {
      await close(replicas);
    }
  });

  test('on a Redis Cluster (as ElastiCache Serverless is) the replicas hold the budget together too', async () => {
    const cluster = await startTestRedisCluster(3);
    if ('skip' in cluster) return;
    const env = { TOKENLEDGER_REDIS_URL: cluster.url };
    const replicas = [await replica(env, true), await replica(env, false)];
    try {
      const r = await burst(replicas);
      assert.equal(r.ok + r.refused, 200);
      assert.ok(r.ok > 0 && r.refused > 0, `some calls fit, the rest are refused (${r.ok} ok)`);
      assert.equal(r.recorded, r.ok + 1, 'every admitted call recorded once, plus the seed');
      assert.ok(r.spend <= LIMIT, `spend ${r.spend} within the $0.55 limit`);
      assert.ok(r.spend > SEEDED, 'the admitted calls were charged');
    } finally {
      await close(replicas);
      await cluster.stop();
    }
  });

  test('keys are shared: created through one replica it works on the other, revoked there it stops on both', async () => {
    const own = await startTestRedis();
    if ('skip' in own) return;
    const env = {
      TOKENLEDGER_REDIS_URL: own.url,
      TOKENLEDGER_ADMIN_TOKEN: 'admin-secret',
      TOKENLEDGER_KEYS_SECRET: 'fleet-secret',
    };
    const replicas = [await replica(env, false, false), await replica(env, false, false)];
    const [a, b] = replicas as [Replica, Replica];
    const admin = (r: Replica, method: string, path: string, body?: object) =>
      fetch(`${r.gw.url}${path}`, {
        method,
        headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const call = (r: Replica, k: string) => hello(r, k).then((res) => res.status);
    /** The status of a call to `r` once it is not `from` any more (replicas look at the shared keys every second). */
    const settles = async (r: Replica, k: string, from: number) => {
      const until = Date.now() + 5000;
      let status = await call(r, k);
      while (status === from && Date.now() < until) {
        await new Promise((res) => setTimeout(res, 100));
        status = await call(r, k);
      }
      return status;
    };
    try {
      const created = await admin(a, 'POST', '/admin/keys', { name: 'shared', team: 'search' });
      assert.equal(created.status, 201);
      const made = (await created.json()) as { id: string; key: string; shared: boolean };
      assert.equal(made.shared, true, 'the answer says the other replicas can see it');
      assert.equal(await call(a, made.key), 200);
      assert.equal(await settles(b, made.key, 401), 200, 'replica B knows the key');
      // B's ledger holds it too: B restarts with it even if Redis were gone.
      assert.ok((await b.rt.store.gatewayKeys.list()).some((k) => k.id === made.id));

      const revoked = await admin(b, 'DELETE', `/admin/keys/${made.id}`);
      assert.equal(revoked.status, 200);
      assert.equal(await call(b, made.key), 403);
      assert.equal(await settles(a, made.key, 200), 403, 'replica A refuses it too');
      const listed = (await (await admin(a, 'GET', '/admin/keys')).json()) as {
        id: string;
        status: string;
      }[];
      assert.equal(listed.find((k) => k.id === made.id)?.status, 'revoked');
    } finally {
      await close(replicas);
      await own.stop();
    }
  });

  test('Redis gone: a call in flight is still recorded, new calls get 503 until it is back', async () => {
    const own = await startTestRedis();
    if ('skip' in own) return;
    const r = await replica({ TOKENLEDGER_REDIS_URL: own.url }, false);
    const call = () => hello(r, key);
    try {
      assert.equal((await call()).status, 200);
      fake.behave(nextRequests({ kind: 'respond', delayMs: 300 }));
      const inFlight = call();
      await new Promise((res) => setTimeout(res, 100));
      await own.stop();
      assert.equal((await inFlight).status, 200);
      const refused = await call();
      assert.equal(refused.status, 503);
      assert.match(await refused.text(), /budget counters unavailable/);
      await r.gw.flush();
      const { total } = await r.rt.store.queryUsage({ groupBy: [], where: [] });
      assert.equal(total.requests, 2, 'both admitted calls are in the ledger');
      const health = (await (await fetch(`${r.gw.url}/healthz`)).json()) as {
        settleFailures: number;
      };
      assert.equal(health.settleFailures, 1);
    } finally {
      await close([r]);
    }
  });

  test('with in-memory counters each replica allows the whole budget (why shared counters exist)', async () => {
    // Both ledgers hold today's $0.50 (as both replicas would load it): each allows the whole $0.05 left.
    const replicas = [await replica({}, true), await replica({}, true)];
    try {
      const r = await burst(replicas);
      const added = r.spend - 2n * SEEDED;
      assert.ok(
        added > LIMIT - SEEDED,
        `together they added ${added}, past the $0.05 the budget had left`,
      );
    } finally {
      await close(replicas);
    }
  });
});
