/**
 * Telemetry ↔ server-side matching: request id, token fingerprint (window edges, one to one, nearest first, ties),
 * client-only rows where no server-side record covers the hour — of the event's AWS account when it names one — (and
 * their removal when one arrives), idempotency and order independence.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeRecord } from '../../../test/support/records.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import type { AttributedRecord } from '../../core/index.ts';
import type { Store, TelemetryEventRow } from '../store.ts';
import { createDuckDbStore } from './store.ts';
import { CLIENT_ONLY_PREFIX, MATCH_WINDOW_MS } from './telemetry-match.ts';

const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
/** What newer Claude Code puts in an event's `model` on Bedrock: the response body's model name. */
const SONNET_RESPONSE = 'claude-sonnet-4-5-20250929';
const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const T = Date.parse('2026-03-02T10:20:00Z');
/** A scope over every event: a full re-match. */
const ALL = { fromMs: Date.parse('2000-01-01'), toMs: Date.parse('2100-01-01') };

interface Tok {
  readonly input: number;
  readonly output?: number;
  readonly cacheRead?: number;
  readonly w5?: number;
  readonly w1?: number;
}

/** A server-side record with its session and user unallocated (what telemetry can fill). */
function record(id: string, at: number, t: Tok, model = SONNET): AttributedRecord {
  const r = makeRecord({ id, model, input: t.input, output: t.output ?? 10, user: 'unallocated' });
  return {
    ...r,
    occurredAt: at,
    tokens: {
      input: t.input,
      output: t.output ?? 10,
      cacheRead: t.cacheRead ?? 0,
      cacheWrite5m: t.w5 ?? 0,
      cacheWrite1h: t.w1 ?? 0,
    },
  };
}

function event(
  key: string,
  at: number,
  t: Tok,
  over: Partial<TelemetryEventRow> = {},
): TelemetryEventRow {
  return {
    eventKey: key,
    at,
    source: 'claude_code',
    kind: 'api_request',
    event: 'api_request',
    sessionId: `s-${key}`,
    promptId: null,
    userId: 'install-id',
    userEmail: `${key}@example.com`,
    identity: '{}',
    dimensions: JSON.stringify({ team: { value: 'blue', from: 'resource' } }),
    account: null,
    model: SONNET_RESPONSE,
    modelBase: SONNET_RESPONSE,
    inputTokens: t.input,
    outputTokens: t.output ?? 10,
    cacheReadTokens: t.cacheRead ?? 0,
    cacheWrite5mTokens: t.w5 ?? 0,
    cacheWrite1hTokens: t.w1 ?? 0,
    costPicos: 7_000_000n,
    priceId: 'anthropic.claude-sonnet-4',
    priceFlags: '',
    catalogHash: 'test-catalog',
    costReportedUsd: null,
    durationMs: 0,
    requestId: null,
    toolName: null,
    decision: null,
    success: null,
    terminal: null,
    version: null,
    querySource: null,
    attributes: '{}',
    receivedAt: at,
    ...over,
  };
}

async function open(path = ':memory:'): Promise<Store> {
  const s = await createDuckDbStore({ path });
  await s.migrate();
  return s;
}
const logs = (s: Store, records: AttributedRecord[]) =>
  s.writeUsage({ records, rejects: [], checkpoints: [] });
const events = (s: Store, rows: TelemetryEventRow[]) => s.telemetry.write(rows, []);
/** What the receiver does after storing a batch. */
const receive = async (s: Store, rows: TelemetryEventRow[]) => {
  await events(s, rows);
  return s.telemetry.enrich({
    fromMs: Math.min(...rows.map((r) => r.at)),
    toMs: Math.max(...rows.map((r) => r.at)),
  });
};
const session = async (s: Store, id: string) => (await s.getRecord(id))?.session;

/** The whole ledger, row by row, in a comparable form. */
async function snapshot(s: Store) {
  const { rows, total } = await s.queryUsage({
    groupBy: ['session', 'user', 'team', 'model', 'account'],
    where: [],
  });
  return {
    total: [total.requests, total.inputTokens, total.costPicos, total.unpricedRequests],
    rows: rows
      .map((r) => `${JSON.stringify(r.keys)} ${r.requests} ${r.inputTokens} ${r.costPicos}`)
      .sort(),
  };
}

