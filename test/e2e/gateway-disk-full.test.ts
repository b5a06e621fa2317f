/**
 * `tokenledger gateway` as a process whose disk fills up while it serves: prlimit caps the size of any file it writes
 * (EFBIG past the cap, as ENOSPC on a full disk; Node ignores SIGXFSZ). A call whose record cannot be spooled is
 * answered with a clean 500 that says so, never a hang or a dropped connection; the gateway keeps serving; once there
 * is room again calls go through as before; and every call it answered 200 is in the ledger once, after the spool
 * is replayed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime } from '../../src/runtime.ts';
import { startFakeBedrock } from '../support/fake-bedrock.ts';
import { HAIKU } from '../support/gateway.ts';
import { startGatewayProcess } from '../support/gateway-process.ts';
import { tempDir } from '../support/temp-dir.ts';

const dir = tempDir('tl-gw-disk-full-');
after(() => dir.remove());

/** The gateway signs with static keys towards the fake Bedrock at `upstream`. */
const gatewayEnv = (upstream: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir.path,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDDISKFULL',
  AWS_SECRET_ACCESS_KEY: 'disk-full-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: upstream,
});

test('disk full while serving: unrecorded calls get a clean 500, the gateway goes on, answered calls are all in the ledger', {
  skip: existsSync('/usr/bin/prlimit') ? false : 'prlimit (util-linux) is not installed',
}, async () => {
  const fake = await startFakeBedrock({});
  const db = join(dir.path, 'ledger.duckdb');
  const made = newKey(
    { name: 'disk', team: 'search', user: null, feature: null, project: null, environment: null },
    Date.now(),
    null,
  );
  const seed = await openRuntime({ db, configPath: undefined, env: {} });
  await seed.store.gatewayKeys.put([made.key]);
  await seed.close();

  try {
    await scenario(fake, db, made.plaintext);
  } finally {
    await fake.close();
  }
});

async function scenario(
  fake: Awaited<ReturnType<typeof startFakeBedrock>>,
  db: string,
  plaintext: string,
): Promise<void> {
  const gw = await startGatewayProcess(db, gatewayEnv(fake.url));
  /** One Converse call: its status, the error type of a refusal, the request id of an answer. */
  const call = async (n: number) => {
    const r = await fetch(`${gw.url}/model/${encodeURIComponent(HAIKU)}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plaintext}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: `call ${n}` }] }] }),
    });
    const body = (await r.json()) as { message?: string };
    return {
      status: r.status,
      type: r.headers.get('x-amzn-errortype'),
      message: body.message ?? null,
      requestId: r.headers.get('x-amzn-requestid'),
    };
  };
  /** One OpenAI-style chat call (the SDK's path without `/v1`): its status and the error's message. */
  const chat = async (n: number) => {
    const r = await fetch(`${gw.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plaintext}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: HAIKU, messages: [{ role: 'user', content: `chat ${n}` }] }),
    });
    const body = (await r.json()) as { error?: { message?: string; type?: string } };
    return { status: r.status, error: body.error ?? null };
  };
  const answered: string[] = [];
  try {
    for (let n = 0; n < 3; n++) {
      const r = await call(n);
      assert.equal(r.status, 200, JSON.stringify(r));
      answered.push(r.requestId as string);
    }
    // The disk fills: no file of the gateway's may grow past 2 KiB (a spool segment holds a few records).
    const cap = spawnSync('prlimit', [`--pid=${gw.pid}`, '--fsize=2048:unlimited'], {
      encoding: 'utf8',
    });
    assert.equal(cap.status, 0, cap.stderr);
    const full = [];
    for (let n = 3; n < 40; n++) full.push(await call(n));
    const refused = full.filter((r) => r.status !== 200);
    assert.ok(refused.length >= 3, `calls refused: ${refused.length} of ${full.length}`);
    for (const r of refused) {
      assert.equal(r.status, 500, JSON.stringify(r));
      assert.match(String(r.type), /^InternalServerException/);
      assert.match(String(r.message), /could not be recorded/);
    }
    for (const r of full) if (r.status === 200) answered.push(r.requestId as string);
    // An OpenAI caller is refused in its own dialect.
    const chats = [];
    for (let n = 0; n < 6; n++) chats.push(await chat(n));
    const refusedChats = chats.filter((r) => r.status !== 200);
    assert.ok(refusedChats.length >= 1, JSON.stringify(chats));
    for (const r of refusedChats) {
      assert.equal(r.status, 500, JSON.stringify(r));
      assert.equal(r.error?.type, 'api_error');
      assert.match(String(r.error?.message), /could not be recorded/);
    }

    // Room again: calls go through, and the gateway said what went wrong.
    const room = spawnSync('prlimit', [`--pid=${gw.pid}`, '--fsize=unlimited'], {
      encoding: 'utf8',
    });
    assert.equal(room.status, 0, room.stderr);
    for (let n = 40; n < 45; n++) {
      const r = await call(n);
      assert.equal(r.status, 200, JSON.stringify(r));
      answered.push(r.requestId as string);
    }
    assert.match(gw.logs(), /spool: cannot write records/);
    // Every call reached Bedrock (the refused ones were billed too).
    assert.equal(fake.requests.length, 51);
    assert.equal(await gw.stop(), 0, gw.logs());
  } finally {
    gw.kill();
  }

  // A gateway started again replays what the spool kept; then every answered call is in the ledger, once.
  const again = await startGatewayProcess(db, gatewayEnv(fake.url));
  try {
    assert.equal(await again.stop(), 0, again.logs());
  } finally {
    again.kill();
  }
  const ledger = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  try {
    const conn = await ledger.connect();
    const rows = (
      await conn.runAndReadAll(
        `SELECT request_id, count(*) AS n FROM usage WHERE source = 'gateway' GROUP BY request_id`,
      )
    ).getRows() as [string, bigint][];
    const recorded = new Map(rows.map(([id, n]) => [id, Number(n)]));
    assert.deepEqual(
      answered.filter((id) => !recorded.has(id)),
      [],
      'answered calls missing from the ledger',
    );
    assert.deepEqual(
      rows.filter(([, n]) => n > 1n),
      [],
      'no call twice',
    );
    // The refused calls' records may have made it in before their turn's write failed: of the 51 calls, none else.
    assert.ok(recorded.size <= 51, String(recorded.size));
    conn.closeSync();
  } finally {
    ledger.closeSync();
  }
}
