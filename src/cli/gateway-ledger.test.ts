/**
 * The gateway's rows reach the ledger as the runtime itself would write them (its configuration, its prices), from
 * rows spooled now and from RawUsage lines spooled by earlier versions; repeats count once, unreadable lines are set
 * aside and counted, and a batch delivered twice inserts nothing the second time.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import type { RawUsage } from '../core/index.ts';
import { encodeLine } from '../gateway/index.ts';
import { ledgerRecord } from '../pipeline/index.ts';
import { openRuntime } from '../runtime.ts';
import { createGatewayLedger } from './gateway-ledger.ts';

const dir = tempDir('tl-gateway-ledger-');
after(() => dir.remove());

/** A metadata alias only this configuration knows: rows must be attributed with the runtime's configuration. */
const CONFIG = `attribution:
  metadataKeys:
    team: [squad]
`;

const raw = (id: string, at = '2026-11-20T10:00:00Z'): RawUsage => ({
  requestId: id,
  occurredAt: Date.parse(at),
  accountId: '111122223333',
  region: 'us-east-1',
  inferenceRegion: null,
  operation: 'InvokeModel',
  modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  identityArn: null,
  requestMetadata: { user: 'ana@example.com', squad: 'payments' },
  tokens: { input: 1200, output: 340, cacheRead: 5000, cacheWrite5m: 0, cacheWrite1h: 800 },
  cacheTtlKnown: true,
  tier: 'standard',
  latencyMs: 900,
  firstByteMs: null,
  errorCode: null,
  source: { uri: 'gateway', line: 0 },
});

/** Spool lines as a segment holds them: newline-terminated bytes. */
const lines = (...ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));
const quiet = { warn() {} };

async function withLedger(
  name: string,
  fn: (
    rt: Awaited<ReturnType<typeof openRuntime>>,
    ledger: ReturnType<typeof createGatewayLedger>,
  ) => Promise<void>,
) {
  const config = join(dir.path, `${name}.yaml`);
  writeFileSync(config, CONFIG);
  const rt = await openRuntime({
    db: join(dir.path, `${name}.duckdb`),
    configPath: config,
    env: {},
  });
  const ledger = createGatewayLedger(rt, quiet);
  try {
    await fn(rt, ledger);
  } finally {
    ledger.close();
    await rt.close();
  }
}

test('rows and legacy RawUsage lines are stored as the runtime prices and attributes them', async () => {
  await withLedger('mixed', async (rt, ledger) => {
    const r1 = ledger.encode(raw('r1'));
    const expected = ledgerRecord(rt, raw('r1'));
    assert.ok(expected.cost.picos !== null && expected.cost.picos > 0n);
    assert.equal(r1.picos, expected.cost.picos, 'the price the gateway settles budgets with');
    const batch = lines(r1.row, encodeLine(raw('r2')), ledger.encode(raw('r3')).row);
    assert.deepEqual(await ledger.writeLines(batch, 3), { unreadable: 0 });
    for (const id of ['r1', 'r2', 'r3']) {
      const stored = await rt.store.getRecord(id);
      assert.equal(BigInt(String(stored?.cost_pusd)), expected.cost.picos, id);
      assert.equal(stored?.price_id, expected.cost.priceId);
      assert.equal(stored?.team, 'payments', 'the configured alias applied');
      assert.equal(stored?.user, 'ana@example.com');
    }
    // Delivered again (a crash before the spool saved its offset): nothing new.
    assert.deepEqual(await ledger.writeLines(batch, 3), { unreadable: 0 });
    const total = await rt.store.queryUsage({ groupBy: [], where: [] });
    assert.equal(total.total.requests, 3);
  });
});

test('a repeated request id counts once; unreadable lines are counted and the rest is stored', async () => {
  await withLedger('bad', async (rt, ledger) => {
    const good = ledger.encode(raw('g1')).row;
    const torn = ledger.encode(raw('g2')).row.slice(0, -20); // a row's start, then garbage: DuckDB cannot read it
    const out = await ledger.writeLines(
      lines(good, good, torn, '{"r":{"requestId":', 'not a row', ledger.encode(raw('g3')).row),
      6,
    );
    assert.deepEqual(out, { unreadable: 3 });
    assert.ok(await rt.store.getRecord('g1'));
    assert.ok(await rt.store.getRecord('g3'));
    assert.equal(await rt.store.getRecord('g2'), null);
    const total = await rt.store.queryUsage({ groupBy: [], where: [] });
    assert.equal(total.total.requests, 2);
  });
});