describe('fingerprint match', () => {
  test('an event without a request id enriches the record with the same model, tokens and time', async () => {
    const s = await open();
    // Cache writes compare as 5m + 1h: the event knows only the total, the log its split.
    await logs(s, [
      record('R', T - 3000, { input: 50, output: 400, cacheRead: 9000, w5: 200, w1: 100 }),
    ]);
    const summary = await receive(s, [
      event('e', T, { input: 50, output: 400, cacheRead: 9000, w5: 300 }, { durationMs: 2500 }),
    ]);
    assert.equal(summary.fingerprint, 1);
    assert.equal(summary.enriched, 1);
    const r = await s.getRecord('R');
    assert.equal(r?.session, 's-e');
    assert.equal(r?.user, 'e@example.com');
    assert.equal(r?.team, 'search'); // the record's own rule (request metadata) is kept
    assert.deepEqual(JSON.parse(String(r?.attribution)), {
      team: 'requestMetadata.team',
      session: 'telemetry.session.id@fingerprint',
      user: 'telemetry.user.email@fingerprint',
    });
    assert.equal((await s.queryUsage({ groupBy: [], where: [] })).total.requests, 1);
    await s.close();
  });

  test('a different token count or model does not match', async () => {
    const s = await open();
    await logs(s, [
      record('other-tokens', T, { input: 51, output: 400 }),
      record('other-model', T, { input: 50, output: 400 }, HAIKU),
    ]);
    const summary = await receive(s, [event('e', T, { input: 50, output: 400 })]);
    assert.equal(summary.fingerprint, 0);
    assert.equal(await session(s, 'other-tokens'), 'unallocated');
    assert.equal(await session(s, 'other-model'), 'unallocated');
    // Sonnet records in the hour: covered, not counted again.
    assert.equal(summary.covered, 1);
    assert.equal(summary.clientOnly, 0);
    await s.close();
  });

  test('window edges: the call span on the client clock, widened by the window on both sides', async () => {
    const s = await open();
    const d = 30_000; // Claude Code stamps the event at the end: the call ran [T − d, T].
    const cc = (key: string, input: number) => event(key, T, { input }, { durationMs: d });
    // A GenAI span is stamped at its start: it ran [T, T + d].
    const span = (key: string, input: number) =>
      event(key, T, { input }, { durationMs: d, source: 'genai' });
    await logs(s, [
      record('early-in', T - d - MATCH_WINDOW_MS, { input: 1 }),
      record('early-out', T - d - MATCH_WINDOW_MS - 1000, { input: 2 }),
      record('late-in', T + MATCH_WINDOW_MS, { input: 3 }),
      record('late-out', T + MATCH_WINDOW_MS + 1000, { input: 4 }),
      record('span-in', T + d + MATCH_WINDOW_MS, { input: 5 }),
      record('span-out', T - MATCH_WINDOW_MS - 1000, { input: 6 }),
    ]);
    const summary = await receive(s, [
      cc('a', 1),
      cc('b', 2),
      cc('c', 3),
      cc('d', 4),
      span('e', 5),
      span('f', 6),
    ]);
    assert.deepEqual(
      await Promise.all(
        ['early-in', 'early-out', 'late-in', 'late-out', 'span-in', 'span-out'].map((id) =>
          session(s, id),
        ),
      ),
      ['s-a', 'unallocated', 's-c', 'unallocated', 's-e', 'unallocated'],
    );
    assert.equal(summary.fingerprint, 3);
    assert.equal(summary.covered, 3);
    await s.close();
  });

  test('one to one, nearest first: greedy in order of distance', async () => {
    const s = await open();
    const tok = { input: 77, output: 7 };
    // e1 at 0 s, e2 at 30 s; R1 at 20 s, R2 at 100 s. e2–R1 (10 s) is the closest pair, so e1 gets R2 (100 s)
    // even though R1 is e1's own nearest.
    await logs(s, [record('R1', T + 20_000, tok), record('R2', T + 100_000, tok)]);
    const summary = await receive(s, [event('e1', T, tok), event('e2', T + 30_000, tok)]);
    assert.equal(await session(s, 'R1'), 's-e2');
    assert.equal(await session(s, 'R2'), 's-e1');
    assert.equal(summary.fingerprint, 2);
    assert.equal(summary.ambiguous, 2);
    await s.close();
  });

  test('more events than records: the nearest matches, the other is covered (counted once)', async () => {
    const s = await open();
    const tok = { input: 88 };
    await logs(s, [record('R', T + 5000, tok)]);
    const summary = await receive(s, [event('far', T - 50_000, tok), event('near', T, tok)]);
    assert.equal(await session(s, 'R'), 's-near');
    assert.deepEqual([summary.fingerprint, summary.covered, summary.clientOnly], [1, 1, 0]);
    assert.equal((await s.queryUsage({ groupBy: [], where: [] })).total.requests, 1);
    await s.close();
  });

  test('an exact tie goes to the smaller request id, every time', async () => {
    for (const order of [
      ['b', 'a'],
      ['a', 'b'],
    ]) {
      const s = await open();
      const tok = { input: 99 };
      await logs(
        s,
        order.map((id) => record(id, id === 'a' ? T - 5000 : T + 5000, tok)),
      );
      const summary = await receive(s, [event('e', T, tok)]);
      assert.equal(await session(s, 'a'), 's-e');
      assert.equal(await session(s, 'b'), 'unallocated');
      assert.equal(summary.ambiguous, 1);
      await s.close();
    }
  });

  test('a record named by an event’s request id is not offered to fingerprints', async () => {
    const s = await open();
    const tok = { input: 123 };
    await logs(s, [record('R', T, tok)]);
    const summary = await receive(s, [
      event('named', T - 90_000, tok, { requestId: 'R' }),
      event('nearer', T, tok),
      // An id that names nothing falls back to the fingerprint (here: nothing left, so covered).
      event('unknown-id', T + 1000, tok, { requestId: 'req_011Cxyz' }),
    ]);
    assert.equal(await session(s, 'R'), 's-named');
    assert.match(
      String((await s.getRecord('R'))?.attribution),
      /telemetry\.session\.id@request_id/,
    );
    assert.deepEqual([summary.requestId, summary.fingerprint, summary.covered], [1, 0, 2]);
    await s.close();
  });

  test('zero tokens are no fingerprint', async () => {
    const s = await open();
    await logs(s, [record('R', T, { input: 0, output: 0 })]);
    const summary = await receive(s, [event('e', T, { input: 0, output: 0 })]);
    assert.equal(summary.fingerprint, 0);
    assert.equal(await session(s, 'R'), 'unallocated');
    await s.close();
  });
});