test('a call whose invocation log reached the ledger first counts once, however that log came in', async () => {
  await withLedger('cross', async (rt, ledger) => {
    const store = async (...raws: RawUsage[]) => {
      await ledger.writeLines(lines(...raws.map((r) => ledger.encode(r).row)), raws.length);
    };
    const total = async () =>
      (await rt.store.queryUsage({ groupBy: [], where: [] })).total.requests;
    // A gateway batch first: the store learns that no other source has rows yet.
    await store(raw('g0', '2026-03-01T00:00:00Z'));
    // Invocation logs, through the bulk path (DuckDB reads the file), then row by row.
    const logs = join(import.meta.dirname, '..', 'sources', 'invocation-logs', 'testdata');
    const { ingest } = await import('../pipeline/index.ts');
    const opts = { format: 'auto' as const, rejectsFile: join(dir.path, 'rejects.jsonl') };
    await ingest(rt, {
      ...opts,
      paths: [join(logs, 'operations.jsonl')],
      bulk: true,
      bulkMinBytes: 0,
    });
    const logged = await total();
    // The same calls as the gateway recorded them: a minute after the log's timestamp (2026-03-02T10:15:00Z).
    await store(
      raw('0b7c2a1e-0001-4000-8000-000000000001', '2026-03-02T10:16:00Z'),
      raw('g1', '2026-03-02T10:16:00Z'),
    );
    assert.equal(await total(), logged + 1, 'the logged call is not counted again');
    // Row by row this time: a later log (after what the store learnt above).
    const later = join(dir.path, 'later.jsonl');
    const first = JSON.parse(
      readFileSync(join(logs, 'operations.jsonl'), 'utf8').split('\n')[0] as string,
    );
    writeFileSync(
      later,
      `${JSON.stringify({ ...first, requestId: 'later-call', timestamp: '2026-03-05T08:00:00Z' })}\n`,
    );
    await ingest(rt, { ...opts, paths: [later], bulk: false });
    const after = await total();
    await store(raw('later-call', '2026-03-05T08:02:00Z'));
    assert.equal(await total(), after, 'the logged call is not counted again');
    // The gateway's own rows: a replayed batch adds nothing either.
    await store(raw('g1', '2026-03-02T10:16:00Z'), raw('g2', '2026-03-02T10:16:01Z'));
    assert.equal(await total(), after + 1);
  });
});

test('a row DuckDB refuses for a value (valid JSON) is kept aside in rejects; the rows around it are stored', async () => {
  await withLedger('poison', async (rt, ledger) => {
    const rows = ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => ledger.encode(raw(id)).row);
    // input_tokens (c13, BIGINT) far past its range: JSON, but no BIGINT.
    const poison = (rows[2] as string).replace(/"c13":\d+/, '"c13":100000000000000000000000000');
    assert.notEqual(poison, rows[2]);
    const out = await ledger.writeLines(
      lines(rows[0] as string, rows[1] as string, poison, ...rows.slice(3)),
      5,
    );
    assert.deepEqual(out, { unreadable: 1 });
    for (const id of ['p1', 'p2', 'p4', 'p5']) assert.ok(await rt.store.getRecord(id), id);
    assert.equal(await rt.store.getRecord('p3'), null);
    const [kept] = await rt.store.rejects(10);
    assert.equal(kept?.uri, 'gateway:p3');
    assert.match(kept?.reason ?? '', /^the ledger refused the row: /);
    // Delivered again (the spool retries a batch it could not confirm): nothing doubles, the reject stays one.
    await ledger.writeLines(lines(...rows.slice(0, 2), poison, ...rows.slice(3)), 5);
    assert.equal((await rt.store.queryUsage({ groupBy: [], where: [] })).total.requests, 4);
    assert.equal((await rt.store.rejects(10)).length, 1);
  });
});

test('a latency past the ledger INTEGER is stored as unknown, not as a row the ledger refuses', async () => {
  await withLedger('latency', async (rt, ledger) => {
    const row = ledger.encode({
      ...raw('l1'),
      latencyMs: 3_000_000_000,
      firstByteMs: -3_000_000_000,
    }).row;
    assert.deepEqual(await ledger.writeLines(lines(row), 1), { unreadable: 0 });
    const stored = await rt.store.getRecord('l1');
    assert.equal(stored?.latency_ms, null);
    assert.equal(stored?.first_byte_ms, null);
    assert.equal(Number(stored?.input_tokens), 1200);
  });
});