describe('client-only usage', () => {
  test('counts where no server-side record covers the hour, and goes when the record arrives', async () => {
    const s = await open();
    const tok = { input: 1000, output: 500, cacheRead: 20, w5: 3, w1: 4 };
    const summary = await receive(s, [event('lonely', T, tok, { durationMs: 1500 })]);
    assert.equal(summary.clientOnly, 1);
    const row = await s.getRecord(`${CLIENT_ONLY_PREFIX}lonely`);
    assert.ok(row);
    assert.deepEqual(
      [row.source, row.session, row.user, row.team, row.model, row.cost_pusd, row.region],
      [
        'telemetry',
        's-lonely',
        'lonely@example.com',
        'blue',
        SONNET_RESPONSE,
        7_000_000n,
        'us-east-1',
      ],
    );
    assert.deepEqual(
      [row.input_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens, row.latency_ms],
      [1000n, 3n, 4n, 1500],
    );
    assert.deepEqual(JSON.parse(String(row.attribution)), {
      session: 'telemetry.session.id@client_only',
      user: 'telemetry.user.email@client_only',
      team: 'telemetry.team@client_only',
    });
    const before = await s.queryUsage({ groupBy: [], where: [] });
    assert.deepEqual([before.total.requests, before.total.costPicos], [1, 7_000_000n]);

    // The invocation log of the same call arrives (an ingest ends with an unscoped enrich).
    await logs(s, [record('R', T - 1000, tok)]);
    const after = await s.telemetry.enrich();
    assert.deepEqual([after.fingerprint, after.clientRowsRemoved], [1, 1]);
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}lonely`), null);
    const total = (await s.queryUsage({ groupBy: [], where: [] })).total;
    assert.deepEqual([total.requests, total.costPicos], [1, 1_000_000n]); // the record's own price
    assert.equal(await session(s, 'R'), 's-lonely');
    await s.close();
  });

  test('a record of the same model in the hour covers an unmatched event; another model does not', async () => {
    const s = await open();
    await logs(s, [
      record('sonnet', Date.parse('2026-03-02T10:59:00Z'), { input: 5 }),
      record('haiku', T, { input: 6 }, HAIKU),
    ]);
    const summary = await receive(s, [
      event('covered', T, { input: 7 }),
      event(
        'other-model',
        T,
        { input: 8 },
        { model: 'claude-haiku-3', modelBase: 'claude-haiku-3' },
      ),
      // 11:01 with the window reaching back into 10:59: that hour is touched, so covered too.
      event('next-hour', Date.parse('2026-03-02T11:01:00Z'), { input: 9 }),
      event('later', Date.parse('2026-03-02T12:30:00Z'), { input: 10 }),
    ]);
    assert.deepEqual([summary.covered, summary.clientOnly], [2, 2]);
    assert.ok(await s.getRecord(`${CLIENT_ONLY_PREFIX}other-model`));
    assert.ok(await s.getRecord(`${CLIENT_ONLY_PREFIX}later`));
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}covered`), null);
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}next-hour`), null);
    await s.close();
  });

  test('a geo profile id in the event gives the row its profile and scope; no model is not counted', async () => {
    const s = await open();
    const summary = await receive(s, [
      event('geo', T, { input: 1 }, { model: `us.${SONNET}`, modelBase: SONNET }),
      event('none', T, { input: 2 }, { model: null, modelBase: null, costPicos: null }),
    ]);
    assert.deepEqual([summary.clientOnly, summary.noModel], [1, 1]);
    const row = await s.getRecord(`${CLIENT_ONLY_PREFIX}geo`);
    assert.deepEqual(
      [row?.model_id, row?.model, row?.profile, row?.scope, row?.geo, row?.model_form],
      [`us.${SONNET}`, SONNET, `us.${SONNET}`, 'geo', 'us', 'profile-id'],
    );
    await s.close();
  });
});

describe('coverage by account', () => {
  const A = '111111111111';
  const B = '444455556666';
  const inAccount = (r: AttributedRecord, accountId: string): AttributedRecord => ({
    ...r,
    accountId,
  });

  test('an event that names its AWS account is covered only by records of that account; one that does not, by any', async () => {
    const s = await open();
    // Only account B has records of the model in the hour.
    await logs(s, [inAccount(record('b', T - 60_000, { input: 5 }), B)]);
    const summary = await receive(s, [
      event('in-a', T, { input: 7 }, { account: A }),
      event('in-b', T, { input: 8 }, { account: B }),
      event('anywhere', T, { input: 9 }),
      event('lone', Date.parse('2026-03-02T13:30:00Z'), { input: 10 }),
    ]);
    assert.deepEqual([summary.covered, summary.clientOnly], [2, 2]);
    const row = await s.getRecord(`${CLIENT_ONLY_PREFIX}in-a`);
    assert.deepEqual([row?.account, row?.source], [A, 'telemetry']);
    // Without an account the row says so, as before.
    assert.equal((await s.getRecord(`${CLIENT_ONLY_PREFIX}lone`))?.account, 'unknown');
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}in-b`), null);
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}anywhere`), null);

    // Account A's log of that hour arrives (another call): now it covers the event, and its row goes.
    await logs(s, [inAccount(record('a', T + 60_000, { input: 6 }), A)]);
    const after = await s.telemetry.enrich();
    assert.deepEqual([after.covered, after.clientOnly, after.clientRowsRemoved], [3, 1, 1]);
    assert.equal(await s.getRecord(`${CLIENT_ONLY_PREFIX}in-a`), null);
    await s.close();
  });

  test('a record of no known account (the gateway without a configured account) covers any account', async () => {
    const s = await open();
    await logs(s, [inAccount(record('g', T - 60_000, { input: 5 }), 'gateway')]);
    const summary = await receive(s, [event('in-a', T, { input: 7 }, { account: A })]);
    assert.deepEqual([summary.covered, summary.clientOnly], [1, 0]);
    await s.close();
  });
});

/** Logs and events of one morning: exact ids, fingerprints with a contested pair, an hour with no logs. */
const LOGS = [
  record('X', T - 60_000, { input: 10, output: 1 }),
  record('F1', T + 20_000, { input: 20, output: 2, cacheRead: 500 }),
  record('F2', T + 100_000, { input: 20, output: 2, cacheRead: 500 }),
  record('lone', T + 300_000, { input: 30, output: 3 }, HAIKU),
];
const EVENTS = [
  event('x', T - 58_000, { input: 10, output: 1 }, { requestId: 'X' }),
  event('f1', T, { input: 20, output: 2, cacheRead: 500 }),
  event('f2', T + 30_000, { input: 20, output: 2, cacheRead: 500 }),
  event('gap', T + 4 * 3_600_000, { input: 40, output: 4 }),
];

describe('one ledger whatever the order', () => {
  test('logs then events, events then logs, and interleaved give the same ledger', async () => {
    const ledgers = [];
    // Logs first: ingest (enrich), then the receiver.
    const a = await open();
    await logs(a, LOGS);
    await a.telemetry.enrich();
    await receive(a, EVENTS);
    ledgers.push(await snapshot(a));
    // Events first: the receiver (client-only rows everywhere), then the ingest.
    const b = await open();
    await receive(b, EVENTS);
    assert.equal((await snapshot(b)).total[0], 4); // every call counted, client-only
    await logs(b, LOGS);
    await b.telemetry.enrich();
    ledgers.push(await snapshot(b));
    // Interleaved: one event batch, half the logs, the other batch in reverse, the rest of the logs.
    const c = await open();
    await receive(
      c,
      [EVENTS[1], EVENTS[3]].filter((e) => e !== undefined),
    );
    await logs(c, LOGS.slice(0, 2));
    await c.telemetry.enrich();
    await receive(
      c,
      [EVENTS[2], EVENTS[0]].filter((e) => e !== undefined),
    );
    await logs(c, LOGS.slice(2));
    await c.telemetry.enrich();
    ledgers.push(await snapshot(c));

    assert.deepEqual(ledgers[1], ledgers[0]);
    assert.deepEqual(ledgers[2], ledgers[0]);
    // Four logged calls (one Haiku no event describes) + the client-only call of the hour without logs.
    assert.equal(ledgers[0]?.total[0], 5);
    for (const s of [a, b, c]) {
      assert.deepEqual(await Promise.all(['X', 'F1', 'F2', 'lone'].map((id) => session(s, id))), [
        's-x',
        's-f2',
        's-f1',
        'unallocated',
      ]);
      assert.ok(await s.getRecord(`${CLIENT_ONLY_PREFIX}gap`));
      await s.close();
    }
  });

  test('enrich again changes nothing (scoped or not); a nearer event later moves the match', async () => {
    const s = await open();
    await logs(s, LOGS);
    await receive(s, EVENTS);
    const once = await snapshot(s);
    const attribution = async () =>
      Promise.all(['X', 'F1', 'F2'].map(async (id) => (await s.getRecord(id))?.attribution));
    const rules = await attribution();
    // Unscoped: nothing arrived since the last unscoped run, so nothing is looked at.
    await s.telemetry.enrich();
    const idle = await s.telemetry.enrich();
    assert.deepEqual([idle.events, idle.enriched, idle.clientRowsAdded], [0, 0, 0]);
    for (const again of [
      // Everything, twice; then as the receiver would (the events within about an hour of T).
      await s.telemetry.enrich(ALL),
      await s.telemetry.enrich(ALL),
      await s.telemetry.enrich({ fromMs: T, toMs: T }),
    ]) {
      assert.deepEqual([again.enriched, again.clientRowsAdded, again.clientRowsRemoved], [0, 0, 0]);
      assert.deepEqual([again.requestId, again.fingerprint], [1, 2]);
    }
    assert.deepEqual(await snapshot(s), once);
    assert.deepEqual(await attribution(), rules);

    // An event even closer to F2 arrives: it takes F2, f1 is left with nothing and covered; F2's session moves.
    const moved = await receive(s, [
      event('f3', T + 99_000, { input: 20, output: 2, cacheRead: 500 }),
    ]);
    assert.equal(await session(s, 'F2'), 's-f3');
    assert.equal(await session(s, 'F1'), 's-f2');
    assert.deepEqual([moved.fingerprint, moved.covered], [2, 1]);
    assert.deepEqual((await snapshot(s)).total, once.total);
    await s.close();
  });

  test('a record left without its event returns to unallocated', async () => {
    const s = await open();
    const tok = { input: 321 };
    await logs(s, [record('R1', T + 20_000, tok)]);
    await receive(s, [event('e', T, tok)]);
    assert.equal(await session(s, 'R1'), 's-e');
    // A nearer record of the same call shape arrives: the event moves to it, R1 gives its session back.
    await logs(s, [record('R2', T + 1000, tok)]);
    const moved = await s.telemetry.enrich();
    assert.equal(moved.enriched, 2);
    const r1 = await s.getRecord('R1');
    assert.deepEqual([r1?.session, r1?.user], ['unallocated', 'unallocated']);
    assert.deepEqual(JSON.parse(String(r1?.attribution)), { team: 'requestMetadata.team' });
    assert.equal(await session(s, 'R2'), 's-e');
    await s.close();
  });

  test('an unscoped run matches what arrived since the last one, whoever wrote it', async () => {
    const s = await open();
    const tok = { input: 444 };
    await logs(s, [record('R1', T, tok)]);
    assert.equal((await s.telemetry.enrich()).events, 0);
    // An event stored without its receive-time match (that run failed), and a record from another writer.
    await events(s, [event('e1', T, tok), event('e2', T + 7_200_000, tok)]);
    await logs(s, [record('R2', T + 7_200_000, tok)]);
    const caught = await s.telemetry.enrich();
    assert.deepEqual([caught.events, caught.fingerprint], [2, 2]);
    assert.deepEqual([await session(s, 'R1'), await session(s, 'R2')], ['s-e1', 's-e2']);
    assert.equal((await s.telemetry.enrich()).events, 0);
    await s.close();
  });

  test('a dimension the record set itself is never overwritten or taken back', async () => {
    const s = await open();
    const own = record('R', T, { input: 5 });
    await logs(s, [
      {
        ...own,
        attribution: {
          values: { ...own.attribution.values, session: 'from-metadata' },
          rules: { ...own.attribution.rules, session: 'requestMetadata.session' },
        },
      },
    ]);
    await receive(s, [event('e', T + 5000, { input: 5 })]);
    const r = await s.getRecord('R');
    assert.deepEqual([r?.session, r?.user], ['from-metadata', 'e@example.com']);
    // Taken away by a nearer event of another user: the user moves, the record's own session stays.
    await receive(s, [event('e2', T, { input: 5 })]);
    const r2 = await s.getRecord('R');
    assert.deepEqual([r2?.session, r2?.user], ['from-metadata', 'e2@example.com']);
    assert.equal(JSON.parse(String(r2?.attribution)).session, 'requestMetadata.session');
    await s.close();
  });
});

describe('the match is recorded on the event side', () => {
  const dir = tempDir();
  after(() => dir.remove());

  test('telemetry_matches says how each event counts', async () => {
    const path = join(dir.path, 'ledger.duckdb');
    const s = await open(path);
    await logs(s, LOGS);
    await receive(s, EVENTS);
    await s.close();
    const db = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    const rows = (
      await conn.runAndReadAll(
        'SELECT event_key, match, request_id, delta_ms, ambiguous FROM telemetry_matches ORDER BY event_key',
      )
    ).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    assert.deepEqual(
      rows.map((r) => [r.event_key, r.match, r.request_id, r.delta_ms, r.ambiguous]),
      [
        ['f1', 'fingerprint', 'F2', 100_000n, true],
        ['f2', 'fingerprint', 'F1', 10_000n, true],
        ['gap', 'client_only', `${CLIENT_ONLY_PREFIX}gap`, null, false],
        ['x', 'request_id', 'X', null, false],
      ],
    );
  });
});
